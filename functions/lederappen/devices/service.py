"""The device registration rules, over the PostgreSQL table `devices` (devices/store.py).

One row per app installation. The app sends its installation id (a new one after a
reinstall); the backend never stores it: the row's id is HMAC-SHA256 of it under
INSTALLATION_ID_KEY, base64url, so the same installation always maps to the same row while
the stored value cannot be turned back into the app's id without the key (the privacy
policy's "kryptert ID"). The row holds the member key, the FCM registration token, platform,
app version, locale and two timestamps.

Registering is an upsert, in one transaction:

* the same installation again (app start, token refresh): the token and details are replaced
  and `last_seen_at` moves on (200);
* an installation registered by another member (the phone changed hands, or two members
  share one): it moves to the caller, as a new registration (201);
* the same FCM token under another id (it belongs to one installation): that row is
  removed, so a token is never sent to twice or to the wrong member;
* a member has at most MAX_DEVICES_PER_MEMBER registrations: a new one pushes out the one
  seen least recently (reinstalls leave old registrations behind until FCM reports their
  token dead).

Unregistering (logout) deletes the row. Another member's device is "not found". The sender
reads a delivery batch's registrations with one query (notifications/devices.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

from ..core.db import Cursor
from . import store

MAX_DEVICES_PER_MEMBER = 10
#: A registration not refreshed for this long is deleted (data map: devices). FCM itself
#: treats a token without activity for 270 days as expired, so it is useless by then.
RETENTION_DAYS = 270


def device_id(key: bytes, installation_id: str) -> str:
    """The registration id for an installation: HMAC-SHA256 under `key`, base64url (43 chars).

    The last of the 43 characters carries 4 bits only, so it is never "_" (the id could never
    be a reserved `__...__` Firestore id, where registrations used to live).
    """
    digest = hmac.new(key, installation_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_device_id(value: str) -> bool:
    return len(value) == 43 and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)


def register(
    cur: Cursor,
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
    """Registers or refreshes the caller's installation, in the caller's transaction.

    Returns (the registration's view, what happened: `created` (new for this member),
    `moved` (it was another member's), `tokens_taken_over` and `evicted` counts).
    """
    return store.register(
        cur,
        device_id(key, installation_id),
        member_id,
        fcm_token=fcm_token,
        platform=platform,
        app_version=app_version,
        locale=locale,
        now=now,
        limit=MAX_DEVICES_PER_MEMBER,
    )


def list_for(cur: Cursor, member_id: str) -> list[dict[str, Any]]:
    """The member's registrations, most recently seen first."""
    return store.list_for(cur, member_id)


def unregister(cur: Cursor, member_id: str, doc_id: str) -> bool:
    """Deletes the member's registration; False when there is none of theirs with that id."""
    if not is_device_id(doc_id):
        return False
    return store.unregister(cur, member_id, doc_id)
