"""The notifications' tables: `messages`, `message_batches`, `message_recipients` and
`push_deliveries`. The only module of the package that reads or writes them; the rules
(who is eligible, what a push says, when a message may be cancelled) stay in outgoing.py,
fanout.py and delivery.py, which call these functions inside their transactions.

Delivery batches: the fan-out stores a batch in the transaction that queues its
`message-delivery` message ({"message_id", "batch"}: ids only); delivery takes the members
from here, never from the message. So a forged, replayed or reordered delivery message names
at most a batch the fan-out formed, for members it chose.

The inbox of messages to many is stored once: a message to every member, a county or an
interest is not copied into each member's Firestore inbox (inbox.py); the
`message_recipients` row that delivery writes for each member anyway (idempotency, the
editors' counts) is their inbox item when its `inbox` is true and its outcome `delivered`.
Per-member state exists only where the member acts: `read_at` when they open the item,
`hidden_at` when they delete it (the row stays, so a redelivered batch does not put the item
back). An item's id is `inbox.broadcast_item_id(message_id)`, the same for every recipient; a
member's item is found by it in SQL (`_ITEM_ID_SQL`, the same hash), among their own rows.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import NamedTuple

from ..core import db
from ..core.db import IN_JSON_LIST, Cursor, Row

# -- delivery batches (message_batches) ------------------------------------------------------


def store_batch(cur: Cursor, message_id: str, batch: int, member_ids: list[str]) -> None:
    """Records a batch once (a redelivered fan-out step never forms it again: it is claimed)."""
    cur.execute(
        "INSERT INTO message_batches (message_id, batch, member_ids) "
        "SELECT %s, %s, ARRAY(SELECT m FROM json_array_elements_text(%s::json) "
        "WITH ORDINALITY AS t(m, i) ORDER BY i) "
        "ON CONFLICT DO NOTHING",
        # one JSON parameter: pg8000 encodes an array parameter in Python (~3 us an element)
        (message_id, batch, json.dumps(member_ids)),
    )


def batch_members(cur: Cursor, message_id: str, batch: int) -> list[str] | None:
    """The batch's members as the fan-out stored them (minus erased members); None when the
    fan-out formed no such batch."""
    cur.execute(
        # as JSON, which pg8000 parses in C (a text[] it parses in Python, ~2 us an element)
        "SELECT array_to_json(member_ids) FROM message_batches "
        "WHERE message_id = %s AND batch = %s",
        (message_id, batch),
    )
    row = cur.fetchone()
    return None if row is None else list(row[0])


def scrub_batches(cur: Cursor, member_ids: list[str]) -> dict[str, int]:
    """`erase_with` of message_batches (data map): the members' keys are taken out of every
    batch that holds them; the batch stays for its other members (retention sweeps it)."""
    cur.execute(
        "WITH hit AS (SELECT message_id, batch, member_ids FROM message_batches "
        "             WHERE member_ids && %s::text[] FOR UPDATE) "
        "UPDATE message_batches b SET member_ids = ARRAY(SELECT m FROM unnest(hit.member_ids) m "
        "                                                WHERE NOT m = ANY(%s::text[])) "
        "FROM hit WHERE b.message_id = hit.message_id AND b.batch = hit.batch "
        "RETURNING ARRAY(SELECT m FROM unnest(hit.member_ids) m WHERE m = ANY(%s::text[]))",
        (member_ids, member_ids, member_ids),
    )
    out: Counter[str] = Counter()
    for row in cur.fetchall():
        out.update(row[0])
    return dict(out)


# -- the inbox of messages to many (message_recipients) ---------------------------------------

#: The member's broadcast items: delivered to their inbox, not deleted, of a message to many.
_MINE = (
    "FROM message_recipients r JOIN messages m ON m.id = r.message_id "
    "WHERE r.member_id = %s AND r.inbox AND r.outcome = 'delivered' AND r.hidden_at IS NULL "
    "AND m.audience_kind <> 'member'"
)
_BROADCAST_COLUMNS = (
    "SELECT r.message_id::text, r.processed_at, r.read_at, m.category, m.title_nb, "
    "m.title_en, m.body_nb, m.body_en, m.deep_link, m.sensitive "
)
#: inbox.broadcast_item_id in SQL: base64url (unpadded) of SHA-256("broadcast\0" + id).
_ITEM_ID_SQL = (
    "rtrim(translate(encode(sha256(decode('62726f61646361737400', 'hex') || "
    "convert_to(r.message_id::text, 'UTF8')), 'base64'), '+/', '-_'), '=')"
)


def broadcast_rows(member_id: str, size: int, before: datetime | None) -> list[tuple]:
    """Up to `size` of the member's items delivered before `before` (and every one delivered
    at that instant: the caller compares those by id), newest first: (message id, delivered
    at, read at, category, title nb/en, body nb/en, deep link, sensitive)."""
    if before is None:
        return db.fetch_all(
            f"{_BROADCAST_COLUMNS}{_MINE} ORDER BY r.processed_at DESC LIMIT %s", (member_id, size)
        )
    return db.fetch_all(
        f"({_BROADCAST_COLUMNS}{_MINE} AND r.processed_at = %s) UNION ALL "
        f"({_BROADCAST_COLUMNS}{_MINE} AND r.processed_at < %s ORDER BY r.processed_at DESC LIMIT %s)",
        (member_id, before, member_id, before, size),
    )


def broadcast_unread(member_id: str) -> int:
    """How many of the member's items have not been read."""
    row = db.fetch_one(f"SELECT count(*) {_MINE} AND r.read_at IS NULL", (member_id,))
    return int(row[0]) if row else 0


