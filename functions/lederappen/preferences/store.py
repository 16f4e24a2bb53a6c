"""The preferences' table, `member_preferences`: the only module that reads or writes it.

A row exists only once a member has saved something; no row means the defaults. Other
features ask here (delivery for categories and channels, the fan-out for an interest
audience, erasure and self-service deletion) instead of naming the table.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from ..core.db import Cursor


class Preferences(NamedTuple):
    """One member's saved preferences (None in a list field: not chosen, defaults apply)."""

    language: str | None
    notification_categories: list[str] | None
    notification_channels: list[str] | None
    interests: list[str]
    version: int
    updated_at: datetime | None  # None only for the defaults (no row)


_COLUMNS = (
    "language, notification_categories, notification_channels, interests, version, updated_at"
)


def _row(row) -> Preferences | None:
    return None if row is None else Preferences(*row)


def get(cur: Cursor, member_id: str) -> Preferences | None:
    cur.execute(f"SELECT {_COLUMNS} FROM member_preferences WHERE member_id = %s", (member_id,))
    return _row(cur.fetchone())


def create(
    cur: Cursor,
    member_id: str,
    language: str | None,
    categories: list[str] | None,
    channels: list[str] | None,
    interests: list[str],
    now: datetime,
) -> Preferences | None:
    """The member's first row; None when one exists already (someone else saved first)."""
    cur.execute(
        "INSERT INTO member_preferences (member_id, language, notification_categories, "
        "notification_channels, interests, updated_at) VALUES (%s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT (member_id) DO NOTHING RETURNING {_COLUMNS}",
        (member_id, language, categories, channels, interests, now),
    )
    return _row(cur.fetchone())


def update(
    cur: Cursor,
    member_id: str,
    expected_version: int,
    language: str | None,
    categories: list[str] | None,
    channels: list[str] | None,
    interests: list[str],
    now: datetime,
) -> Preferences | None:
    """Replaces the row if it is still at `expected_version`; None when it is not."""
    cur.execute(
        "UPDATE member_preferences SET language = %s, notification_categories = %s, "
        "notification_channels = %s, interests = %s, updated_at = %s, version = version + 1 "
        f"WHERE member_id = %s AND version = %s RETURNING {_COLUMNS}",
        (language, categories, channels, interests, now, member_id, expected_version),
    )
    return _row(cur.fetchone())


def version(cur: Cursor, member_id: str) -> int:
    """The row's version; 0 when there is none."""
    cur.execute("SELECT version FROM member_preferences WHERE member_id = %s", (member_id,))
    row = cur.fetchone()
    return row[0] if row else 0


def delete(cur: Cursor, member_id: str) -> bool:
    cur.execute("DELETE FROM member_preferences WHERE member_id = %s", (member_id,))
    return cur.rowcount > 0


def interested(cur: Cursor, topic: str, after: str, limit: int) -> list[str]:
    """Members who chose `topic` as an interest, by member key after `after` (a page)."""
    cur.execute(
        "SELECT member_id FROM member_preferences WHERE interests @> ARRAY[%s]::text[] "
        "AND member_id > %s ORDER BY member_id LIMIT %s",
        (topic, after, limit),
    )
    return [r[0] for r in cur.fetchall()]


def join(member_column: str, alias: str) -> str:
    """A LEFT JOIN of the preferences of the member in `member_column` for another feature's
    set-based query: `alias`.notification_categories, .notification_channels and .interests,
    NULL where the member saved nothing (the defaults apply)."""
    return f"LEFT JOIN member_preferences {alias} ON {alias}.member_id = {member_column}"


def interests(cur: Cursor, member_id: str) -> list[str]:
    cur.execute("SELECT interests FROM member_preferences WHERE member_id = %s", (member_id,))
    row = cur.fetchone()
    return list(row[0] or []) if row else []
