"""Local stand-in for Firebase Cloud Messaging HTTP v1 (``messages:send``).

Run it::

    python -m infra.local.fcm_standin --host 127.0.0.1 --port 8082

or in-process with ``build_app()`` (aiohttp ``TestServer``).

``POST /v1/projects/{project_id}/messages:send`` with ``Authorization: Bearer <any
non-empty token>`` and ``{"message": {...}, "validate_only": bool}`` validates the message
like FCM does (one target of token/topic/condition; ``data`` string→string without reserved
keys; ``notification`` title/body/image; android/apns/webpush/fcm_options objects passed
through; no unknown fields; notification+data payload at most 4096 bytes) and answers
``{"name": "projects/<p>/messages/<id>"}``, or an error in Google's format::

    {"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT",
               "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                            "errorCode": "INVALID_ARGUMENT"}]}}

Test control (never delayed or failed, not logged):

* ``POST /_control/tokens`` ``{"token", "behaviour": ok|unregistered|invalid|quota|unavailable|
  internal, "times": int|null, "retry_after": seconds (default 1)}``; ``GET /_control/tokens``.
  A token starting with ``dead-`` is always unregistered. Behaviours also apply to
  ``validate_only`` requests (a dry run reports bad tokens, as FCM does).
* ``GET /_control/stats`` → ``{"received", "delivered", "by_status": {"200": n, ...}}``
  (received counts every ``messages:send`` request, including rejected ones).
* ``GET /_control/messages?token=<t>`` (or ``topic=``/``condition=``; none → all) → delivered
  messages as received plus ``received_at``, newest last; the last 100,000 are kept.
* ``POST /_control/faults``, ``GET /_control/faults``, ``POST /_control/reset``,
  ``GET /_control/requests``: as in the lederne stand-in; a fault without ``path_prefix``
  covers every non-control path. Injected errors use Google's error format.

Nothing is logged per request (no access log); tokens and payloads never reach a log.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import sys
import time
from collections import deque
from typing import Any

from aiohttp import web

from infra.local import aioserve
from infra.local.faults import FaultRules, is_int as _is_int

log = logging.getLogger("infra.local.fcm_standin")

MAX_PAYLOAD_BYTES = 4096
MESSAGES_KEPT = 100_000
REQUEST_LOG_SIZE = 100_000
_JSON = "application/json"

_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_MESSAGE_FIELDS = frozenset(
    {
        "name",
        "data",
        "notification",
        "android",
        "webpush",
        "apns",
        "fcm_options",
        "token",
        "topic",
        "condition",
    }
)
_BODY_FIELDS = frozenset({"message", "validate_only"})
_TARGETS = ("token", "topic", "condition")
_NOTIFICATION_FIELDS = frozenset({"title", "body", "image"})
_RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type"})
_RESERVED_DATA_PREFIXES = ("google.", "gcm.")
_PASS_THROUGH = ("android", "apns", "webpush", "fcm_options")
_TOPIC_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~%")

# HTTP status → (google.rpc status, FcmError errorCode) for injected faults.
_GOOGLE_STATUS = {
    400: ("INVALID_ARGUMENT", "INVALID_ARGUMENT"),
    401: ("UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"),
    403: ("PERMISSION_DENIED", "SENDER_ID_MISMATCH"),
    404: ("NOT_FOUND", "UNREGISTERED"),
    429: ("RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
    500: ("INTERNAL", "INTERNAL"),
    503: ("UNAVAILABLE", "UNAVAILABLE"),
}

# behaviour → (HTTP status, google status, FcmError errorCode, message, sends Retry-After)
BEHAVIOURS: dict[str, tuple[int, str, str, str, bool] | None] = {
    "ok": None,
    "unregistered": (404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.", False),
    "invalid": (
        400,
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "The registration token is not a valid FCM registration token",
        False,
    ),
    "quota": (
        429,
        "RESOURCE_EXHAUSTED",
        "QUOTA_EXCEEDED",
        "Quota exceeded for quota metric 'Messages' and limit 'Messages per minute'.",
        True,
    ),
    "unavailable": (
        503,
        "UNAVAILABLE",
        "UNAVAILABLE",
        "The service is currently unavailable.",
        True,
    ),
    "internal": (500, "INTERNAL", "INTERNAL", "Internal error encountered.", False),
}


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


def google_error(
    code: int,
    status: str,
    message: str,
    fcm_code: str | None = None,
    headers: dict[str, str] | None = None,
    details: list | None = None,
) -> web.Response:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    elif fcm_code is not None:
        error["details"] = [{"@type": _FCM_ERROR, "errorCode": fcm_code}]
    return web.Response(
        body=json.dumps({"error": error}).encode(), status=code, content_type=_JSON, headers=headers
    )


class _Invalid(Exception):
    """A 400 INVALID_ARGUMENT with this message."""


def _invalid(message: str) -> web.Response:
    return google_error(400, "INVALID_ARGUMENT", message, "INVALID_ARGUMENT")


def _unauthenticated(missing: bool) -> web.Response:
    message = (
        "Request is missing required authentication credential. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project."
    )
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "CREDENTIALS_MISSING" if missing else "ACCESS_TOKEN_TYPE_UNSUPPORTED",
            "domain": "googleapis.com",
            "metadata": {
                "service": "fcm.googleapis.com",
                "method": "google.firebase.fcm.v1.FcmService.SendMessage",
            },
        }
    ]
    return google_error(
        401,
        "UNAUTHENTICATED",
        message,
        details=details,
        headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
    )


def _simple_error(code: int, message: str) -> web.Response:
    status = _GOOGLE_STATUS.get(code, ("UNKNOWN", None))[0]
    return google_error(code, status, message)


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------


def _compact_len(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def validate_message(message: Any) -> tuple[str, str]:
    """(target kind, target) of a valid FCM v1 message; raises _Invalid otherwise."""
    if not isinstance(message, dict):
        raise _Invalid("Invalid JSON payload received. 'message' must be an object.")
    for field in message:
        if field not in _MESSAGE_FIELDS:
            raise _Invalid(
                f"Invalid JSON payload received. Unknown name \"{field}\" at 'message': "
                "Cannot find field."
            )
    targets = [t for t in _TARGETS if t in message]
    if not targets:
        raise _Invalid("Recipient of the message is not set.")
    if len(targets) > 1:
        raise _Invalid(
            f"Invalid value at 'message' (oneof), oneof field 'target' is already set. "
            f"Cannot set '{targets[1]}'"
        )
    kind = targets[0]
    target = message[kind]
    if not isinstance(target, str):
        raise _Invalid(f"Invalid value at 'message.{kind}' (TYPE_STRING), {json.dumps(target)}")
    if kind == "token" and not target:
        raise _Invalid("The registration token is not a valid FCM registration token")
    if kind == "topic" and (not target or not _TOPIC_CHARS.issuperset(target)):
        raise _Invalid("Invalid topic name specified.")
    if kind == "condition" and not target.strip():
        raise _Invalid("Invalid condition expression provided.")

    size = 0
    data = message.get("data")
    if data is not None:
        if not isinstance(data, dict):
            raise _Invalid(
                "Invalid value at 'message.data' (type.googleapis.com/google.protobuf.Map), "
                "must be an object"
            )
        for index, (key, value) in enumerate(data.items()):
            if not isinstance(value, str):
                raise _Invalid(
                    f"Invalid value at 'message.data[{index}].value' (TYPE_STRING), "
                    f"{json.dumps(value)}"
                )
            if key in _RESERVED_DATA_KEYS or key.startswith(_RESERVED_DATA_PREFIXES):
                raise _Invalid(f"Invalid data payload key: {key}")
        size += _compact_len(data)
    notification = message.get("notification")
    if notification is not None:
        if not isinstance(notification, dict):
            raise _Invalid("Invalid value at 'message.notification', must be an object")
        for key, value in notification.items():
            if key not in _NOTIFICATION_FIELDS:
                raise _Invalid(
                    f'Invalid JSON payload received. Unknown name "{key}" at '
                    "'message.notification': Cannot find field."
                )
            if not isinstance(value, str):
                raise _Invalid(
                    f"Invalid value at 'message.notification.{key}' (TYPE_STRING), "
                    f"{json.dumps(value)}"
                )
        size += _compact_len(notification)
    for field in _PASS_THROUGH:
        value = message.get(field)
        if value is not None and not isinstance(value, dict):
            raise _Invalid(f"Invalid value at 'message.{field}', must be an object")
    android = message.get("android")
    if android:
        for part in ("notification", "data"):
            if android.get(part) is not None:
                size += _compact_len(android[part])
    apns = message.get("apns")
    if apns and apns.get("payload") is not None:
        size += _compact_len(apns["payload"])
    if size > MAX_PAYLOAD_BYTES:
        raise _Invalid("Message is too big")
    return kind, target


# --------------------------------------------------------------------------------------
# State and handlers
# --------------------------------------------------------------------------------------


class FcmState:
    def __init__(self) -> None:
        self.faults = FaultRules(None)
        self.requests: deque[tuple[str, str, int]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.messages: deque[tuple[str, str, dict[str, Any], float]] = deque(maxlen=MESSAGES_KEPT)
        self._tag = os.urandom(4).hex()
        self._seq = 0
        self.reset()

    def reset(self) -> None:
        self.faults.clear()
        self.requests.clear()
        self.messages.clear()
        self.behaviours: dict[
            str, list[Any]
        ] = {}  # token → [behaviour, remaining|None, retry_after]
        self.received = 0
        self.delivered = 0
        self.by_status: dict[int, int] = {}

    def next_id(self) -> str:
        self._seq += 1
        return f"0:{time.time_ns() // 1000}%{self._tag}{self._seq:08x}"

    def behaviour_for(self, token: str) -> tuple[str, int]:
        """(behaviour, retry_after) for one request to ``token``; uses up one of ``times``."""
        if token.startswith("dead-"):
            return "unregistered", 1
        entry = self.behaviours.get(token)
        if entry is None:
            return "ok", 1
        behaviour, remaining, retry_after = entry
        if remaining is not None:
            if remaining <= 1:
                del self.behaviours[token]
            else:
                entry[1] = remaining - 1
        return behaviour, retry_after


STATE = web.AppKey("fcm_state", FcmState)


@web.middleware
async def _middleware(request: web.Request, handler) -> web.StreamResponse:
    path = request.path
    if path.startswith("/_control/"):
        try:
            return await handler(request)
        except _Invalid as exc:
            return _invalid(str(exc))
    state = request.app[STATE]
    response = None
    if state.faults.rules:
        fault = state.faults.take(path)
        if fault is not None:
            delay, status, retry_after = fault
            if delay:
                await asyncio.sleep(delay)
            if status is not None:
                gstatus, fcm_code = _GOOGLE_STATUS.get(status, ("UNKNOWN", "UNSPECIFIED_ERROR"))
                headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
                response = google_error(status, gstatus, "injected fault", fcm_code, headers)
    if response is None:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = _simple_error(exc.status, exc.reason)
        except Exception:
            log.exception("stand-in handler failed")
            response = google_error(500, "INTERNAL", "stand-in handler failed", "INTERNAL")
    status = response.status
    if request.method == "POST" and path.endswith("/messages:send"):
        state.received += 1
        state.by_status[status] = state.by_status.get(status, 0) + 1
    state.requests.append((request.method, path, status))
    return response


async def send(request: web.Request) -> web.Response:
    state = request.app[STATE]
    auth = request.headers.get("Authorization")
    if not auth:
        return _unauthenticated(True)
    scheme, _, credential = auth.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return _unauthenticated(False)
    raw = await request.read()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _invalid("Invalid JSON payload received. Unexpected token.")
    if not isinstance(body, dict):
        return _invalid("Invalid JSON payload received. Expected an object.")
    for field in body:
        if field not in _BODY_FIELDS:
            return _invalid(
                f'Invalid JSON payload received. Unknown name "{field}": Cannot find field.'
            )
    validate_only = body.get("validate_only", False)
    if not isinstance(validate_only, bool):
        return _invalid("Invalid value at 'validate_only' (TYPE_BOOL)")
    message = body.get("message")
    if message is None:
        return _invalid("Request contains an invalid argument: message is required.")
    try:
        kind, target = validate_message(message)
    except _Invalid as exc:
        return _invalid(str(exc))
    if kind == "token":
        behaviour, retry_after = state.behaviour_for(target)
        if behaviour != "ok":
            code, gstatus, fcm_code, text, retry = BEHAVIOURS[behaviour]
            return google_error(
                code, gstatus, text, fcm_code, {"Retry-After": str(retry_after)} if retry else None
            )
    name = f"projects/{request.match_info['project_id']}/messages/{state.next_id()}"
    if not validate_only:
        state.delivered += 1
        state.messages.append((kind, target, message, time.time()))
    return web.Response(body=json.dumps({"name": name}).encode(), content_type=_JSON)


async def not_found(request: web.Request) -> web.Response:
    return _simple_error(404, "The requested URL was not found on this server.")


async def _control_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise _Invalid("body must be JSON") from None


async def control_tokens(request: web.Request) -> web.Response:
    state = request.app[STATE]
    body = await _control_json(request)
    if not isinstance(body, dict):
        raise _Invalid("body must be a JSON object")
    unknown = set(body) - {"token", "behaviour", "times", "retry_after"}
    if unknown:
        raise _Invalid(f"unknown fields: {', '.join(sorted(unknown))}")
    token, behaviour = body.get("token"), body.get("behaviour")
    if not isinstance(token, str) or not token:
        raise _Invalid("token must be a non-empty string")
    if behaviour not in BEHAVIOURS:
        raise _Invalid(f"behaviour must be one of {', '.join(BEHAVIOURS)}")
    times = body.get("times")
    if times is not None and (not _is_int(times) or times < 1):
        raise _Invalid("times must be null or an integer >= 1")
    retry_after = body.get("retry_after", 1)
    if not _is_int(retry_after) or retry_after < 0:
        raise _Invalid("retry_after must be an integer >= 0")
    if behaviour == "ok":
        state.behaviours.pop(token, None)
    else:
        state.behaviours[token] = [behaviour, times, retry_after]
    return web.Response(status=204)


async def control_list_tokens(request: web.Request) -> web.Response:
    table = {
        t: {"behaviour": b, "times": n, "retry_after": r}
        for t, (b, n, r) in request.app[STATE].behaviours.items()
    }
    return web.Response(body=json.dumps(table).encode(), content_type=_JSON)


async def control_stats(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.Response(
        body=json.dumps(
            {
                "received": state.received,
                "delivered": state.delivered,
                "by_status": {str(k): v for k, v in sorted(state.by_status.items())},
            }
        ).encode(),
        content_type=_JSON,
    )


def _rfc3339_micro(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def control_messages(request: web.Request) -> web.Response:
    state = request.app[STATE]
    q = request.query
    wanted = next(((k, q[k]) for k in _TARGETS if k in q), None)
    out = []
    for kind, target, message, ts in state.messages:
        if wanted is not None and (kind, target) != wanted:
            continue
        item = dict(message)
        item["received_at"] = _rfc3339_micro(ts)
        out.append(item)
    return web.Response(body=json.dumps(out, ensure_ascii=False).encode(), content_type=_JSON)


async def control_add_fault(request: web.Request) -> web.Response:
    state = request.app[STATE]
    try:
        rule = FaultRules.parse(await _control_json(request))
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    state.faults.add(rule)
    return web.Response(status=204)


async def control_list_faults(request: web.Request) -> web.Response:
    return web.Response(
        body=json.dumps(request.app[STATE].faults.rules).encode(), content_type=_JSON
    )


async def control_reset(request: web.Request) -> web.Response:
    request.app[STATE].reset()
    return web.Response(status=204)


async def control_requests(request: web.Request) -> web.Response:
    log_ = request.app[STATE].requests
    return web.Response(
        body=json.dumps([{"method": m, "path": p, "status": s} for m, p, s in log_]).encode(),
        content_type=_JSON,
    )


def build_app(**_options: Any) -> web.Application:
    """The FCM HTTP v1 stand-in as an aiohttp application (no options yet)."""
    app = web.Application(middlewares=[_middleware], client_max_size=1024 * 1024)
    app[STATE] = FcmState()
    r = app.router
    r.add_post("/v1/projects/{project_id}/messages:send", send)
    r.add_post("/_control/tokens", control_tokens)
    r.add_get("/_control/tokens", control_list_tokens)
    r.add_get("/_control/stats", control_stats)
    r.add_get("/_control/messages", control_messages)
    r.add_post("/_control/faults", control_add_fault)
    r.add_get("/_control/faults", control_list_faults)
    r.add_post("/_control/reset", control_reset)
    r.add_get("/_control/requests", control_requests)
    r.add_route("*", "/{tail:.*}", not_found)
    return app


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.fcm_standin", description="Local stand-in for FCM HTTP v1."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args(argv)
    return aioserve.run("fcm stand-in", args.host, args.port, lambda host, port: build_app())


if __name__ == "__main__":
    sys.exit(main())
