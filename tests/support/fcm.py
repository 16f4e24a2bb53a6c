"""The FCM stand-in served in-process on a free port of 127.0.0.1, for tests of FCM clients."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request

from aiohttp import web

from infra.local import aioserve, fcm_standin

PROJECT = "lederappen-local"


class Standin:
    """`infra.local.fcm_standin.build_app()` in a background thread with its own loop;
    `/_control/tokens` and `/_control/faults` make chosen tokens or requests fail or slow."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.sock = aioserve.bind_socket("127.0.0.1", 0)
        self.base = aioserve.base_url(*self.sock.getsockname()[:2])
        self.runner = web.AppRunner(fcm_standin.build_app(), access_log=None, shutdown_timeout=0.2)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._run(self._start())

    @property
    def send_url(self) -> str:
        return f"{self.base}/v1/projects/{PROJECT}/messages:send"

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _start(self) -> None:
        await self.runner.setup()
        await web.SockSite(self.runner, self.sock).start()

    def stop(self) -> None:
        self._run(self.runner.cleanup())
        self._run(self._cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    @staticmethod
    async def _cancel_the_rest() -> None:  # handlers still in an injected delay
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def control(self, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.base + path, data=data, method="GET" if body is None else "POST"
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def behave(
        self, token: str, behaviour: str, times: int | None = None, retry_after: int = 1
    ) -> None:
        self.control(
            "/_control/tokens",
            {"token": token, "behaviour": behaviour, "times": times, "retry_after": retry_after},
        )

    def fault(self, **rule) -> None:
        self.control("/_control/faults", rule)

    def delivered(self, token: str, kind: str = "token") -> list[dict]:
        return self.control(f"/_control/messages?{kind}={token}")

    def stats(self) -> dict:
        return self.control("/_control/stats")
