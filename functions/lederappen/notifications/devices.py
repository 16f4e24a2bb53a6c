"""The sender's view of device registrations: look them up per batch, prune dead tokens.

Registrations are written by `lederappen.devices` (the app registers after login); the
sending pipeline reads them for a batch of members with `devices_of()` and deletes one whose
FCM token is dead (404 UNREGISTERED, invalid token) with `remove_device()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..core.firestore import TIMEOUT_SECONDS
from ..devices.service import COLLECTION, INDEX_COLLECTION, Index

#: Documents per batch get (a delivery batch is at most 500 members).
GET_ALL_LIMIT = 500


@dataclass(frozen=True)
class Registration:
    """What a sender needs to reach one installation. Never log `fcm_token`."""

    device_id: str
    member_id: str
    fcm_token: str
    platform: str
    locale: str

    def __repr__(self) -> str:  # keeps the token out of tracebacks and debug output
        return f"Registration(device_id={self.device_id!r}, platform={self.platform!r})"


def devices_of(db_client, member_ids: Iterable[str]) -> list[Registration]:
    """Every registration of these members: one batch get of their `device_index`
    documents (written with every change to `devices`, see lederappen.devices.service)."""
    members = list(dict.fromkeys(member_ids))
    if not members:
        return []
    index = db_client.collection(INDEX_COLLECTION)
    found: list[Registration] = []
    for start in range(0, len(members), GET_ALL_LIMIT):
        refs = [index.document(m) for m in members[start : start + GET_ALL_LIMIT]]
        for snap in db_client.get_all(refs, timeout=TIMEOUT_SECONDS):
            if not snap.exists:
                continue
            for device_id, entry in sorted(((snap.to_dict() or {}).get("devices") or {}).items()):
                if isinstance(entry, dict) and entry.get("fcm_token"):
                    found.append(
                        Registration(
                            device_id,
                            snap.id,
                            entry["fcm_token"],
                            entry.get("platform", ""),
                            entry.get("locale", "nb"),
                        )
                    )
    return found


def remove_device(db_client, doc_id: str, fcm_token: str | None = None) -> bool:
    """Deletes a registration whose token FCM reported dead; True when one was deleted.

    With `fcm_token`, only while the registration still holds that token: if the app
    refreshed its token since the send, the fresh registration is kept.
    """
    from google.cloud import firestore

    ref = db_client.collection(COLLECTION).document(doc_id)

    @firestore.transactional
    def work(tx) -> bool:
        snap = ref.get(
            transaction=tx, field_paths=["fcm_token", "member_id"], timeout=TIMEOUT_SECONDS
        )
        data = snap.to_dict() or {}
        if not snap.exists or (fcm_token is not None and data.get("fcm_token") != fcm_token):
            return False
        index = Index(db_client, tx, {data["member_id"]} if data.get("member_id") else set())
        tx.delete(ref)
        if data.get("member_id"):
            index.remove(data["member_id"], doc_id)
            index.write(datetime.now(UTC))
        return True

    return work(db_client.transaction())
