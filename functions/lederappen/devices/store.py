"""The devices feature's table, `devices` (migration 0018): the only module that reads or
writes it.

One row per app installation: `id` (the keyed hash of the installation id, see
`service.device_id`), the member key, the FCM token, platform, app version, locale, and when
it was registered for this member and last seen. The table itself keeps one installation per
token (UNIQUE) and one member per installation (the primary key); `register` keeps the limit
per member.

Concurrency: a registration takes, after the shared side of the erasure lock
(core/tombstones.py: erasure deletes these rows, so its order is kept: that lock, then rows),
a transaction-level advisory lock on its member and one on its token, before any row lock.
Registrations of one member (the limit) or of one token (who holds it) so run one after the
other, and each of their statements sees what the one before committed; two locks taken
only before any row lock cannot deadlock with each other. Other features read through
`registrations_of` (the sender) and prune through `remove_if_token`; erasure, access,
retention and membership end reach the table through the data map.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from ..core import tombstones
from ..core.db import IN_JSON_LIST, Cursor, one

#: Advisory lock classes (any constants; "devm" and "devt" in ASCII): one member's
#: registrations, one token's registrations.
MEMBER_LOCK = 0x6465766D
TOKEN_LOCK = 0x64657674


class Registration(NamedTuple):
    """What a sender needs to reach one installation. Never log `fcm_token`."""

    device_id: str
    member_id: str
    fcm_token: str
    platform: str
    locale: str

    def __repr__(self) -> str:  # keeps the token out of tracebacks and debug output
        return f"Registration(device_id={self.device_id!r}, platform={self.platform!r})"


#: What the app is shown of a registration: never the token, never the member key.
_VIEW = "id, platform, app_version, locale, created_at, last_seen_at"


def _stamp(moment: datetime) -> str:
    """RFC 3339 in UTC, always with microseconds (so the strings sort as the instants do)."""
    from datetime import UTC

    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _view(row: Sequence[Any]) -> dict[str, Any]:
    device_id, platform, app_version, locale, created_at, last_seen_at = row
    return {
        "id": device_id,
        "platform": platform,
        "app_version": app_version,
        "locale": locale,
        "created_at": _stamp(created_at),
        "last_seen_at": _stamp(last_seen_at),
    }


def register(
    cur: Cursor,
    device_id: str,
    member_id: str,
    *,
    fcm_token: str,
    platform: str,
    app_version: str,
    locale: str,
    now: datetime,
    limit: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Registers or refreshes installation `device_id` for `member_id`, in the caller's
    transaction (see the module docstring for the locks):

    * another row holding the same token loses it (deleted: a token belongs to one
      installation);
    * the installation's row is inserted, or updated: kept as it was registered (200) when it
      is the member's already, registered anew (201, `created_at` now) when it was another
      member's;
    * a new registration beyond `limit` per member pushes out the ones seen least recently.

    Returns (the registration's view, what happened: `created`, `moved`,
    `tokens_taken_over`, `evicted`).
    """
    tombstones.hold(cur)
    cur.execute(
        "SELECT pg_advisory_xact_lock(%s, hashtext(%s)), pg_advisory_xact_lock(%s, hashtext(%s))",
        (MEMBER_LOCK, member_id, TOKEN_LOCK, fcm_token),
    )
    cur.execute("DELETE FROM devices WHERE fcm_token = %s AND id <> %s", (fcm_token, device_id))
    taken_over = cur.rowcount
    cur.execute("SELECT member_id FROM devices WHERE id = %s FOR UPDATE", (device_id,))
    found = cur.fetchone()
    before = found[0] if found else None
    cur.execute(
        "INSERT INTO devices AS d (id, member_id, fcm_token, platform, app_version, locale, "
        "created_at, last_seen_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET member_id = EXCLUDED.member_id, "
        "fcm_token = EXCLUDED.fcm_token, platform = EXCLUDED.platform, "
        "app_version = EXCLUDED.app_version, locale = EXCLUDED.locale, "
        "last_seen_at = EXCLUDED.last_seen_at, created_at = CASE "
        "WHEN d.member_id = EXCLUDED.member_id THEN d.created_at ELSE EXCLUDED.created_at END "
        f"RETURNING {_VIEW}",
        (device_id, member_id, fcm_token, platform, app_version, locale, now, now),
    )
    row = one(cur)
    created = before != member_id
    evicted = 0
    if created:
        cur.execute(
            "DELETE FROM devices WHERE id IN (SELECT id FROM devices WHERE member_id = %s "
            "AND id <> %s ORDER BY last_seen_at DESC, id DESC OFFSET %s)",
            (member_id, device_id, max(0, limit - 1)),
        )
        evicted = cur.rowcount
    return _view(row), {
        "created": created,
        "moved": before is not None and created,
        "tokens_taken_over": taken_over,
        "evicted": evicted,
    }


