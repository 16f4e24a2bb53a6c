"""Dead letters: drain the `-inspect` subscriptions into `dead_letters`, and redact for staff.

Every pubsub function in the manifest has a dead-letter topic, and each dead-letter topic a
pull subscription `<dead-letter-topic>-inspect` (infra/local/emulators.py locally,
terraform/pubsub.tf in production). A message lands there in one of two ways:

* core/events.py published it at once because it could never succeed (malformed, or the
  handler rejected it), with attributes `dead_letter_reason`, `source_function` and
  `source_message_id`;
* Pub/Sub moved it after `max_delivery_attempts` failed deliveries, with its own
  `CloudPubSubDeadLetterSource*` attributes and none of ours.

`drain()` pulls from every such subscription (synchronous pull, bounded in messages and time
per call), stores each message with `INSERT ... ON CONFLICT DO NOTHING`, commits, and only then
acknowledges: a crash between the two loses nothing, and the redelivered message finds its
row by (subscription, message_id). The member keys in a payload's top-level `member_id` /
`member_ids` are stored beside it (`member_ids`), so erasure can find the row; staff never see
them (`redact()`).

google-cloud-pubsub is imported on the first drain only, like core/pubsub.py, and its client
honours PUBSUB_EMULATOR_HOST the same way.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ..core import db, log
from ..core import manifest as manifest_mod
from ..core.db import Cursor

_log = logging.getLogger("lederappen.deadletters")

INSPECT_SUFFIX = "-inspect"
#: At most this many messages and seconds per drain, so a staff request stays fast even with
#: a backlog; what is left is drained by the next request.
MAX_MESSAGES_PER_DRAIN = 100
MAX_SECONDS_PER_DRAIN = 5.0
PULL_BATCH = 50
PULL_TIMEOUT_SECONDS = 5.0

#: Attributes core/events.py adds when it dead-letters a message itself.
OUR_ATTRIBUTES = ("dead_letter_reason", "source_function", "source_message_id")
#: Prefix of the attributes Pub/Sub adds when it dead-letters after the delivery attempts.
PUBSUB_ATTRIBUTE_PREFIX = "CloudPubSubDeadLetter"
EXHAUSTED = "delivery-attempts-exhausted"
UNKNOWN = "unknown"

#: Field names that hold member keys; their values are never shown to staff.
MEMBER_FIELDS = ("member_id", "member_ids")
REDACTED = "<redacted>"


# -- member keys and redaction (pure) ----------------------------------------------------------


def _json(payload: bytes) -> tuple[bool, Any]:
    """(True, value) when the payload is JSON, else (False, None)."""
    if not payload:
        return False, None
    try:
        return True, json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return False, None


def member_keys(payload: bytes) -> list[str]:
    """The member keys in a JSON object payload's top-level `member_id` / `member_ids`."""
    ok, data = _json(payload)
    if not ok or not isinstance(data, dict):
        return []
    found: list[str] = []
    single = data.get("member_id")
    many = data.get("member_ids")
    values = ([single] if single is not None else []) + (many if isinstance(many, list) else [])
    for v in values:
        if isinstance(v, (str, int)) and not isinstance(v, bool) and str(v) and str(v) not in found:
            found.append(str(v))
    return found


def redact(value: Any) -> Any:
    """`value` with every `member_id` replaced by "<redacted>" and every `member_ids` list by
    "<redacted: N>" (N the number of keys), at any depth: staff see the shape, not who."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "member_ids" and isinstance(v, list):
                out[k] = f"<redacted: {len(v)}>"
            elif k in MEMBER_FIELDS and v is not None:
                out[k] = REDACTED
            else:
                out[k] = redact(v)
        return out
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def redact_attributes(attributes: dict[str, str]) -> dict[str, str]:
    """Message attributes as shown to staff (none of ours carries data; a member key would)."""
    return {k: (REDACTED if k in MEMBER_FIELDS else v) for k, v in attributes.items()}


def payload_view(payload: bytes) -> tuple[str, Any]:
    """(format, shown payload): "json" with the redacted JSON, else "not_json"/"empty" and None
    (bytes that are not JSON are never shown: they could hold anything)."""
    if not payload:
        return "empty", None
    ok, data = _json(payload)
    return ("json", redact(data)) if ok else ("not_json", None)


def replay_attributes(attributes: dict[str, str], dead_letter_id: int) -> dict[str, str]:
    """The original message's attributes, without what dead-lettering added, plus replay_of."""
    kept = {
        k: v
        for k, v in attributes.items()
        if k not in OUR_ATTRIBUTES
        and not k.startswith(PUBSUB_ATTRIBUTE_PREFIX)
        and k != "replay_of"
    }
    kept["replay_of"] = str(dead_letter_id)
    return kept


# -- where a dead letter came from (pure) ------------------------------------------------------


@dataclass(frozen=True)
class Inspect:
    """One -inspect subscription and the pubsub functions dead-lettering to its topic."""

    subscription: str
    dead_letter_topic: str
    functions: tuple[manifest_mod.Function, ...]


