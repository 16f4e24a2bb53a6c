"""The device registration rules, over the Firestore collection `devices`.

One document per app installation. The app sends its installation id (a new one after a
reinstall); the backend never stores it: the document id is HMAC-SHA256 of it under
INSTALLATION_ID_KEY, base64url, so the same installation always maps to the same document
while the stored value cannot be turned back into the app's id without the key (the privacy
policy's "kryptert ID"). The document holds the member key, the FCM registration token,
platform, app version, locale and two timestamps.

Registering is an upsert, in one transaction:

* the same installation again (app start, token refresh): the token and details are replaced
  and `last_seen_at` moves on (200);
* an installation registered by another member (the phone changed hands, or two members
  share one): it moves to the caller, as a new registration (201);
* the same FCM token under another document (it belongs to one installation): that
  document is removed, so a token is never sent to twice or to the wrong member;
* a member has at most MAX_DEVICES_PER_MEMBER registrations: a new one pushes out the one
  seen least recently (reinstalls leave old registrations behind until FCM reports their
  token dead).

Unregistering (logout) deletes the document. Another member's device is "not found".

The sender's index: `device_index/{member_id}` holds, per member, what a sender needs of each
of their registrations (token, platform, locale), written in the same transaction as every
change to `devices` (register, move, take over a token, evict, unregister, prune). A
delivery batch of 500 members then reads its devices with one batch get by document id
instead of 17 `in` queries, which in production is one round trip instead of 17, and in the
Firestore emulator (which answers every query by scanning the whole collection) is the
difference between milliseconds and seconds per batch.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from ..core.firestore import TIMEOUT_SECONDS, timestamp

COLLECTION = "devices"
INDEX_COLLECTION = "device_index"
MAX_DEVICES_PER_MEMBER = 10
TRANSACTION_ATTEMPTS = 12
#: A registration not refreshed for this long is deleted (data map: devices). FCM itself
#: treats a token without activity for 270 days as expired, so it is useless by then.
RETENTION_DAYS = 270
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def device_id(key: bytes, installation_id: str) -> str:
    """The document id for an installation: HMAC-SHA256 under `key`, base64url (43 chars).

    The last of the 43 characters carries 4 bits only, so it is never "_" and the id can never
    be a reserved `__...__` Firestore id.
    """
    digest = hmac.new(key, installation_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_device_id(value: str) -> bool:
    return len(value) == 43 and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)


def view(snapshot) -> dict[str, Any]:
    """A registration as the app sees it: never the FCM token, never the member key."""
    data = snapshot.to_dict() or {}
    return {
        "id": snapshot.id,
        "platform": data.get("platform"),
        "app_version": data.get("app_version"),
        "locale": data.get("locale"),
        "created_at": timestamp(data.get("created_at")),
        "last_seen_at": timestamp(data.get("last_seen_at")),
    }


def _filter(field: str, op: str, value):
    from google.cloud.firestore_v1.base_query import FieldFilter

    return FieldFilter(field, op, value)


def register(
    db_client,
    key: bytes,
    member_id: str,
    *,
    installation_id: str,
    fcm_token: str,
    platform: str,
    app_version: str,
    locale: str,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Registers or refreshes the caller's installation.

    Returns (the registration's view, what happened: `created` (new for this member),
    `moved` (it was another member's), `tokens_taken_over` and `evicted` counts).
    """
    from google.cloud import firestore

    doc_id = device_id(key, installation_id)
    devices = db_client.collection(COLLECTION)
    ref = devices.document(doc_id)

    @firestore.transactional
    def work(tx) -> dict[str, Any]:
        # Every read comes before the first write (Firestore transactions require it).
        snap = ref.get(transaction=tx, timeout=TIMEOUT_SECONDS)
        holders = [
            s
            for s in tx.get(
                devices.where(filter=_filter("fcm_token", "==", fcm_token))
                .select(["member_id"])
                .limit(20),
                timeout=TIMEOUT_SECONDS,
            )
            if s.id != doc_id
        ]
        current = snap.to_dict() if snap.exists else None
        is_new = current is None or current.get("member_id") != member_id
        evict = []
        if is_new:
            gone = {s.id for s in holders}
            mine = [
                s
                for s in tx.get(
                    devices.where(filter=_filter("member_id", "==", member_id))
                    .select(["last_seen_at"])
                    .limit(100),
                    timeout=TIMEOUT_SECONDS,
                )
                if s.id != doc_id and s.id not in gone
            ]
            excess = len(mine) + 1 - MAX_DEVICES_PER_MEMBER
            if excess > 0:
                mine.sort(key=lambda s: (s.to_dict() or {}).get("last_seen_at") or _EPOCH)
                evict = mine[:excess]
        removed = [
            (s.id, (s.to_dict() or {}).get("member_id") or member_id) for s in holders + evict
        ]
        if current is not None and is_new:
            removed.append((doc_id, current.get("member_id")))
        index = Index(db_client, tx, {member_id, *(m for _, m in removed if m)})
        for other in holders + evict:
            tx.delete(other.reference)
        for gone_id, owner in removed:
            if owner:
                index.remove(owner, gone_id)
        index.put(
            member_id, doc_id, {"fcm_token": fcm_token, "platform": platform, "locale": locale}
        )
        data = {
            "member_id": member_id,
            "fcm_token": fcm_token,
            "platform": platform,
            "app_version": app_version,
            "locale": locale,
            "last_seen_at": firestore.SERVER_TIMESTAMP,
            "expires_at": now + timedelta(days=RETENTION_DAYS),
        }
        if is_new:
            tx.set(ref, {**data, "created_at": firestore.SERVER_TIMESTAMP})
        else:
            tx.update(ref, data)
        index.write(now)
        return {
            "created": is_new,
            "moved": current is not None and is_new,
            "tokens_taken_over": len(holders),
            "evicted": len(evict),
        }

    # A registration touches its own, its token's earlier holder's and the members' index
    # documents: under contention (one token registered by several at once) it may need
    # more than the default 5 attempts.
    outcome = work(db_client.transaction(max_attempts=TRANSACTION_ATTEMPTS))
    return view(ref.get(timeout=TIMEOUT_SECONDS)), outcome


