#!/usr/bin/env bash
# Load-test ferry against nginx on this machine, in one run, and print a table
# of ferry's and nginx's figures and the ratio ferry/nginx per scenario.
#
# Scenarios (select with SCENARIOS=name,name or numbers; default: all):
#   1 keepalive  GET 1 KiB file, 50 keep-alive connections:
#                requests/s, p99 latency, server CPU per request
#   2 close      GET 1 KiB file, new connection per request
#                (wrk -H 'Connection: close'): requests/s
#   3 large      GET 100 MiB file, 4 connections: MB/s (10^6 bytes/s)
#   4 c1000      GET 1 KiB file, 1,000 keep-alive connections:
#                requests/s and errors (socket errors + non-2xx/3xx)
#   5 idle       10,000 idle keep-alive connections held by a python3 client
#                (half made one request first): server RSS before and with
#                them, and the time a new client takes to be served
#   6 streams    scenario 1 while 200 live-reload event streams are open
#                (ferry --watch; nginx holds 200 idle keep-alive connections)
#   7 gzstatic   GET a 100 KiB JavaScript file with `Accept-Encoding: gzip,
#                deflate, br, zstd`, 50 keep-alive connections: ferry
#                compressing on the fly (after warm-up) vs nginx serving a
#                hand-made `gzip -9` file with gzip_static: requests/s, CPU
#                per request, bytes per response
#   8 gzdynamic  the same request: ferry vs nginx `gzip on` at level 6,
#                which compresses every response
#   9 listing    ferry alone: a 5,000-entry folder listing, c50, with
#                `Accept-Encoding: br` and without: bytes per response,
#                requests/s and CPU per request
#
# Fairness: both servers serve the same files from the same temp dir, get the
# same connection counts, have access logs off and one core each: the server
# is pinned to SERVER_CPU (default: the first allowed CPU) and wrk / the
# python3 client to CLIENT_CPU (default: the second). ferry runs with
# `--quiet --threads 1`; nginx with one worker process (no master), sendfile,
# tcp_nopush, open_file_cache, keepalive_requests 1000000. Each measurement
# starts a fresh server; rounds alternate ferry, nginx, ferry, nginx, ... and
# the table shows the median over ROUNDS.
#
# Environment:
#   DURATION=10      seconds per wrk run (scenarios 1-4)
#   ROUNDS=2         number of (ferry, nginx) pairs per scenario
#   SCENARIOS=all    comma list: keepalive,close,large,c1000,idle,streams,
#                    gzstatic,gzdynamic,listing (or 1-9)
#   FERRY_ONLY=1     measure ferry alone (no nginx, no ratio), for regressions
#   IDLE_CONNS=10000 connections held in scenario 5
#   SERVER_CPU, CLIENT_CPU   override core pinning
#   VERBOSE=1        also print each full wrk output
#   FERRY_BIN=PATH   use this ferry binary instead of `cargo build --release`
#   ACCESS_LOG=1     run ferry without --quiet (its access log to a file in
#                    the temp dir): the cost of logging, with FERRY_ONLY=1
#   SAVE=0           don't keep the table in benches/results/DATE-load.txt
#
# Quick check (< 1 minute):  DURATION=3 ROUNDS=1 benches/load.sh
# Full run:                  benches/load.sh
#
# On a fresh Debian machine, wrk and nginx-light (and python3 for scenario 5)
# are installed with apt-get if missing. All traffic goes to 127.0.0.1. The
# script stops exactly the processes it started (on exit, Ctrl-C or TERM) and
# removes its temp dir. Exit status is 0 only if every selected scenario was
# measured for every server.

# Scenario functions are called as "scenario_$name" and cleanup from a trap,
# which shellcheck cannot follow (SC2317).
# shellcheck disable=SC2317
set -euo pipefail

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
SCENARIOS=${SCENARIOS:-all}
FERRY_ONLY=${FERRY_ONLY:-0}
IDLE_CONNS=${IDLE_CONNS:-10000}
VERBOSE=${VERBOSE:-0}
STARTUP_TIMEOUT=10   # seconds to wait for a server to come up
STOP_TIMEOUT=10      # seconds to wait for a server to exit before SIGKILL
IDLE_TIMEOUT=180     # seconds the whole scenario-5 client may take

for v in DURATION ROUNDS IDLE_CONNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be a positive integer" >&2; exit 2; }
done
[[ $FERRY_ONLY == 0 || $FERRY_ONLY == 1 ]] || { echo "FERRY_ONLY must be 0 or 1" >&2; exit 2; }

ALL_SCENARIOS=(keepalive close large c1000 idle streams gzstatic gzdynamic listing)
SELECTED=()
if [[ $SCENARIOS == all ]]; then
  SELECTED=("${ALL_SCENARIOS[@]}")
