"""Running the API: one uvicorn server per worker process, each on its own SO_REUSEPORT socket.

uvicorn's own multi-worker mode shares one listening socket, and a burst of connections is often
accepted by a single worker while the others idle (seen in bench/: 8 of 8 keep-alive clients on one of
two workers). With a socket per worker and SO_REUSEPORT, the kernel spreads new connections evenly.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import socket
import sys

WORKER_STOP_SECONDS = 20


def _socket(host: str, port: int, reuse_port: bool, *, listen: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class OneSendPerTurn:
    """A connection's transport that sends what is written to it during one turn of the event loop in one system
    call. uvicorn writes a response's head and its body with a write each, and each is a send() on the socket:
    on this kind of virtual machine a send costs the API about 15-30 µs of kernel time, mostly waking the
    reader. Closing sends what is pending first; everything else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._send)
        self._pending.append(data)

    def _send(self) -> None:
        if self._pending and not self._transport.is_closing():
            self._transport.write(b"".join(self._pending))
        self._pending.clear()

    def close(self) -> None:
        self._send()
        self._transport.close()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


def _protocol():
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HttpProtocol(HttpToolsProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(OneSendPerTurn(transport, self.loop))  # type: ignore[arg-type]

    return HttpProtocol


def _worker(host: str, port: int, reuse_port: bool) -> None:
    import uvicorn

    config = uvicorn.Config("app.asgi:app", log_level="warning", access_log=False, loop="uvloop",
                            http=_protocol(), lifespan="on")
    uvicorn.Server(config).run(sockets=[_socket(host, port, reuse_port)])


def serve(host: str, port: int, workers: int) -> None:
    """Serve until SIGINT or SIGTERM; with several workers, supervise them and stop them all together."""
    if workers <= 1 or not hasattr(socket, "SO_REUSEPORT"):
        _worker(host, port, reuse_port=False)
        return
    # The port is checked before any worker starts, so a busy port fails loudly once. The probe never
    # listens: connections queued on it would be lost when it closes.
    probe = _socket(host, port, reuse_port=True, listen=False)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker, args=(host, port, True), daemon=False) for _ in range(workers)]
    for process in processes:
        process.start()
    probe.close()
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid:
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(p.is_alive() for p in processes):
            processes[0].join(0.5)
    finally:
        stop()
        for process in processes:
            process.join(WORKER_STOP_SECONDS)
            if process.is_alive():
                process.kill()
    if not stopping:
        sys.exit("Un proceso de la API terminó inesperadamente / an API worker exited unexpectedly")
