#!/usr/bin/env bash
# Load-test ferry against nginx on this machine, in one run, and print the
# requests/s ratio ferry/nginx.
#
# Both servers are pinned to one core (SERVER_CPU, default: the first allowed
# CPU) and wrk to another (CLIENT_CPU, default: the second allowed CPU). Each
# server gets the same single-threaded/single-worker budget. wrk is run against
# ferry, nginx, ferry, nginx, ... for ROUNDS rounds.
#
# Environment:
#   DURATION=10     seconds per wrk run
#   ROUNDS=2        number of (ferry, nginx) pairs
#   CONNECTIONS=50  wrk -c
#   BODY=1k|1m      which file to fetch: 1k.bin (1 KiB) or 1m.bin (1 MiB)
#   SERVER_CPU, CLIENT_CPU   override core pinning
#   VERBOSE=1       also print the full wrk output
#   FERRY_BIN=PATH  use this ferry binary instead of building target/release/ferry
#
# Everything is bound to 127.0.0.1. Both servers are stopped and the temp dir
# is removed on exit. Exit status is 0 only if both servers were measured.
set -euo pipefail

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
CONNECTIONS=${CONNECTIONS:-50}
BODY=${BODY:-1k}
VERBOSE=${VERBOSE:-0}
STARTUP_TIMEOUT=10   # seconds to wait for a server to come up
STOP_TIMEOUT=5       # seconds to wait for a server to exit before SIGKILL

case "$BODY" in
  1k|1m) ;;
  *) echo "BODY must be 1k or 1m (got '$BODY')" >&2; exit 2 ;;
esac
for v in DURATION ROUNDS CONNECTIONS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
done

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
# FERRY_BIN=/path/to/ferry skips `cargo build --release` and uses that binary.
FERRY_BIN_OVERRIDE=${FERRY_BIN:-}
FERRY_BIN=${FERRY_BIN:-$ROOT/target/release/ferry}

log() { printf '== %s\n' "$*" >&2; }

# --- dependencies ------------------------------------------------------------
find_nginx() {
  command -v nginx 2>/dev/null && return 0
  local p
  for p in /usr/sbin/nginx /usr/local/sbin/nginx /usr/local/nginx/sbin/nginx; do
    [[ -x $p ]] && { echo "$p"; return 0; }
  done
  return 1
}

if ! command -v wrk >/dev/null 2>&1 || ! find_nginx >/dev/null; then
  log "installing wrk and nginx-light"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" apt-get install -y wrk nginx-light
fi
NGINX_BIN=$(find_nginx)
for tool in wrk taskset timeout; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; exit 1; }
done