else
  IFS=, read -ra _req <<<"$SCENARIOS"
  for s in "${_req[@]}"; do
    s=${s// /}
    case "$s" in
      1|keepalive) s=keepalive ;;
      2|close) s=close ;;
      3|large) s=large ;;
      4|c1000) s=c1000 ;;
      5|idle) s=idle ;;
      6|streams) s=streams ;;
      7|gzstatic) s=gzstatic ;;
      8|gzdynamic) s=gzdynamic ;;
      9|listing) s=listing ;;
      *) echo "unknown scenario '$s' (use keepalive,close,large,c1000,idle,streams,gzstatic,gzdynamic,listing or 1-9)" >&2; exit 2 ;;
    esac
    SELECTED+=("$s")
  done
fi
selected() { local s; for s in "${SELECTED[@]}"; do [[ $s == "$1" ]] && return 0; done; return 1; }

SERVERS=(ferry nginx)
((FERRY_ONLY)) && SERVERS=(ferry)

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd)
# FERRY_BIN=/path/to/ferry skips `cargo build --release` and uses that binary.
FERRY_BIN_OVERRIDE=${FERRY_BIN:-}
FERRY_BIN=${FERRY_BIN:-$ROOT/target/release/ferry}

# shellcheck source=benches/lib.sh
source "$SCRIPT_DIR/lib.sh"

# --- dependencies ------------------------------------------------------------
install_missing() {
  local missing=()
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
  if ((!FERRY_ONLY)) && ! find_nginx >/dev/null; then missing+=(nginx-light); fi
  if ! command -v python3 >/dev/null 2>&1; then missing+=(python3); fi
  if ! command -v curl >/dev/null 2>&1; then missing+=(curl); fi
  if ! command -v gzip >/dev/null 2>&1; then missing+=(gzip); fi
  apt_install "${missing[@]}"
}
install_missing
NGINX_BIN=""
((FERRY_ONLY)) || NGINX_BIN=$(find_nginx)
for tool in wrk taskset timeout; do
  command -v "$tool" >/dev/null || { echo "missing required tool: $tool" >&2; exit 1; }
done

# Enough file descriptors for wrk -c1000 and for 10,000 idle connections (the
# servers and the python3 client inherit this limit). Root may raise the hard
# limit; otherwise use the hard limit.
want_fds=$((IDLE_CONNS * 5 / 4 + 1024))
((want_fds >= 4096)) || want_fds=4096
hard=$(ulimit -Hn)
if [[ $hard != unlimited ]] && ((hard < want_fds)); then
  ulimit -Hn "$want_fds" 2>/dev/null || true
  hard=$(ulimit -Hn)
fi
if [[ $hard == unlimited ]] || ((hard >= want_fds)); then
  ulimit -Sn "$want_fds"
else
  ulimit -Sn "$hard"
  log "WARNING: open-file limit is $hard (< $want_fds); scenarios 4 and 5 may fail"
fi

# --- CPU pinning -------------------------------------------------------------
pin_cpus

# --- temp dir, processes and cleanup -----------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ferry-load.XXXXXX")
SERVER_PID=""   # the one server running at a time (ferry or nginx)
CLIENT_PID=""   # the running wrk / python3 client (its `timeout` wrapper)

stop_at_exit CLIENT_PID HOLDER_PID SERVER_PID

