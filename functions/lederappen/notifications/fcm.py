"""FCM HTTP v1 transport: sends many push messages at once and says what became of each.

`Sender.send_all(messages)` posts every FCM v1 `message` object (each with its `token`) as
`{"message": m}` to `POST {FCM_ENDPOINT}/v1/projects/{project}/messages:send` and returns one
`Outcome` per message, in input order. It blocks the calling thread (a sync functions-framework
handler, possibly several at once) while the work runs on one event loop in a daemon thread
that the Sender owns, with one long-lived aiohttp session (keep-alive pool of `concurrency`
connections). `sender(settings)` is the one Sender of the process.

Retry contract, per message:

* 200 → "sent". 404 with errorCode UNREGISTERED → "unregistered" (a 404 without it, e.g. a
  wrong project or URL, is "failed": only FCM's own verdict may prune a device). 400
  INVALID_ARGUMENT about the registration token (a field violation on `message.token`, or a
  message naming the registration token) and 403 SENDER_ID_MISMATCH (the token belongs to
  another sender) → "invalid_token". 401 → the access token is refreshed once and the message
  sent again at once. Any other 4xx (e.g. a payload over 4096 bytes) → "failed", not retried.
* 429, 500, 502, 503, 504, connection errors and timeouts are retried up to `max_attempts`
  requests in all, after exponential backoff with full jitter (base 0.5 s, factor 2, cap
  10 s), or after Retry-After (delta-seconds or HTTP-date) when that is longer. A 429 with
  Retry-After pauses every send of the Sender until then: FCM's quota is per project.
* Nothing goes past `deadline_seconds` from the start of `send_all` (each request's timeout is
  cut to what is left). A message whose attempts or time ran out is "retryable", with the last
  status, error code and Retry-After, for the caller's own backoff (e.g. a Pub/Sub redelivery).
  A timeout or dropped connection may hide a delivery; its retry can then duplicate it.

Access token: for `fcm.googleapis.com`, Application Default Credentials with the
firebase.messaging scope, refreshed outside the event loop when expired or within five minutes
of expiry; for any other host (the local stand-in) the fixed bearer `local-standin`.

Nothing here logs a token, a payload or a response body: one summary line per `send_all`
(counts per outcome) is all.

Why aiohttp: sending to every member at once means thousands of short requests to one host;
an asyncio client keeps a bounded pool of keep-alive connections busy from one thread, where a
thread per in-flight request (urllib3) would cost far more memory and switching. It is imported
lazily, so only the function that sends pays for it at cold start.
"""

from __future__ import annotations

import asyncio
import atexit
import email.utils
import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Literal, Sequence
from urllib.parse import urlsplit

import msgspec

from ..core import log

logger = logging.getLogger(__name__)

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GOOGLE_HOST = "fcm.googleapis.com"
LOCAL_BEARER = "local-standin"

BACKOFF_BASE = 0.5
BACKOFF_FACTOR = 2.0
BACKOFF_CAP = 10.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: An access token this close to expiry is refreshed before use.
REFRESH_MARGIN_SECONDS = 300.0

_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"

Status = Literal["sent", "unregistered", "invalid_token", "retryable", "failed"]
STATUSES: tuple[Status, ...] = ("sent", "unregistered", "invalid_token", "retryable", "failed")


@dataclass(frozen=True)
class Outcome:
    """What became of one message. Holds no token and no payload."""

    status: Status
    http_status: int | None  # last HTTP status (None for a connection error/timeout)
    error_code: str | None  # FCM errorCode or google status, e.g. "UNREGISTERED"
    attempts: int
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
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, min(seconds, 86400.0))


def _error_of(body: bytes) -> tuple[str | None, str, list]:
    """(errorCode or google status, message, details) of a Google error body; tolerant."""
    try:
        error = msgspec.json.decode(body).get("error")
    except (msgspec.DecodeError, AttributeError):
        return None, "", []
    if not isinstance(error, dict):
        return None, "", []
    details = error.get("details")
    details = details if isinstance(details, list) else []
    code = None
    for detail in details:
        if isinstance(detail, dict) and detail.get("@type") == _FCM_ERROR:
            code = detail.get("errorCode") if isinstance(detail.get("errorCode"), str) else None
            break
    status = error.get("status")
    message = error.get("message")
    return (code or (status if isinstance(status, str) else None),
            message if isinstance(message, str) else "", details)


