"""Writing messages into members' inboxes, once each however often a batch is delivered.

Every message sent to a member lands in their in-app inbox (Firestore collection
`inbox_items`, one document per member and message). Pub/Sub delivers at least once, so the
document id is derived from (message_id, member_id) and written with create-if-absent
semantics: a redelivered batch finds its items already there and writes nothing twice. The id
is a hash, so neither the member key nor the message id appears in the app's URLs.

`deliver()` writes one item (a direct message); `deliver_many()` writes one message for many
members in batched writes of at most 500 documents, the size of a fan-out delivery batch.

Creating an item is idempotent, but an item the member deleted would be created again by a
repeat of the same delivery; the sender therefore writes an item only for members it has not
recorded in `message_recipients` yet (notifications/delivery.py).

Only a message to one member (a direct message) gets an item here. A message to many (every
member, a county, an interest: `is_broadcast`) is stored once, in `messages`, and each
recipient's inbox lists it from the `message_recipients` row that delivery writes anyway
(lederappen.inbox.service); reading or deleting it sets `read_at` / `hidden_at` on that row.
Its item id, `broadcast_item_id`, is the same for every member (a hash of the message id), so
every recipient's push is the same apart from the token (push.Pushes).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from ..core.firestore import TIMEOUT_SECONDS, timestamp
from .message import Message, parse

COLLECTION = "inbox_items"
#: How long an item is kept after it was sent (data map: inbox_items); `expires_at` carries it
#: so a Firestore TTL policy on that field can delete items without a job.
RETENTION_DAYS = 365
#: Firestore's limit on writes in one batched write.
MAX_BATCH_WRITES = 500


def item_id(message_id: str, member_id: str) -> str:
    """The item's document id: the same for the same (message, member), nothing readable.

    SHA-256 in base64url without padding: 43 characters of [A-Za-z0-9_-]. The last character
    carries only 4 bits, so it is never "_" and the id can never be a reserved `__...__` id.
    """
    digest = hashlib.sha256(f"inbox\x00{message_id}\x00{member_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def broadcast_item_id(message_id: str) -> str:
    """The inbox id of a message to many: the same for every recipient, nothing readable
    (the same form as `item_id`, so the app cannot tell the two apart)."""
    digest = hashlib.sha256(f"broadcast\x00{message_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_broadcast(audience_kind: str) -> bool:
    """Is a message with this audience stored once (not copied into each inbox)?"""
    return audience_kind != "member"


def _document(member_id: str, message: Message, now: datetime) -> dict[str, Any]:
    from google.cloud.firestore import SERVER_TIMESTAMP

    return {
        "member_id": member_id,
        "message_id": message.message_id,
        "category": message.category,
        "title": {"nb": message.title.nb, "en": message.title.en},
        "body": {"nb": message.body.nb, "en": message.body.en},
        "deep_link": message.deep_link,
        "sensitive": message.sensitive,
        "created_at": SERVER_TIMESTAMP,
        "read_at": None,
        "expires_at": now + timedelta(days=RETENTION_DAYS),
    }


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _member_id(member_id: str) -> str:
    if not isinstance(member_id, str) or not member_id or len(member_id) > 64:
        raise ValueError("member_id must be a non-empty string of at most 64 characters")
    return member_id


def deliver(
    db_client, member_id: str, message: Message | dict, *, now: datetime | None = None
) -> bool:
    """Writes the message into one member's inbox; False when it was already there."""
    from google.api_core.exceptions import AlreadyExists

    message = parse(message)
    ref = db_client.collection(COLLECTION).document(
        item_id(message.message_id, _member_id(member_id))
    )
    try:
        ref.create(_document(member_id, message, _now(now)), timeout=TIMEOUT_SECONDS)
    except AlreadyExists:
        return False
    return True


def chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def deliver_many(
    db_client, member_ids: Iterable[str], message: Message | dict, *, now: datetime | None = None
) -> int:
    """Writes the message into each member's inbox; returns how many items were new.

    Batched writes of at most MAX_BATCH_WRITES creates each. A batch is atomic, so one item
    that is already there (a redelivery, or a direct `deliver` before) fails its whole batch:
    then the batch's existing items are looked up in one read and only the missing ones are
    written, and if even that meets a concurrent writer, item by item.
    """
    from google.api_core.exceptions import AlreadyExists

    message = parse(message)
    now = _now(now)
    members = list(dict.fromkeys(_member_id(m) for m in member_ids))
    collection = db_client.collection(COLLECTION)
    written = 0
    for chunk in chunks(members, MAX_BATCH_WRITES):
        refs = {m: collection.document(item_id(message.message_id, m)) for m in chunk}
        try:
            _create_all(db_client, refs, message, now)
            written += len(chunk)
            continue
        except AlreadyExists:
            pass
        present = {
            snap.id
            for snap in db_client.get_all(
                list(refs.values()), field_paths=["message_id"], timeout=TIMEOUT_SECONDS
            )
            if snap.exists
        }
        missing = {m: ref for m, ref in refs.items() if ref.id not in present}
        if not missing:
            continue
        try:
            _create_all(db_client, missing, message, now)
            written += len(missing)
        except AlreadyExists:
            written += sum(deliver(db_client, m, message, now=now) for m in missing)
    return written


def remove_many(db_client, item_ids: list[str]) -> None:
    """Deletes these items (absent ones are fine), in batched writes."""
    collection = db_client.collection(COLLECTION)
    for chunk in chunks(item_ids, MAX_BATCH_WRITES):
        batch = db_client.batch()
        for doc_id in chunk:
            batch.delete(collection.document(doc_id))
        batch.commit(timeout=TIMEOUT_SECONDS)


def _create_all(db_client, refs: dict, message: Message, now: datetime) -> None:
    batch = db_client.batch()
    for member_id, ref in refs.items():
        batch.create(ref, _document(member_id, message, now))
    batch.commit(timeout=TIMEOUT_SECONDS)


def view(snapshot) -> dict[str, Any]:
    """An item as the app sees it (no member key, no retention bookkeeping)."""
    data = snapshot.to_dict() or {}
    title, body = data.get("title") or {}, data.get("body") or {}
    return {
        "id": snapshot.id,
        "message_id": data.get("message_id"),
        "category": data.get("category"),
        "title": {"nb": title.get("nb", ""), "en": title.get("en", "")},
        "body": {"nb": body.get("nb", ""), "en": body.get("en", "")},
        "deep_link": data.get("deep_link"),
        "sensitive": bool(data.get("sensitive", False)),
        "created_at": timestamp(data.get("created_at")),
        "read_at": timestamp(data.get("read_at")),
    }


def opened(db_client, message_id: str) -> int:
    """How many inbox items of this message have been read (one count aggregation; items a
    member deleted are no longer counted). Needs the composite index (message_id, read_at)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    query = (
        db_client.collection(COLLECTION)
        .where(filter=FieldFilter("message_id", "==", message_id))
        .where(filter=FieldFilter("read_at", ">", datetime(1970, 1, 1, tzinfo=UTC)))
    )
    result = query.count(alias="n").get(timeout=TIMEOUT_SECONDS)
    return int(result[0][0].value) if result and result[0] else 0
