"""Transactional outbox: a change and the message it causes commit together.

`enqueue()` writes the message in the caller's transaction. After the commit, `flush()`
publishes it at once (the fast path) and marks it published; if the instance dies between
commit and publish, the scheduled `outbox-relay` function publishes what is still
unpublished. Consumers see a message at least once and must be idempotent (core/events.py).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from . import db, log, pubsub
from .db import Cursor
from .problems import DependencyUnavailable

_log = logging.getLogger("lederappen.outbox")


def enqueue(
    cur: Cursor,
    topic: str,
    payload: dict[str, Any],
    member_id: str | None,
    not_before: datetime | None = None,
) -> int:
    """Writes a message to publish after the caller's commit; with `not_before`, the relay
    publishes it once that time has come (a scheduled message), and until then deleting the
    row (`withdraw`) cancels it."""
    cur.execute(
        "INSERT INTO outbox (topic, member_id, payload, not_before) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (topic, member_id, json.dumps(payload), not_before),
    )
    return db.one(cur)[0]


def enqueue_many(
    cur: Cursor, topic: str, rows: list[tuple[str | None, dict[str, Any]]], key: str
) -> dict[str, int]:
    """`enqueue` for many messages on one topic in one statement: (member_id, payload) each,
    every payload with a different value of the string field `key`; their ids by that value.
    The rows travel as one JSON parameter (pg8000 encodes array parameters element by
    element in Python)."""
    if not rows:
        return {}
    cur.execute(
        "INSERT INTO outbox (topic, member_id, payload) "
        "SELECT %s, e->>0, e->1 FROM json_array_elements(%s::json) AS t(e) "
        "RETURNING id, payload->>%s",
        (topic, json.dumps(rows), key),
    )
    return {k: i for i, k in cur.fetchall()}


def queued_step(
    topic: str, message_id: str, step: int
) -> tuple[str | None, datetime | None] | None:
    """The outbox row that queued step `step` of the sending of `message_id` on `topic` (a
    fan-out): where its listing resumes and when it is due; None when no such step was ever
    queued. Served by the partial index outbox_fanout_steps (migration 0014)."""
    row = db.fetch_one(
        "SELECT payload->>'cursor', not_before FROM outbox WHERE topic = %s "
        "AND payload->>'message_id' = %s AND (payload->>'step')::int = %s "
        "ORDER BY id DESC LIMIT 1",
        (topic, message_id, step),
    )
    return None if row is None else (row[0], row[1])


def withdraw(cur: Cursor, outbox_id: int) -> bool:
    """Deletes a message that is not published yet; False when it already went out."""
    cur.execute("DELETE FROM outbox WHERE id = %s AND published_at IS NULL", (outbox_id,))
    return cur.rowcount > 0


def _publish_rows(project: str, rows: list[tuple]) -> list[int]:
    """Publishes the rows together (in id order); all or, on a failure, none are marked."""
    messages = []
    for row_id, topic, payload in rows:
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        if isinstance(body, str):
            body = body.encode()
        messages.append((topic, body, {"outbox_id": str(row_id)}))
    if messages:
        pubsub.publish_many(project, messages)
    return [row[0] for row in rows]


def _mark(ids: list[int]) -> None:
    if ids:
        db.transaction(
            lambda cur: cur.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", (ids,)
            )
        )


def flush(project: str, ids: list[int]) -> None:
    """Publishes these just-committed messages now; on failure the relay publishes them later."""
    if not ids:
        return
    rows = db.fetch_all(
        "SELECT id, topic, payload FROM outbox WHERE id = ANY(%s) "
        "AND published_at IS NULL AND (not_before IS NULL OR not_before <= now()) "
        "ORDER BY id",
        (ids,),
    )
    published: list[int] = []
    try:
        published = _publish_rows(project, rows)
    except DependencyUnavailable:
        log.event(_log, "publish deferred to the outbox relay", logging.WARNING, count=len(rows))
    finally:
        _mark(published)


def relay(
    project: str,
    older_than: timedelta = timedelta(seconds=30),
    batch: int = 500,
    now: datetime | None = None,
) -> int:
    """Publishes messages that were committed but not published (the fast path failed), and
    scheduled ones whose time has come."""
    now = now or datetime.now(UTC)
    total = 0
    while True:
        rows = db.fetch_all(
            "SELECT id, topic, payload FROM outbox WHERE published_at IS NULL AND ("
            "(not_before IS NULL AND created_at < %s) OR not_before <= %s) "
            "ORDER BY id LIMIT %s",
            (now - older_than, now, batch),
        )
        if not rows:
            return total
        published: list[int] = []
        try:
            published = _publish_rows(project, rows)
        finally:
            _mark(published)
        total += len(published)
        if len(rows) < batch:
            return total


def forget_members(cur: Cursor, member_ids: list[str]) -> dict[str, int]:
    """The outbox's part of erasure (the data map's `erase_with` for `outbox`): the members' own rows go; their keys are taken out of
    delivery batches (payload member_ids) that also carry other members; and a fan-out step
    whose cursor is a member's key (an interest audience is paged by member key) resumes from
    just before the key (the members it then lists again were already processed, and
    delivery skips them)."""
    out: Counter[str] = Counter()
    cur.execute("DELETE FROM outbox WHERE member_id = ANY(%s) RETURNING member_id", (member_ids,))
    out.update(r[0] for r in cur.fetchall())
    wanted = set(member_ids)
    cur.execute(
        "SELECT id, payload->'member_ids' FROM outbox WHERE payload->'member_ids' @> ANY(ARRAY("
        "SELECT jsonb_build_array(m) FROM unnest(%s::text[]) m)) FOR UPDATE",
        (member_ids,),
    )
    for row_id, held in cur.fetchall():
        held = held if isinstance(held, list) else json.loads(held)
        gone = [m for m in held if m in wanted]
        out.update(gone)
        cur.execute(
            "UPDATE outbox SET payload = jsonb_set(payload, '{member_ids}', %s::jsonb) "
            "WHERE id = %s",
            (json.dumps([m for m in held if m not in wanted]), row_id),
        )
    # Published or not: the fan-out reads a step's cursor from its row (a step in flight
    # resumes from the rewound cursor), so the row stays and only the key goes.
    cur.execute(
        "UPDATE outbox SET payload = jsonb_set(payload, '{cursor}', "
        "to_jsonb(left(payload->>'cursor', -1))) WHERE topic = 'message-fanout' "
        "AND payload->>'cursor' = ANY(%s) "
        "RETURNING left(payload->>'cursor', -1)",
        (member_ids,),
    )
    rewound = {m[:-1]: m for m in member_ids}
    out.update(rewound[r[0]] for r in cur.fetchall() if r[0] in rewound)
    return dict(out)
