#!/usr/bin/env bash
# What a mirroring client fetches from ferry's listings: `wget -r -np`.
#
# Lays out a small tree (4 folders, 12 files), starts ferry with its access
# log on (stderr), mirrors the root with `wget -r -np` (wget's defaults
# otherwise: depth 5, robots.txt honoured), and counts ferry's requests by
# kind from the log: folder listings, listings with `?sort=`, listings with
# `?page=`, other queries, files, robots.txt. A mirror needs one request per
# folder and per file (plus robots.txt); every sort variant is waste.
#
# Environment:
#   FERRY_BIN=PATH    use this ferry binary instead of building target/release/ferry
#   RESULT_TAG=NAME   names the result file (default: the commit)
#   SAVE=0            don't keep the result in benches/results/DATE-wget-mirror-TAG.txt
#
# Installs wget when missing (apt-get). Everything is bound to 127.0.0.1;
# ferry is stopped and the temp dir removed on exit.
set -euo pipefail

STARTUP_TIMEOUT=10
STOP_TIMEOUT=10
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
FERRY_BIN_OVERRIDE=${FERRY_BIN:-}
FERRY_BIN=${FERRY_BIN:-$ROOT/target/release/ferry}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-wget.XXXXXX")
# shellcheck source=benches/lib.sh
source "$SCRIPT_DIR/lib.sh"

command -v wget >/dev/null || apt_install wget

SERVER_PID=""
stop_at_exit SERVER_PID

# --- the tree ------------------------------------------------------------------
w=$TMP/www
mkdir -p "$w/docs/sub" "$w/img" "$w/empty"
for f in readme.txt notes.md docs/a.txt docs/b.md docs/c.pdf docs/sub/d.txt \
  docs/sub/e.txt img/x.png img/y.jpg img/z.gif "docs/with space.txt" data.csv; do
  printf '%s\n' "$f" >"$w/$f"
done
folders=$(find "$w" -type d | wc -l)
files=$(find "$w" -type f | wc -l)

# --- ferry, access log on --------------------------------------------------------
build_ferry
"$FERRY_BIN" "$w" --port 0 >"$TMP/server.out" 2>"$TMP/access.log" &
SERVER_PID=$!
PORT=""
for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
  alive "$SERVER_PID" || break
  PORT=$(ferry_port_from "$TMP/server.out")
  [[ -n $PORT ]] && break
  sleep 0.1
done
[[ -n $PORT ]] || { echo "ferry did not start: $(head -c 300 "$TMP/access.log")" >&2; exit 1; }
log "ferry on 127.0.0.1:$PORT (pid $SERVER_PID)"

# --- mirror ----------------------------------------------------------------------
log "wget -r -np http://127.0.0.1:$PORT/"
(cd "$TMP" && timeout 120 wget -r -np -nv --tries=1 --timeout=10 -P mirror \
  "http://127.0.0.1:$PORT/" 2>"$TMP/wget.log") || log "wget exited $? (404s count as errors)"
# The access log is written at most a second after a request: stop ferry
# (SIGTERM drains the log) before reading it.
stop_pid "$SERVER_PID"
SERVER_PID=""

awk -v folders="$folders" -v files="$files" '
  $0 !~ /"GET / { next }
  {
    match($0, /"GET [^ ]+/); t = substr($0, RSTART + 5, RLENGTH - 5)
    total++
    if (t == "/robots.txt") kind = "robots.txt"
    else if (t ~ /[?&]sort=/) kind = "listing ?sort="
    else if (t ~ /[?&]page=/) kind = "listing ?page="
    else if (t ~ /\?/) kind = "other query"
    else if (t ~ /\/$/) kind = "listing"
    else kind = "file"
    n[kind]++
  }
  END {
    printf "tree: %d folders, %d files\n", folders, files
    printf "requests: %d\n", total
    split("listing|listing ?sort=|listing ?page=|other query|file|robots.txt", order, "|")
    for (i = 1; i <= 6; i++) printf "  %-16s %d\n", order[i], n[order[i]] + 0
  }' "$TMP/access.log" | tee "$TMP/result.txt"
SAVE_COMMAND="benches/wget_mirror.sh" save_result wget-mirror "$TMP/result.txt"
