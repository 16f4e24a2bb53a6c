"""FCM HTTP v1 through Google's Admin SDK: sends many push messages at once and says what
became of each.

Messages are `firebase_admin.messaging.Message` objects (built by `push.fcm_message`); the SDK
validates them as it encodes them (a ttl, an enum, the one target), its google-auth
credential gives the access token, and what FCM answered comes back as the SDK's typed
exceptions, which `classify` reads, never their text. The transport is below.

`Sender.send_all(messages)` returns one `Outcome` per message, in input order. The aiohttp
transport also takes a message as the request body the SDK's encoding makes of it (bytes,
`push.Pushes.request`: encoded once per variant, the token put in per device). It blocks the
calling thread (a sync functions-framework handler, possibly several at once) while the work
runs on one event loop in a daemon thread that the Sender owns, `concurrency` sends at a time.
`sender(settings)` is the one Sender of the process.

Retry contract, per message:

* sent → "sent". `UnregisteredError` (404 UNREGISTERED) → "unregistered"; a 404 without it
  (a wrong project or URL) is "failed": only FCM's own verdict may prune a device.
  `SenderIdMismatchError` (the token belongs to another sender) and an
  `InvalidArgumentError` whose google.rpc.BadRequest names `message.token` (or
  `message.fid`) → "invalid_token". Any other invalid argument (e.g. a payload over 4096
  bytes) and a message the SDK refuses to encode → "failed", not retried; so are
  `ThirdPartyAuthError` (APNs/Web Push credentials) and a 401 that refreshing the access
  token did not cure (a 401 refreshes it and sends once more).
* `QuotaExceededError` (429), `UnavailableError`, `InternalError`, `DeadlineExceededError`,
  any 500/502/503/504, connection errors and timeouts are retried up to `max_attempts` sends
  in all, after
  exponential backoff with full jitter (base 0.5 s, factor 2, cap 10 s), or after Retry-After
  when that is longer. A 429 with Retry-After pauses every send of the Sender until then:
  FCM's quota is per project. (The SDK's own transport also retries a 500 or 503 up to four
  times within one send.)
* Nothing goes past `deadline_seconds` from the start of `send_all` (a send still running
  then is cancelled). A message whose attempts or time ran out is "retryable", with the last
  status, error code and Retry-After, for the caller's own backoff (a Pub/Sub redelivery).
  A timeout or dropped connection may hide a delivery; its retry can then duplicate it.

Three transports, one contract (`Sender(transport=...)`; `sender()` takes the setting
FCM_TRANSPORT, default "streams"): "sdk" sends through `messaging.send_each_async` (httpx);
"aiohttp" posts the SDK's own encoding of the message with the SDK app's google-auth
credential over a pool of aiohttp keep-alive connections; "streams" posts the same over the
small HTTP/1.1 keep-alive client of `http1.py` on asyncio streams. Both turn a non-200 answer
into the SDK's typed exception with the SDK's own error parser, so `classify` is the same for
all three. The hand-written transports stay because the benchmark (README "Benchmarks") shows
the SDK's httpx path costing about 14x the CPU per push, and aiohttp's client machinery most
of what is left of the sender's, too much for a 200,000-device broadcast on two cores; every
other part (message, validation, auth, errors) is the SDK's.

Endpoint and credentials: for `https://fcm.googleapis.com`, the SDK's Application Default
Credentials; for any other FCM_ENDPOINT (the local stand-in), the SDK is pointed there (it has
no setting for that: `_point_at` sets its one URL) with the fixed bearer `local-standin`.

Nothing here logs a token, a payload or a response body: one summary line per `send_all`
(counts per outcome) is all. firebase_admin (~240 ms) and aiohttp are imported lazily, by the
first send.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import email.utils
import itertools
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from ..core import log

logger = logging.getLogger(__name__)

GOOGLE_HOST = "fcm.googleapis.com"
LOCAL_BEARER = "local-standin"

BACKOFF_BASE = 0.5
BACKOFF_FACTOR = 2.0
BACKOFF_CAP = 10.0

_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
_TOKEN_FIELDS = frozenset({"message.token", "message.fid"})

Transport = Literal["aiohttp", "streams", "sdk"]
#: Retried by the aiohttp transport (the SDK's own transport retries 500 and 503 itself).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

Status = Literal["sent", "unregistered", "invalid_token", "retryable", "failed"]
STATUSES: tuple[Status, ...] = ("sent", "unregistered", "invalid_token", "retryable", "failed")


@dataclass(frozen=True)
class Outcome:
    """What became of one message. Holds no token and no payload."""

    status: Status
    http_status: int | None  # last HTTP status (None for a connection error/timeout)
    error_code: str | None  # FCM errorCode or canonical code, e.g. "UNREGISTERED"
    attempts: int  # SDK sends (each may hold the SDK's own retries of a 500/503)
    retry_after: float | None  # last Retry-After seen (seconds)


SENT_ONCE = Outcome("sent", 200, None, 1, None)


# --------------------------------------------------------------------------------------
# Reading answers
# --------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, min(seconds, 86400.0))


def _violated_fields(response: Any) -> set[str]:
    """The fields a google.rpc.BadRequest in an error answer names; tolerant."""
    try:
        details = response.json()["error"]["details"]
    except (ValueError, TypeError, KeyError, AttributeError):  # not JSON, or not Google's shape
        return set()
    fields: set[str] = set()
    for detail in details if isinstance(details, list) else ():
        if isinstance(detail, dict) and detail.get("@type") == _BAD_REQUEST:
            for violation in detail.get("fieldViolations") or ():
                if isinstance(violation, dict) and isinstance(violation.get("field"), str):
                    fields.add(violation["field"])
    return fields


def classify(exc: BaseException) -> tuple[str, str | None, int | None, float | None]:
    """(verdict, error code, HTTP status, Retry-After) of what one send raised; the verdict is
    an Outcome status or "retry". Reads the SDK's exception types, not its messages."""
    from firebase_admin import exceptions, messaging
    from google.auth import exceptions as auth_exceptions

    response = getattr(exc, "http_response", None)
    status = getattr(response, "status_code", None)
    retry_after = None
    code: str | None = None
    if response is not None:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        code = getattr(exc, "code", None)
    if isinstance(exc, messaging.UnregisteredError):
        return "unregistered", "UNREGISTERED", status, retry_after
    if isinstance(exc, messaging.SenderIdMismatchError):
        return "invalid_token", "SENDER_ID_MISMATCH", status, retry_after
    if isinstance(exc, messaging.QuotaExceededError):
        return "retry", "QUOTA_EXCEEDED", status, retry_after
    if isinstance(exc, messaging.ThirdPartyAuthError):
        return "failed", "THIRD_PARTY_AUTH_ERROR", status, retry_after
    if isinstance(exc, exceptions.InvalidArgumentError):
        about_token = response is not None and bool(_violated_fields(response) & _TOKEN_FIELDS)
        return ("invalid_token" if about_token else "failed"), code, status, retry_after
    if (
        isinstance(
            exc,
            (
                exceptions.UnavailableError,
                exceptions.InternalError,
                exceptions.DeadlineExceededError,
                exceptions.ResourceExhaustedError,
            ),
        )
        or status in RETRY_STATUSES
    ):
        return "retry", code, status, retry_after
    if isinstance(exc, exceptions.UnknownError) and response is None:
        # a transport error the SDK could not name, or no access token to be had
        cause = getattr(exc, "cause", None)
        if isinstance(cause, auth_exceptions.GoogleAuthError):
            return "retry", "UNAUTHENTICATED", None, None
        return "retry", None, None, None
    return "failed", code, status, retry_after


