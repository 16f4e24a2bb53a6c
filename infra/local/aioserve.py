"""Serving an aiohttp app from the command line: the part the local servers share.

Each local server (the lederne and FCM stand-ins, the gateway) binds its port, serves until
SIGINT/SIGTERM, logs one line on start (``<label> listening on http://host:port``, the port
as bound) and exits 0; a port it cannot bind is a one-line error and exit code 2::

    return aioserve.run("fcm stand-in", args.host, args.port, lambda host, port: build_app())
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import signal
import socket
import sys
from collections.abc import Callable

from aiohttp import web

#: make_app(host, port) -> the application (or aiohttp's low-level server), given the
#: address actually bound.
AppFactory = Callable[[str, int], web.Application | web.Server]


def base_url(host: str, port: int, scheme: str = "http") -> str:
    """``scheme://host:port``, an IPv6 literal in brackets."""
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"{scheme}://{host}:{port}"


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening, non-blocking TCP socket on (host, port); OSError if it cannot be bound."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def serve(
    label: str,
    sock: socket.socket,
    make_app: AppFactory,
    *,
    note: str = "",
    shutdown_timeout: float = 1.0,
) -> None:
    """Serves ``make_app(host, port)`` on ``sock`` until SIGINT/SIGTERM; logs one line on start.

    ``note`` is appended to that line (e.g. ``" (12 routes)"``).
    """
    host, port = sock.getsockname()[:2]
    app = make_app(host, port)
    runner: web.BaseRunner = (
        web.ServerRunner(app, handle_signals=False, shutdown_timeout=shutdown_timeout)
        if isinstance(app, web.Server)
        else web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=shutdown_timeout
        )
    )
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.SockSite(runner, sock).start()
        print(f"{label} listening on {base_url(host, port)}{note}", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def run(label: str, host: str, port: int, make_app: AppFactory, **serve_options) -> int:
    """Binds, serves, and maps the outcome to an exit code: 0 after SIGINT/SIGTERM, 2 if the
    port cannot be bound (busy or otherwise), 1 if the app fails to start."""
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        reason = f"port {port} is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        print(f"error: {label} cannot listen on {host}:{port}: {reason}", file=sys.stderr)
        return 2
    import uvloop  # the loop the sending function runs its sends on (requirements.in)

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve(label, sock, make_app, **serve_options))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        pass
    except (OSError, ValueError, TypeError) as exc:
        print(f"error: {label} failed to start: {exc}", file=sys.stderr)
        return 1
    return 0
