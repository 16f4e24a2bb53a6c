"""Local stand-in for Firebase Cloud Messaging HTTP v1 (``messages:send``).

Run it::

    python -m infra.local.fcm_standin --host 127.0.0.1 --port 8082

or in-process with ``build_app()`` (aiohttp ``TestServer``).

``POST /v1/projects/{project_id}/messages:send`` with ``Authorization: Bearer <any
non-empty token>`` and ``{"message": {...}, "validate_only": bool}`` validates the message
like FCM HTTP v1 does (see "Validation" below: exactly one target of token/topic/condition/
fid; every block's field names, types, enums and formats, e.g. ``android.ttl`` "3.5s" at most
four weeks, ``visibility`` PRIVATE/PUBLIC/SECRET; unknown fields refused; ``data`` values
strings, no reserved keys; at most 4096 payload bytes for every kind of target) and answers
``{"name": "projects/<p>/messages/<id>"}``, or an error in Google's format; an invalid
argument names its field as FCM does::

    {
        "error": {
            "code": 400,
            "message": "...",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": "INVALID_ARGUMENT",
                },
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": "message.android.ttl", "description": "..."}],
                },
            ],
        }
    }

(a JSON-level error, such as an unknown field or a wrong type, carries only the BadRequest).

Test control (never delayed or failed, not logged):

* ``POST /_control/tokens`` ``{"token", "behaviour": ok|unregistered|invalid|quota|unavailable|
  internal|mismatch|apns_auth, "times": int|null, "retry_after": seconds (default 1)}``; ``GET /_control/tokens``.
  A token (or fid) starting with ``dead-`` is always unregistered. Behaviours also apply to
  ``validate_only`` requests (a dry run reports bad tokens, as FCM does).
* ``GET /_control/stats`` → ``{"received", "delivered", "by_status": {"200": n, ...}}``
  (received counts every ``messages:send`` request, including rejected ones).
* ``GET /_control/messages?token=<t>`` (or ``topic=``/``condition=``/``fid=``; none → all) → delivered
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
import re
import sys
import time
from collections import deque
from typing import Any

import msgspec
from aiohttp import web

from infra.local import aioserve
from infra.local.faults import FaultRules
from infra.local.faults import is_int as _is_int

log = logging.getLogger("infra.local.fcm_standin")

MAX_PAYLOAD_BYTES = 4096
MESSAGES_KEPT = 100_000
REQUEST_LOG_SIZE = 100_000
_JSON = "application/json"

_FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
_BODY_FIELDS = frozenset({"message", "validate_only"})
# msgspec on the send path: a third of the time json took there (the stand-in shares the
# machine with what it measures, so its cost per request is part of every push benchmark)
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

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
    "mismatch": (
        403,
        "PERMISSION_DENIED",
        "SENDER_ID_MISMATCH",
        "SenderId mismatch",
        False,
    ),
    "apns_auth": (
        401,
        "UNAUTHENTICATED",
        "THIRD_PARTY_AUTH_ERROR",
        "Auth error from APNS or Web Push Service",
        False,
    ),
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


def violation(field: str, description: str, fcm: bool = False) -> web.Response:
    """400 INVALID_ARGUMENT as FCM answers it: a google.rpc.BadRequest naming the field, and
    for FCM's own checks (not JSON parsing) an FcmError INVALID_ARGUMENT too."""
    details: list[dict[str, Any]] = [
        {"@type": _BAD_REQUEST, "fieldViolations": [{"field": field, "description": description}]}
    ]
    if fcm:
        details.insert(0, {"@type": _FCM_ERROR, "errorCode": "INVALID_ARGUMENT"})
    return google_error(400, "INVALID_ARGUMENT", description, details=details)


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
#
# The message is checked against the FCM v1 `Message` proto as Google's JSON front end does:
# field names (snake_case or their lowerCamelCase JSON names), types (string, bool, int32,
# google.protobuf.Duration "3.5s", Timestamp RFC 3339, map<string,string>, repeated), enum
# names (case-insensitive, or their numbers) and unknown fields. The first violation answers
# 400 INVALID_ARGUMENT with a google.rpc.BadRequest field violation; FCM's own checks (the
# target, reserved data keys, the payload size, formats) add an FcmError INVALID_ARGUMENT.