def list_for(cur: Cursor, member_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The member's registrations, most recently seen first."""
    cur.execute(
        f"SELECT {_VIEW} FROM devices WHERE member_id = %s "
        "ORDER BY last_seen_at DESC, id DESC LIMIT %s",
        (member_id, limit),
    )
    return [_view(r) for r in cur.fetchall()]


def unregister(cur: Cursor, member_id: str, device_id: str) -> bool:
    """Deletes the member's registration; False when there is none of theirs with that id."""
    tombstones.hold(cur)
    cur.execute("DELETE FROM devices WHERE id = %s AND member_id = %s", (device_id, member_id))
    return cur.rowcount > 0


def registrations_of(cur: Cursor, member_ids: Sequence[str]) -> list[Registration]:
    """Every registration of these members, in one query (the list travels as one JSON
    parameter: pg8000 encodes array parameters in Python, ~3 us an element)."""
    if not member_ids:
        return []
    cur.execute(
        "SELECT d.id, d.member_id, d.fcm_token, d.platform, d.locale FROM devices d "
        f"WHERE d.member_id {IN_JSON_LIST} "
        "ORDER BY d.member_id, d.id",
        (json.dumps(list(member_ids)),),
    )
    return [Registration(*r) for r in cur.fetchall()]


def registered_after(cur: Cursor, since: dict[str, datetime]) -> set[str]:
    """The ids of these members' registrations made after the given moment (per member; a
    refresh keeps the moment a registration was made for its member, a move starts anew)."""
    if not since:
        return set()
    cur.execute(
        # LATERAL: each member looked up in the index, never a scan of every device
        "SELECT d.id FROM json_array_elements(%s::json) AS e CROSS JOIN LATERAL "
        "(SELECT id FROM devices WHERE member_id = e->>0 "
        "AND created_at > (e->>1)::timestamptz) AS d",
        (json.dumps([[m, at.isoformat()] for m, at in since.items()]),),
    )
    return {r[0] for r in cur.fetchall()}


def remove_if_token(cur: Cursor, device_id: str, fcm_token: str) -> bool:
    """Deletes a registration whose token FCM reported dead, only while it still holds that
    token (an app that refreshed its token since the send keeps its registration)."""
    return remove_many_if_token(cur, [(device_id, fcm_token)]) > 0


def remove_many_if_token(cur: Cursor, pairs: Sequence[tuple[str, str]]) -> int:
    """`remove_if_token` for many (device id, token) pairs in one statement; how many went."""
    if not pairs:
        return 0
    tombstones.hold(cur)
    cur.execute(
        # the pairs matched in the index first (LATERAL), then deleted by id: a join of the
        # JSON against the table may be planned as a scan of every device
        "DELETE FROM devices WHERE id = ANY(ARRAY(SELECT d.id FROM json_array_elements(%s::json) "
        "AS e CROSS JOIN LATERAL (SELECT id FROM devices WHERE id = e->>0 "
        "AND fcm_token = e->>1) AS d))",
        (json.dumps([list(p) for p in pairs]),),
    )
    return cur.rowcount