def list_for(db_client, member_id: str) -> list[dict[str, Any]]:
    """The member's registrations, most recently seen first."""
    query = (
        db_client.collection(COLLECTION)
        .where(filter=_filter("member_id", "==", member_id))
        .select(["platform", "app_version", "locale", "created_at", "last_seen_at"])
        .limit(100)
    )
    items = [view(s) for s in query.stream(timeout=TIMEOUT_SECONDS)]
    items.sort(key=lambda v: (v["last_seen_at"] or "", v["id"]), reverse=True)
    return items


def unregister(db_client, member_id: str, doc_id: str) -> bool:
    """Deletes the member's registration; False when there is none of theirs with that id."""
    from google.cloud import firestore

    if not is_device_id(doc_id):
        return False
    ref = db_client.collection(COLLECTION).document(doc_id)

    @firestore.transactional
    def work(tx) -> bool:
        snap = ref.get(transaction=tx, field_paths=["member_id"], timeout=TIMEOUT_SECONDS)
        if not snap.exists or snap.get("member_id") != member_id:
            return False
        index = Index(db_client, tx, {member_id})
        tx.delete(ref)
        index.remove(member_id, doc_id)
        index.write(datetime.now(UTC))
        return True

    return work(db_client.transaction())


class Index:
    """The `device_index` documents of some members inside one transaction: read them all
    first (Firestore wants every read before the first write), change them, write them."""

    def __init__(self, db_client, tx, member_ids):
        self._tx = tx
        self._refs = {m: db_client.collection(INDEX_COLLECTION).document(m) for m in member_ids}
        snaps = tx.get_all(list(self._refs.values()), timeout=TIMEOUT_SECONDS) if self._refs else []
        self._docs = {s.id: dict((s.to_dict() or {}).get("devices") or {}) for s in snaps}
        self._changed: set[str] = set()

    def put(self, member_id: str, doc_id: str, entry: dict[str, str]) -> None:
        self._docs.setdefault(member_id, {})[doc_id] = entry
        self._changed.add(member_id)

    def remove(self, member_id: str, doc_id: str) -> None:
        if doc_id in self._docs.get(member_id, {}):
            del self._docs[member_id][doc_id]
            self._changed.add(member_id)

    def write(self, now: datetime) -> None:
        for member_id in self._changed:
            ref, devices = self._refs[member_id], self._docs.get(member_id) or {}
            if devices:
                self._tx.set(
                    ref, {"devices": devices, "expires_at": now + timedelta(days=RETENTION_DAYS)}
                )
            else:
                self._tx.delete(ref)
