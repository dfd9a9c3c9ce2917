#!/usr/bin/env python3
"""Socket activation with TCP_DEFER_ACCEPT, as systemd's DeferAcceptSec=
does it: bind 127.0.0.1 (on --port's value, 0 for any), set
TCP_DEFER_ACCEPT and TCP_NODELAY, listen, then exec ferry in this process
with the socket as fd 3 and LISTEN_FDS=1, LISTEN_PID=<this pid>.

    FERRY_BIN=benches/defer_accept_launch.py benches/load.sh   # needs FERRY=…
    FERRY=target/release/ferry benches/defer_accept_launch.py DIR --port 0 …

ferry cannot set TCP_DEFER_ACCEPT on sockets it binds itself (std's
setter is not stable, and ferry has no unsafe code); a supervisor can.
"""
import os
import socket
import sys

args = sys.argv[1:]
port = 0
if "--port" in args:
    port = int(args[args.index("--port") + 1])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.listen(1024)
fd = s.detach()
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.environ["LISTEN_PID"] = str(os.getpid())
ferry = os.environ.get("FERRY", os.path.join(os.path.dirname(__file__), "..", "target", "release", "ferry"))
os.execv(ferry, [ferry] + args)
