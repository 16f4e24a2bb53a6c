"""The inbox rules over the member's two kinds of item.

* A direct message (to this member alone) is a document in the Firestore collection
  `inbox_items` (written by `lederappen.notifications.inbox`).
* A message to many (every member, a county, an interest) is stored once, in `messages`; the
  member's item is their `message_recipients` row (`inbox` true, outcome `delivered`), with
  `read_at` and `hidden_at` (deleted) on it. Its id is `inbox.broadcast_item_id`, the same
  form as a Firestore item's id, computed in SQL where an item is looked up by it.

A member sees only their own items; any other id is "not found", whether it exists or not.
The list is newest first by `created_at` (a broadcast's: when it was delivered to them), ties
broken by id, with an opaque cursor of the last item's (created_at, id), so an item that
arrives while the member pages never shifts a page: each page takes up to `size + 1` of each
kind after the cursor and merges them. The Firestore query is the one the Terraform index
(member_id ASC, created_at DESC) serves; the SQL one the index (member_id, processed_at DESC).
Marking read sets `read_at` once (idempotent); deleting removes the item (a broadcast's row
is kept, hidden, so a redelivery does not bring it back).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core import pagination
from ..core.firestore import TIMEOUT_SECONDS, timestamp
from ..core.validation import field_error
from ..notifications import store as broadcasts
from ..notifications.inbox import COLLECTION, broadcast_item_id, view


def _filter(field: str, op: str, value):
    from google.cloud.firestore_v1.base_query import FieldFilter

    return FieldFilter(field, op, value)


def is_item_id(value: str) -> bool:
    return len(value) == 43 and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)


def encode_cursor(item: dict[str, Any]) -> str:
    return pagination.encode_cursor([item["created_at"], item["id"]])


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    """(created_at, id) of the last item of the previous page; 422 naming `cursor` if forged."""
    key = pagination.decode_cursor(cursor)
    if key is None:
        return None
    try:
        created, doc_id = key
        when = datetime.fromisoformat(created)
        if when.tzinfo is None or not is_item_id(doc_id):
            raise ValueError
    except (TypeError, ValueError, AttributeError):
        raise field_error("cursor", "invalid", "Ugyldig cursor.", "Invalid cursor.") from None
    return when.astimezone(UTC), doc_id


def _broadcast_view(row) -> dict[str, Any]:
    message_id, processed, read, category, tnb, ten, bnb, ben, link, sensitive = row
    return {
        "id": broadcast_item_id(message_id),
        "message_id": message_id,
        "category": category,
        "title": {"nb": tnb, "en": ten},
        "body": {"nb": bnb, "en": ben},
        "deep_link": link,
        "sensitive": bool(sensitive),
        "created_at": timestamp(processed),
        "read_at": timestamp(read),
    }


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["created_at"] or "", item["id"]


def _broadcasts(
    member_id: str, size: int, after: tuple[datetime, str] | None
) -> list[dict[str, Any]]:
    """Up to `size` of the member's broadcast items after the cursor, newest first."""
    rows = broadcasts.broadcast_rows(member_id, size, None if after is None else after[0])
    if after is None:
        return [_broadcast_view(r) for r in rows]
    # Those at the cursor's instant are compared by id here (the id is a hash: not in SQL).
    bound = (timestamp(after[0]) or "", after[1])
    items = [i for i in map(_broadcast_view, rows) if _key(i) < bound]
    return sorted(items, key=_key, reverse=True)[:size]


def page(
    db_client, member_id: str, size: int, after: tuple[datetime, str] | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the member's items, newest first, and the cursor of the next page."""
    from google.cloud.firestore import Query

    query = (
        db_client.collection(COLLECTION)
        .where(filter=_filter("member_id", "==", member_id))
        .order_by("created_at", direction=Query.DESCENDING)
        .order_by("__name__", direction=Query.DESCENDING)
    )
    if after is not None:
        query = query.start_after({"created_at": after[0], "__name__": after[1]})
    items = [view(s) for s in query.limit(size + 1).stream(timeout=TIMEOUT_SECONDS)]
    items = sorted(items + _broadcasts(member_id, size + 1, after), key=_key, reverse=True)
    if len(items) > size:
        return items[:size], encode_cursor(items[size - 1])
    return items, None


def unread_count(db_client, member_id: str) -> int:
    """How many of the member's items have not been read (one count aggregation, one SQL
    count)."""
    query = (
        db_client.collection(COLLECTION)
        .where(filter=_filter("member_id", "==", member_id))
        .where(filter=_filter("read_at", "==", None))
    )
    result = query.count(alias="unread").get(timeout=TIMEOUT_SECONDS)
    direct = int(result[0][0].value) if result and result[0] else 0
    return direct + broadcasts.broadcast_unread(member_id)


def mark_read(db_client, member_id: str, item_id: str) -> bool:
    """Marks the member's item read (the first time only); False when it is not theirs."""
    from google.cloud import firestore

    if not is_item_id(item_id):
        return False
    if broadcasts.broadcast_mark_read(member_id, item_id):
        return True
    ref = db_client.collection(COLLECTION).document(item_id)

    @firestore.transactional
    def work(tx) -> bool:
        snap = ref.get(
            transaction=tx, field_paths=["member_id", "read_at"], timeout=TIMEOUT_SECONDS
        )
        data = snap.to_dict() if snap.exists else None
        if data is None or data.get("member_id") != member_id:
            return False
        if data.get("read_at") is None:
            tx.update(ref, {"read_at": firestore.SERVER_TIMESTAMP})
        return True

    return work(db_client.transaction())


def delete(db_client, member_id: str, item_id: str) -> bool:
    """Deletes the member's item; False when it is not theirs (or already gone)."""
    from google.cloud import firestore

    if not is_item_id(item_id):
        return False
    if broadcasts.broadcast_hide(member_id, item_id):
        return True
    ref = db_client.collection(COLLECTION).document(item_id)

    @firestore.transactional
    def work(tx) -> bool:
        snap = ref.get(transaction=tx, field_paths=["member_id"], timeout=TIMEOUT_SECONDS)
        if not snap.exists or (snap.to_dict() or {}).get("member_id") != member_id:
            return False
        tx.delete(ref)
        return True

    return work(db_client.transaction())
