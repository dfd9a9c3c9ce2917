#!/usr/bin/env python3
"""Zero-downtime restarts with --reuse-port, under load, counted.

Runs ROUNDS restarts of ferry on one port: clients run throughout (half
keep-alive, half a new connection per request); each round starts a new
ferry with --reuse-port on the port, then sends SIGTERM to the old one and
waits for it to exit. Prints requests, failures, connection resets and
keep-alive retries (a keep-alive connection the old server closes while
idle is retried once on a new connection, as clients do).

    benches/restart.py [--rounds 10] [--migrate 0|1|keep] [--ferry PATH]

--migrate sets net.ipv4.tcp_migrate_req for the run (root; restored at
the end): with 1 the kernel moves connections queued on a closing
SO_REUSEPORT listener to another one in the group instead of resetting
them. All traffic goes to 127.0.0.1; every process started is stopped.
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MIGRATE = "/proc/sys/net/ipv4/tcp_migrate_req"
BODY = b"hello from ferry\n"


def start(ferry, root, port):
    p = subprocess.Popen(
        [ferry, root, "--port", str(port), "--reuse-port", "--quiet", "--threads", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    m = re.search(r":(\d+)/$", line.strip())
    if not m:
        p.kill()
        sys.exit(f"ferry did not start: {line!r}")
    return p, int(m.group(1))


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = self.failed = self.resets = self.retried = 0
        self.errors = []

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


def request(sock, port, keep_alive):
    if sock is None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    req = b"GET /a.txt HTTP/1.1\r\nHost: t\r\n" + (b"" if keep_alive else b"Connection: close\r\n") + b"\r\n"
    sock.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf or len(buf.split(b"\r\n\r\n", 1)[1]) < len(BODY):
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError("closed before the response")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200") or body != BODY:
        raise ValueError(head[:40])
    if not keep_alive or b"connection: close" in head.lower():
        sock.close()
        return None
    return sock


def client(port, keep_alive, stop, tally):
    sock = None
    while not stop.is_set():
        reused = sock is not None
        try:
            sock = request(sock, port, keep_alive)
            tally.add(ok=1)
        except Exception as e:  # noqa: BLE001 - every failure is counted
            sock = None
            if reused:
                tally.add(retried=1)
                try:
                    sock = request(None, port, keep_alive)
                    tally.add(ok=1)
                    continue
                except Exception as e2:  # noqa: BLE001
                    e = e2
            tally.add(failed=1, resets=int(isinstance(e, ConnectionResetError)))
            with tally.lock:
                if len(tally.errors) < 5:
                    tally.errors.append(repr(e))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--migrate", default="keep")
    ap.add_argument("--ferry", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "ferry"))
    a = ap.parse_args()
    before = open(MIGRATE).read().strip() if os.path.exists(MIGRATE) else None
    if a.migrate != "keep":
        with open(MIGRATE, "w") as f:
            f.write(a.migrate)
    root = tempfile.mkdtemp(prefix="ferry-restart.")
    with open(os.path.join(root, "a.txt"), "wb") as f:
        f.write(BODY)
    old, port = start(a.ferry, root, 0)
    stop, tally = threading.Event(), Tally()
    threads = [threading.Thread(target=client, args=(port, ka, stop, tally)) for ka in (True, True, False, False)]
    for t in threads:
        t.start()
    try:
        for _ in range(a.rounds):
            time.sleep(0.3)
            new, _ = start(a.ferry, root, port)
            time.sleep(0.3)
            old.send_signal(signal.SIGTERM)
            old.wait(timeout=10)
            old = new
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        old.send_signal(signal.SIGTERM)
        old.wait(timeout=10)
        if a.migrate != "keep" and before is not None:
            with open(MIGRATE, "w") as f:
                f.write(before)
    print(f"tcp_migrate_req={open(MIGRATE).read().strip() if a.migrate == 'keep' else a.migrate}: "
          f"{a.rounds} restarts, {tally.ok} requests, {tally.failed} failed, {tally.resets} resets, "
          f"{tally.retried} keep-alive retries; first errors: {tally.errors}")


if __name__ == "__main__":
    main()