_DURATION = re.compile(r"^(-?)(\d+)(?:\.(\d{1,9}))?s$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$")
_ANALYTICS_LABEL = re.compile(r"^[a-zA-Z0-9\-_.~%]{1,50}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_TOPIC = re.compile(r"^[a-zA-Z0-9\-_.~%]{1,900}$")
_CONDITION_TOKEN = re.compile(
    r"\s*(?:('[a-zA-Z0-9\-_.~%]+'\s+in\s+topics)|(&&)|(\|\|)|(!)|(\()|(\)))"
)
MAX_TTL_SECONDS = 28 * 24 * 3600  # four weeks, FCM's maximum time to live
MAX_CONDITION_TOPICS = 5
_APNS_PUSH_TYPES = frozenset(
    {
        "alert",
        "background",
        "location",
        "voip",
        "complication",
        "fileprovider",
        "mdm",
        "liveactivity",
        "pushtotalk",
        "widgets",
    }
)


class _Violation(Exception):
    """A 400 INVALID_ARGUMENT: `field` (e.g. message.android.ttl) and its description."""

    def __init__(self, field: str, description: str, fcm: bool = False):
        super().__init__(description)
        self.field, self.description, self.fcm = field, description, fcm


def _bad_value(path: str, type_name: str, value: Any) -> _Violation:
    return _Violation(path, f"Invalid value at '{path}' ({type_name}), {json.dumps(value)}")


def _check_str(path: str, value: Any) -> None:
    if not isinstance(value, str):
        raise _bad_value(path, "TYPE_STRING", value)


def _check_bool(path: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise _bad_value(path, "TYPE_BOOL", value)


def _check_int32(path: str, value: Any) -> None:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
        raise _bad_value(path, "TYPE_INT32", value)


def _check_float(path: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad_value(path, "TYPE_FLOAT", value)


def duration_seconds(path: str, value: Any) -> float:
    """Seconds of a google.protobuf.Duration in JSON ("3.5s"); raises _Violation."""
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise _bad_value(path, "type.googleapis.com/google.protobuf.Duration", value)
    sign, whole, frac = match.groups()
    seconds = int(whole) + (int(frac.ljust(9, "0")) / 1e9 if frac else 0.0)
    if seconds > 315_576_000_000:
        raise _bad_value(path, "type.googleapis.com/google.protobuf.Duration", value)
    return -seconds if sign else seconds


def _check_duration(path: str, value: Any) -> None:
    if duration_seconds(path, value) < 0:
        raise _Violation(
            path, f"Invalid value at '{path}': a duration must not be negative", fcm=True
        )


def _check_timestamp(path: str, value: Any) -> None:
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        raise _bad_value(path, "type.googleapis.com/google.protobuf.Timestamp", value)


def _check_strmap(path: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise _bad_value(path, "type.googleapis.com/google.protobuf.Map", value)
    for index, item in enumerate(value.values()):
        if not isinstance(item, str):
            raise _bad_value(f"{path}[{index}].value", "TYPE_STRING", item)


def _check_struct(path: str, value: Any) -> None:
    if not isinstance(value, dict):
        raise _bad_value(path, "type.googleapis.com/google.protobuf.Struct", value)


def _list_of(check):
    def run(path: str, value: Any) -> None:
        if not isinstance(value, list):
            raise _bad_value(path, "TYPE_LIST", value)
        for index, item in enumerate(value):
            check(f"{path}[{index}]", item)

    return run


def _enum(type_name: str, *names: str):
    def run(path: str, value: Any) -> None:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return
        if not isinstance(value, str) or value.upper() not in names:
            raise _bad_value(path, f"type.googleapis.com/google.firebase.fcm.v1.{type_name}", value)

    return run


def _pattern(regex: re.Pattern, what: str):
    def run(path: str, value: Any) -> None:
        _check_str(path, value)
        if not regex.match(value):
            raise _Violation(path, f"Invalid {what} at '{path}'", fcm=True)

    return run


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _object(schema: dict[str, Any]):
    """A check for a proto message: every field known (either spelling), each value checked."""
    aliases = {**{name: name for name in schema}, **{_camel(name): name for name in schema}}

    def run(path: str, value: Any) -> None:
        if not isinstance(value, dict):
            raise _bad_value(path, "TYPE_MESSAGE", value)
        seen: set[str] = set()
        for key, item in value.items():
            name = aliases.get(key)
            if name is None:
                raise _Violation(
                    path,
                    f"Invalid JSON payload received. Unknown name "
                    f"\"{key}\" at '{path}': Cannot find field.",
                )
            if name in seen:
                raise _Violation(
                    f"{path}.{name}",
                    f"Invalid JSON payload received. Field '{name}' at '{path}' is set twice.",
                )
            seen.add(name)
            if item is not None:
                schema[name](f"{path}.{name}", item)

    return run


_analytics_label = _pattern(_ANALYTICS_LABEL, "analytics label")


def _https_link(path: str, value: Any) -> None:
    _check_str(path, value)
    if not value.startswith("https://"):
        raise _Violation(path, "The link must be an HTTPS URL", fcm=True)


def _apns_headers(path: str, value: Any) -> None:
    _check_strmap(path, value)
    for key, item in value.items():
        name = key.lower()
        if name == "apns-priority" and item not in ("1", "5", "10"):
            raise _Violation(f"{path}[{key}]", f"Invalid apns-priority: {item}", fcm=True)
        if name == "apns-push-type" and item not in _APNS_PUSH_TYPES:
            raise _Violation(f"{path}[{key}]", f"Invalid apns-push-type: {item}", fcm=True)
        if name == "apns-expiration" and not item.isdigit():
            raise _Violation(f"{path}[{key}]", f"Invalid apns-expiration: {item}", fcm=True)
        if name == "apns-collapse-id" and len(item.encode()) > 64:
            raise _Violation(f"{path}[{key}]", "apns-collapse-id is over 64 bytes", fcm=True)


def _apns_payload(path: str, value: Any) -> None:
    _check_struct(path, value)
    aps = value.get("aps")
    if aps is not None and not isinstance(aps, dict):
        raise _Violation(f"{path}.aps", "The aps dictionary must be an object", fcm=True)


def _android_ttl(path: str, value: Any) -> None:
    _check_duration(path, value)
    if duration_seconds(path, value) > MAX_TTL_SECONDS:
        raise _Violation(path, "The ttl must not be longer than four weeks", fcm=True)


def _color(path: str, value: Any) -> None:
    _check_str(path, value)
    if not _COLOR.match(value):
        raise _Violation(path, "The color must be in the form #rrggbb", fcm=True)


_LIGHT_SETTINGS = _object(
    {
        "color": _object({c: _check_float for c in ("red", "green", "blue", "alpha")}),
        "light_on_duration": _check_duration,
        "light_off_duration": _check_duration,
    }
)
_ANDROID_NOTIFICATION = _object(
    {
        **{
            f: _check_str
            for f in (
                "title",
                "body",
                "icon",
                "sound",
                "tag",
                "click_action",
                "body_loc_key",
                "title_loc_key",
                "channel_id",
                "ticker",
                "image",
            )
        },
        "color": _color,
        "body_loc_args": _list_of(_check_str),
        "title_loc_args": _list_of(_check_str),
        **{
            f: _check_bool
            for f in (
                "sticky",
                "local_only",
                "default_sound",
                "default_vibrate_timings",
                "default_light_settings",
            )
        },
        "event_time": _check_timestamp,
        "notification_priority": _enum(
            "AndroidNotification.NotificationPriority",
            "PRIORITY_UNSPECIFIED",
            "PRIORITY_MIN",
            "PRIORITY_LOW",
            "PRIORITY_DEFAULT",
            "PRIORITY_HIGH",
            "PRIORITY_MAX",
        ),
        "vibrate_timings": _list_of(_check_duration),
        "visibility": _enum(
            "AndroidNotification.Visibility",
            "VISIBILITY_UNSPECIFIED",
            "PRIVATE",
            "PUBLIC",
            "SECRET",
        ),
        "notification_count": _check_int32,
        "light_settings": _LIGHT_SETTINGS,
        "proxy": _enum(
            "AndroidNotification.Proxy", "PROXY_UNSPECIFIED", "ALLOW", "DENY", "IF_PRIORITY_LOWERED"
        ),
    }
)
_ANDROID = _object(
    {
        "collapse_key": _check_str,
        "priority": _enum("AndroidMessagePriority", "NORMAL", "HIGH"),
        "ttl": _android_ttl,
        "restricted_package_name": _check_str,
        "data": _check_strmap,
        "notification": _ANDROID_NOTIFICATION,
        "fcm_options": _object({"analytics_label": _analytics_label}),
        "direct_boot_ok": _check_bool,
        "bandwidth_constrained_ok": _check_bool,
        "restricted_satellite_ok": _check_bool,
    }
)
_APNS = _object(
    {
        "headers": _apns_headers,
        "payload": _apns_payload,
        "fcm_options": _object({"analytics_label": _analytics_label, "image": _check_str}),
        "live_activity_token": _check_str,
    }
)
_WEBPUSH = _object(
    {
        "headers": _check_strmap,
        "data": _check_strmap,
        "notification": _check_struct,
        "fcm_options": _object({"link": _https_link, "analytics_label": _analytics_label}),
    }
)
_NOTIFICATION = _object({"title": _check_str, "body": _check_str, "image": _check_str})
_FCM_OPTIONS = _object({"analytics_label": _analytics_label})
_TARGETS = ("token", "topic", "condition", "fid")
_MESSAGE = _object(
    {
        "name": _check_str,
        "data": _check_strmap,
        "notification": _NOTIFICATION,
        "android": _ANDROID,
        "webpush": _WEBPUSH,
        "apns": _APNS,
        "fcm_options": _FCM_OPTIONS,
        **{t: _check_str for t in _TARGETS},
    }
)
_RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type"})
_RESERVED_DATA_PREFIXES = ("google.", "gcm.")


def _compact_len(value: Any) -> int:
    return len(_encode(value))  # compact, UTF-8 unescaped: what FCM counts


def _check_condition(condition: str) -> None:
    """`'a' in topics && ('b' in topics || !('c' in topics))`, at most five topics."""
    position, topics, depth, expect_operand = 0, 0, 0, True
    while position < len(condition):
        match = _CONDITION_TOKEN.match(condition, position)
        if match is None:
            if condition[position:].strip():
                break
            position = len(condition)
            continue
        topic, conj, disj, neg, opening, closing = match.groups()
        if topic or neg or opening:
            if not expect_operand:
                break
            topics += bool(topic)
            depth += bool(opening)
            expect_operand = not topic
        elif conj or disj or closing:
            if expect_operand:
                break
            if closing:
                depth -= 1
                if depth < 0:
                    break
            expect_operand = not closing
        position = match.end()
    else:
        if not expect_operand and depth == 0 and 0 < topics <= MAX_CONDITION_TOPICS:
            return
    raise _Violation("message.condition", "Invalid condition expression provided.", fcm=True)


def payload_size(message: dict[str, Any]) -> int:
    """The bytes FCM counts against its 4096: notification and data, and the platform
    payloads (android data/notification, apns payload, webpush data/notification)."""
    size = 0
    for part in ("notification", "data"):
        if message.get(part) is not None:
            size += _compact_len(message[part])
    for block, parts in (
        ("android", ("notification", "data")),
        ("apns", ("payload",)),
        ("webpush", ("notification", "data")),
    ):
        config = message.get(block) or {}
        for part in parts:
            if config.get(part) is not None:
                size += _compact_len(config[part])
    return size


def validate_message(message: Any) -> tuple[str, str]:
    """(target kind, target) of a valid FCM v1 message; raises _Violation otherwise."""
    _MESSAGE("message", message)
    targets = [t for t in _TARGETS if message.get(t) is not None]
    if not targets:
        raise _Violation("message", "Recipient of the message is not set.", fcm=True)
    if len(targets) > 1:
        raise _Violation(
            f"message.{targets[1]}",
            "Invalid value at 'message' (oneof), oneof field 'target' is already "
            f"set. Cannot set '{targets[1]}'",
        )
    kind = targets[0]
    target = message[kind]
    if kind in ("token", "fid") and not target.strip():
        raise _Violation(
            f"message.{kind}",
            "The registration token is not a valid FCM registration token",
            fcm=True,
        )
    if kind == "topic" and not _TOPIC.match(target.removeprefix("/topics/")):
        raise _Violation("message.topic", "Invalid topic name specified.", fcm=True)
    if kind == "condition":
        _check_condition(target)
    for path, data in (
        ("message.data", message.get("data")),
        ("message.android.data", (message.get("android") or {}).get("data")),
    ):
        for key in data or ():
            if key in _RESERVED_DATA_KEYS or key.startswith(_RESERVED_DATA_PREFIXES):
                raise _Violation(f"{path}[{key}]", f"Invalid data payload key: {key}", fcm=True)
    if payload_size(message) > MAX_PAYLOAD_BYTES:
        raise _Violation("message", "Message is too big", fcm=True)
    return kind, target


# --------------------------------------------------------------------------------------
# State and handlers
# --------------------------------------------------------------------------------------


class FcmState:
    def __init__(self) -> None:
        self.faults = FaultRules(None)
        self.requests: deque[tuple[str, str, int]] = deque(maxlen=REQUEST_LOG_SIZE)
        # the request body as received, decoded only when asked for: 100,000 decoded messages
        # are a million objects for the garbage collector to walk again and again, which made
        # each request cost a quarter more once the deque was full (measured)
        self.messages: deque[tuple[str, str, bytes, float]] = deque(maxlen=MESSAGES_KEPT)
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


_SEND_PATH = re.compile(r"/v1/projects/([^{}/]+)/messages:send")


async def handle(state: FcmState, request: web.BaseRequest) -> web.StreamResponse:
    """Every request: the control routes as they are; `messages:send` (and any other path)
    with the injected faults first and counted in the stats and the request log."""
    path = request.path
    if path.startswith("/_control/"):
        control = _CONTROL.get((request.method, path))
        try:
            return await control(state, request) if control else not_found()
        except _Invalid as exc:
            return _invalid(str(exc))
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
        match = _SEND_PATH.fullmatch(path) if request.method == "POST" else None
        try:
            response = await send(state, request, match[1]) if match else not_found()
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


async def send(state: FcmState, request: web.BaseRequest, project_id: str) -> web.Response:
    auth = request.headers.get("Authorization")
    if not auth:
        return _unauthenticated(True)
    scheme, _, credential = auth.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return _unauthenticated(False)
    raw = await request.read()
    try:
        body = _decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return violation("", "Invalid JSON payload received. Unexpected token.")
    if not isinstance(body, dict):
        return violation("", "Invalid JSON payload received. Expected an object.")
    for field in body:
        if field not in _BODY_FIELDS:
            return violation(
                "", f'Invalid JSON payload received. Unknown name "{field}": Cannot find field.'
            )
    validate_only = body.get("validate_only", False)
    if not isinstance(validate_only, bool):
        return violation("validate_only", "Invalid value at 'validate_only' (TYPE_BOOL)")
    message = body.get("message")
    if message is None:
        return violation("message", "Request contains an invalid argument: message is required.")
    try:
        kind, target = validate_message(message)
    except _Violation as exc:
        return violation(exc.field, exc.description, exc.fcm)
    if kind in ("token", "fid"):
        behaviour, retry_after = state.behaviour_for(target)
        if behaviour == "invalid":  # FCM names the field it refused
            return violation(f"message.{kind}", BEHAVIOURS["invalid"][3], fcm=True)
        if behaviour != "ok":
            code, gstatus, fcm_code, text, retry = BEHAVIOURS[behaviour]
            return google_error(
                code, gstatus, text, fcm_code, {"Retry-After": str(retry_after)} if retry else None
            )
    name = f"projects/{project_id}/messages/{state.next_id()}"
    if not validate_only:
        state.delivered += 1
        state.messages.append((kind, target, raw, time.time()))
    return web.Response(body=_encode({"name": name}), content_type=_JSON)


def not_found() -> web.Response:
    return _simple_error(404, "The requested URL was not found on this server.")


async def _control_json(request: web.BaseRequest) -> Any:
    try:
        return json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        raise _Invalid("body must be JSON") from None


async def control_tokens(state: FcmState, request: web.BaseRequest) -> web.Response:
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


async def control_list_tokens(state: FcmState, request: web.BaseRequest) -> web.Response:
    table = {
        t: {"behaviour": b, "times": n, "retry_after": r}
        for t, (b, n, r) in state.behaviours.items()
    }
    return web.Response(body=json.dumps(table).encode(), content_type=_JSON)


async def control_stats(state: FcmState, request: web.BaseRequest) -> web.Response:
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


async def control_messages(state: FcmState, request: web.BaseRequest) -> web.Response:
    q = request.query
    wanted = next(((k, q[k]) for k in _TARGETS if k in q), None)
    out = []
    for kind, target, raw, ts in state.messages:
        if wanted is not None and (kind, target) != wanted:
            continue
        item = dict(_decode(raw)["message"])
        item["received_at"] = _rfc3339_micro(ts)
        out.append(item)
    return web.Response(body=json.dumps(out, ensure_ascii=False).encode(), content_type=_JSON)


async def control_add_fault(state: FcmState, request: web.BaseRequest) -> web.Response:
    try:
        rule = FaultRules.parse(await _control_json(request))
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    state.faults.add(rule)
    return web.Response(status=204)


async def control_list_faults(state: FcmState, request: web.BaseRequest) -> web.Response:
    return web.Response(body=json.dumps(state.faults.rules).encode(), content_type=_JSON)


async def control_reset(state: FcmState, request: web.BaseRequest) -> web.Response:
    state.reset()
    return web.Response(status=204)


async def control_requests(state: FcmState, request: web.BaseRequest) -> web.Response:
    log_ = state.requests
    return web.Response(
        body=json.dumps([{"method": m, "path": p, "status": s} for m, p, s in log_]).encode(),
        content_type=_JSON,
    )


_CONTROL = {
    ("POST", "/_control/tokens"): control_tokens,
    ("GET", "/_control/tokens"): control_list_tokens,
    ("GET", "/_control/stats"): control_stats,
    ("GET", "/_control/messages"): control_messages,
    ("POST", "/_control/faults"): control_add_fault,
    ("GET", "/_control/faults"): control_list_faults,
    ("POST", "/_control/reset"): control_reset,
    ("GET", "/_control/requests"): control_requests,
}


def build_server() -> web.Server:
    """The stand-in as aiohttp's low-level server (what `main` serves): one handler for
    every path, without the application's router and middleware machinery, which were a
    quarter of the stand-in's CPU a request (it shares the machine with what it measures)."""
    state = FcmState()
    # a request body is held to 1 MiB, as the application's client_max_size (BaseRequest's
    # default)
    return web.Server(lambda request: handle(state, request), access_log=None)


def build_app(**_options: Any) -> web.Application:
    """The same handler in an aiohttp application (for aiohttp's TestServer and AppRunner)."""
    app = web.Application(client_max_size=1024 * 1024)
    state = app[STATE] = FcmState()

    async def every_path(request: web.Request) -> web.StreamResponse:
        return await handle(state, request)

    app.router.add_route("*", "/{tail:.*}", every_path)
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
    return aioserve.run("fcm stand-in", args.host, args.port, lambda host, port: build_server())


if __name__ == "__main__":
    sys.exit(main())