def _about_token(message: str, details: list) -> bool:
    for detail in details:
        if isinstance(detail, dict) and detail.get("@type") == _BAD_REQUEST:
            for violation in detail.get("fieldViolations") or ():
                if isinstance(violation, dict) and violation.get("field") == "message.token":
                    return True
    return "registration token" in message.lower()


def classify(status: int, body: bytes) -> tuple[str, str | None]:
    """(verdict, error code) of a non-200 answer; verdict is an Outcome status, "retry" or
    "reauth"."""
    code, message, details = _error_of(body)
    if status in RETRY_STATUSES:
        return "retry", code
    if status == 404 and code == "UNREGISTERED":
        return "unregistered", code
    if status == 400 and _about_token(message, details):
        return "invalid_token", code
    if status == 403 and code == "SENDER_ID_MISMATCH":
        return "invalid_token", code
    if status == 401:
        return "reauth", code
    return "failed", code


def backoff(retry: int, retry_after: float | None = None) -> float:
    """Delay before retry number `retry` (1 = the first): full jitter, or Retry-After if longer."""
    delay = random.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * BACKOFF_FACTOR ** (retry - 1)))
    if retry_after is not None and retry_after > delay:
        delay = retry_after
    return delay


# --------------------------------------------------------------------------------------
# Access tokens
# --------------------------------------------------------------------------------------


class GoogleAccessToken:
    """OAuth access token from Application Default Credentials, refreshed near expiry.

    Blocking (it may call Google's token endpoint): the Sender calls it off its event loop.
    """

    def __init__(self, margin: float = REFRESH_MARGIN_SECONDS):
        self._lock = threading.Lock()
        self._margin = margin
        self._credentials = None
        self._request = None
        self._stale = False

    def __call__(self) -> str:
        with self._lock:
            if self._credentials is None:
                import google.auth
                import urllib3
                from google.auth.transport.urllib3 import Request

                self._credentials, _ = google.auth.default(scopes=[SCOPE])
                self._request = Request(urllib3.PoolManager(timeout=10.0, retries=2))
            creds = self._credentials
            if self._stale or not creds.valid or self._near_expiry(creds):
                creds.refresh(self._request)
                self._stale = False
            return creds.token

    def _near_expiry(self, creds) -> bool:
        expiry = getattr(creds, "expiry", None)
        if expiry is None:
            return False
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=timezone.utc)
        return (expiry - datetime.now(timezone.utc)).total_seconds() < self._margin

    def invalidate(self) -> None:
        """The next call refreshes (FCM answered 401 to the current token)."""
        with self._lock:
            self._stale = True


def _fixed(token: str) -> Callable[[], str]:
    return lambda: token


# --------------------------------------------------------------------------------------
# The sender
# --------------------------------------------------------------------------------------


class _Progress:
    """Where one message is: requests made, the last answer seen, whether it re-authenticated."""

    __slots__ = ("attempts", "http_status", "error_code", "retry_after", "reauthed")

    def __init__(self) -> None:
        self.attempts = 0
        self.http_status: int | None = None
        self.error_code: str | None = None
        self.retry_after: float | None = None
        self.reauthed = False

    def outcome(self, status: Status) -> Outcome:
        return Outcome(status, self.http_status, self.error_code, self.attempts, self.retry_after)