# --- fixture -----------------------------------------------------------------
mkdir -p "$TMP/www" "$TMP/nginx"
head -c 1024 /dev/urandom >"$TMP/www/1k.bin"
# index.html: exactly 4 KiB.
html_start=$'<!doctype html>\n<title>ferry load fixture</title>\n<pre>\n'
html_end=$'\n</pre>\n'
{
  printf '%s' "$html_start"
  head -c $((4096 - ${#html_start} - ${#html_end})) /dev/zero | tr '\0' 'x'
  printf '%s' "$html_end"
} >"$TMP/www/index.html"
head -c $((100 * 1024 * 1024)) /dev/urandom >"$TMP/www/100m.bin"

# app.js: 100 KiB of minified-JavaScript-like text, the same every run:
# statements of keywords, short identifiers, property names, numbers and
# strings, many recurring, as in a real bundle (gzip -9 leaves 36%, brotli
# -q 11 31%; of react-dom's production build they leave 32% and 28%).
# gz/app.js is the same file with a hand-made `gzip -9` sidecar, for nginx's
# gzip_static.
cat >"$TMP/jsgen.py" <<'PY'
import random, sys
size = int(sys.argv[1]); rnd = random.Random(42)
kw = ["function ", "return ", "var ", "const ", "let ", "if", "else ", "for", "while", "typeof ",
      "new ", "this", "null", "void 0", "!0", "!1", "case ", "break", "switch", "throw "]
props = ["length", "prototype", "call", "apply", "push", "indexOf", "createElement", "children",
         "props", "state", "setState", "render", "key", "ref", "value", "current", "type",
         "memoizedState", "return", "child", "sibling", "flags", "lanes", "updateQueue",
         "stateNode", "pendingProps", "alternate", "dependencies"]
strs = ['"div"', '"span"', '"undefined"', '"object"', '"function"', '"string"', '"click"',
        '"input"', '"change"', '"Minified React error #"', '"style"', '"className"']
punct = ["(", ")", "{", "}", ";", ",", "=", "===", "&&", "||", "?", ":", "[", "]", "+", "-", "!"]
def ident():
    return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$")
                   for _ in range(rnd.choice([1, 1, 2, 2, 3])))
def token():
    r = rnd.random()
    if r < 0.25: return ident()
    if r < 0.40: return rnd.choice(kw)
    if r < 0.55: return "." + rnd.choice(props)
    if r < 0.62: return str(rnd.randint(0, 9999))
    if r < 0.67: return rnd.choice(strs)
    return rnd.choice(punct)
def statement():
    return "".join(token() for _ in range(rnd.randint(8, 40)))
pool = [statement() for _ in range(400)]
out, total = [], 0
while total < size:
    s = rnd.choice(pool) if rnd.random() < 0.6 else statement()
    if rnd.random() < 0.3:
        s = s.replace(s[:1], ident(), 1)
    out.append(s)
    total += len(s)
sys.stdout.write("".join(out)[:size])
PY
python3 "$TMP/jsgen.py" $((100 * 1024)) >"$TMP/www/app.js"
mkdir -p "$TMP/www/gz"
cp "$TMP/www/app.js" "$TMP/www/gz/app.js"
gzip -9 -n -c "$TMP/www/app.js" >"$TMP/www/gz/app.js.gz"
touch -r "$TMP/www/gz/app.js" "$TMP/www/gz/app.js.gz"
if selected listing; then
  mkdir -p "$TMP/www/list"
  (cd "$TMP/www/list" && for ((i = 0; i < 5000; i++)); do : >"file-$i.txt"; done)
fi
AE_ALL='Accept-Encoding: gzip, deflate, br, zstd'

# --- helpers -----------------------------------------------------------------
# check_fixture NAME PORT: the server answers 200 for every fixture file.
check_fixture() {
  local name=$1 port=$2 path code
  for path in "" 1k.bin 100m.bin; do
    code=$(http_status "$port" HEAD "$path")
    if [[ $code != 200 ]]; then
      echo "$name: HEAD /$path returned '${code:-nothing}'" >&2
      return 1
    fi
  done
}

# Server CPU time (user+system of all threads) in clock ticks, from /proc.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICKS=$(getconf CLK_TCK)
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

median() {
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR==0) exit 1; if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

# Results: RES[scenario.metric.server] = space-separated values, one per round.
declare -A RES=()
record() { RES["$1.$2.$3"]+="$4 "; }
FAILED=()   # "scenario/server/round" that could not be measured

# --- servers -----------------------------------------------------------------
# start_ferry [EXTRA ARGS...]: sets SERVER_PID and SERVER_PORT.
start_ferry() {
  SERVER_PORT=""
  local quiet=(--quiet)
  [[ ${ACCESS_LOG:-0} == 1 ]] && quiet=()
  taskset -c "$SERVER_CPU" "$FERRY_BIN" "$TMP/www" --port 0 "${quiet[@]}" --threads 1 "$@" \
    >"$TMP/ferry.out" 2>"$TMP/ferry.err" &
  SERVER_PID=$!

  local i
  for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
    SERVER_PORT=$(ferry_port_from "$TMP/ferry.out")
    [[ -n $SERVER_PORT ]] && break
    alive "$SERVER_PID" || break
    sleep 0.1
  done
  if [[ -z $SERVER_PORT ]]; then
    if alive "$SERVER_PID"; then
      echo "ferry did not start (no startup line within ${STARTUP_TIMEOUT}s)" >&2
    else
      echo "ferry did not start (exited before printing a startup line)" >&2
    fi
    if [[ -s $TMP/ferry.out ]]; then echo "  stdout: $(head -c 300 "$TMP/ferry.out")" >&2; fi
    if [[ -s $TMP/ferry.err ]]; then echo "  stderr: $(head -c 300 "$TMP/ferry.err")" >&2; fi
    stop_pid "$SERVER_PID"; SERVER_PID=""
    return 1
  fi
}

# start_nginx WORKER_CONNECTIONS: sets SERVER_PID and SERVER_PORT.
start_nginx() {
  local wc=$1 n="$TMP/nginx" conf="$TMP/nginx/nginx.conf"
  SERVER_PORT=$(free_port)
  nginx_conf "$n" "$SERVER_PORT" "$TMP/www" "$wc" "$NGINX_EXTRA" >"$conf"
  if ! "$NGINX_BIN" -t -q -p "$n/" -e "$n/error.log" -c "$conf"; then
    echo "nginx config test failed" >&2
    return 1
  fi

  taskset -c "$SERVER_CPU" "$NGINX_BIN" -p "$n/" -e "$n/error.log" -c "$conf" \
    >"$n/stdout" 2>&1 &
  SERVER_PID=$!

  local i code=""
  for ((i = 0; i < STARTUP_TIMEOUT * 10; i++)); do
    alive "$SERVER_PID" || break
    code=$(http_status "$SERVER_PORT" HEAD "")
    [[ $code == 200 ]] && break
    sleep 0.1
  done
  if [[ $code != 200 ]]; then
    echo "nginx did not start (HEAD / -> '${code:-nothing}')" >&2
    tail -n 20 "$n/error.log" "$n/stdout" >&2 2>/dev/null || true
    stop_pid "$SERVER_PID"; SERVER_PID=""
    return 1
  fi
}

# start_server NAME LIMIT [FERRY ARGS...]: a fresh, checked server on CPU
# SERVER_CPU. LIMIT is ferry's --max-connections (empty: ferry's default,
# 10000) or nginx's worker_connections (empty: 4096).
start_server() {
  local name=$1 maxconn=$2
  shift 2
  if [[ $name == ferry ]]; then
    if [[ -n $maxconn ]]; then start_ferry --max-connections "$maxconn" "$@" || return 1
    else start_ferry "$@" || return 1; fi
  else
    start_nginx "${maxconn:-4096}" || return 1
  fi
  if ! check_fixture "$name" "$SERVER_PORT"; then
    stop_server
    return 1
  fi
}

stop_server() {
  stop_pid "$SERVER_PID"
  SERVER_PID=""
  SERVER_PORT=""
}

# --- clients -----------------------------------------------------------------
# run_client OUT COMMAND...: the client pinned to CLIENT_CPU, in the
# background (so INT/TERM are handled at once), bounded by `timeout`.
run_client() {
  local out=$1 limit=$2 st=0
  shift 2
  timeout -k 5 "$limit" taskset -c "$CLIENT_CPU" "$@" >"$out" 2>&1 &
  CLIENT_PID=$!
  wait "$CLIENT_PID" || st=$?
  CLIENT_PID=""
  return "$st"
}

# run_wrk NAME OUT WRK-ARGS...: runs wrk against the current server.
run_wrk() {
  local name=$1 out=$2 st=0
  shift 2
  run_client "$out" $((DURATION + 30)) wrk -t1 -d"${DURATION}s" --latency "$@" || st=$?
  [[ $VERBOSE == 1 ]] && { echo "--- wrk output ($name)"; cat "$out"; } >&2
  if ((st != 0)) || ! grep -q '^Requests/sec:' "$out"; then
    echo "wrk against $name failed (status $st):" >&2
    cat "$out" >&2
    return 1
  fi
}

# Figures from a wrk output file.
wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
wrk_requests() { awk '/ requests in / {print $1}' "$1"; }
# p99 latency in ms (wrk prints us, ms, s or m).
wrk_p99_ms() {
  awk '$1 == "99%" { v = $2
    if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
    else if (v ~ /s$/) { sub(/s$/, "", v); print v * 1000 }
    else if (v ~ /m$/) { sub(/m$/, "", v); print v * 60000 }
  }' "$1"
}
# Transfer/sec in MB/s (10^6 bytes/s); wrk prints 1024-based KB, MB, GB.
wrk_mbps() {
  awk '/^Transfer\/sec:/ { v = $2; m = 1
    if (v ~ /TB$/) m = 1024 ^ 4; else if (v ~ /GB$/) m = 1024 ^ 3
    else if (v ~ /MB$/) m = 1024 ^ 2; else if (v ~ /KB$/) m = 1024
    sub(/[KMGT]?B$/, "", v); printf "%.1f\n", v * m / 1e6 }' "$1"
}
# Socket errors (connect + read + write + timeout) + non-2xx/3xx responses.
wrk_errors() {
  awk '/Socket errors:/ { for (i = 3; i <= NF; i++) { f = $i; gsub(/,/, "", f); if (f ~ /^[0-9]+$/) s += f } }
       /Non-2xx or 3xx responses:/ { s += $NF }
       END { print s + 0 }' "$1"
}
wrk_error_text() { grep -E 'Socket errors|Non-2xx' "$1" | sed 's/^ */; /' | tr -d '\n' || true; }

