"""The consent tables: `consent_terms` (versioned terms), `consent_events` (the ledger) and
`newsletter_sync` (the newsletter state to propagate). The only module that reads or writes
them; it returns typed rows (`Terms`, `Choice`, `NewsletterRequest`) and holds no rule:
service.py decides, this module stores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from ..core import db, restriction
from ..core.db import Cursor
from ..core.times import rfc3339 as _ts


@dataclass(frozen=True)
class Terms:
    purpose: str
    version: int
    title: dict[str, str]
    text: dict[str, str]
    changes: dict[str, str] | None
    text_hash: str
    material: bool
    effective_from: datetime

    def public(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "version": self.version,
            "title": self.title,
            "text": self.text,
            "changes": self.changes,
            "text_hash": self.text_hash,
            "material": self.material,
            "effective_from": _ts(self.effective_from),
        }


_TERMS_COLUMNS = (
    "purpose, version, title_nb, title_en, text_nb, text_en, changes_nb, changes_en, "
    "text_hash, material, effective_from"
)


def _terms(row) -> Terms:
    (
        purpose,
        version,
        title_nb,
        title_en,
        text_nb,
        text_en,
        changes_nb,
        changes_en,
        digest,
        material,
        effective_from,
    ) = row
    changes = {"nb": changes_nb, "en": changes_en} if changes_nb or changes_en else None
    return Terms(
        purpose,
        version,
        {"nb": title_nb, "en": title_en},
        {"nb": text_nb, "en": text_en},
        changes,
        digest,
        material,
        effective_from,
    )


def terms_in_force(cur: Cursor, now: datetime) -> dict[str, tuple[Terms, int]]:
    """Per purpose: the terms in force now and the latest material version in force (one
    round trip: every processing path's consent check starts here)."""
    cur.execute(
        f"SELECT DISTINCT ON (purpose) {_TERMS_COLUMNS}, "
        "max(version) FILTER (WHERE material) OVER (PARTITION BY purpose) "
        "FROM consent_terms WHERE effective_from <= %s ORDER BY purpose, version DESC",
        (now,),
    )
    return {r[0]: (_terms(r[:-1]), r[-1] or 1) for r in cur.fetchall()}


def list_terms(cur: Cursor, purpose: str | None) -> list[Terms]:
    """Every version of the terms (of one purpose), oldest first."""
    cur.execute(
        f"SELECT {_TERMS_COLUMNS} FROM consent_terms "
        "WHERE %s::text IS NULL OR purpose = %s ORDER BY purpose, version",
        (purpose, purpose),
    )
    return [_terms(r) for r in cur.fetchall()]


def newsletter_request(cur: Cursor, member_id: str) -> tuple[str, int, datetime] | None:
    """The member's latest newsletter change to propagate: (event id, terms version,
    requested at); None when erased or never requested."""
    cur.execute(
        "SELECT event_id, terms_version, requested_at FROM newsletter_sync WHERE member_id = %s",
        (member_id,),
    )
    row = cur.fetchone()
    return None if row is None else (str(row[0]), row[1], row[2])


def confirm_newsletter_request(cur: Cursor, member_id: str, event_id: str) -> bool:
    """The newsletter system applied the change `event_id`: confirmed if it is still the
    member's latest. Locks the member's row; False when there is none (erased meanwhile)."""
    cur.execute(
        "UPDATE newsletter_sync SET confirmed_at = CASE WHEN event_id = %s::uuid "
        "THEN now() ELSE confirmed_at END WHERE member_id = %s RETURNING 1",
        (event_id, member_id),
    )
    return cur.fetchone() is not None


def history(cur: Cursor, member_id: str, before_id: int | None, limit: int) -> list[dict[str, Any]]:
    """The member's ledger, newest first (id-based cursor)."""
    cur.execute(
        "SELECT id, purpose, action, terms_version, text_hash, locale, channel, app_version, "
        "occurred_at FROM consent_events WHERE member_id = %s AND (%s::bigint IS NULL OR id < %s) "
        "ORDER BY id DESC LIMIT %s",
        (member_id, before_id, before_id, limit),
    )
    return [
        {
            "id": r[0],
            "purpose": r[1],
            "action": r[2],
            "terms_version": r[3],
            "text_hash": r[4],
            "locale": r[5],
            "channel": r[6],
            "app_version": r[7],
            "occurred_at": _ts(r[8]),
        }
        for r in cur.fetchall()
    ]


def newsletter_status(cur: Cursor, member_id: str) -> dict[str, Any] | None:
    cur.execute(
        "SELECT subscribed, terms_version, requested_at, confirmed_at FROM newsletter_sync "
        "WHERE member_id = %s",
        (member_id,),
    )
    row = cur.fetchone()
    if row is None:
        return None
    return {
        "subscribed": row[0],
        "terms_version": row[1],
        "requested_at": _ts(row[2]),
        "confirmed": row[3] is not None,
        "confirmed_at": _ts(row[3]) if row[3] else None,
    }


def pending_terms(cur: Cursor, now: datetime) -> dict[str, Terms]:
    """Per purpose: the latest version published but not yet in force (what changes, from
    when), for the app to show and for consent to be renewed ahead."""
    cur.execute(
        f"SELECT DISTINCT ON (purpose) {_TERMS_COLUMNS} FROM consent_terms "
        "WHERE effective_from > %s ORDER BY purpose, version DESC",
        (now,),
    )
    return {r[0]: _terms(r) for r in cur.fetchall()}


def non_material_changes(cur: Cursor, purpose: str | None) -> list[dict[str, Any]]:
    """Every non-material change (wording, clarifications), newest first: public, for
    lederne.no to list; a material one is told to the members it affects instead."""
    cur.execute(
        f"SELECT {_TERMS_COLUMNS}, published_at FROM consent_terms WHERE NOT material "
        "AND version > 1 AND (%s::text IS NULL OR purpose = %s) "
        "ORDER BY published_at DESC, purpose, version DESC",
        (purpose, purpose),
    )
    return [{**_terms(r[:-1]).public(), "published_at": _ts(r[-1])} for r in cur.fetchall()]


def consenting_count(cur: Cursor, purpose: str) -> int:
    """How many members a material change of `purpose` affects (see consenting_members)."""
    cur.execute(
        "SELECT count(*) FROM (SELECT DISTINCT ON (member_id) action "
        "FROM consent_events WHERE purpose = %s ORDER BY member_id, id DESC) latest "
        "WHERE action = 'given'",
        (purpose,),
    )
    return db.one(cur)[0]


def consenting_members(cur: Cursor, purpose: str) -> list[str]:
    """The members whose latest choice for `purpose` is "given": those a change affects."""
    cur.execute(
        "SELECT member_id FROM (SELECT DISTINCT ON (member_id) member_id, action "
        "FROM consent_events WHERE purpose = %s ORDER BY member_id, id DESC) latest "
        "WHERE action = 'given' ORDER BY member_id",
        (purpose,),
    )
    return [r[0] for r in cur.fetchall()]


def notice_due(cur: Cursor, purpose: str, version: int) -> Terms | None:
    """The material change whose notice has not gone yet, locked until the caller's commit
    (so a redelivered event waits and then finds it told); None for any other version. A
    first version changes nothing anybody consented to, so it is never one."""
    cur.execute(
        f"SELECT {_TERMS_COLUMNS} FROM consent_terms WHERE purpose = %s AND version = %s "
        "AND version > 1 AND material AND notified_at IS NULL FOR UPDATE",
        (purpose, version),
    )
    row = cur.fetchone()
    return None if row is None else _terms(row)


def mark_notified(cur: Cursor, terms: Terms, told: int, now: datetime) -> None:
    cur.execute(
        "UPDATE consent_terms SET notified_at = %s, notified = %s "
        "WHERE purpose = %s AND version = %s",
        (now, told, terms.purpose, terms.version),
    )


class Choice(NamedTuple):
    """A member's latest choice for one purpose (the ledger's newest row)."""

    action: str  # "given" | "withdrawn"
    terms_version: int
    occurred_at: datetime


def get_terms(cur: Cursor, purpose: str, version: int) -> Terms | None:
    cur.execute(
        f"SELECT {_TERMS_COLUMNS} FROM consent_terms WHERE purpose = %s AND version = %s",
        (purpose, version),
    )
    row = cur.fetchone()
    return None if row is None else _terms(row)


def latest_choices(cur: Cursor, member_id: str) -> dict[str, Choice]:
    """The member's latest choice per purpose they ever chose for."""
    cur.execute(
        "SELECT DISTINCT ON (purpose) purpose, action, terms_version, occurred_at "
        "FROM consent_events WHERE member_id = %s ORDER BY purpose, id DESC",
        (member_id,),
    )
    return {r[0]: Choice(*r[1:]) for r in cur.fetchall()}


def latest_unrestricted_choices(
    cur: Cursor, member_ids: list[str], purpose: str
) -> list[tuple[str, str, int]]:
    """(member, action, terms version) of the latest choice for `purpose` of those of
    `member_ids` whose processing is not restricted."""
    cur.execute(
        "SELECT DISTINCT ON (e.member_id) e.member_id, e.action, e.terms_version "
        "FROM consent_events e "
        f"WHERE e.member_id {db.IN_JSON_LIST} AND e.purpose = %s "
        f"AND {restriction.unrestricted('e.member_id')} "
        "ORDER BY e.member_id, e.id DESC",
        (json.dumps(list(member_ids)), purpose),  # JSON: pg8000 encodes arrays in Python
    )
    return [(m, action, version) for m, action, version in cur.fetchall()]


def append_choice(
    cur: Cursor,
    member_id: str,
    purpose: str,
    terms: Terms,
    action: str,
    locale: str,
    channel: str,
    app_version: str | None,
    now: datetime,
) -> None:
    cur.execute(
        "INSERT INTO consent_events (member_id, purpose, terms_version, text_hash, action, locale, "
        "channel, app_version, occurred_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            member_id,
            purpose,
            terms.version,
            terms.text_hash,
            action,
            locale,
            channel,
            app_version,
            now,
        ),
    )


