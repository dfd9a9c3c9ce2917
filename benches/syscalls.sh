#!/usr/bin/env bash
# Count the system calls ferry makes per request.
#
# Starts ferry (--threads 1) under `strace -f -c`, runs a keep-alive wrk load
# (wrk -t1 -c50 -d5s; MODE=close: a new connection per request) against a
# 1 KiB file, stops ferry with SIGINT, then
# prints strace's table and "syscalls per request" = total syscalls / requests
# reported by wrk. Startup and shutdown syscalls are included in the total
# (a few hundred, negligible against the request count).
#
# Environment:
#   DURATION=5        seconds of load
#   CONNECTIONS=50    wrk -c
#   MODE=keepalive    or MODE=close: `Connection: close` on every request
#   SERVER=ferry      or SERVER=nginx to measure nginx (1 worker, sendfile) for reference
#   FERRY_BIN=PATH    use this ferry binary instead of building target/release/ferry
#   ACCESS_LOG=1      ferry without --quiet: its access log goes to a file
#   SERVER_CPU, CLIENT_CPU   override core pinning (default: first two allowed CPUs)
#   SAVE=0            don't keep the result in benches/results/DATE-syscalls-SERVER.txt
#
# Everything is bound to 127.0.0.1; the server is stopped and the temp dir
# removed on exit.
set -euo pipefail

DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-50}
SERVER=${SERVER:-ferry}
MODE=${MODE:-keepalive}
STARTUP_TIMEOUT=10
STOP_TIMEOUT=10
STRACE=${STRACE:-/usr/bin/strace}

case "$MODE" in
  keepalive) WRK_EXTRA=() ;;
  close) WRK_EXTRA=(-H 'Connection: close') ;;
  *) echo "MODE must be keepalive or close (got '$MODE')" >&2; exit 2 ;;
esac
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

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-syscalls.XXXXXX")
# shellcheck source=benches/lib.sh
source "$SCRIPT_DIR/lib.sh"

[[ -x $STRACE ]] || STRACE=$(command -v strace || true)
[[ -n $STRACE && -x $STRACE ]] || { echo "strace not found (apt-get install -y strace)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 1; }
command -v taskset >/dev/null || { echo "taskset not found (util-linux)" >&2; exit 1; }

# --- CPU pinning -------------------------------------------------------------
pin_cpus

# --- cleanup -----------------------------------------------------------------
STRACE_PID=""
SERVER_PID=""
WRK_PID=""

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

# --- start the server under strace -------------------------------------------
PORT=""
if [[ $SERVER == ferry ]]; then
  build_ferry
  CMD=("$FERRY_BIN" "$TMP/www" --port 0 --threads 1)
  [[ ${ACCESS_LOG:-0} == 1 ]] || CMD+=(--quiet)
else
  NGINX_BIN=$(find_nginx) || { echo "nginx not found" >&2; exit 1; }
  PORT=$(free_port)
  n="$TMP/nginx"
  nginx_conf "$n" "$PORT" "$TMP/www" 4096 >"$n/nginx.conf"
  CMD=("$NGINX_BIN" -p "$n/" -e "$n/error.log" -c "$n/nginx.conf")
fi

log "starting $SERVER under strace on CPU $SERVER_CPU"
taskset -c "$SERVER_CPU" "$STRACE" -f -c -o "$TMP/strace.txt" "${CMD[@]}" \
  >"$TMP/server.out" 2>"$TMP/server.err" &
STRACE_PID=$!

started=0
for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
  alive "$STRACE_PID" || break
  if [[ $SERVER == ferry ]]; then
    PORT=$(ferry_port_from "$TMP/server.out")
    [[ -n $PORT ]] && { started=1; break; }
  else
    [[ $(http_status "$PORT" GET "$FILE") == 200 ]] && { started=1; break; }
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

code=$(http_status "$PORT" GET "$FILE")
[[ $code == 200 ]] || { echo "GET /$FILE returned '${code:-nothing}'" >&2; exit 1; }

# --- load --------------------------------------------------------------------
log "wrk -t1 -c$CONNECTIONS -d${DURATION}s ${WRK_EXTRA[*]} http://127.0.0.1:$PORT/$FILE on CPU $CLIENT_CPU"
timeout $((DURATION + 30)) taskset -c "$CLIENT_CPU" \
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "${WRK_EXTRA[@]}" "http://127.0.0.1:$PORT/$FILE" >"$TMP/wrk.txt" 2>&1 &
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

{
  cat "$TMP/strace.txt"
  printf '%s: %s syscalls / %s requests\n' "$SERVER" "$total" "$requests"
  awk -v t="$total" -v r="$requests" 'BEGIN { printf "syscalls per request: %.2f\n", t / r }'
} >"$TMP/result.txt"
tail -n 2 "$TMP/result.txt"
SAVE_COMMAND="ACCESS_LOG=${ACCESS_LOG:-0} SERVER=$SERVER MODE=$MODE DURATION=$DURATION CONNECTIONS=$CONNECTIONS benches/syscalls.sh" \
  save_result "syscalls-$SERVER-$MODE$([[ ${ACCESS_LOG:-0} == 1 ]] && echo -log)" "$TMP/result.txt"
