"""One server process of the page benchmark: uvicorn serving an ASGI app on a port that several
such processes share (SO_REUSEPORT; the kernel spreads the connections over them).

    python -m tests.bench.serve --port 8001 tests.bench.bare:app
    python -m tests.bench.serve --port 8002 --factory backend.app:create_app

Why not `uvicorn --workers 2`: its worker processes rebuild the listening socket with protocol
number 0, so asyncio does not switch Nagle's algorithm off on the connections they accept, and
every response whose head and body leave in separate writes waits about 40 ms for the client's
delayed ACK (measured here: 44 ms for any page, at 1 client as at 50). Here the socket is made
with IPPROTO_TCP, as `uvicorn.run` on a host and port makes it.
"""
from __future__ import annotations

import argparse
import socket

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--factory", action="store_true")
    parser.add_argument("app")
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", args.port))
    config = uvicorn.Config(args.app, factory=args.factory, log_level="warning", lifespan="on", backlog=2048)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
