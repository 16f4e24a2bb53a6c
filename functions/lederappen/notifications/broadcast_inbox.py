"""The inbox of messages to many: stored once, read from `message_recipients`.

A message to every member, a county or an interest is not copied into each member's
Firestore inbox (notifications/inbox.py): the `message_recipients` row that delivery writes
for each member anyway (idempotency, the editors' counts) is their inbox item when its
`inbox` is true and its outcome `delivered`. Per-member state exists only where the member
acts: `read_at` when they open the item, `hidden_at` when they delete it (the row stays, so a
redelivered batch does not put the item back). The member's inbox function
(lederappen.inbox.service) reads and changes these rows only through this module, the owner
of the tables.

An item's id is `inbox.broadcast_item_id(message_id)`, the same for every recipient; a
member's item is found by it in SQL (`_ITEM_ID_SQL`, the same hash), among their own rows.
"""

from __future__ import annotations

from datetime import datetime

from ..core import db

#: The member's broadcast items: delivered to their inbox, not deleted, of a message to many.
_MINE = (
    "FROM message_recipients r JOIN messages m ON m.id = r.message_id "
    "WHERE r.member_id = %s AND r.inbox AND r.outcome = 'delivered' AND r.hidden_at IS NULL "
    "AND m.audience_kind <> 'member'"
)
_COLUMNS = (
    "SELECT r.message_id::text, r.processed_at, r.read_at, m.category, m.title_nb, "
    "m.title_en, m.body_nb, m.body_en, m.deep_link, m.sensitive "
)
#: inbox.broadcast_item_id in SQL: base64url (unpadded) of SHA-256("broadcast\0" + id).
_ITEM_ID_SQL = (
    "rtrim(translate(encode(sha256(decode('62726f61646361737400', 'hex') || "
    "convert_to(r.message_id::text, 'UTF8')), 'base64'), '+/', '-_'), '=')"
)


def rows(member_id: str, size: int, before: datetime | None) -> list[tuple]:
    """Up to `size` of the member's items delivered before `before` (and every one delivered
    at that instant: the caller compares those by id), newest first: (message id, delivered
    at, read at, category, title nb/en, body nb/en, deep link, sensitive)."""
    if before is None:
        return db.fetch_all(
            f"{_COLUMNS}{_MINE} ORDER BY r.processed_at DESC LIMIT %s", (member_id, size)
        )
    return db.fetch_all(
        f"({_COLUMNS}{_MINE} AND r.processed_at = %s) UNION ALL "
        f"({_COLUMNS}{_MINE} AND r.processed_at < %s ORDER BY r.processed_at DESC LIMIT %s)",
        (member_id, before, member_id, before, size),
    )


def unread(member_id: str) -> int:
    """How many of the member's items have not been read."""
    row = db.fetch_one(f"SELECT count(*) {_MINE} AND r.read_at IS NULL", (member_id,))
    return int(row[0]) if row else 0


def _update(member_id: str, item_id: str, change: str) -> bool:
    def work(cur) -> bool:
        cur.execute(
            f"UPDATE message_recipients r SET {change} FROM messages m "
            "WHERE m.id = r.message_id AND r.member_id = %s AND r.inbox "
            "AND r.outcome = 'delivered' AND r.hidden_at IS NULL "
            f"AND m.audience_kind <> 'member' AND {_ITEM_ID_SQL} = %s RETURNING 1",
            (member_id, item_id),
        )
        return cur.fetchone() is not None

    return db.transaction(work)


def mark_read(member_id: str, item_id: str) -> bool:
    """Marks the member's item read (the first time only); False when they have no such item."""
    return _update(member_id, item_id, "read_at = coalesce(r.read_at, now())")


def hide(member_id: str, item_id: str) -> bool:
    """Deletes the member's item from their inbox; False when they have no such item."""
    return _update(member_id, item_id, "hidden_at = now()")


def opened(cur, message_id: str) -> int:
    """How many recipients of a message to many have opened it (and not deleted it)."""
    cur.execute(
        "SELECT count(*) FROM message_recipients WHERE message_id = %s "
        "AND read_at IS NOT NULL AND hidden_at IS NULL",
        (message_id,),
    )
    return int(cur.fetchone()[0])