# cpu_us_per_req TICKS_BEFORE TICKS_AFTER REQUESTS
cpu_us_per_req() {
  awk -v c=$(($2 - $1)) -v t="$TICKS" -v n="${3:-0}" \
    'BEGIN { if (n > 0) printf "%.2f\n", c / t * 1e6 / n; else print "" }'
}

# wrk_scenario SCENARIO NAME ROUND WRK-ARGS...: one wrk run against the
# current server; records rps, p99, cpu, errors and prints a summary line.
wrk_scenario() {
  local sc=$1 name=$2 round=$3 out c0 c1 rps p99 reqs cpu err
  shift 3
  out="$TMP/wrk-$sc-$name-$round.txt"
  c0=$(cpu_ticks "$SERVER_PID")
  run_wrk "$name" "$out" "$@" || return 1
  c1=$(cpu_ticks "$SERVER_PID")
  rps=$(wrk_rps "$out"); p99=$(wrk_p99_ms "$out"); reqs=$(wrk_requests "$out")
  cpu=$(cpu_us_per_req "$c0" "$c1" "$reqs"); err=$(wrk_errors "$out")
  record "$sc" rps "$name" "$rps"
  record "$sc" p99 "$name" "$p99"
  record "$sc" cpu "$name" "$cpu"
  record "$sc" errors "$name" "$err"
  printf '%-9s %-5s round %d: %10s req/s  p99 %8s ms  server CPU %6s us/req  (%s requests%s)\n' \
    "$sc" "$name" "$round" "$rps" "$p99" "$cpu" "$reqs" "$(wrk_error_text "$out")" >&2
  CUR_OUT=$out
}