class Sender:
    """Sends FCM v1 messages concurrently from a background event loop; thread-safe."""

    def __init__(self, endpoint: str, project: str, *, concurrency: int = 64,
                 max_attempts: int = 4, deadline_seconds: float = 20.0,
                 request_timeout: float = 10.0,
                 token_source: Callable[[], str] | None = None):
        if concurrency < 1 or max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")
        self.url = f"{endpoint.rstrip('/')}/v1/projects/{project}/messages:send"
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.deadline_seconds = deadline_seconds
        self.request_timeout = request_timeout
        if token_source is None:
            google = urlsplit(endpoint).hostname == GOOGLE_HOST
            token_source = GoogleAccessToken() if google else _fixed(LOCAL_BEARER)
        self._token_source = token_source
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session = None
        self._closed = False
        # Shared by every send_all; touched only on the loop thread.
        self._headers: dict[str, str] = {}
        self._token_generation = 0
        self._paused_until = 0.0  # loop.time() until which a 429 paused all sends
        self._semaphore: asyncio.Semaphore | None = None
        self._reauth_lock: asyncio.Lock | None = None
        self._aiohttp: Any = None  # the module, imported on the loop at start
        self._errors: tuple[type[BaseException], ...] = ()
        self._url: Any = None

    # -- life cycle -------------------------------------------------------------------

    def _ensure_started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise RuntimeError("Sender is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="fcm-sender",
                                          daemon=True)
                thread.start()
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
        import aiohttp
        from yarl import URL

        self._aiohttp = aiohttp
        self._errors = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
        self._url = URL(self.url)
        self._semaphore = asyncio.Semaphore(self.concurrency)
        self._reauth_lock = asyncio.Lock()
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
            loop, thread = self._loop, self._thread
        atexit.unregister(self.close)
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._session.close(), loop).result(10)
        except Exception:  # best effort: the process may be going away
            pass
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        if not thread.is_alive():
            loop.close()

    @property
    def closed(self) -> bool:
        return self._closed

    # -- sending ----------------------------------------------------------------------

    def send_all(self, messages: Sequence[dict]) -> list[Outcome]:
        """Sends every message; one Outcome per message, in input order. Blocks."""
        started = time.monotonic()
        n = len(messages)
        if n == 0:
            return []
        loop = self._ensure_started()
        results: list[Outcome | None] = [None] * n
        bodies: list[bytes | None] = [None] * n
        encode = msgspec.json.encode
        for i, message in enumerate(messages):
            try:
                bodies[i] = encode({"message": message})
            except (TypeError, ValueError, msgspec.EncodeError):
                results[i] = Outcome("failed", None, "UNENCODABLE", 0, None)
        try:
            token = self._token_source()  # blocking refresh, in the caller's thread
        except Exception as exc:
            logger.error("fcm access token unavailable", exc_info=exc)
            token = None
        if token is None:
            for i in range(n):
                if results[i] is None:
                    results[i] = Outcome("retryable", None, "UNAUTHENTICATED", 0, None)
        else:
            # loop.time() is time.monotonic(): the deadline counts from the call.
            deadline = started + self.deadline_seconds
            future = asyncio.run_coroutine_threadsafe(
                self._send_all(bodies, results, token, deadline), loop)
            try:
                future.result(deadline - time.monotonic() + self.request_timeout + 5.0)
            except TimeoutError:  # should not happen: the coroutine keeps the deadline
                future.cancel()
                logger.error("fcm send_all overran its deadline")
        out = [r if r is not None else Outcome("retryable", None, None, 0, None) for r in results]
        self._log_summary(out, time.monotonic() - started)
        return out

    def _log_summary(self, outcomes: list[Outcome], elapsed: float) -> None:
        counts = dict.fromkeys(STATUSES, 0)
        attempts = 0
        for o in outcomes:
            counts[o.status] += 1
            attempts += o.attempts
        level = logging.WARNING if counts["retryable"] or counts["failed"] else logging.INFO
        log.event(logger, "fcm send_all", level, messages=len(outcomes), requests=attempts,
                  elapsed_ms=round(elapsed * 1000), **counts)

    def _set_token(self, token: str) -> None:
        if self._headers.get("Authorization") != "Bearer " + token:
            self._headers = {"Authorization": "Bearer " + token,
                             "Content-Type": "application/json"}
            self._token_generation += 1

    async def _send_all(self, bodies: list[bytes | None], results: list[Outcome | None],
                        token: str, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        self._set_token(token)
        pending = iter([i for i, body in enumerate(bodies) if body is not None])
        retries: set[asyncio.Task] = set()

        async def worker() -> None:
            # The common case (one request, final answer) runs here without a task per
            # message; a message to retry goes on in a task of its own, freeing the worker.
            for i in pending:
                progress = _Progress()
                step = await self._step(bodies[i], deadline, progress)
                if isinstance(step, Outcome):
                    results[i] = step
                else:
                    task = loop.create_task(self._retry(i, bodies[i], deadline, progress, step,
                                                        results))
                    retries.add(task)
                    task.add_done_callback(retries.discard)

        workers = [loop.create_task(worker())
                   for _ in range(min(self.concurrency, len(bodies)))]
        try:
            await asyncio.gather(*workers)
            while retries:
                await asyncio.gather(*list(retries))
        finally:
            for task in (*workers, *retries):
                task.cancel()

    async def _retry(self, i: int, body: bytes, deadline: float, progress: _Progress,
                     delay: float, results: list[Outcome | None]) -> None:
        while True:
            await asyncio.sleep(delay)
            step = await self._step(body, deadline, progress)
            if isinstance(step, Outcome):
                results[i] = step
                return
            delay = step

    async def _step(self, body: bytes, deadline: float, progress: _Progress) -> Outcome | float:
        """One request (two after a 401): the final Outcome, or the delay before the next."""
        loop = asyncio.get_running_loop()
        while True:
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
            generation = self._token_generation
            status, body_in, retry_after = await self._request(body, remaining)
            progress.attempts += 1
            if status == 200:
                if progress.attempts == 1:
                    return SENT_ONCE
                progress.http_status, progress.error_code = 200, None
                return progress.outcome("sent")
            progress.http_status = status
            if status is None:
                verdict, progress.error_code = "retry", None
            else:
                verdict, progress.error_code = classify(status, body_in)
                if retry_after is not None:
                    progress.retry_after = retry_after
            if verdict == "reauth":
                if progress.reauthed or not await self._reauthenticate(generation):
                    return progress.outcome("failed")
                progress.reauthed = True
                continue
            if verdict != "retry":
                return progress.outcome(verdict)  # type: ignore[arg-type]
            now = loop.time()
            if status == 429 and retry_after:
                self._paused_until = max(self._paused_until, now + retry_after)
            if progress.attempts >= self.max_attempts:
                return progress.outcome("retryable")
            delay = backoff(progress.attempts, retry_after)
            if now + delay >= deadline:
                return progress.outcome("retryable")
            return delay

    async def _request(self, body: bytes, remaining: float
                       ) -> tuple[int | None, bytes, float | None]:
        """(status or None, response body, Retry-After) of one POST; never raises for I/O."""
        timeout = None
        if remaining < self.request_timeout:
            timeout = self._aiohttp.ClientTimeout(total=remaining)
        try:
            async with self._semaphore:
                if timeout is None:
                    resp = await self._session.post(self._url, data=body, headers=self._headers)
                else:
                    resp = await self._session.post(self._url, data=body, headers=self._headers,
                                                    timeout=timeout)
                try:
                    data = await resp.read()
                    status = resp.status
                    retry_after = (parse_retry_after(resp.headers.get("Retry-After"))
                                   if status != 200 else None)
                finally:
                    resp.release()
        except self._errors:
            return None, b"", None
        return status, data, retry_after

    async def _reauthenticate(self, generation: int) -> bool:
        """Fetches a fresh access token once per rejected token; False if none can be had."""
        async with self._reauth_lock:
            if self._token_generation != generation:
                return True  # another message already refreshed it
            loop = asyncio.get_running_loop()
            try:
                token = await loop.run_in_executor(None, self._fresh_token)
            except Exception as exc:
                logger.error("fcm access token refresh failed", exc_info=exc)
                return False
            self._set_token(token)
            if self._token_generation == generation:  # the same token again
                self._token_generation += 1
            return True

    def _fresh_token(self) -> str:
        invalidate = getattr(self._token_source, "invalidate", None)
        if invalidate is not None:
            invalidate()
        return self._token_source()


_senders: dict[tuple[str, str], Sender] = {}
_senders_lock = threading.Lock()


def sender(settings: Any) -> Sender:
    """The process's Sender for settings.fcm_endpoint and settings.google_cloud_project."""
    key = (settings.fcm_endpoint, settings.google_cloud_project)
    with _senders_lock:
        found = _senders.get(key)
        if found is None or found.closed:
            found = _senders[key] = Sender(*key)
        return found
