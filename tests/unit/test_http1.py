"""The FCM sender's own HTTP/1.1 client (notifications/http1.py) against a raw local server:
the answer forms it reads, and a kept connection the server closed while idle."""

import asyncio

import pytest
from lederappen.notifications import http1


async def _serve(answers: list[bytes], close_after: set[int] = frozenset()):
    """A server answering the n-th request with answers[n]; closes the connection after the
    requests in `close_after`. Returns (server, url, seen requests, connections made)."""
    seen: list[bytes] = []
    connections = [0]

    async def handle(reader, writer):
        connections[0] += 1
        while True:
            head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
            if not head:
                break
            length = int(
                next(
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            body = await reader.readexactly(length)
            n = len(seen)
            seen.append(head + body)
            writer.write(answers[n])
            await writer.drain()
            if n in close_after:
                writer.close()
                return

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v1/projects/p/messages:send", seen, connections


def run(coro):
    return asyncio.run(coro)


def test_content_length_chunked_and_headers_are_read_and_the_connection_reused():
    async def go():
        server, url, seen, connections = await _serve(
            [
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\n{}",
                (
                    b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b'3\r\n{"a\r\n4;x=y\r\n":1}\r\n0\r\n\r\n'
                ),
                b"HTTP/1.1 204 No Content\r\n\r\n",
            ]
        )
        pool = http1.Pool(url)
        try:
            first = await pool.post(b'{"m":1}', {"Authorization": "Bearer t"})
            second = await pool.post(b"{}", {})
            third = await pool.post(b"{}", {})
        finally:
            await pool.close()
            server.close()
        assert first == (200, [("Content-Length", "2"), ("X-A", "1")], b"{}")
        assert second[0] == 404 and second[2] == b'{"a":1}'
        assert third == (204, [], b"")
        assert connections[0] == 1
        assert seen[0].startswith(b"POST /v1/projects/p/messages:send HTTP/1.1\r\n")
        assert b"Authorization: Bearer t\r\n" in seen[0] and seen[0].endswith(b'{"m":1}')

    run(go())


def test_a_connection_the_server_closed_is_replaced_and_the_request_written_again():
    async def go():
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        server, url, seen, connections = await _serve([ok, ok, ok], close_after={0})
        pool = http1.Pool(url)
        try:
            assert (await pool.post(b"1", {}))[0] == 200
            await asyncio.sleep(0.05)  # the server has closed the kept connection
            assert (await pool.post(b"2", {}))[0] == 200
        finally:
            await pool.close()
            server.close()
        assert connections[0] == 2 and [r[-1:] for r in seen] == [b"1", b"2"]

    run(go())


def test_connection_close_and_an_answer_without_length_end_the_connection():
    async def go():
        server, url, _, connections = await _serve(
            [
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
                b"HTTP/1.1 500 Oops\r\n\r\nbody until close",
            ],
            close_after={1},
        )
        pool = http1.Pool(url)
        try:
            assert await pool.post(b"", {}) == (
                200,
                [("Connection", "close"), ("Content-Length", "1")],
                b"x",
            )
            assert (await pool.post(b"", {}))[::2] == (500, b"body until close")
        finally:
            await pool.close()
            server.close()
        assert connections[0] == 2 and pool._idle == []

    run(go())


def test_garbage_is_a_protocol_error_an_os_error():
    async def go():
        server, url, _, _ = await _serve([b"SMTP ready\r\n\r\n"], close_after={0})
        pool = http1.Pool(url)
        try:
            with pytest.raises(OSError):
                await pool.post(b"", {})
        finally:
            await pool.close()
            server.close()

    run(go())


def test_a_head_cut_short_or_too_long_is_a_protocol_error_and_not_written_again():
    """A server that answered part of a head (then closed), or a head longer than the limit,
    did receive the request: a ProtocolError, and the request is not written a second time
    (only a connection closed before any byte of an answer is retried)."""

    async def go(answer: bytes):
        server, url, seen, _ = await _serve([answer, answer], close_after={0, 1})
        pool = http1.Pool(url)
        try:
            # a kept connection first, so that a retry would be allowed if nothing came back
            pool._idle.append((*await pool._connect(), asyncio.get_running_loop().time()))
            with pytest.raises(http1.ProtocolError):
                await pool.post(b"", {})
        finally:
            await pool.close()
            server.close()
        assert len(seen) == 1

    run(go(b"HTTP/1.1 200 OK\r\nContent-Le"))
    run(go(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * (http1.LINE_LIMIT + 10) + b"\r\n\r\n"))