def _update_broadcast(member_id: str, item_id: str, change: str) -> bool:
    def work(cur: Cursor) -> bool:
        cur.execute(
            f"UPDATE message_recipients r SET {change} FROM messages m "
            "WHERE m.id = r.message_id AND r.member_id = %s AND r.inbox "
            "AND r.outcome = 'delivered' AND r.hidden_at IS NULL "
            f"AND m.audience_kind <> 'member' AND {_ITEM_ID_SQL} = %s RETURNING 1",
            (member_id, item_id),
        )
        return cur.fetchone() is not None

    return db.transaction(work)


def broadcast_mark_read(member_id: str, item_id: str) -> bool:
    """Marks the member's item read (the first time only); False when they have no such item."""
    return _update_broadcast(member_id, item_id, "read_at = coalesce(r.read_at, now())")


def broadcast_hide(member_id: str, item_id: str) -> bool:
    """Deletes the member's item from their inbox; False when they have no such item."""
    return _update_broadcast(member_id, item_id, "hidden_at = now()")


def broadcast_opened(cur: Cursor, message_id: str) -> int:
    """How many recipients of a message to many have opened it (and not deleted it)."""
    cur.execute(
        "SELECT count(*) FROM message_recipients WHERE message_id = %s "
        "AND read_at IS NOT NULL AND hidden_at IS NULL",
        (message_id,),
    )
    return int(db.one(cur)[0])


# -- delivery: eligibility, outcomes, push leases (message_recipients, push_deliveries) -------


class Eligibility(NamedTuple):
    """What delivery's rules read about one member at send time."""

    member_id: str
    categories: list[str] | None  # None: the defaults
    channels: list[str] | None  # None: the defaults
    restricted: bool


class Recorded(NamedTuple):
    """A member already recorded for a message: whether their outcome has the inbox and the
    push channel, and when it was recorded."""

    member_id: str
    inbox: bool
    push: bool
    processed_at: datetime


def eligibility(cur: Cursor, member_ids: list[str]) -> list[Eligibility]:
    """Per member: (member, notification categories, channels, restricted): their saved
    choices (None: the defaults) and whether their processing is restricted, composed from
    the owners' fragments (preferences.store.join, core.restriction.restricted)."""
    from ..core import restriction
    from ..preferences import store as preferences

    cur.execute(
        "SELECT m.id, p.notification_categories, p.notification_channels, "
        f"{restriction.restricted('m.id')} FROM json_array_elements_text(%s::json) AS m(id) "
        f"{preferences.join('m.id', 'p')}",
        (json.dumps(member_ids),),
    )
    return [Eligibility(*r) for r in cur.fetchall()]


def lease_batch(
    cur: Cursor, message_id: str, batch: int, now: datetime, lease_until: datetime
) -> bool:
    """Takes the batch's lease until `lease_until`, unless another attempt holds a live one."""
    cur.execute(
        "INSERT INTO message_batch_leases AS l (message_id, batch, lease_until) "
        "VALUES (%s, %s, %s) ON CONFLICT (message_id, batch) DO UPDATE "
        "SET lease_until = EXCLUDED.lease_until WHERE l.lease_until < %s RETURNING 1",
        (message_id, batch, lease_until, now),
    )
    return cur.fetchone() is not None