# body_bytes PATH [FIELD]: the body length of one response (as sent, so
# compressed when it is).
body_bytes() {
  local args=(-s -o /dev/null --max-time 10 -w '%{size_download}')
  [[ -n ${2:-} ]] && args+=(-H "$2")
  curl "${args[@]}" "http://127.0.0.1:$SERVER_PORT$1"
}

# warm_ferry PATH FIELD: asks until ferry serves its best compressed form of
# PATH (a compressed response whose ETag ends in the coding, not in -fast or
# -quick; for a listing, which has none, a compressed size that stays the
# same for a second). At most 60 s.
warm_ferry() {
  local path=$1 field=$2 i heads size last="" same=0
  for ((i = 0; i < 600; i++)); do
    heads=$(curl -s -D - -o "$TMP/warm.body" --max-time 10 -H "$field" \
      "http://127.0.0.1:$SERVER_PORT$path" | tr -d '\r' | tr 'A-Z' 'a-z')
    if grep -q '^content-encoding:' <<<"$heads"; then
      if grep -q '^etag:' <<<"$heads"; then
        grep -Eq '^etag: .*-(br|zstd|gzip)"$' <<<"$heads" && return 0
      else
        size=$(stat -c %s "$TMP/warm.body")
        if [[ $size == "$last" ]]; then ((++same >= 10)) && return 0; else same=0; fi
        last=$size
      fi
    fi
    sleep 0.1
  done
  echo "ferry never served a final compressed form of $path" >&2
  return 1
}

# --- scenarios (each: NAME ROUND, against the fresh server SERVER_PORT) -------
scenario_keepalive() {
  wrk_scenario keepalive "$1" "$2" -c50 "http://127.0.0.1:$SERVER_PORT/1k.bin"
}

scenario_close() {
  wrk_scenario close "$1" "$2" -c50 -H 'Connection: close' "http://127.0.0.1:$SERVER_PORT/1k.bin"
}

scenario_large() {
  # A 100 MiB response takes longer than wrk's default 2 s timeout when
  # throughput is low; do not count that as an error.
  wrk_scenario large "$1" "$2" -c4 --timeout 30s "http://127.0.0.1:$SERVER_PORT/100m.bin" || return 1
  local mbps
  mbps=$(wrk_mbps "$CUR_OUT")
  record large mbps "$1" "$mbps"
  log "large     $1 round $2: $mbps MB/s"
}

scenario_c1000() {
  wrk_scenario c1000 "$1" "$2" -c1000 "http://127.0.0.1:$SERVER_PORT/1k.bin" || return 1
  local err
  err=$(wrk_errors "$CUR_OUT")
  if ((err > 0)); then
    log "c1000     $1 round $2: $err errors; wrk output:"
    sed 's/^/    /' "$CUR_OUT" >&2
  fi
}

# The scenario-5 client: open N connections (even ones make one keep-alive
# request and read the whole response; odd ones send nothing), measure the
# server's RSS, time 5 new clients, check how many idle connections are
# still open. Every socket operation has a timeout; prints key=value lines.
cat >"$TMP/idle.py" <<'PY'
import resource, select, socket, sys, time

port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
OPEN_DEADLINE = 90  # seconds to open all connections

def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def get(s, close):
    """Send GET /1k.bin, read the full response; return the status code."""
    s.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              + (b"Connection: close\r\n" if close else b"") + b"\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            raise OSError("connection closed before the response head")
        buf += b
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        b = s.recv(65536)
        if not b:
            raise OSError("connection closed before the end of the body")
        body += b
    return status

print(f"rss_before_kib={rss_kib()}", flush=True)
socks, failed, bad_status, first_error = [], 0, 0, ""
t0 = time.monotonic()
for i in range(n):
    if time.monotonic() - t0 > OPEN_DEADLINE:
        first_error = first_error or f"gave up after {OPEN_DEADLINE}s"
        break
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2 == 0 and get(s, False) != 200:
            bad_status += 1
        socks.append(s)
    except (OSError, ValueError, IndexError) as e:
        failed += 1
        first_error = first_error or repr(e)
        if failed >= 50:
            break
open_s = time.monotonic() - t0
time.sleep(1)
print(f"held={len(socks)} failed={failed} bad_status={bad_status} open_s={open_s:.2f}", flush=True)
print(f"rss_with_kib={rss_kib()}", flush=True)

times, statuses = [], []
for _ in range(5):
    t = time.perf_counter()
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        statuses.append(get(c, True))
        times.append((time.perf_counter() - t) * 1000)
        c.close()
    except (OSError, ValueError, IndexError) as e:
        statuses.append(repr(e))
    time.sleep(0.05)