# --- CPU pinning -------------------------------------------------------------
# Expand the allowed-CPU list (e.g. "0-1,4") of this process.
allowed_cpus() {
  local list part a b i
  list=$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status 2>/dev/null || true)
  [[ -n $list ]] || list="0-$(( $(nproc) - 1 ))"
  IFS=, read -ra parts <<<"$list"
  for part in "${parts[@]}"; do
    if [[ $part == *-* ]]; then
      a=${part%-*}; b=${part#*-}
      for ((i = a; i <= b; i++)); do echo "$i"; done
    else
      echo "$part"
    fi
  done
}
mapfile -t CPUS < <(allowed_cpus)
SERVER_CPU=${SERVER_CPU:-${CPUS[0]}}
if [[ -z ${CLIENT_CPU:-} ]]; then
  if ((${#CPUS[@]} >= 2)); then
    CLIENT_CPU=${CPUS[1]}
  else
    log "WARNING: only one CPU available; wrk shares a core with the servers"
    CLIENT_CPU=${CPUS[0]}
  fi
fi

# --- temp dir and cleanup ----------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-load.XXXXXX")
FERRY_PID=""
NGINX_PID=""
WRK_PID=""

stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$WRK_PID"
  stop_pid "$FERRY_PID"
  stop_pid "$NGINX_PID"
  rm -rf -- "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$TMP/www" "$TMP/nginx"
head -c 1024 /dev/urandom >"$TMP/www/1k.bin"
head -c 1048576 /dev/urandom >"$TMP/www/1m.bin"
FILE="$BODY.bin"
EXPECTED_SIZE=$(stat -c %s "$TMP/www/$FILE")

# --- helpers -----------------------------------------------------------------
# Print a free TCP port on 127.0.0.1.
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  for ((p = 20000 + RANDOM % 20000; ; p++)); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

# http_status PORT PATH -> prints the status code of a GET (bounded to 3 s).
http_status() {
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET /%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$2" >&3
    IFS=" " read -r _ code _ <&3 && echo "$code"
  ' _ "$1" "$2" 2>/dev/null || true
}

# run_wrk NAME PORT ROUND -> prints a summary line, records req/s in RPS_<NAME>.
declare -a RPS_ferry=() RPS_nginx=() CPU_ferry=() CPU_nginx=()
# Server CPU time (user+system) in clock ticks, from /proc.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK)

run_wrk() {
  local name=$1 port=$2 round=$3 out rps p50 p99 reqs extra spid cpu0 cpu1 us
  out="$TMP/wrk-$name-$round.txt"
  if [[ $name == ferry ]]; then spid=$FERRY_PID; else spid=$NGINX_PID; fi
  cpu0=$(cpu_ticks "$spid")
  # Run in the background and `wait`, so INT/TERM are handled immediately.
  timeout $((DURATION + 30)) taskset -c "$CLIENT_CPU" \
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
    "http://127.0.0.1:$port/$FILE" >"$out" 2>&1 &
  WRK_PID=$!
  local st=0
  wait "$WRK_PID" || st=$?
  WRK_PID=""
  if ((st != 0)); then
    echo "wrk against $name failed:" >&2
    cat "$out" >&2
    return 1
  fi
  [[ $VERBOSE == 1 ]] && cat "$out" >&2
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  reqs=$(awk '/requests in/ {print $1}' "$out")
  extra=$(grep -E 'Socket errors|Non-2xx' "$out" | sed 's/^ */; /' | tr -d '\n' || true)
  cpu1=$(cpu_ticks "$spid")
  # Server CPU per request: the fair figure when wrk, not the server, saturates.
  us=$(awk -v c=$((cpu1 - cpu0)) -v t="$TICKS" -v n="${reqs:-0}" 'BEGIN { if (n > 0) printf "%.2f", c / t * 1e6 / n; else print "?" }')
  printf '%-5s round %d: %12s req/s   p50 %9s   p99 %9s   server CPU %6s us/req   (%s requests%s)\n' \
    "$name" "$round" "${rps:-?}" "${p50:-?}" "${p99:-?}" "$us" "${reqs:-?}" "$extra"
  [[ -n $rps ]] || return 1
  eval "RPS_$name+=(\"\$rps\")"
  eval "CPU_$name+=(\"\$us\")"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR==0) exit 1; if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# --- ferry -------------------------------------------------------------------
FERRY_PORT=""
start_ferry() {
  if [[ -z $FERRY_BIN_OVERRIDE ]]; then
    log "building ferry (cargo build --release)"
    if ! (cd "$ROOT" && cargo build --release); then
      echo "ferry did not build" >&2
      return 1
    fi
  fi
  [[ -x $FERRY_BIN ]] || { echo "ferry binary not found at $FERRY_BIN" >&2; return 1; }

  log "starting ferry on CPU $SERVER_CPU"
  taskset -c "$SERVER_CPU" "$FERRY_BIN" "$TMP/www" --port 0 --quiet --threads 1 \
    >"$TMP/ferry.out" 2>"$TMP/ferry.err" &
  FERRY_PID=$!

  local i line re='^ferry: serving (.+) at http://127\.0\.0\.1:([0-9]+)/$'
  for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
    line=$(head -n 1 "$TMP/ferry.out" 2>/dev/null || true)
    if [[ $line =~ $re ]]; then
      FERRY_PORT=${BASH_REMATCH[2]}
      break
    fi
    kill -0 "$FERRY_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $FERRY_PORT ]]; then
    if kill -0 "$FERRY_PID" 2>/dev/null; then
      echo "ferry did not start (no startup line within ${STARTUP_TIMEOUT}s)" >&2
    else
      local st=0; wait "$FERRY_PID" 2>/dev/null || st=$?
      echo "ferry did not start (exited with status $st before printing a startup line)" >&2
    fi
    if [[ -s $TMP/ferry.out ]]; then echo "  stdout: $(head -c 300 "$TMP/ferry.out")" >&2; fi
    if [[ -s $TMP/ferry.err ]]; then echo "  stderr: $(head -c 300 "$TMP/ferry.err")" >&2; fi
    stop_pid "$FERRY_PID"; FERRY_PID=""
    return 1
  fi
  local code
  code=$(http_status "$FERRY_PORT" "$FILE")
  if [[ $code != 200 ]]; then
    echo "ferry started on port $FERRY_PORT but GET /$FILE returned '${code:-nothing}'" >&2
    stop_pid "$FERRY_PID"; FERRY_PID=""
    return 1
  fi
  log "ferry listening on 127.0.0.1:$FERRY_PORT (pid $FERRY_PID)"
}

# --- nginx -------------------------------------------------------------------
NGINX_PORT=""
start_nginx() {
  local n="$TMP/nginx" conf="$TMP/nginx/nginx.conf" user_line="" temp_lines="" v
  NGINX_PORT=$(free_port)
  [[ $(id -u) -eq 0 ]] && user_line="user root;"

  # Only set temp paths for modules this nginx has (nginx-light lacks some).
  v=$("$NGINX_BIN" -V 2>&1)
  temp_lines="client_body_temp_path $n/client_body;"
  [[ $v == *--without-http_proxy_module* ]]   || temp_lines+=$'\n'"  proxy_temp_path $n/proxy;"
  [[ $v == *--without-http_fastcgi_module* ]] || temp_lines+=$'\n'"  fastcgi_temp_path $n/fastcgi;"
  [[ $v == *--without-http_uwsgi_module* ]]   || temp_lines+=$'\n'"  uwsgi_temp_path $n/uwsgi;"
  [[ $v == *--without-http_scgi_module* ]]    || temp_lines+=$'\n'"  scgi_temp_path $n/scgi;"

  cat >"$conf" <<EOF
$user_line
worker_processes 1;
daemon off;
master_process off;
error_log $n/error.log warn;
pid $n/nginx.pid;

events {
  worker_connections 4096;
}

http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  open_file_cache max=1000 inactive=20s;
  default_type application/octet-stream;
  $temp_lines

  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $TMP/www;
    location / { }
  }
}
EOF
  if ! "$NGINX_BIN" -t -q -p "$n/" -e "$n/error.log" -c "$conf"; then
    echo "nginx config test failed" >&2
    return 1
  fi

  log "starting nginx on CPU $SERVER_CPU"
  taskset -c "$SERVER_CPU" "$NGINX_BIN" -p "$n/" -e "$n/error.log" -c "$conf" \
    >"$n/stdout" 2>&1 &
  NGINX_PID=$!

  local i code=""
  for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
    kill -0 "$NGINX_PID" 2>/dev/null || break
    code=$(http_status "$NGINX_PORT" "$FILE")
    [[ $code == 200 ]] && break
    sleep 0.1
  done
  if [[ $code != 200 ]]; then
    echo "nginx did not start (GET /$FILE -> '${code:-nothing}')" >&2
    tail -n 20 "$n/error.log" "$n/stdout" >&2 2>/dev/null || true
    stop_pid "$NGINX_PID"; NGINX_PID=""
    return 1
  fi
  log "nginx listening on 127.0.0.1:$NGINX_PORT (pid $NGINX_PID)"
}

# --- run ---------------------------------------------------------------------
FERRY_OK=1
NGINX_OK=1
start_ferry || FERRY_OK=0
start_nginx || NGINX_OK=0
if ((!FERRY_OK && !NGINX_OK)); then
  echo "neither server started" >&2
  exit 1
fi

log "GET /$FILE ($EXPECTED_SIZE bytes), wrk -t1 -c$CONNECTIONS -d${DURATION}s on CPU $CLIENT_CPU, servers on CPU $SERVER_CPU, $ROUNDS round(s)"
for ((r = 1; r <= ROUNDS; r++)); do
  if ((FERRY_OK)); then run_wrk ferry "$FERRY_PORT" "$r" || FERRY_OK=0; fi
  if ((NGINX_OK)); then run_wrk nginx "$NGINX_PORT" "$r" || NGINX_OK=0; fi
done

echo
if ((FERRY_OK && NGINX_OK)); then
  f=$(median "${RPS_ferry[@]}")
  g=$(median "${RPS_nginx[@]}")
  printf 'median req/s: ferry %s, nginx %s\n' "$f" "$g"
  awk -v f="$f" -v g="$g" 'BEGIN { printf "ratio ferry/nginx (req/s): %.3f\n", f / g }'
  fc=$(median "${CPU_ferry[@]}")
  gc=$(median "${CPU_nginx[@]}")
  printf 'median server CPU per request: ferry %s us, nginx %s us\n' "$fc" "$gc"
  awk -v f="$fc" -v g="$gc" 'BEGIN { printf "ratio nginx/ferry (CPU per request, higher = ferry cheaper): %.3f\n", g / f }'
  exit 0
fi
((FERRY_OK)) && [[ ${#RPS_ferry[@]} -gt 0 ]] && printf 'median req/s: ferry %s (nginx not measured)\n' "$(median "${RPS_ferry[@]}")"
((NGINX_OK)) && [[ ${#RPS_nginx[@]} -gt 0 ]] && printf 'median req/s: nginx %s (ferry not measured)\n' "$(median "${RPS_nginx[@]}")"
echo "no ratio: only one server was measured" >&2
exit 1
