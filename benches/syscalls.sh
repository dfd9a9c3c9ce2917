#!/usr/bin/env bash
# Count the system calls ferry makes per request.
#
# Starts ferry (--threads 1) under `strace -f -c`, runs a keep-alive wrk load
# (wrk -t1 -c50 -d5s) against a 1 KiB file, stops ferry with SIGINT, then
# prints strace's table and "syscalls per request" = total syscalls / requests
# reported by wrk. Startup and shutdown syscalls are included in the total
# (a few hundred, negligible against the request count).
#
# Environment:
#   DURATION=5        seconds of load
#   CONNECTIONS=50    wrk -c
#   SERVER=ferry      or SERVER=nginx to measure nginx (1 worker, sendfile) for reference
#   FERRY_BIN=PATH    use this ferry binary instead of building target/release/ferry
#   SERVER_CPU, CLIENT_CPU   override core pinning (default: first two allowed CPUs)
#
# Everything is bound to 127.0.0.1; the server is stopped and the temp dir
# removed on exit.
set -euo pipefail

DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-50}
SERVER=${SERVER:-ferry}
STARTUP_TIMEOUT=10
STOP_TIMEOUT=10
STRACE=${STRACE:-/usr/bin/strace}

case "$SERVER" in
  ferry|nginx) ;;
  *) echo "SERVER must be ferry or nginx (got '$SERVER')" >&2; exit 2 ;;
esac
for v in DURATION CONNECTIONS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
done

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
FERRY_BIN_OVERRIDE=${FERRY_BIN:-}
FERRY_BIN=${FERRY_BIN:-$ROOT/target/release/ferry}

log() { printf '== %s\n' "$*" >&2; }

[[ -x $STRACE ]] || STRACE=$(command -v strace || true)
[[ -n $STRACE && -x $STRACE ]] || { echo "strace not found (apt-get install -y strace)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "taskset not found (util-linux)" >&2; exit 1; }

# --- CPU pinning -------------------------------------------------------------
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
CLIENT_CPU=${CLIENT_CPU:-${CPUS[1]:-${CPUS[0]}}}

# --- temp dir and cleanup ----------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-syscalls.XXXXXX")
STRACE_PID=""
SERVER_PID=""
WRK_PID=""

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# wait_gone PID SECONDS -> 0 if PID is gone within SECONDS
wait_gone() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    alive "$1" || return 0
    sleep 0.1
  done
  ! alive "$1"
}

