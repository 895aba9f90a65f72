"""The API's connections send each turn's writes with one system call (app.serve.OneSendPerTurn)."""

from __future__ import annotations

import asyncio

from app.serve import OneSendPerTurn


class _Socket:
    """A transport that records each send."""

    def __init__(self):
        self.sent: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str):
        return {"peername": ("127.0.0.1", 5050)}.get(name)


async def test_a_responses_head_and_body_written_in_one_turn_leave_in_one_send():
    socket = _Socket()
    transport = OneSendPerTurn(socket, asyncio.get_running_loop())

    transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    transport.write(b"{}")
    assert socket.sent == []
    await asyncio.sleep(0)

    assert socket.sent == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


async def test_writes_of_later_turns_leave_in_sends_of_their_own():
    socket = _Socket()
    transport = OneSendPerTurn(socket, asyncio.get_running_loop())

    transport.write(b"a")
    await asyncio.sleep(0)
    transport.write(b"b")
    await asyncio.sleep(0)

    assert socket.sent == [b"a", b"b"]


async def test_closing_sends_what_is_pending_first_and_nothing_after():
    socket = _Socket()
    transport = OneSendPerTurn(socket, asyncio.get_running_loop())

    transport.write(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
    transport.close()
    await asyncio.sleep(0)

    assert socket.sent == [b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"] and socket.closed


async def test_the_rest_is_the_transports_own():
    transport = OneSendPerTurn(_Socket(), asyncio.get_running_loop())

    assert transport.get_extra_info("peername") == ("127.0.0.1", 5050) and not transport.is_closing()