def inspect_subscriptions(m: manifest_mod.Manifest) -> list[Inspect]:
    """Every `<dead-letter-topic>-inspect` subscription the manifest implies, in manifest order."""
    by_topic: dict[str, list[manifest_mod.Function]] = {}
    for fn in m.functions:
        if fn.kind == "pubsub" and fn.dead_letter_topic:
            by_topic.setdefault(fn.dead_letter_topic, []).append(fn)
    return [Inspect(t + INSPECT_SUFFIX, t, tuple(fns)) for t, fns in by_topic.items()]


def classify(inspect: Inspect, attributes: dict[str, str]) -> tuple[str | None, str | None, str]:
    """(source function, topic to replay to, reason) of a message on `inspect`'s topic."""
    by_name = {fn.name: fn for fn in inspect.functions}
    source = None
    named = attributes.get("source_function")
    if named in by_name:
        source = by_name[named]
    if source is None:
        sub = attributes.get(PUBSUB_ATTRIBUTE_PREFIX + "SourceSubscription", "").rsplit("/", 1)[-1]
        for candidate in (sub, sub.removesuffix("-push")):
            if candidate in by_name:
                source = by_name[candidate]
                break
    if source is None and len(inspect.functions) == 1:
        source = inspect.functions[0]
    if attributes.get("dead_letter_reason"):
        reason = attributes["dead_letter_reason"][:60]
    elif any(k.startswith(PUBSUB_ATTRIBUTE_PREFIX) for k in attributes):
        reason = EXHAUSTED
    else:
        reason = UNKNOWN
    return (source.name if source else None, source.topic if source else None, reason)


# -- draining ----------------------------------------------------------------------------------

_client = None
_lock = threading.Lock()


