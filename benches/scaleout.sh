#!/usr/bin/env bash
# Scale-out, tested under load: two ferry instances serving the same folder
# behind HAProxy (contrib/haproxy.cfg, health checks every 200 ms). wrk runs
# through HAProxy for DURATION seconds; KILL_AT seconds in, one ferry is
# killed (SIGKILL: the worst case). HAProxy routes around it; the client
# should see no errors beyond the requests the killed process had in
# flight (and HAProxy retries those that got no response at all).
#
# Environment:
#   DURATION=10       seconds of load
#   KILL_AT=3         seconds into the load when ferry 1 is killed
#   CONNECTIONS=50    wrk -c (keep-alive to HAProxy)
#   SIGNAL=KILL       or TERM: stop ferry 1 gracefully instead
#   FERRY_BIN=PATH    use this binary instead of `cargo build --release`
#   SAVE=0            don't keep the result in benches/results/
#
# Installs haproxy and wrk with apt-get when missing. All traffic goes to
# 127.0.0.1; everything started is stopped on exit.
# shellcheck disable=SC2317
set -euo pipefail

DURATION=${DURATION:-10}
KILL_AT=${KILL_AT:-3}
CONNECTIONS=${CONNECTIONS:-50}
SIGNAL=${SIGNAL:-KILL}
STOP_TIMEOUT=10

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
FERRY_BIN_OVERRIDE=${FERRY_BIN:-}
FERRY_BIN=${FERRY_BIN:-$ROOT/target/release/ferry}
# shellcheck source=benches/lib.sh
source "$SCRIPT_DIR/lib.sh"

missing=()
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
command -v wrk >/dev/null || missing+=(wrk)
apt_install "${missing[@]}"
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-scaleout.XXXXXX")
PIDS=()
stop_at_exit PIDS

mkdir -p "$TMP/www"
head -c 1024 /dev/urandom >"$TMP/www/1k.bin"
printf '<!doctype html><title>scale-out</title>\n' >"$TMP/www/index.html"
build_ferry

start_ferry() { # N: starts ferry N, sets FERRY<N>_PID / FERRY<N>_PORT
  local n=$1 i port=""
  "$FERRY_BIN" "$TMP/www" --port 0 --quiet --threads 1 >"$TMP/ferry$n.out" 2>"$TMP/ferry$n.err" &
  local pid=$!
  PIDS+=("$pid")
  for ((i = 0; i < 100; i++)); do
    port=$(ferry_port_from "$TMP/ferry$n.out")
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { echo "ferry $n did not start" >&2; exit 1; }
  printf -v "FERRY${n}_PID" '%s' "$pid"
  printf -v "FERRY${n}_PORT" '%s' "$port"
}
start_ferry 1
start_ferry 2

export FRONT_PORT FERRY1_PORT FERRY2_PORT
FRONT_PORT=$(free_port)
"$HAPROXY" -db -f "$ROOT/contrib/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
  [[ $(http_status "$FRONT_PORT" GET 1k.bin) == 200 ]] && break
  sleep 0.1
done
[[ $(http_status "$FRONT_PORT" GET 1k.bin) == 200 ]] || { cat "$TMP/haproxy.log" >&2; exit 1; }
log "ferry 1 on $FERRY1_PORT, ferry 2 on $FERRY2_PORT, HAProxy on $FRONT_PORT"

timeout $((DURATION + 30)) wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
  "http://127.0.0.1:$FRONT_PORT/1k.bin" >"$TMP/wrk.txt" 2>&1 &
WRK=$!
sleep "$KILL_AT"
log "SIG$SIGNAL to ferry 1 (pid $FERRY1_PID)"
kill -"$SIGNAL" "$FERRY1_PID"
wait "$WRK" || { cat "$TMP/wrk.txt" >&2; exit 1; }

requests=$(awk '/ requests in / {print $1}' "$TMP/wrk.txt")
errors=$(awk '/Socket errors:/ { for (i = 3; i <= NF; i++) { f = $i; gsub(/,/, "", f); if (f ~ /^[0-9]+$/) s += f } }
              /Non-2xx or 3xx responses:/ { s += $NF } END { print s + 0 }' "$TMP/wrk.txt")
alive2=no; kill -0 "$FERRY2_PID" 2>/dev/null && alive2=yes
{
  echo "two ferry instances behind HAProxy $("$HAPROXY" -v | head -n 1 | awk '{print $3}'), wrk -c$CONNECTIONS for ${DURATION}s, SIG$SIGNAL to one of them at ${KILL_AT}s"
  echo "requests: $requests; errors (socket errors + non-2xx/3xx): $errors; ferry 2 still serving: $alive2"
  grep -E 'Requests/sec|Socket errors|Non-2xx' "$TMP/wrk.txt" || true
  grep -Ei 'DOWN|UP' "$TMP/haproxy.log" | sed 's/^/haproxy: /' | head -n 5 || true
} | tee "$TMP/result.txt"
SAVE_COMMAND="SIGNAL=$SIGNAL DURATION=$DURATION KILL_AT=$KILL_AT benches/scaleout.sh" \
  save_result scaleout "$TMP/result.txt"
