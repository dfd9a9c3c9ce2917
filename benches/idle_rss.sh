#!/usr/bin/env bash
# RSS of ferry holding N idle connections (default 10,000): half made one
# keep-alive request first, half connected and sent nothing.
#   N=10000 FERRY_BIN=target/release/ferry benches/idle_rss.sh
set -euo pipefail
N=${N:-10000}
ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${FERRY_BIN:-$ROOT/target/release/ferry}
[[ -x $BIN ]] || (cd "$ROOT" && cargo build --release)
ulimit -n "$(ulimit -Hn)"
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
head -c 1024 /dev/urandom > "$tmp/1k.bin"
"$BIN" "$tmp" --port 0 --quiet --max-connections $((N + 100)) > "$tmp/out" &
pid=$!
for _ in $(seq 100); do [[ -s $tmp/out ]] && break; sleep 0.1; done
port=$(sed -E 's/.*:([0-9]+)\/$/\1/' "$tmp/out")
rss() { awk '/VmRSS/ {print $2 " " $3}' "/proc/$pid/status"; }
echo "ferry RSS at start: $(rss)"
python3 - "$port" "$N" "$pid" <<'PY'
import resource, socket, sys, time
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return line.split()[1] + " kB"
socks = []
req = b"GET /1k.bin HTTP/1.1\r\nHost: x\r\n\r\n"
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if i % 2 == 0:
        s.sendall(req)
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                sys.exit(f"the server closed connection {i} before answering")
            got += chunk
    socks.append(s)
time.sleep(1)
print(f"ferry RSS with {n} idle connections: {rss()}")
# Still answers promptly.
t = time.time()
c = socket.create_connection(("127.0.0.1", port), timeout=5)
c.sendall(b"GET /1k.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    b = c.recv(65536)
    if not b: break
    data += b
print(f"new client served: {data.split(b' ')[1].decode()} in {1000*(time.time()-t):.1f} ms")
for s in socks: s.close()
PY