times.sort()
print("new_client_ms_all=" + ",".join(f"{x:.3f}" for x in times), flush=True)
print("new_client_status=" + ",".join(str(x) for x in statuses), flush=True)
if times:
    print(f"new_client_ms={times[len(times) // 2]:.3f}", flush=True)

# How many held connections did the server close meanwhile?
closed = 0
poller = select.poll()
by_fd = {}
for s in socks:
    poller.register(s, select.POLLIN)
    by_fd[s.fileno()] = s
for fd, ev in poller.poll(0):
    try:
        if by_fd[fd].recv(1, socket.MSG_PEEK) == b"":
            closed += 1
    except OSError:
        closed += 1
print(f"closed_by_server={closed}", flush=True)
if first_error:
    print(f"first_error={first_error}", flush=True)
for s in socks:
    s.close()
PY

scenario_idle() {
  local name=$1 round=$2 out="$TMP/idle-$1-$2.txt" st=0
  run_client "$out" "$IDLE_TIMEOUT" python3 "$TMP/idle.py" "$SERVER_PORT" "$IDLE_CONNS" "$SERVER_PID" || st=$?
  [[ $VERBOSE == 1 ]] && { echo "--- idle client output ($name)"; cat "$out"; } >&2
  local before with ms held closed
  before=$(sed -n 's/^rss_before_kib=//p' "$out")
  with=$(sed -n 's/^rss_with_kib=//p' "$out")
  ms=$(sed -n 's/^new_client_ms=//p' "$out")
  held=$(sed -nE 's/^held=([0-9]+).*/\1/p' "$out")
  if ((st != 0)) || [[ -z $before || -z $with || -z $ms || -z $held ]]; then
    echo "idle client against $name failed (status $st):" >&2
    cat "$out" >&2
    return 1
  fi
  log "idle      $name round $round: $(tr '\n' ' ' <"$out")"
  if ((held < IDLE_CONNS)); then
    log "WARNING: $name held only $held of $IDLE_CONNS idle connections"
  fi
  closed=$(sed -n 's/^closed_by_server=//p' "$out")
  if ((${closed:-0} > 0)); then
    log "WARNING: $name closed $closed of the $held idle connections while they were held"
  fi
  record idle rss_before "$name" "$(awk -v k="$before" 'BEGIN { printf "%.1f", k / 1024 }')"
  record idle rss_with "$name" "$(awk -v k="$with" 'BEGIN { printf "%.1f", k / 1024 }')"
  record idle rss_per_conn "$name" "$(awk -v a="$before" -v b="$with" -v n="$held" 'BEGIN { if (n > 0) printf "%.2f", (b - a) / n }')"
  record idle new_client "$name" "$ms"
  record idle held "$name" "$held"
}

# The scenario-6 holder: opens STREAMS connections and holds them: for
# ferry live-reload event streams (`/.ferry/live`), for nginx keep-alive
# connections after one request. Prints "held=N" once they are open.
cat >"$TMP/streams.py" <<'PY'
import socket, sys, time
port, n, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
path = b"/.ferry/live?page=%2F" if kind == "ferry" else b"/1k.bin"
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got:
        b = s.recv(65536)
        if not b:
            sys.exit("closed before its head")
        got += b
    socks.append(s)
print(f"held={len(socks)}", flush=True)
time.sleep(600)
PY

STREAMS=200
HOLDER_PID=""
scenario_streams() {
  local name=$1 round=$2 i
  taskset -c "$CLIENT_CPU" python3 "$TMP/streams.py" "$SERVER_PORT" "$STREAMS" "$name" \
    >"$TMP/holder.out" 2>&1 &
  HOLDER_PID=$!
  for ((i = 0; i < 100; i++)); do
    grep -q '^held=' "$TMP/holder.out" 2>/dev/null && break
    alive "$HOLDER_PID" || break
    sleep 0.1
  done
  if ! grep -q "^held=$STREAMS" "$TMP/holder.out" 2>/dev/null; then
    echo "streams holder against $name failed: $(cat "$TMP/holder.out")" >&2
    stop_pid "$HOLDER_PID"; HOLDER_PID=""
    return 1
  fi
  local st=0
  wrk_scenario streams "$name" "$round" -c50 "http://127.0.0.1:$SERVER_PORT/1k.bin" || st=$?
  stop_pid "$HOLDER_PID"; HOLDER_PID=""
  return "$st"
}

# Scenarios 7 and 8: ferry compresses /app.js on the fly (warmed up first);
# nginx serves /gz/app.js (same bytes) with its hand-made .gz (7), or /app.js
# compressing every response at level 6 (8).
compress_scenario() {
  local sc=$1 name=$2 round=$3 path=/app.js
  if [[ $name == ferry ]]; then
    warm_ferry /app.js "$AE_ALL" || return 1
  elif [[ $sc == gzstatic ]]; then
    path=/gz/app.js
  fi
  record "$sc" bytes "$name" "$(body_bytes "$path" "$AE_ALL")"
  wrk_scenario "$sc" "$name" "$round" -c50 -H "$AE_ALL" "http://127.0.0.1:$SERVER_PORT$path" || return 1
  record "$sc" rss "$name" "$(awk -v k="$(rss_kib "$SERVER_PID")" 'BEGIN { printf "%.1f", k / 1024 }')"
}
scenario_gzstatic() { compress_scenario gzstatic "$@"; }
scenario_gzdynamic() { compress_scenario gzdynamic "$@"; }

