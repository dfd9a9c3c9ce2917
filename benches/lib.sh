# Shell functions shared by the benchmark scripts (load.sh, syscalls.sh).
# Source it after setting ROOT, TMP (a temp dir), STARTUP_TIMEOUT and
# STOP_TIMEOUT, and for the servers FERRY_BIN, FERRY_BIN_OVERRIDE, NGINX_BIN.
# shellcheck shell=bash

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

# apt_install PACKAGE...: Debian packages, as root or through sudo.
apt_install() {
  (($#)) || return 0
  log "installing $*"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

# --- CPU pinning -------------------------------------------------------------
# Expand the allowed-CPU list (e.g. "0-1,4") of this process, one per line.
allowed_cpus() {
  local list part a b i
  list=$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status 2>/dev/null || true)
  [[ -n $list ]] || list="0-$(($(nproc) - 1))"
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

# pin_cpus: sets SERVER_CPU and CLIENT_CPU (the first and second allowed
# CPU) unless the environment already set them.
pin_cpus() {
  local cpus
  mapfile -t cpus < <(allowed_cpus)
  SERVER_CPU=${SERVER_CPU:-${cpus[0]}}
  if [[ -z ${CLIENT_CPU:-} ]]; then
    if ((${#cpus[@]} >= 2)); then
      CLIENT_CPU=${cpus[1]}
    else
      log "WARNING: only one CPU available; the client shares a core with the server"
      CLIENT_CPU=${cpus[0]}
    fi
  fi
}

# --- processes -----------------------------------------------------------------
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

# stop_pid PID: TERM, wait up to STOP_TIMEOUT s, then KILL; reap it.
stop_pid() {
  local pid=$1
  [[ -n $pid ]] || return 0
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
      log "pid $pid did not exit within ${STOP_TIMEOUT}s of SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

# stop_at_exit VAR...: on exit, Ctrl-C or SIGTERM, stops the processes whose
# PIDs the named variables (or arrays) hold at that moment, in that order,
# removes $TMP and keeps the exit status (130 after SIGINT, 143 after SIGTERM).
stop_at_exit() {
  STOP_AT_EXIT=("$@")
  trap _stop_at_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
_stop_at_exit() {
  local rc=$? var ref pid
  trap - EXIT INT TERM
  for var in "${STOP_AT_EXIT[@]}"; do
    ref="$var[@]"
    for pid in "${!ref}"; do stop_pid "$pid"; done
  done
  rm -rf -- "$TMP"
  exit "$rc"
}

# --- HTTP ----------------------------------------------------------------------
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

# http_status PORT METHOD PATH -> prints the status code (bounded to 3 s).
http_status() {
  # shellcheck disable=SC2016  # $1.. expand in the inner bash
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "%s /%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$2" "$3" >&3
    IFS=" " read -r _ code _ <&3 && echo "$code"
  ' _ "$1" "$2" "$3" 2>/dev/null || true
}

# --- servers -------------------------------------------------------------------
build_ferry() {
  if [[ -z ${FERRY_BIN_OVERRIDE:-} ]]; then
    log "building ferry (cargo build --release)"
    (cd "$ROOT" && cargo build --release) || { echo "ferry did not build" >&2; return 1; }
  fi
  [[ -x $FERRY_BIN ]] || { echo "ferry binary not found at $FERRY_BIN" >&2; return 1; }
}

# ferry_port_from FILE -> the port in ferry's startup line in FILE, if any.
ferry_port_from() {
  local line re='^ferry: serving (.+) at http://127\.0\.0\.1:([0-9]+)/$'
  line=$(head -n 1 "$1" 2>/dev/null || true)
  if [[ $line =~ $re ]]; then echo "${BASH_REMATCH[2]}"; fi
}

# nginx_conf DIR PORT WWW WORKER_CONNECTIONS [EXTRA_HTTP_LINES]: prints the
# reference configuration: one worker, no master, sendfile, tcp_nopush,
# open_file_cache, access log off, 1,000,000 requests per connection.
nginx_conf() {
  local n=$1 port=$2 www=$3 wc=$4 extra=${5:-} user_line="" temp_lines v
  [[ $(id -u) -eq 0 ]] && user_line="user root;"
  # Only set temp paths for modules this nginx has (nginx-light lacks some).
  v=$("$NGINX_BIN" -V 2>&1)
  temp_lines="client_body_temp_path $n/client_body;"
  [[ $v == *--without-http_proxy_module* ]]   || temp_lines+=$'\n'"  proxy_temp_path $n/proxy;"
  [[ $v == *--without-http_fastcgi_module* ]] || temp_lines+=$'\n'"  fastcgi_temp_path $n/fastcgi;"
  [[ $v == *--without-http_uwsgi_module* ]]   || temp_lines+=$'\n'"  uwsgi_temp_path $n/uwsgi;"
  [[ $v == *--without-http_scgi_module* ]]    || temp_lines+=$'\n'"  scgi_temp_path $n/scgi;"
  cat <<NGINX
$user_line
worker_processes 1;
daemon off;
master_process off;
error_log $n/error.log warn;
pid $n/nginx.pid;

events {
  worker_connections $wc;
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
  $extra

  server {
    listen 127.0.0.1:$port;
    root $www;
    location / { }
  }
}
NGINX
}

# --- results -------------------------------------------------------------------
# save_result NAME FILE: keeps FILE as benches/results/DATE-NAME-TAG.txt
# (TAG: $RESULT_TAG, else the commit), with the commit, the binary, the
# machine and the command on top (SAVE=0: don't).
save_result() {
  [[ ${SAVE:-1} == 1 ]] || return 0
  local dir="$ROOT/benches/results" out commit
  mkdir -p "$dir"
  commit=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
  out="$dir/$(date -u +%Y-%m-%d)-$1-${RESULT_TAG:-$commit}.txt"
  {
    echo "# $1, $(date -u '+%Y-%m-%d %H:%M UTC'), tree $commit, binary ${FERRY_BIN:-?}"
    echo "# machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load before: ${LOAD_BEFORE:-$(cut -d' ' -f1-3 /proc/loadavg)}"
    echo "# command: ${SAVE_COMMAND:-$0}"
    cat "$2"
  } >"$out"
  log "saved $out"
}
