"""Pub/Sub-triggered functions: decode, validate, process at most once in effect, dead-letter.

Pub/Sub delivers at least once, so every handler must make a duplicate harmless. The tools:

* `claim(cur, consumer, key)` records, inside the handler's own database transaction, that
  an event was processed; a redelivered event finds its claim and changes nothing. The claim
  commits or rolls back together with the effect, so a crash half-way leaves neither.
* A message that cannot be decoded or validated can never succeed: it is published to the
  function's dead-letter topic at once (with the reason in attributes, never its content in
  logs) and acknowledged, instead of being retried until the attempts run out.
* `Retry` (or DependencyUnavailable) makes Pub/Sub redeliver with backoff; after the
  manifest's `max_delivery_attempts` the subscription's dead-letter policy takes over.
"""

from __future__ import annotations

import base64
import importlib
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable

import msgspec

from . import log
from . import manifest as manifest_mod
from .entry import settings_for

_log = logging.getLogger("lederappen.events")


class Retry(Exception):
    """Raised by a handler when a later attempt may succeed (dependency down, lock busy)."""


class Reject(Exception):
    """Raised by a handler when the message can never succeed; it goes to the dead-letter topic.

    `reason` is a short constant code (for example "unknown-member"), logged and put in the
    dead letter's attributes, so it must never carry a data value.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason[:60]


@dataclass(frozen=True)
class Message:
    id: str
    attributes: dict[str, str]
    data: Any
    raw: bytes


def claim(cur, consumer: str, key: str) -> bool:
    """True the first time (consumer, key) is seen; False for a duplicate. Same transaction
    as the effect, so the claim and the effect commit together or not at all."""
    cur.execute(
        "INSERT INTO processed_events (consumer, event_key) VALUES (%s, %s) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        (consumer, key),
    )
    return cur.fetchone() is not None


def _decode(event, payload_type: type) -> Message:
    body = event.data or {}
    msg = body.get("message", body) if isinstance(body, dict) else {}
    raw = base64.b64decode(msg.get("data") or b"")
    attributes = dict(msg.get("attributes") or {})
    data = msgspec.json.decode(raw, type=payload_type)
    return Message(str(msg.get("messageId") or event["id"]), attributes, data, raw)


def _dead_letter(fn: manifest_mod.Function, settings, event, reason: str) -> None:
    from . import pubsub

    body = event.data or {}
    msg = body.get("message", body) if isinstance(body, dict) else {}
    try:
        raw = base64.b64decode(msg.get("data") or b"")
    except (ValueError, TypeError):
        raw = b""
    attributes = {str(k): str(v) for k, v in (msg.get("attributes") or {}).items()}
    attributes.update({"dead_letter_reason": reason, "source_function": fn.name,
                       "source_message_id": str(msg.get("messageId") or "")})
    pubsub.publish(settings.google_cloud_project, fn.dead_letter_topic, raw, attributes)


def event_function(entry_point: str, module: str) -> Callable[[Any], None]:
    """A CloudEvent entry point whose feature module exposes `Payload` (a msgspec type) and
    `handle(message, settings)`."""
    state: dict[str, Any] = {}
    lock = threading.Lock()

    def load():
        with lock:
            if "feature" not in state:
                fn = manifest_mod.load().by_entry_point(entry_point)
                settings = settings_for(fn)
                state.update(fn=fn, settings=settings, feature=importlib.import_module(module))
        return state

    def handle(event):
        s = state if "feature" in state else load()
        fn, settings, feature = s["fn"], s["settings"], s["feature"]
        log.set_request_context(None, function=fn.name)
        try:
            message = _decode(event, feature.Payload)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError, KeyError):
            log.event(_log, "malformed message dead-lettered", logging.WARNING)
            _dead_letter(fn, settings, event, "malformed")
            return
        try:
            feature.handle(message, settings)
        except Reject as exc:
            # The reason is a constant the handler chose (never a data value): see Reject.
            log.event(_log, "message rejected and dead-lettered", logging.WARNING,
                      reason=exc.reason)
            _dead_letter(fn, settings, event, f"rejected: {exc.reason}")
            return
        except Exception as exc:
            # Unhandled or Retry: fail the delivery; Pub/Sub retries, then dead-letters.
            log.event(_log, "message processing failed, will be retried", logging.ERROR,
                      error=log.safe_traceback(exc))
            raise
        log.event(_log, "message processed", logging.INFO, message_id=message.id)

    handle.__name__ = handle.__qualname__ = entry_point
    handle.load = load  # type: ignore[attr-defined]
    if os.environ.get("FUNCTION_TARGET") == entry_point:
        load()
    return handle