# Scenario 9, ferry alone: the 5,000-entry listing with and without br.
scenario_listing() {
  local name=$1 round=$2
  warm_ferry /list/ 'Accept-Encoding: br' || return 1
  record listing bytes_br "$name" "$(body_bytes /list/ 'Accept-Encoding: br')"
  record listing bytes_id "$name" "$(body_bytes /list/)"
  wrk_scenario listing_id "$name" "$round" -c50 "http://127.0.0.1:$SERVER_PORT/list/" || return 1
  wrk_scenario listing_br "$name" "$round" -c50 -H 'Accept-Encoding: br' \
    "http://127.0.0.1:$SERVER_PORT/list/" || return 1
  record listing rss "$name" "$(awk -v k="$(rss_kib "$SERVER_PID")" 'BEGIN { printf "%.1f", k / 1024 }')"
}

# --- run ---------------------------------------------------------------------
# Connection limits per scenario, as "FERRY_MAX NGINX_WORKER_CONNECTIONS"
# (empty: the defaults, ferry 10000 and nginx 4096). Scenario 5 holds
# IDLE_CONNS connections plus new clients, so both get more. nginx starts
# closing idle keep-alive connections ("worker_connections are not enough,
# reusing connections") once fewer than 1/16 of worker_connections are free,
# so it gets IDLE_CONNS * 9/8 + 100.
max_conns_for() {
  if [[ $1 == idle ]]; then echo "$((IDLE_CONNS + 100)) $((IDLE_CONNS * 9 / 8 + 100))"; fi
}

# NGINX_EXTRA: http-level nginx directives for the scenario being run.
NGINX_EXTRA=""
nginx_extra_for() {
  case $1 in
    gzstatic) echo "gzip_static on; gzip_vary on;" ;;
    gzdynamic) echo "gzip on; gzip_comp_level 6; gzip_vary on; gzip_types text/javascript;
  types { text/html html; text/javascript js; application/octet-stream bin; }" ;;
  esac
}

# ferry_args_for SCENARIO: extra ferry flags.
ferry_args_for() {
  if [[ $1 == streams ]]; then echo --watch; fi
}

# show_server_log NAME: print what the server wrote to its error output.
show_server_log() {
  local f
  if [[ $1 == ferry ]]; then f=$TMP/ferry.err; else f=$TMP/nginx/error.log; fi
  # ferry's exit line (connections per worker) is not news.
  if [[ -s $f ]] && grep -qv '^ferry: stopped; connections accepted per worker:' "$f"; then
    log "$1 wrote to its error log:"
    tail -n 20 "$f" | sed 's/^/    /' >&2
  fi
  : >"$f"
}