def backoff(retry: int, retry_after: float | None = None) -> float:
    """Delay before retry number `retry` (1 = the first): full jitter, or Retry-After if longer."""
    delay = random.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * BACKOFF_FACTOR ** (retry - 1)))
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return delay


# --------------------------------------------------------------------------------------
# The SDK, pointed at FCM or at the local stand-in
# --------------------------------------------------------------------------------------


def static_credential(source: str | Callable[[], str]) -> Any:
    """A google-auth credential whose access token is `source` (or what it returns on each
    refresh): for the local stand-in, and for tests."""
    from google.auth import credentials

    class Static(credentials.Credentials):
        def refresh(self, request: Any) -> None:
            self.token = source() if callable(source) else source
            self.expiry = None  # good until FCM answers 401

    return Static()


_app_names = itertools.count()


def firebase_app(
    endpoint: str,
    project: str,
    *,
    credential: Any = None,
    timeout: float = 10.0,
    name: str | None = None,
) -> Any:
    """A firebase_admin App of its own whose messaging sends to `endpoint`'s FCM v1 API.

    `credential` is a google-auth credential; None means Application Default Credentials for
    Google's endpoint and the fixed `local-standin` bearer for any other."""
    import firebase_admin
    from firebase_admin import credentials

    google = urlsplit(endpoint).hostname == GOOGLE_HOST
    if credential is None and google:
        wrapped: Any = credentials.ApplicationDefault()
    else:
        inner = credential if credential is not None else static_credential(LOCAL_BEARER)

        class Given(credentials.Base):
            def get_credential(self) -> Any:
                return inner

        wrapped = Given()
    app = firebase_admin.initialize_app(
        wrapped,
        {"projectId": project, "httpTimeout": timeout},
        name=name or f"lederappen-fcm-{next(_app_names)}",
    )
    if not google:
        _point_at(app, endpoint, project)
    return app