def request_newsletter(
    cur: Cursor, member_id: str, event_id: str, subscribed: bool, terms_version: int, now: datetime
) -> None:
    """Records the newsletter state to propagate (the member's one row, replaced)."""
    cur.execute(
        "INSERT INTO newsletter_sync (member_id, event_id, subscribed, terms_version, requested_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (member_id) DO UPDATE SET "
        "event_id = EXCLUDED.event_id, subscribed = EXCLUDED.subscribed, "
        "terms_version = EXCLUDED.terms_version, requested_at = EXCLUDED.requested_at, "
        "confirmed_at = NULL",
        (member_id, event_id, subscribed, terms_version, now),
    )


def newsletter_terms_version(cur: Cursor, member_id: str) -> int | None:
    """The terms version of the member's newsletter state; None when they never had one."""
    cur.execute("SELECT terms_version FROM newsletter_sync WHERE member_id = %s", (member_id,))
    row = cur.fetchone()
    return None if row is None else row[0]


def insert_terms(
    cur: Cursor,
    purpose: str,
    title: dict,
    text: dict,
    changes: dict | None,
    digest: str,
    material: bool,
    effective_from: datetime,
    now: datetime,
) -> int | None:
    """The next version of `purpose`'s terms; None when a concurrent publish took the number
    (the primary key collides and ON CONFLICT DO NOTHING returns no row)."""
    cur.execute(
        "INSERT INTO consent_terms (purpose, version, title_nb, title_en, text_nb, text_en, "
        "changes_nb, changes_en, text_hash, material, effective_from, published_at) "
        "SELECT %s, coalesce(max(version), 0) + 1, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s "
        "FROM consent_terms WHERE purpose = %s ON CONFLICT DO NOTHING RETURNING version",
        (
            purpose,
            title["nb"],
            title["en"],
            text["nb"],
            text["en"],
            (changes or {}).get("nb"),
            (changes or {}).get("en"),
            digest,
            material,
            effective_from,
            now,
            purpose,
        ),
    )
    row = cur.fetchone()
    return None if row is None else row[0]
