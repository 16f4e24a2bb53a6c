"""Pub/Sub-triggered functions: verify, decode, validate, process at most once in effect,
dead-letter.

A Pub/Sub function is an HTTP function that its push subscription calls with the push
envelope ({"message": {"data", "messageId", "attributes"}, "subscription"}) and a
Google-signed OIDC token. The token is verified in code (issuer, audience, the push service
account's e-mail) behind IAM, so one wrong invoker binding cannot let anyone else in.
Messages carry ids; each handler reads the truth from the database, so a forged, replayed or
reordered message can at most repeat what the database already says.

Pub/Sub delivers at least once, so every handler must make a duplicate harmless. The tools:

* `claim(cur, consumer, key)` records, inside the handler's own database transaction, that
  an event was processed; a redelivered event finds its claim and changes nothing. The claim
  commits or rolls back together with the effect, so a crash half-way leaves neither.
* A push or message that cannot be decoded or validated can never succeed: it is published
  to the function's dead-letter topic at once (with the reason in attributes: `malformed:
  no-message`, `no-data`, `no-message-id`, `bad-base64`, `not-json`, or `malformed` for data
  that is not the handler's payload; never its content in logs) and acknowledged, instead
  of being retried until the attempts run out.
* `Retry` (or DependencyUnavailable) makes Pub/Sub redeliver with backoff; after the
  manifest's `max_delivery_attempts` the subscription's dead-letter policy takes over.
"""

from __future__ import annotations

import base64
import importlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from . import log
from . import manifest as manifest_mod
from .db import Cursor
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


def claim(cur: Cursor, consumer: str, key: str) -> bool:
    """True the first time (consumer, key) is seen; False for a duplicate. Same transaction
    as the effect, so the claim and the effect commit together or not at all."""
    cur.execute(
        "INSERT INTO processed_events (consumer, event_key) VALUES (%s, %s) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        (consumer, key),
    )
    return cur.fetchone() is not None