def _point_at(app: Any, endpoint: str, project: str) -> None:
    """Sends `app`'s messages to another FCM v1 host. firebase-admin 7.x has no option or
    emulator variable for this; its messaging service keeps the one URL in `_fcm_url`.
    tests/integration/test_fcm_client.py fails if an upgrade moves it (nothing would reach the
    stand-in)."""
    from firebase_admin import messaging

    service = messaging._get_messaging_service(app)
    if not isinstance(getattr(service, "_fcm_url", None), str):
        raise TypeError("firebase_admin.messaging has no _fcm_url to point at the stand-in")
    service._fcm_url = f"{endpoint.rstrip('/')}/v1/projects/{project}/messages:send"


# --------------------------------------------------------------------------------------
# The sender
# --------------------------------------------------------------------------------------


class _Progress:
    """Where one message is: sends made and the last answer seen."""

    __slots__ = ("attempts", "error_code", "http_status", "retry_after")

    def __init__(self) -> None:
        self.attempts = 0
        self.http_status: int | None = None
        self.error_code: str | None = None
        self.retry_after: float | None = None

    def outcome(self, status: Status) -> Outcome:
        return Outcome(status, self.http_status, self.error_code, self.attempts, self.retry_after)


class Sender:
    """Sends FCM v1 messages concurrently with the Admin SDK from a background event loop;
    thread-safe.

    `concurrency` sends at a time per process (shared by the batches an instance runs at
    once): a batch's sends wait on FCM, not on the CPU, so 128 in flight send twice what 64
    did at the same CPU per push (~2,500/s an instance at FCM's usual 50 ms; the push
    benchmark: README "Benchmarks"). `deadline_seconds` bounds one `send_all`: a delivery
    batch of 10,000 needs ~4 s of it, the rest is room for retries inside the 120 s lease."""

    def __init__(
        self,
        endpoint: str,
        project: str,
        *,
        concurrency: int = 128,
        max_attempts: int = 4,
        deadline_seconds: float = 60.0,
        request_timeout: float = 10.0,
        credential: Any = None,
        transport: Transport = "aiohttp",
    ):
        if concurrency < 1 or max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")
        if transport not in ("aiohttp", "streams", "sdk"):
            raise ValueError("transport must be 'aiohttp', 'streams' or 'sdk'")
        self.transport = transport
        self.endpoint, self.project = endpoint, project
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.deadline_seconds = deadline_seconds
        self.request_timeout = request_timeout
        self._credential = credential
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._app: Any = None
        self._closed = False
        self._paused_until = 0.0  # loop.time() until which a 429 paused all sends
        self._semaphore: asyncio.Semaphore | None = None
        self._session: Any = None  # aiohttp transport: the keep-alive pool (on the loop)
        self._url = ""
        self._encoder: Any = None
        self._headers: dict[str, str] = {}
        self._refresh_lock: asyncio.Lock | None = None

    # -- life cycle -------------------------------------------------------------------

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise RuntimeError("Sender is closed")
            if self._loop is None:
                self._app = firebase_app(
                    self.endpoint,
                    self.project,
                    credential=self._credential,
                    timeout=self.request_timeout,
                )
                import uvloop  # libuv under asyncio: a third less CPU a send (requirements.in)

                loop = uvloop.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="fcm-sender", daemon=True)
                thread.start()
                self._semaphore = asyncio.Semaphore(self.concurrency)
                if self.transport != "sdk":
                    try:
                        asyncio.run_coroutine_threadsafe(self._open(), loop).result(30)
                    except BaseException:
                        loop.call_soon_threadsafe(loop.stop)
                        thread.join(5)
                        loop.close()
                        raise
                self._loop, self._thread = loop, thread
                atexit.register(self.close)
            return self._loop

    async def _open(self) -> None:
        from firebase_admin import _messaging_encoder, messaging

        service = messaging._get_messaging_service(self._app)
        self._url = service._fcm_url  # the SDK's URL (pointed at the stand-in locally)
        self._headers = dict(service._fcm_headers)  # the SDK's API version and client
        self._headers["Content-Type"] = "application/json"
        self._encoder = _messaging_encoder.MessageEncoder()
        self._refresh_lock = asyncio.Lock()
        if self.transport == "streams":
            from . import http1

            self._session = http1.Pool(self._url)
            return
        import aiohttp  # only for this transport (~150 ms to import)

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.concurrency, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=self.request_timeout),
            trust_env=False,
        )

    def close(self) -> None:
        """Closes the connections and stops the loop; the Sender cannot send afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread, app = self._loop, self._thread, self._app
        atexit.unregister(self.close)
        if loop is None or thread is None:
            return
        from firebase_admin import messaging

        service = messaging._get_messaging_service(app)
        closing = [service._async_client.aclose()]  # it lives on this loop: close it there
        if self._session is not None:
            closing.append(self._session.close())
        for coro in closing:
            # best effort: the process may be going away
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(coro, loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        if not thread.is_alive():
            loop.close()
        import firebase_admin

        # its own close re-closes the async client, which may fail: nothing left to do then
        with contextlib.suppress(Exception):
            firebase_admin.delete_app(app)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def app(self) -> Any:
        """The firebase_admin App this Sender sends with (created by the first send)."""
        self._ensure_started()
        return self._app

    # -- sending ----------------------------------------------------------------------

    def send_all(self, messages: Sequence[Any]) -> list[Outcome]:
        """Sends every message; one Outcome per message, in input order. Blocks."""
        n = len(messages)
        if n == 0:
            return []
        loop = self._ensure_started()
        results: list[Outcome | None] = [None] * n
        fresh = self._fresh_credential()
        started = time.monotonic()  # the deadline counts the sending, not the set-up above
        if not fresh:
            out = [Outcome("retryable", None, "UNAUTHENTICATED", 0, None)] * n
        else:
            # loop.time() is time.monotonic(): the deadline counts from the call.
            deadline = started + self.deadline_seconds
            future = asyncio.run_coroutine_threadsafe(
                self._send_all(list(messages), results, deadline), loop
            )
            try:
                future.result(deadline - time.monotonic() + 5.0)
            except TimeoutError:  # should not happen: the coroutine keeps the deadline
                future.cancel()
                logger.error("fcm send_all overran its deadline")
            out = [
                r if r is not None else Outcome("retryable", None, None, 0, None) for r in results
            ]
        self._log_summary(out, time.monotonic() - started)
        return out

    def _fresh_credential(self) -> bool:
        """Refreshes an expired (or nearly expired) access token here, in the caller's
        thread, so that the SDK's refresh (blocking I/O) never stalls the event loop; False
        if no token can be had."""
        credential = self._app.credential.get_credential()
        if credential.valid:
            return True
        try:
            from google.auth.transport.requests import Request

            credential.refresh(Request())
            return True
        except Exception as exc:
            logger.error("fcm access token unavailable", exc_info=exc)
            return False

    def _log_summary(self, outcomes: list[Outcome], elapsed: float) -> None:
        counts = dict.fromkeys(STATUSES, 0)
        attempts = 0
        for o in outcomes:
            counts[o.status] += 1
            attempts += o.attempts
        level = logging.WARNING if counts["retryable"] or counts["failed"] else logging.INFO
        log.event(
            logger,
            "fcm send_all",
            level,
            messages=len(outcomes),
            requests=attempts,
            elapsed_ms=round(elapsed * 1000),
            **counts,
        )

    async def _send_all(
        self, messages: list[Any], results: list[Outcome | None], deadline: float
    ) -> None:
        loop = asyncio.get_running_loop()
        pending = iter(range(len(messages)))
        retries: set[asyncio.Task] = set()

        async def worker() -> None:
            # The common case (one send, final answer) runs here without a task per
            # message; a message to retry goes on in a task of its own, freeing the worker.
            for i in pending:
                progress = _Progress()
                step = await self._step(messages[i], deadline, progress)
                if isinstance(step, Outcome):
                    results[i] = step
                else:
                    task = loop.create_task(
                        self._retry(i, messages[i], deadline, progress, step, results)
                    )
                    retries.add(task)
                    task.add_done_callback(retries.discard)

        workers = [loop.create_task(worker()) for _ in range(min(self.concurrency, len(messages)))]
        try:
            await asyncio.gather(*workers)
            while retries:
                await asyncio.gather(*list(retries))
        finally:
            for task in (*workers, *retries):
                task.cancel()

    async def _retry(
        self,
        i: int,
        message: Any,
        deadline: float,
        progress: _Progress,
        delay: float,
        results: list[Outcome | None],
    ) -> None:
        while True:
            await asyncio.sleep(delay)
            step = await self._step(message, deadline, progress)
            if isinstance(step, Outcome):
                results[i] = step
                return
            delay = step

    async def _step(self, message: Any, deadline: float, progress: _Progress) -> Outcome | float:
        """One SDK send: the final Outcome, or the delay before the next."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        pause = self._paused_until - now
        if pause > 0:
            if now + pause >= deadline:
                progress.retry_after = max(progress.retry_after or 0.0, pause)
                return progress.outcome("retryable")
            await asyncio.sleep(pause)
            now = loop.time()
        remaining = deadline - now
        if remaining <= 0:
            return progress.outcome("retryable")
        try:
            error = await self._send(message, remaining)
        except ValueError:  # the SDK refused to encode it: nothing was sent
            return (
                progress.outcome("failed")
                if progress.attempts
                else Outcome("failed", None, "INVALID_MESSAGE", 0, None)
            )
        progress.attempts += 1
        if error is None:
            if progress.attempts == 1:
                return SENT_ONCE
            progress.http_status, progress.error_code = 200, None
            return progress.outcome("sent")
        verdict, progress.error_code, progress.http_status, retry_after = classify(error)
        if retry_after is not None:
            progress.retry_after = retry_after
        if verdict != "retry":
            return progress.outcome(verdict)  # type: ignore[arg-type]
        now = loop.time()
        if progress.http_status == 429 and retry_after:
            self._paused_until = max(self._paused_until, now + retry_after)
        if progress.attempts >= self.max_attempts:
            return progress.outcome("retryable")
        delay = backoff(progress.attempts, retry_after)
        if now + delay >= deadline:
            return progress.outcome("retryable")
        return delay

    async def _send(self, message: Any, remaining: float) -> BaseException | None:
        """One send: None, or the SDK's exception for what FCM answered (or for no answer).
        Raises ValueError for a message the SDK will not encode."""
        from firebase_admin import exceptions, messaging

        assert self._semaphore is not None  # set when the loop starts
        async with self._semaphore:
            try:
                if self.transport != "sdk":
                    return await self._post(message, remaining)
                batch = await asyncio.wait_for(
                    messaging.send_each_async([message], dry_run=False, app=self._app), remaining
                )
            except TimeoutError as exc:
                return exceptions.DeadlineExceededError("the send ran past its deadline", cause=exc)
            except exceptions.FirebaseError as exc:
                return exc
        return batch.responses[0].exception

    async def _post(self, message: Any, remaining: float) -> BaseException | None:
        """The aiohttp transport: POSTs the SDK's encoding of `message` with the credential's
        access token; a 401 refreshes the token and sends once more, as the SDK does. Each
        request has `request_timeout`, and none runs past `remaining` from now."""
        import httpx
        from firebase_admin import _utils, exceptions, messaging

        if isinstance(message, bytes):  # encoded by the SDK already (push.Pushes)
            body = message
        else:
            encoded = self._encoder.default(message)  # ValueError: the SDK refuses it
            try:
                body = msgspec.json.encode({"message": encoded})
            except (TypeError, msgspec.EncodeError) as exc:  # e.g. an object in custom data
                raise ValueError("the message cannot be encoded as JSON") from exc
        credential = self._app.credential.get_credential()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + remaining
        for attempt in (1, 2):
            token = credential.token
            headers = {**self._headers, "Authorization": f"Bearer {token}"}
            try:
                # one timeout a request (no task per send, as wait_for would make)
                async with asyncio.timeout_at(min(deadline, loop.time() + self.request_timeout)):
                    if self.transport == "streams":
                        status, answer_headers, content = await self._session.post(body, headers)
                    else:
                        async with self._session.post(
                            self._url, data=body, headers=headers
                        ) as resp:
                            content = await resp.read()
                            status, answer_headers = resp.status, list(resp.headers.items())
            except TimeoutError as exc:
                return exceptions.DeadlineExceededError("FCM did not answer in time", cause=exc)
            except self._transport_errors() as exc:
                return exceptions.UnavailableError("no connection to FCM", cause=exc)
            if status == 200:
                return None
            if status == 401 and attempt == 1 and await self._refreshed(credential, token):
                continue
            break
        # The SDK's own reading of an error answer: the same typed exception either way.
        request = httpx.Request("POST", self._url)
        response = httpx.Response(status, headers=answer_headers, content=content, request=request)
        error = httpx.HTTPStatusError(f"HTTP {status}", request=request, response=response)
        return _utils.handle_platform_error_from_httpx(
            error, messaging._MessagingService._build_fcm_error_httpx
        )

    def _transport_errors(self) -> tuple[type[BaseException], ...]:
        if self.transport == "streams":
            return (OSError, EOFError)  # http1.ProtocolError is an OSError
        import aiohttp

        return (aiohttp.ClientError, OSError, EOFError)

    async def _refreshed(self, credential: Any, rejected: str | None) -> bool:
        """Refreshes the access token FCM rejected, once for all sends that saw it rejected
        (the refresh is blocking I/O: it runs off the loop); False if none can be had."""
        assert self._refresh_lock is not None  # set when the loop starts
        async with self._refresh_lock:
            if credential.token != rejected:
                return True  # another send refreshed it already
            loop = asyncio.get_running_loop()
            try:
                from google.auth.transport.requests import Request

                await loop.run_in_executor(None, credential.refresh, Request())
            except Exception as exc:
                logger.error("fcm access token refresh failed", exc_info=exc)
                return False
            return True


_senders: dict[tuple[str, str], Sender] = {}
_senders_lock = threading.Lock()


def sender(settings: Any) -> Sender:
    """The process's Sender for settings.fcm_endpoint and settings.google_cloud_project."""
    key = (settings.fcm_endpoint, settings.google_cloud_project)
    with _senders_lock:
        found = _senders.get(key)
        if found is None or found.closed:
            found = _senders[key] = Sender(
                *key, transport=getattr(settings, "fcm_transport", "streams")
            )
        return found