def sending(cur: Cursor, message_id: str, batch: int, lease_until: datetime, pushes: int) -> None:
    """How many pushes this attempt (`lease_until`) has on their way to FCM (the editors'
    figures count them as pending until their rows are written)."""
    cur.execute(
        "UPDATE message_batch_leases SET pushes = %s "
        "WHERE message_id = %s AND batch = %s AND lease_until = %s",
        (pushes, message_id, batch, lease_until),
    )


def release_batch(cur: Cursor, message_id: str, batch: int, lease_until: datetime) -> None:
    """Gives the batch's lease back, if it is still this attempt's (`lease_until`)."""
    cur.execute(
        "DELETE FROM message_batch_leases WHERE message_id = %s AND batch = %s "
        "AND lease_until = %s",
        (message_id, batch, lease_until),
    )


def record_outcomes(cur: Cursor, message_id: str, recipients: list[list], now: datetime) -> None:
    """Each member's outcome ([member, outcome, inbox, push]) in one statement; a member
    another copy of the batch recorded first is left alone."""
    cur.execute(
        "INSERT INTO message_recipients (message_id, member_id, outcome, inbox, push, "
        "processed_at) SELECT %s, e->>0, e->>1, (e->>2)::boolean, (e->>3)::boolean, %s "
        "FROM jsonb_array_elements(%s::jsonb) AS e ON CONFLICT DO NOTHING",
        (message_id, now, json.dumps(recipients)),
    )


class PushState(NamedTuple):
    """A push row of an earlier attempt."""

    device_id: str
    member_id: str
    state: str


#: The states of a push that is never sent again for its message.
FINAL_STATES = ("sent", "pruned", "failed")


def push_states(cur: Cursor, message_id: str, member_ids: list[str]) -> list[PushState]:
    """The push rows of these members for the message."""
    cur.execute(
        "SELECT p.device_id, p.member_id, p.state FROM push_deliveries p "
        f"WHERE p.message_id = %s AND p.member_id {IN_JSON_LIST}",
        (message_id, json.dumps(member_ids)),
    )
    return [PushState(*r) for r in cur.fetchall()]


def record_push_outcomes(cur: Cursor, message_id: str, rows: str, now: datetime) -> None:
    """Each push's row with its outcome (`rows`: JSON [[device, member, state, code,
    attempts]]), written once; a row an earlier attempt left `pending` (or `sending`, from
    before leases per batch) takes the new outcome, a final one is never changed."""
    cur.execute(
        "INSERT INTO push_deliveries AS p (message_id, device_id, member_id, state, "
        "error_code, attempts, updated_at) "
        "SELECT %s, e->>0, e->>1, e->>2, e->>3, (e->>4)::int, %s "
        "FROM jsonb_array_elements(%s::jsonb) AS e "
        "ON CONFLICT (message_id, device_id) DO UPDATE SET state = EXCLUDED.state, "
        "error_code = EXCLUDED.error_code, attempts = p.attempts + EXCLUDED.attempts, "
        "lease_until = NULL, updated_at = EXCLUDED.updated_at "
        "WHERE p.state NOT IN ('sent', 'pruned', 'failed')",
        (message_id, now, rows),
    )


def recorded(cur: Cursor, message_id: str, member_ids: list[str]) -> list[Recorded]:
    """These members as already recorded for the message."""
    cur.execute(
        # each member looked up by the primary key (message, member): by the member index
        # every row of each member's other messages was read to be filtered out (58 ms a
        # batch of 10,000 that had none)
        "SELECT r.member_id, r.inbox, r.push, r.processed_at "
        "FROM json_array_elements_text(%s::json) AS t(m) CROSS JOIN LATERAL "
        "(SELECT * FROM message_recipients WHERE message_id = %s AND member_id = t.m) AS r",
        (json.dumps(member_ids), message_id),
    )
    return [Recorded(*r) for r in cur.fetchall()]


# -- the fan-out's progress (messages) -------------------------------------------------------


def start_step(cur: Cursor, message_id: str, listed: int, now: datetime) -> bool:
    """A fan-out step begins: the message is sending and `listed` more are in its audience;
    False when it was cancelled meanwhile."""
    cur.execute(
        "UPDATE messages SET status = 'sending', started_at = coalesce(started_at, %s), "
        "audience_size = coalesce(audience_size, 0) + %s "
        "WHERE id = %s AND status IN ('scheduled', 'sending')",
        (now, listed, message_id),
    )
    return cur.rowcount > 0


def fanned_out(cur: Cursor, message_id: str, now: datetime) -> None:
    cur.execute(
        "UPDATE messages SET status = 'sent', fanned_out_at = %s WHERE id = %s",
        (now, message_id),
    )