stop_pid() {
  local pid=$1
  [[ -n $pid ]] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$WRK_PID"
  # Kill the traced server first, then strace.
  if alive "$SERVER_PID"; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  stop_pid "$STRACE_PID"
  rm -rf -- "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$TMP/www" "$TMP/nginx"
head -c 1024 /dev/urandom >"$TMP/www/1k.bin"
FILE=1k.bin

http_status() {
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET /%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$2" >&3
    IFS=" " read -r _ code _ <&3 && echo "$code"
  ' _ "$1" "$2" 2>/dev/null || true
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# --- start the server under strace -------------------------------------------
PORT=""
if [[ $SERVER == ferry ]]; then
  if [[ -z $FERRY_BIN_OVERRIDE ]]; then
    log "building ferry (cargo build --release)"
    (cd "$ROOT" && cargo build --release)
  fi
  [[ -x $FERRY_BIN ]] || { echo "ferry binary not found at $FERRY_BIN" >&2; exit 1; }
  CMD=("$FERRY_BIN" "$TMP/www" --port 0 --quiet --threads 1)
else
  NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
  [[ -x $NGINX_BIN ]] || { echo "nginx not found" >&2; exit 1; }
  PORT=$(free_port)
  n="$TMP/nginx"
  v=$("$NGINX_BIN" -V 2>&1)
  temp_lines="client_body_temp_path $n/client_body;"
  [[ $v == *--without-http_proxy_module* ]]   || temp_lines+=" proxy_temp_path $n/proxy;"
  [[ $v == *--without-http_fastcgi_module* ]] || temp_lines+=" fastcgi_temp_path $n/fastcgi;"
  [[ $v == *--without-http_uwsgi_module* ]]   || temp_lines+=" uwsgi_temp_path $n/uwsgi;"
  [[ $v == *--without-http_scgi_module* ]]    || temp_lines+=" scgi_temp_path $n/scgi;"
  user_line=""
  [[ $(id -u) -eq 0 ]] && user_line="user root;"
  cat >"$n/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
master_process off;
error_log $n/error.log warn;
pid $n/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=20s;
  default_type application/octet-stream;
  $temp_lines
  server { listen 127.0.0.1:$PORT; root $TMP/www; location / { } }
}
EOF
  CMD=("$NGINX_BIN" -p "$n/" -e "$n/error.log" -c "$n/nginx.conf")
fi

log "starting $SERVER under strace on CPU $SERVER_CPU"
taskset -c "$SERVER_CPU" "$STRACE" -f -c -o "$TMP/strace.txt" "${CMD[@]}" \
  >"$TMP/server.out" 2>"$TMP/server.err" &
STRACE_PID=$!

started=0
re='^ferry: serving (.+) at http://127\.0\.0\.1:([0-9]+)/$'
for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
  alive "$STRACE_PID" || break
  if [[ $SERVER == ferry ]]; then
    line=$(head -n 1 "$TMP/server.out" 2>/dev/null || true)
    if [[ $line =~ $re ]]; then PORT=${BASH_REMATCH[2]}; started=1; break; fi
  else
    [[ $(http_status "$PORT" "$FILE") == 200 ]] && { started=1; break; }
  fi
  sleep 0.1
done
if ((!started)); then
  if alive "$STRACE_PID"; then
    echo "$SERVER did not start (no startup line within ${STARTUP_TIMEOUT}s)" >&2
  else
    echo "$SERVER did not start (exited before printing a startup line)" >&2
  fi
  if [[ -s $TMP/server.out ]]; then echo "  stdout: $(head -c 300 "$TMP/server.out")" >&2; fi
  if [[ -s $TMP/server.err ]]; then echo "  stderr: $(head -c 300 "$TMP/server.err")" >&2; fi
  exit 1
fi

# The traced server is strace's child.
SERVER_PID=$(pgrep -P "$STRACE_PID" | head -n 1 || true)
[[ -n $SERVER_PID ]] || { echo "could not find the $SERVER process under strace" >&2; exit 1; }
log "$SERVER listening on 127.0.0.1:$PORT (pid $SERVER_PID, strace pid $STRACE_PID)"

code=$(http_status "$PORT" "$FILE")
[[ $code == 200 ]] || { echo "GET /$FILE returned '${code:-nothing}'" >&2; exit 1; }

# --- load --------------------------------------------------------------------
log "wrk -t1 -c$CONNECTIONS -d${DURATION}s http://127.0.0.1:$PORT/$FILE on CPU $CLIENT_CPU"
timeout $((DURATION + 30)) taskset -c "$CLIENT_CPU" \
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$PORT/$FILE" >"$TMP/wrk.txt" 2>&1 &
WRK_PID=$!
st=0
wait "$WRK_PID" || st=$?
WRK_PID=""
cat "$TMP/wrk.txt"
((st == 0)) || { echo "wrk failed (status $st)" >&2; exit 1; }

# --- stop with SIGINT and collect ------------------------------------------
log "stopping $SERVER with SIGINT"
kill -INT "$SERVER_PID" 2>/dev/null || true
if ! wait_gone "$SERVER_PID" "$STOP_TIMEOUT"; then
  echo "WARNING: $SERVER did not exit within ${STOP_TIMEOUT}s of SIGINT; sending SIGKILL" >&2
  kill -KILL "$SERVER_PID" 2>/dev/null || true
fi
if ! wait_gone "$STRACE_PID" "$STOP_TIMEOUT"; then
  echo "strace did not exit" >&2
  exit 1
fi
wait "$STRACE_PID" 2>/dev/null || true
STRACE_PID=""
SERVER_PID=""

echo
cat "$TMP/strace.txt"
echo

# Sum the "calls" column (4th field) of the rows between the dashed rules;
# this does not depend on the layout of the "total" line.
total=$(awk '/^------/ {sec++; next} sec == 1 && NF >= 5 {s += $4} END {print s + 0}' "$TMP/strace.txt")
requests=$(awk '/requests in/ {print $1}' "$TMP/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$TMP/wrk.txt")
[[ -n $requests && $requests -gt 0 ]] || { echo "wrk reported no requests" >&2; exit 1; }
[[ -z $non2xx ]] || echo "WARNING: $non2xx non-2xx responses" >&2

printf '%s: %s syscalls / %s requests\n' "$SERVER" "$total" "$requests"
awk -v t="$total" -v r="$requests" 'BEGIN { printf "syscalls per request: %.2f\n", t / r }'