# run_scenario SCENARIO: ROUNDS rounds of (ferry, nginx), a fresh server each.
run_scenario() {
  local sc=$1 r name limits maxconn
  limits=$(max_conns_for "$sc")
  NGINX_EXTRA=$(nginx_extra_for "$sc")
  for ((r = 1; r <= ROUNDS; r++)); do
    for name in "${SERVERS[@]}"; do
      # The listing scenario compares ferry with itself.
      [[ $sc == listing && $name != ferry ]] && continue
      maxconn=""
      if [[ -n $limits ]]; then
        if [[ $name == ferry ]]; then maxconn=${limits% *}; else maxconn=${limits#* }; fi
      fi
      # shellcheck disable=SC2046  # word splitting intended
      if ! start_server "$name" "$maxconn" $(ferry_args_for "$sc"); then
        FAILED+=("$sc/$name/$r (server did not start)")
        continue
      fi
      "scenario_$sc" "$name" "$r" || FAILED+=("$sc/$name/$r")
      stop_server
      show_server_log "$name"
      sleep 0.5   # let closed connections settle before the next run
    done
  done
}

build_ferry
if ((!FERRY_ONLY)) && [[ $(id -u) -ne 0 ]]; then
  log "note: running nginx as $(id -un)"
fi
commit=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
log "ferry $FERRY_BIN (source $commit); nginx: ${NGINX_BIN:-not used}"
log "scenarios: ${SELECTED[*]}; servers: ${SERVERS[*]}; ${DURATION}s per wrk run, $ROUNDS round(s)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "servers on CPU $SERVER_CPU, clients on CPU $CLIENT_CPU, open-file limit $(ulimit -n), load average: $LOAD_BEFORE"
for sc in "${SELECTED[@]}"; do
  run_scenario "$sc"
done

# --- table -------------------------------------------------------------------
# Rows: scenario|metric|label|printf format|better (higher/lower/none)
ROWS=(
  "keepalive|rps|1 1 KiB keep-alive c50: req/s|%.0f|higher"
  "keepalive|p99|1 1 KiB keep-alive c50: p99 latency ms|%.2f|lower"
  "keepalive|cpu|1 1 KiB keep-alive c50: server CPU us/req|%.2f|lower"
  "close|rps|2 1 KiB Connection: close c50: req/s|%.0f|higher"
  "close|cpu|2 1 KiB Connection: close c50: server CPU us/req|%.2f|lower"
  "large|mbps|3 100 MiB c4: MB/s|%.0f|higher"
  "c1000|rps|4 1 KiB keep-alive c1000: req/s|%.0f|higher"
  "c1000|cpu|4 1 KiB keep-alive c1000: server CPU us/req|%.2f|lower"
  "c1000|errors|4 1 KiB keep-alive c1000: errors|%.0f|none"
  "idle|rss_before|5 idle: server RSS before, MiB|%.1f|lower"
  "idle|rss_with|5 idle: server RSS with $IDLE_CONNS idle conns, MiB|%.1f|lower"
  "idle|rss_per_conn|5 idle: RSS per idle conn, KiB|%.2f|lower"
  "idle|new_client|5 idle: new client served, ms|%.2f|lower"
  "streams|rps|6 1 KiB keep-alive c50 + 200 event streams: req/s|%.0f|higher"
  "streams|cpu|6 1 KiB keep-alive c50 + 200 event streams: CPU us/req|%.2f|lower"
  "gzstatic|rps|7 100 KiB JS c50, nginx gzip_static: req/s|%.0f|higher"
  "gzstatic|cpu|7 100 KiB JS c50, nginx gzip_static: CPU us/req|%.2f|lower"
  "gzstatic|bytes|7 100 KiB JS c50, nginx gzip_static: body bytes|%.0f|lower"
  "gzstatic|rss|7 100 KiB JS c50, nginx gzip_static: RSS after, MiB|%.1f|lower"
  "gzdynamic|rps|8 100 KiB JS c50, nginx gzip level 6: req/s|%.0f|higher"
  "gzdynamic|cpu|8 100 KiB JS c50, nginx gzip level 6: CPU us/req|%.2f|lower"
  "gzdynamic|bytes|8 100 KiB JS c50, nginx gzip level 6: body bytes|%.0f|lower"
  "gzdynamic|rss|8 100 KiB JS c50, nginx gzip level 6: RSS after, MiB|%.1f|lower"
  "listing|bytes_id|9 5,000-entry listing: body bytes, identity|%.0f|none"
  "listing|bytes_br|9 5,000-entry listing: body bytes, br|%.0f|none"
  "listing_id|rps|9 5,000-entry listing c50, identity: req/s|%.0f|none"
  "listing_br|rps|9 5,000-entry listing c50, br: req/s|%.0f|none"
  "listing_id|cpu|9 5,000-entry listing c50, identity: CPU us/req|%.2f|none"
  "listing_br|cpu|9 5,000-entry listing c50, br: CPU us/req|%.2f|none"
  "listing|rss|9 5,000-entry listing: RSS after, MiB|%.1f|none"
)

# fmt_median SCENARIO METRIC SERVER FORMAT -> the formatted median or "-".
fmt_median() {
  local vals
  read -ra vals <<<"${RES[$1.$2.$3]:-}"
  ((${#vals[@]})) || { echo "-"; return; }
  # shellcheck disable=SC2059
  printf "$4" "$(median "${vals[@]}")"
}

print_table() {
  printf '| %-50s | %12s | %12s | %-26s |\n' "scenario (median of $ROUNDS)" ferry nginx "ratio ferry/nginx"
  printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..52})" "$(printf -- '-%.0s' {1..14})" \
    "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..28})"
  for row in "${ROWS[@]}"; do
    IFS='|' read -r sc metric label fmt better <<<"$row"
    selected "${sc%%_*}" || continue
    f=$(fmt_median "$sc" "$metric" ferry "$fmt")
    g=$(fmt_median "$sc" "$metric" nginx "$fmt")
    ratio="-"
    if [[ $better != none && $f != - && $g != - ]]; then
      ratio=$(awk -v f="$f" -v g="$g" 'BEGIN { if (g > 0) printf "%.2f", f / g; else print "-" }')
      [[ $ratio == - ]] || ratio="$ratio ($better is better)"
    fi
    printf '| %-50s | %12s | %12s | %-26s |\n' "$label" "$f" "$g" "$ratio"
  done
}

echo
print_table | tee "$TMP/table.txt"
SAVE_COMMAND="DURATION=$DURATION ROUNDS=$ROUNDS SCENARIOS=$SCENARIOS FERRY_ONLY=$FERRY_ONLY benches/load.sh" \
  save_result load "$TMP/table.txt"

if ((${#FAILED[@]})); then
  echo
  echo "not measured: ${FAILED[*]}" >&2
  exit 1
fi
exit 0
