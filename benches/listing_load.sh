#!/usr/bin/env bash
# How long a 5,000-entry folder listing takes to load in headless Chromium.
#
# Lays out a folder of 4,950 files (names like `IMG_0042.jpg`,
# `report 17.pdf`, `track-3.mp3`; sparse files of varied sizes and times)
# and 50 folders, starts ferry on it (--quiet), and runs
# benches/listing_load.mjs: two warm-up loads, then RUNS loads of the
# listing, each in a fresh tab; prints DOMContentLoaded and load per run and
# their medians, with the HTML's size (decoded and on the wire).
#
# Environment:
#   RUNS=9            measured loads
#   ENTRIES=5000      entries in the folder (1% of them folders)
#   FERRY_BIN=PATH    use this ferry binary instead of building target/release/ferry
#   RESULT_TAG=NAME   names the result file (default: the commit)
#   SAVE=0            don't keep the result in benches/results/DATE-listing-load-TAG.txt
#
# Needs node, /usr/bin/chromium (apt-get install -y chromium) and `npm ci`
# in tests/browser (playwright-core). Everything is bound to 127.0.0.1;
# ferry is stopped and the temp dir removed on exit.
set -euo pipefail

RUNS=${RUNS:-9}
ENTRIES=${ENTRIES:-5000}
STARTUP_TIMEOUT=10
STOP_TIMEOUT=10
for v in RUNS ENTRIES; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
done

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
FERRY_BIN_OVERRIDE=${FERRY_BIN:-}
FERRY_BIN=${FERRY_BIN:-$ROOT/target/release/ferry}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-listing-load.XXXXXX")
# shellcheck source=benches/lib.sh
source "$SCRIPT_DIR/lib.sh"

command -v node >/dev/null || { echo "node not found" >&2; exit 1; }
[[ -x ${CHROMIUM:-/usr/bin/chromium} ]] || { echo "chromium not found (apt-get install -y chromium)" >&2; exit 1; }
[[ -d $ROOT/tests/browser/node_modules/playwright-core ]] ||
  { echo "playwright-core missing: run npm ci in tests/browser" >&2; exit 1; }

SERVER_PID=""
stop_at_exit SERVER_PID

# --- the folder --------------------------------------------------------------
log "laying out $ENTRIES entries"
python3 - "$TMP/www/big" "$ENTRIES" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
kinds = ["IMG_{:04}.jpg", "report {}.pdf", "track-{}.mp3", "notes_{}.txt",
         "data-{:05}.csv", "Archive {}.zip", "clip{}.mp4", "page-{}.html"]
dirs = max(1, n // 100)
for i in range(n):
    if i < dirs:
        p = os.path.join(d, "folder {}".format(i))
        os.mkdir(p)
    else:
        p = os.path.join(d, kinds[i % len(kinds)].format(i))
        with open(p, "wb") as f:
            f.truncate((i * 7919 * 131) % 50_000_000)
    t = 1_700_000_000 + i * 3_607
    os.utime(p, (t, t))
PY

# --- ferry ---------------------------------------------------------------------
build_ferry
"$FERRY_BIN" "$TMP/www" --port 0 --quiet >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER_PID=$!
PORT=""
for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
  alive "$SERVER_PID" || break
  PORT=$(ferry_port_from "$TMP/server.out")
  [[ -n $PORT ]] && break
  sleep 0.1
done
[[ -n $PORT ]] || { echo "ferry did not start: $(head -c 300 "$TMP/server.err")" >&2; exit 1; }
log "ferry on 127.0.0.1:$PORT (pid $SERVER_PID)"

# --- measure -------------------------------------------------------------------
URL="http://127.0.0.1:$PORT/big/"
identity=$(curl -s --max-time 30 -o /dev/null -w '%{size_download}' "$URL")
log "GET /big/ without Accept-Encoding: $identity bytes"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
timeout 320 node "$SCRIPT_DIR/listing_load.mjs" "$URL" "$RUNS" | tee "$TMP/result.txt"
echo "HTML bytes (GET without Accept-Encoding): $identity" | tee -a "$TMP/result.txt"
SAVE_COMMAND="RUNS=$RUNS ENTRIES=$ENTRIES benches/listing_load.sh" \
  save_result listing-load "$TMP/result.txt"