def subscriber():
    """The instance's SubscriberClient (imported and created on first use)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                import google.cloud.pubsub_v1 as pubsub_v1  # noqa: PLR0402 (mypy sees the namespace package only so)

                _client = pubsub_v1.SubscriberClient()
    return _client


@dataclass(frozen=True)
class Drained:
    stored: int  # new rows
    pulled: int  # messages pulled (a redelivered one is pulled but not stored again)
    complete: bool  # False: stopped at a bound or on an error; more may be waiting


_INSERT = (
    "INSERT INTO dead_letters (subscription, source_function, topic, message_id, reason, "
    "attributes, payload, member_ids, received_at) "
    "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s::text[], COALESCE(%s::timestamptz, now())) "
    "ON CONFLICT (subscription, message_id) DO NOTHING"
)


def row_for(inspect: Inspect, message) -> tuple:
    """The insert parameters for one pulled PubsubMessage."""
    attributes = {str(k): str(v) for k, v in dict(message.attributes).items()}
    payload = bytes(message.data)
    source, topic, reason = classify(inspect, attributes)
    published = getattr(message, "publish_time", None)
    if published is not None and getattr(published, "year", 1970) <= 1970:
        published = None  # unset timestamp
    return (
        inspect.subscription,
        source,
        topic,
        str(message.message_id),
        reason,
        json.dumps(attributes, sort_keys=True),
        payload,
        member_keys(payload),
        published,
    )


def store(rows: list[tuple]) -> int:
    """Inserts the rows in one transaction (committed on return); returns how many were new."""

    def work(cur: Cursor) -> int:
        new = 0
        for row in rows:
            cur.execute(_INSERT, row)
            new += max(cur.rowcount, 0)
        return new

    return db.transaction(work)


def drain(
    project: str,
    m: manifest_mod.Manifest | None = None,
    *,
    max_messages: int = MAX_MESSAGES_PER_DRAIN,
    max_seconds: float = MAX_SECONDS_PER_DRAIN,
    client=None,
    save: Callable[[list[tuple]], int] = store,
    clock: Callable[[], float] = time.monotonic,
) -> Drained:
    """Moves what waits on every -inspect subscription into `dead_letters`, within bounds.

    Stored and committed first, acknowledged after: a failure in between leaves the message
    on the subscription, to be pulled again and found by its unique key. A subscription that
    cannot be pulled (missing, no permission, Pub/Sub down) is logged and skipped, so the
    others are still drained; a database failure raises (nothing of that batch was acked).
    """
    m = m or manifest_mod.load()
    deadline = clock() + max_seconds
    stored = pulled = 0
    complete = True
    sub_client = None
    for inspect in inspect_subscriptions(m):
        path = f"projects/{project}/subscriptions/{inspect.subscription}"
        while True:
            remaining = max_messages - pulled
            seconds = deadline - clock()
            if remaining <= 0 or seconds <= 0:
                return Drained(stored, pulled, False)
            try:
                sub_client = sub_client or client or subscriber()
                # return_immediately: an empty subscription answers at once instead of holding
                # the staff request open; what arrives meanwhile is drained next time.
                response = sub_client.pull(
                    request={
                        "subscription": path,
                        "max_messages": min(PULL_BATCH, remaining),
                        "return_immediately": True,
                    },
                    timeout=min(PULL_TIMEOUT_SECONDS, max(seconds, 0.5)),
                )
            except Exception as exc:  # noqa: BLE001
                log.event(
                    _log,
                    "dead-letter pull failed",
                    logging.WARNING,
                    subscription=inspect.subscription,
                    error=type(exc).__name__,
                )
                complete = False
                break
            received = list(response.received_messages)
            if not received:
                break
            rows = [row_for(inspect, r.message) for r in received]
            stored += save(rows)
            pulled += len(received)
            try:
                sub_client.acknowledge(
                    request={"subscription": path, "ack_ids": [r.ack_id for r in received]},
                    timeout=PULL_TIMEOUT_SECONDS,
                )
            except Exception as exc:  # noqa: BLE001
                # Stored already; Pub/Sub redelivers after the ack deadline, and the unique
                # key makes that a no-op.
                log.event(
                    _log,
                    "dead-letter acknowledge failed",
                    logging.WARNING,
                    subscription=inspect.subscription,
                    error=type(exc).__name__,
                )
                complete = False
                break
    if stored:
        log.event(_log, "dead letters drained", logging.INFO, stored=stored, pulled=pulled)
    return Drained(stored, pulled, complete)


# -- the stored dead letters (the API's reads and writes) --------------------------------------


class DeadLetterRow(NamedTuple):
    """A stored dead letter as listed: never the payload, only its size and how many member
    keys it names."""

    id: int
    subscription: str
    source_function: str | None
    topic: str | None
    message_id: str
    reason: str
    attributes: Any
    received_at: datetime
    replayed_at: datetime | None
    replay_count: int
    discarded_at: datetime | None
    payload_bytes: int | None
    member_count: int | None


class WithPayload(NamedTuple):
    """One dead letter with what only its detail and its audit read: the payload and the
    member keys it names."""

    row: DeadLetterRow
    payload: bytes
    member_ids: list[str] | None


class Replayable(NamedTuple):
    topic: str | None
    payload: bytes
    attributes: Any
    discarded_at: datetime | None
    member_ids: list[str] | None


STATES = ("open", "replayed", "discarded")
_STATE_SQL = {
    "open": "replayed_at IS NULL AND discarded_at IS NULL",
    "replayed": "replayed_at IS NOT NULL AND discarded_at IS NULL",
    "discarded": "discarded_at IS NOT NULL",
}
#: What a listed dead letter shows (the API's `_view`): never the payload, only its size and
#: how many member keys it names.
_COLUMNS = (
    "id, subscription, source_function, topic, message_id, reason, attributes, "
    "received_at, replayed_at, replay_count, discarded_at, octet_length(payload), "
    "cardinality(member_ids)"
)


def page(
    cur: Cursor, before_id: int | None, state: str | None, source: str | None, limit: int
) -> list[DeadLetterRow]:
    """Newest first, below `before_id`, of one state and source function if given."""
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    if before_id is not None:
        where.append("id < %s")
        params.append(before_id)
    if state:
        where.append(_STATE_SQL[state])
    if source:
        where.append("source_function = %s")
        params.append(source)
    cur.execute(
        f"SELECT {_COLUMNS} FROM dead_letters WHERE {' AND '.join(where)} "
        "ORDER BY id DESC LIMIT %s",
        (*params, limit),
    )
    return [DeadLetterRow(*r) for r in cur.fetchall()]


def get(cur: Cursor, dead_letter_id: int) -> DeadLetterRow | None:
    cur.execute(f"SELECT {_COLUMNS} FROM dead_letters WHERE id = %s", (dead_letter_id,))
    row = cur.fetchone()
    return None if row is None else DeadLetterRow(*row)


def get_with_payload(cur: Cursor, dead_letter_id: int) -> WithPayload | None:
    cur.execute(
        f"SELECT {_COLUMNS}, payload, member_ids FROM dead_letters WHERE id = %s",
        (dead_letter_id,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    return WithPayload(DeadLetterRow(*row[:-2]), bytes(row[-2]), row[-1])


def lock_for_replay(cur: Cursor, dead_letter_id: int) -> Replayable | None:
    """What a replay needs, the row locked until commit."""
    cur.execute(
        "SELECT topic, payload, attributes, discarded_at, member_ids "
        "FROM dead_letters WHERE id = %s FOR UPDATE",
        (dead_letter_id,),
    )
    row = cur.fetchone()
    return None if row is None else Replayable(row[0], bytes(row[1]), *row[2:])


def mark_replayed(cur: Cursor, dead_letter_id: int) -> DeadLetterRow:
    cur.execute(
        "UPDATE dead_letters SET replayed_at = now(), "
        f"replay_count = replay_count + 1 WHERE id = %s RETURNING {_COLUMNS}",
        (dead_letter_id,),
    )
    return DeadLetterRow(*db.one(cur))


def discard(cur: Cursor, dead_letter_id: int) -> tuple[str | None, list[str] | None] | None:
    """(topic, member_ids) when this call discarded it; None when it already was (or none)."""
    cur.execute(
        "UPDATE dead_letters SET discarded_at = now() "
        "WHERE id = %s AND discarded_at IS NULL RETURNING topic, member_ids",
        (dead_letter_id,),
    )
    row = cur.fetchone()
    return None if row is None else (row[0], row[1])
