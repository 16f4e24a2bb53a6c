"""The sender's view of device registrations: look them up per batch, prune dead tokens.

Registrations are written by `lederappen.devices` (the app registers after login); the
sending pipeline reads them for a batch of members with `devices_of()` and deletes one whose
FCM token is dead (404 UNREGISTERED, invalid token) with `remove_device()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..core.firestore import TIMEOUT_SECONDS
from ..devices.service import COLLECTION

#: Firestore allows at most 30 values in one `in` filter (30 disjunctions per query).
IN_QUERY_LIMIT = 30


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
    """Every registration of these members (any number of them; queried 30 at a time)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    members = list(dict.fromkeys(member_ids))
    collection = db_client.collection(COLLECTION)
    found: list[Registration] = []
    for start in range(0, len(members), IN_QUERY_LIMIT):
        chunk = members[start:start + IN_QUERY_LIMIT]
        query = (collection.where(filter=FieldFilter("member_id", "in", chunk))
                 .select(["member_id", "fcm_token", "platform", "locale"]))
        for snap in query.stream(timeout=TIMEOUT_SECONDS):
            data = snap.to_dict() or {}
            if not data.get("fcm_token"):
                continue
            found.append(Registration(snap.id, data["member_id"], data["fcm_token"],
                                      data.get("platform", ""), data.get("locale", "nb")))
    return found


def remove_device(db_client, doc_id: str, fcm_token: str | None = None) -> bool:
    """Deletes a registration whose token FCM reported dead; True when one was deleted.

    With `fcm_token`, only while the registration still holds that token: if the app
    refreshed its token since the send, the fresh registration is kept.
    """
    from google.cloud import firestore

    ref = db_client.collection(COLLECTION).document(doc_id)
    if fcm_token is None:
        snap = ref.get(field_paths=["member_id"], timeout=TIMEOUT_SECONDS)
        if not snap.exists:
            return False
        ref.delete(timeout=TIMEOUT_SECONDS)
        return True

    @firestore.transactional
    def work(tx) -> bool:
        snap = ref.get(transaction=tx, field_paths=["fcm_token"], timeout=TIMEOUT_SECONDS)
        if not snap.exists or (snap.to_dict() or {}).get("fcm_token") != fcm_token:
            return False
        tx.delete(ref)
        return True

    return work(db_client.transaction())