class Malformed(Exception):
    """The push envelope or its message cannot be decoded; `reason` is a constant code."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


#: Largest push body read: a 10 MB Pub/Sub message, base64-encoded, plus the envelope.
MAX_PUSH_BYTES = 14 * 1024 * 1024


def envelope(body: bytes) -> dict:
    """The `message` object of a Pub/Sub push envelope, or Malformed naming what is wrong:
    `not-json`, `no-message`, `no-message-id`, `no-data` or `bad-base64`."""
    try:
        outer = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):  # the latter: a string not UTF-8
        raise Malformed("not-json") from None
    msg = outer.get("message") if isinstance(outer, dict) else None
    if not isinstance(msg, dict):
        raise Malformed("no-message")
    message_id = msg.get("messageId") or msg.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise Malformed("no-message-id")
    data = msg.get("data")
    if not isinstance(data, str) or not data:
        raise Malformed("no-data")
    try:
        msg["_raw"] = base64.b64decode(data, validate=True)
    except (ValueError, TypeError):
        raise Malformed("bad-base64") from None
    attributes = msg.get("attributes")
    msg["_attributes"] = (
        {str(k): str(v) for k, v in attributes.items()} if isinstance(attributes, dict) else {}
    )
    msg["_id"] = message_id
    return msg


def _decode(msg: dict, payload_type: type) -> Message:
    data: Any = msgspec.json.decode(msg["_raw"], type=payload_type)
    return Message(msg["_id"], msg["_attributes"], data, msg["_raw"])


def _dead_letter(
    fn: manifest_mod.Function,
    settings,
    raw: bytes,
    attributes: dict[str, str],
    message_id: str,
    reason: str,
) -> None:
    from . import pubsub

    attributes = {
        **attributes,
        "dead_letter_reason": reason,
        "source_function": fn.name,
        "source_message_id": message_id,
    }
    if fn.dead_letter_topic is None:  # the manifest requires one for every Pub/Sub function
        raise RuntimeError(f"{fn.name} has no dead_letter_topic")
    pubsub.publish(settings.google_cloud_project, fn.dead_letter_topic, raw, attributes)


def _raw_of(body: bytes) -> tuple[bytes, dict[str, str], str]:
    """What can be salvaged from an undecodable envelope for the dead letter: the data if it
    decodes, the attributes and the message id if present (never logged)."""
    try:
        outer = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return body[:65536], {}, ""
    msg = outer.get("message") if isinstance(outer, dict) else None
    if not isinstance(msg, dict):
        return b"", {}, ""
    try:
        raw = base64.b64decode(msg.get("data") or b"")
    except (ValueError, TypeError):
        raw = str(msg.get("data"))[:65536].encode()
    attributes = msg.get("attributes")
    attributes = (
        {str(k): str(v) for k, v in attributes.items()} if isinstance(attributes, dict) else {}
    )
    return raw, attributes, str(msg.get("messageId") or msg.get("message_id") or "")


def verify_push(request, settings) -> None:
    """The push's bearer token must be a Google-signed OIDC token (JOB_OIDC_ISSUER, its JWKS)
    for this function (JOB_OIDC_AUDIENCE: the push endpoint's audience) whose verified
    e-mail is the function's push service account (JOB_INVOKER_EMAILS). IAM checks the same
    in production; this is the second line. Unauthenticated (401) or Forbidden (403)."""
    from . import auth

    token = auth.bearer_token(request.headers.get("Authorization"))
    claims = auth.verifier("job", settings).verify(token)
    auth.principal_for("job", claims, settings.job_invoker_emails)


def event_function(entry_point: str, module: str) -> Callable[[Any], Any]:
    """An HTTP entry point for a Pub/Sub push subscription whose feature module exposes
    `Payload` (a msgspec type) and `handle(message, settings)`.

    Per push: verify the OIDC token (401/403 problem+json, nothing done); decode the
    envelope and the message (undecodable: dead-lettered at once with its reason and
    acknowledged); handle it (2xx acknowledges; Reject dead-letters and acknowledges; Retry
    or an error answers 5xx so Pub/Sub redelivers with backoff). Every error answer is
    problem+json and echoes nothing of the request."""
    state: dict[str, Any] = {}
    lock = threading.Lock()

    def load():
        with lock:
            if "feature" not in state:
                fn = manifest_mod.load().by_entry_point(entry_point)
                settings = settings_for(fn)
                state.update(fn=fn, settings=settings, feature=importlib.import_module(module))
        return state

    def handle(request):
        import flask

        from . import http, i18n, problems

        s = state if "feature" in state else load()
        fn, settings, feature = s["fn"], s["settings"], s["feature"]
        log.set_request_context(None, function=fn.name)
        locale = i18n.negotiate(request.headers.get("Accept-Language"))
        try:
            if request.method != "POST":
                raise problems.MethodNotAllowed(headers={"Allow": "POST"})
            verify_push(request, settings)
            if request.content_length is not None and request.content_length > MAX_PUSH_BYTES:
                raise problems.PayloadTooLarge()
            body = request.get_data(cache=False)
            try:
                msg = envelope(body)
            except Malformed as exc:
                log.event(
                    _log, "undecodable push dead-lettered", logging.WARNING, reason=exc.reason
                )
                raw, attributes, message_id = _raw_of(body)
                _dead_letter(fn, settings, raw, attributes, message_id, f"malformed: {exc.reason}")
                return flask.Response(status=204)
            try:
                message = _decode(msg, feature.Payload)
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError):
                log.event(_log, "malformed message dead-lettered", logging.WARNING)
                _dead_letter(fn, settings, msg["_raw"], msg["_attributes"], msg["_id"], "malformed")
                return flask.Response(status=204)
            try:
                feature.handle(message, settings)
            except Reject as exc:
                # The reason is a constant the handler chose (never a data value): see Reject.
                log.event(
                    _log, "message rejected and dead-lettered", logging.WARNING, reason=exc.reason
                )
                _dead_letter(
                    fn,
                    settings,
                    message.raw,
                    message.attributes,
                    message.id,
                    f"rejected: {exc.reason}",
                )
                return flask.Response(status=204)
            log.event(_log, "message processed", logging.INFO, message_id=message.id)
            return flask.Response(status=204)
        except problems.Problem as problem:
            if problem.status >= 500:
                log.event(
                    _log,
                    "message processing failed, will be retried",
                    logging.ERROR,
                    dependency=getattr(problem, "dependency", problem.slug),
                )
            else:
                log.event(_log, "push refused", logging.WARNING, status=problem.status)
            return http.problem_response(problem, locale)
        except Exception as exc:  # noqa: BLE001
            # Unhandled or Retry: fail the delivery; Pub/Sub retries, then dead-letters.
            log.event(
                _log,
                "message processing failed, will be retried",
                logging.ERROR,
                error=log.safe_traceback(exc),
            )
            return http.problem_response(problems.InternalError(), locale)

    handle.__name__ = handle.__qualname__ = entry_point
    handle.load = load  # type: ignore[attr-defined]
    if os.environ.get("FUNCTION_TARGET") == entry_point:
        load()
    return handle
