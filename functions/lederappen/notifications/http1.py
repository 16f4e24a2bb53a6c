"""A small HTTP/1.1 keep-alive client on asyncio streams: the FCM sender's "streams" transport.

It only POSTs a body to one URL and reads the answer (status, headers, body; Content-Length,
chunked, or until the connection closes). It exists because the benchmark showed aiohttp's
client machinery as most of the sender's CPU per push (README, Benchmarks); everything else
(the message, its validation and encoding, the access token, reading an error answer into a
typed exception) stays the Admin SDK's, in fcm.py.

Connections are kept for reuse while they are younger than IDLE_SECONDS since their last
answer; one that the server closed while idle (no byte of an answer on a reused connection)
is replaced and the request written once more on a fresh one, as browsers and HTTP libraries
do. A timeout or cancellation closes the connection (its state is unknown). The status line
and headers are read in one piece, up to the blank line (CRLF line ends, RFC 9112). Errors are
OSError (ConnectionError, ProtocolError) or EOFError (asyncio.IncompleteReadError).
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

#: A kept connection older than this (since its last answer) is closed, not reused: servers
#: close idle keep-alive connections, and a write into one that is half closed is lost time.
IDLE_SECONDS = 30.0
#: Longest header line or chunk-size line accepted.
LINE_LIMIT = 64 * 1024


class ProtocolError(OSError):
    """The server's answer is not HTTP/1.x as this client reads it."""


class Pool:
    """Keep-alive connections to one URL; POST only. Use from one event loop."""

    def __init__(self, url: str, *, idle_seconds: float = IDLE_SECONDS):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an http(s) URL is needed")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        default = self.port == (443 if self.tls else 80)
        self._host_header = self.host if default else f"{self.host}:{self.port}"
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._idle_seconds = idle_seconds
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self._ssl = ssl.create_default_context() if self.tls else None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(
            self.host,
            self.port,
            ssl=self._ssl,
            server_hostname=self.host if self.tls else None,
            limit=LINE_LIMIT,
        )

    def _kept(self, now: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        while self._idle:
            reader, writer, since = self._idle.pop()
            if now - since < self._idle_seconds and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    async def post(
        self, body: bytes, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) of one POST."""
        loop = asyncio.get_running_loop()
        request_head = (
            f"POST {self._path} HTTP/1.1\r\nHost: {self._host_header}\r\n"
            f"Content-Length: {len(body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n"
        )
        request = request_head.encode("latin-1") + body
        for attempt in (1, 2):
            kept = self._kept(loop.time())
            reader, writer = kept if kept is not None else await self._connect()
            answered = False
            try:
                writer.write(request)
                if writer.transport.get_write_buffer_size() > 65536:
                    await writer.drain()
                # the status line and the headers in one read (one await, not one a line)
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as exc:
                    answered = bool(exc.partial)
                    if not answered:
                        raise ConnectionResetError("the server closed the connection") from None
                    raise ProtocolError("the headers ended early") from None
                except asyncio.LimitOverrunError:
                    answered = True
                    raise ProtocolError("the headers are too long") from None
                answered = True
                status, answer_headers, content, keep = await self._answer(head, reader)
            except (OSError, EOFError):
                writer.close()
                if kept is not None and not answered and attempt == 1:
                    continue  # closed while idle: once more on a fresh connection
                raise
            except BaseException:  # timeout, cancellation: the connection's state is unknown
                writer.close()
                raise
            if keep:
                self._idle.append((reader, writer, loop.time()))
            else:
                writer.close()
            return status, answer_headers, content
        raise AssertionError("unreachable")

    @staticmethod
    async def _answer(
        head: bytes, reader: asyncio.StreamReader
    ) -> tuple[int, list[tuple[str, str]], bytes, bool]:
        line, *header_lines = head[:-4].split(b"\r\n")
        try:
            version, code = line.split(None, 2)[:2]
            status = int(code)
        except ValueError:
            raise ProtocolError("not an HTTP status line") from None
        if not version.startswith(b"HTTP/1."):
            raise ProtocolError("not HTTP/1.x")
        keep = version == b"HTTP/1.1"
        answer_headers: list[tuple[str, str]] = []
        length: int | None = None
        chunked = False
        for raw in header_lines:
            name, sep, value = raw.decode("latin-1").partition(":")
            if not sep:
                raise ProtocolError("a header without a colon")
            name, value = name.strip(), value.strip()
            answer_headers.append((name, value))
            lower = name.lower()
            if lower == "content-length":
                try:
                    length = int(value)
                except ValueError:
                    raise ProtocolError("a bad Content-Length") from None
            elif lower == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif lower == "connection":
                token = value.lower()
                keep = "close" not in token and (keep or "keep-alive" in token)
        if chunked:
            parts = []
            while True:
                size_line = await reader.readline()
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise ProtocolError("a bad chunk size") from None
                if size == 0:
                    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                parts.append((await reader.readexactly(size + 2))[:size])
            content = b"".join(parts)
        elif length is not None:
            content = await reader.readexactly(length)
        elif status in (204, 304) or 100 <= status < 200:
            content = b""
        else:
            content = await reader.read()  # until the server closes it
            keep = False
        return status, answer_headers, content, keep

    async def close(self) -> None:
        while self._idle:
            _, writer, _ = self._idle.pop()
            writer.close()
