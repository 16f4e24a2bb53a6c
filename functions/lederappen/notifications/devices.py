"""The sender's view of device registrations: look them up per batch, prune dead tokens.

Registrations are written by `lederappen.devices` (the app registers after login) into its
PostgreSQL table; the sending pipeline reads them for a batch of members with
`devices_of()` (one query) and deletes those whose FCM token is dead (404 UNREGISTERED,
invalid token) with `remove_devices()`, through the devices feature's store (this package
writes no SQL on its table).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from ..core.db import Cursor
from ..devices import store as devices_store
from ..devices.store import Registration

__all__ = ["Registration", "devices_of", "registered_after", "remove_device", "remove_devices"]


def devices_of(cur: Cursor, member_ids: Iterable[str]) -> list[Registration]:
    """Every registration of these members, in one query."""
    return devices_store.registrations_of(cur, list(dict.fromkeys(member_ids)))


def registered_after(cur: Cursor, since: dict[str, datetime]) -> set[str]:
    """The registrations these members made after the given moment (per member)."""
    return devices_store.registered_after(cur, since)


def remove_device(cur: Cursor, device_id: str, fcm_token: str) -> bool:
    """Deletes a registration whose token FCM reported dead; True when one was deleted. Only
    while the registration still holds that token: if the app refreshed its token since the
    send, the fresh registration is kept."""
    return devices_store.remove_if_token(cur, device_id, fcm_token)


def remove_devices(cur: Cursor, dead: Sequence[Registration]) -> int:
    """`remove_device` for every dead registration of a batch, in one statement."""
    return devices_store.remove_many_if_token(cur, [(r.device_id, r.fcm_token) for r in dead])
