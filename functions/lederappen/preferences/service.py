"""The preference rules.

Everything here is voluntary: a member without a row has the defaults, every field can be
cleared, and DELETE removes the row. Interests come from the topic vocabulary that
lederne.no's content uses, and are used to tailor content only while the personalisation
consent covers the current terms and the member's processing is not restricted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ..consents import service as consents
from ..core.db import Cursor
from ..core.times import rfc3339
from ..core.validation import field_error
from . import store

LANGUAGES = ("nb", "en")
#: Message categories a member can switch on and off (F9). `marketing` also needs consent.
NOTIFICATION_CATEGORIES = (
    "course_reminders",
    "news",
    "survey_invitations",
    "mentor_updates",
    "marketing",
)
NOTIFICATION_CHANNELS = ("push", "email", "inbox")
DEFAULT_CATEGORIES = ("course_reminders", "news", "survey_invitations", "mentor_updates")
DEFAULT_CHANNELS = ("push", "inbox")
MAX_INTERESTS = 20


def _view(row: store.Preferences | None, personalisation: bool) -> dict[str, Any]:
    if row is None:  # nothing saved yet: the defaults
        row = store.Preferences(None, None, None, [], 0, None)
    language, categories, channels, interests, version, updated = row
    return {
        "language": language,
        "notification_categories": list(categories) if categories is not None else None,
        "notification_channels": list(channels) if channels is not None else None,
        "effective_notification_categories": list(
            categories if categories is not None else DEFAULT_CATEGORIES
        ),
        "effective_notification_channels": list(
            channels if channels is not None else DEFAULT_CHANNELS
        ),
        "interests": list(interests or []),
        "personalisation_active": personalisation,
        "updated_at": rfc3339(updated),
        "version": version,
    }


def get(cur: Cursor, member_id: str, now: datetime) -> dict[str, Any]:
    return _view(store.get(cur, member_id), consents.covers(cur, member_id, "personalisation", now))


def _check_subset(field: str, values: Iterable[str] | None, allowed: Iterable[str]) -> None:
    if values is None:
        return
    allowed = set(allowed)
    seen = set()
    for i, v in enumerate(values):
        if v not in allowed:
            raise field_error(f"{field}[{i}]", "enum", "Ukjent verdi.", "Unknown value.")
        if v in seen:
            raise field_error(f"{field}[{i}]", "duplicate", "Står to ganger.", "Listed twice.")
        seen.add(v)


def replace(
    cur: Cursor,
    member_id: str,
    *,
    language: str | None,
    categories: list[str] | None,
    channels: list[str] | None,
    interests: list[str] | None,
    topics: Iterable[str],
    expected_version: int,
    now: datetime,
) -> dict[str, Any] | None:
    """Replaces the member's preferences if they are still at `expected_version`.

    Returns the new view, or None when someone else changed them first (the caller answers
    412). `topics` is the vocabulary interests must come from.
    """
    if language is not None and language not in LANGUAGES:
        raise field_error("language", "enum", "Må være nb eller en.", "Must be nb or en.")
    _check_subset("notification_categories", categories, NOTIFICATION_CATEGORIES)
    _check_subset("notification_channels", channels, NOTIFICATION_CHANNELS)
    _check_subset("interests", interests, topics)
    if interests is not None and len(interests) > MAX_INTERESTS:
        raise field_error(
            "interests", "length", f"Høyst {MAX_INTERESTS}.", f"At most {MAX_INTERESTS}."
        )
    values = (language, categories, channels, interests or [], now)
    if expected_version == 0:
        row = store.create(cur, member_id, *values)
    else:
        row = store.update(cur, member_id, expected_version, *values)
    if row is None:
        return None
    return _view(row, consents.covers(cur, member_id, "personalisation", now))


def current_version(cur: Cursor, member_id: str) -> int:
    return store.version(cur, member_id)


def clear(cur: Cursor, member_id: str) -> bool:
    return store.delete(cur, member_id)


def personalisation_interests(
    cur: Cursor, member_id: str, now: datetime | None = None
) -> tuple[str, ...] | None:
    """The interests to rank content by, or None when they may not be used (no consent for
    the current terms, processing restricted, or none given)."""
    now = now or datetime.now(UTC)
    if not consents.covers(cur, member_id, "personalisation", now):
        return None
    return tuple(store.interests(cur, member_id)) or None
