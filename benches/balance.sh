#!/usr/bin/env bash
# How connections spread over ferry's workers, and what a second worker
# buys: for 1 and 2 workers (or THREADS="1 2 4 …"), keep-alive and a new
# connection per request, wrk's requests/s and the connections each worker
# accepted (ferry's exit line on stderr: "stopped; connections accepted per
# worker: A B").
#
# Nothing is pinned: the workers and wrk share the machine's cores, as they
# would in use. On a machine with more cores, THREADS="1 2 4 8" reports the
# scaling (give wrk threads too: WRK_THREADS).
#
# Environment:
#   DURATION=10        seconds per wrk run
#   ROUNDS=2           runs per (threads, pattern); the table shows medians
#   THREADS="1 2"      worker counts to compare
#   CONNECTIONS=50     wrk -c
#   WRK_THREADS=1      wrk -t
#   FERRY_BIN=PATH     use this binary instead of `cargo build --release`
#   FERRY_ARGS=…       extra ferry flags
#   SAVE=0             don't keep the table in benches/results/
#
# All traffic goes to 127.0.0.1; the script stops what it started and
# removes its temp dir.
# shellcheck disable=SC2317
set -euo pipefail

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-"1 2"}
CONNECTIONS=${CONNECTIONS:-50}
WRK_THREADS=${WRK_THREADS:-1}
FERRY_ARGS=${FERRY_ARGS:-}
STARTUP_TIMEOUT=10

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
FERRY_BIN_OVERRIDE=${FERRY_BIN:-}
FERRY_BIN=${FERRY_BIN:-$ROOT/target/release/ferry}
# shellcheck source=benches/lib.sh
source "$SCRIPT_DIR/lib.sh"
command -v wrk >/dev/null || apt_install wrk

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-balance.XXXXXX")
SERVER_PID=""
stop_at_exit SERVER_PID

mkdir -p "$TMP/www"
head -c 1024 /dev/urandom >"$TMP/www/1k.bin"
build_ferry

# run THREADS PATTERN ROUND: prints "rps counts..."
run() {
  local threads=$1 pattern=$2 port i extra=()
  [[ $pattern == close ]] && extra=(-H 'Connection: close')
  # shellcheck disable=SC2086  # FERRY_ARGS is a word list
  "$FERRY_BIN" "$TMP/www" --port 0 --quiet --threads "$threads" $FERRY_ARGS \
    >"$TMP/out" 2>"$TMP/err" &
  SERVER_PID=$!
  port=""
  for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
    port=$(ferry_port_from "$TMP/out")
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { echo "ferry did not start: $(cat "$TMP/err")" >&2; return 1; }
  timeout $((DURATION + 30)) wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
    "${extra[@]}" "http://127.0.0.1:$port/1k.bin" >"$TMP/wrk" 2>&1
  kill -TERM "$SERVER_PID"
  wait_gone "$SERVER_PID" 10 || kill -KILL "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  local rps counts
  rps=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$TMP/wrk")
  counts=$(sed -n 's/.*connections accepted per worker: //p' "$TMP/err" | tail -n 1)
  echo "$rps $counts"
}

declare -A RPS=() COUNTS=()
for threads in $THREADS; do
  for pattern in keepalive close; do
    for ((r = 1; r <= ROUNDS; r++)); do
      line=$(run "$threads" "$pattern" "$r")
      log "threads $threads $pattern round $r: $line (req/s, then accepted per worker)"
      RPS[$threads.$pattern]+="${line%% *} "
      COUNTS[$threads.$pattern]+="[${line#* }] "
    done
  done
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
{
  printf '| workers | pattern | req/s (median of %s) | vs 1 worker | connections accepted per worker, each round |\n' "$ROUNDS"
  printf '|---|---|---:|---:|---|\n'
  for threads in $THREADS; do
    for pattern in keepalive close; do
      # shellcheck disable=SC2086
      m=$(median ${RPS[$threads.$pattern]})
      # shellcheck disable=SC2086
      one=$(median ${RPS[${THREADS%% *}.$pattern]})
      ratio=$(awk -v a="$m" -v b="$one" 'BEGIN { printf "%.2f", a / b }')
      printf '| %s | %s | %s | %s | %s |\n' "$threads" "$pattern" "$m" "$ratio" "${COUNTS[$threads.$pattern]}"
    done
  done
} | tee "$TMP/table"
SAVE_COMMAND="DURATION=$DURATION ROUNDS=$ROUNDS THREADS=\"$THREADS\" FERRY_ARGS=\"$FERRY_ARGS\" benches/balance.sh" \
  save_result balance "$TMP/table"