# -- messages ----------------------------------------------------------------------------------

#: A message row as outgoing.Stored reads it.
MESSAGE_COLUMNS = (
    "id, category, title_nb, title_en, body_nb, body_en, deep_link, sensitive, "
    "audience_kind, audience_value, member_id, send_at, status, origin, created_by, "
    "created_at, cancelled_at, started_at, audience_size, fanned_out_at, outbox_id, "
    "concerns"
)


def message(cur: Cursor, message_id: str, *, for_update: bool = False) -> Row | None:
    cur.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = %s"
        + (" FOR UPDATE" if for_update else ""),
        (message_id,),
    )
    return cur.fetchone()


def insert_message(cur: Cursor, values: tuple) -> Row:
    """(id, category, title nb/en, body nb/en, deep link, sensitive, audience kind/value,
    member, send at, origin, created by, created at, outbox id, concerns) -> the row."""
    cur.execute(
        "INSERT INTO messages (id, category, title_nb, title_en, body_nb, body_en, deep_link, "
        "sensitive, audience_kind, audience_value, member_id, send_at, origin, created_by, "
        "created_at, outbox_id, concerns) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        f"%s, %s, %s, %s, %s, %s) RETURNING {MESSAGE_COLUMNS}",
        values,
    )
    return db.one(cur)


def insert_direct_messages(
    cur: Cursor, rows: str, drafts: str, created_by: str, now: datetime
) -> None:
    """Direct messages in one statement: `rows` JSON [[id, member, draft number, outbox id]],
    `drafts` JSON [{k, c, tn, te, bn, be, dl, s, x}] (each distinct draft's texts once)."""
    cur.execute(
        "WITH r AS (SELECT e->>0 AS i, e->>1 AS m, (e->>2)::int AS k, (e->>3)::bigint AS o "
        "FROM json_array_elements(%s::json) AS t(e)), "
        "d AS (SELECT * FROM json_to_recordset(%s::json) AS d(k int, c text, tn text, te text, "
        "bn text, be text, dl text, s boolean, x text)) "
        "INSERT INTO messages (id, category, title_nb, title_en, body_nb, body_en, "
        "deep_link, sensitive, audience_kind, member_id, send_at, origin, created_by, "
        "created_at, outbox_id, concerns) SELECT r.i::uuid, d.c, d.tn, d.te, d.bn, d.be, d.dl, "
        "d.s, 'member', r.m, %s, 'system', %s, %s, r.o, d.x FROM r JOIN d USING (k)",
        (rows, drafts, now, created_by, now),
    )


def mark_cancelled(cur: Cursor, message_id: str, now: datetime) -> None:
    cur.execute(
        "UPDATE messages SET status = 'cancelled', cancelled_at = %s WHERE id = %s",
        (now, message_id),
    )


def editor_messages(cur: Cursor, limit: int, after: tuple[str, str] | None) -> list[Row]:
    """Editors' messages, newest first, after the (created_at, id) cursor."""
    if after is None:
        cur.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE origin = 'editor' "
            "ORDER BY created_at DESC, id DESC LIMIT %s",
            (limit,),
        )
    else:
        cur.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE origin = 'editor' "
            "AND (created_at, id) < (%s::timestamptz, %s::uuid) "
            "ORDER BY created_at DESC, id DESC LIMIT %s",
            (after[0], after[1], limit),
        )
    return cur.fetchall()


def outcome_counts(cur: Cursor, message_id: str) -> list[tuple[str, int, int]]:
    """(outcome, recipients, of them with the inbox) of a message."""
    cur.execute(
        "SELECT outcome, count(*), count(*) FILTER (WHERE inbox) FROM message_recipients "
        "WHERE message_id = %s GROUP BY outcome",
        (message_id,),
    )
    return [(o, int(n), int(i)) for o, n, i in cur.fetchall()]


def push_counts(cur: Cursor, message_id: str) -> list[tuple[str, int]]:
    """(state, pushes) of a message; the pushes live attempts have on their way to FCM, whose
    rows are not written yet, as `sending`."""
    cur.execute(
        "SELECT state, count(*) FROM push_deliveries WHERE message_id = %s GROUP BY state "
        "UNION ALL SELECT 'sending', sum(pushes) FROM message_batch_leases "
        "WHERE message_id = %s AND lease_until > now() HAVING sum(pushes) > 0",
        (message_id, message_id),
    )
    return [(s, int(n)) for s, n in cur.fetchall()]
