"""The consent rules, kept the way the policy promises.

* Every processing that rests on consent has a purpose with versioned terms.
* Giving or withdrawing appends a ledger row with the exact terms version and a hash of the
  exact text shown; the current state is derived from the latest row, never stored as a flag.
* A material change is told before it applies (R8): publishing it gives it an effective date
  at least `TERMS_NOTICE_DAYS` after publication, and every member whose consent it affects
  (their latest choice for the purpose is "given") gets a direct message (inbox and a neutral
  push, through the message pipeline, which keeps to their channels; one they need even while
  restricted) asking them to consent again. Their consent keeps counting until the effective
  date; from then on `covered` is false unless they accepted the new version, which they can
  do as soon as it is published (`pending`). Non-material changes need nothing, and are
  listed publicly (`non_material_changes`) for lederne.no.
* Withdrawal takes effect at once: every path that processes asks `covers()` at the moment it
  processes (the marketing sender re-checks at send time).
* Restriction of processing (R3) overrides every consent.

Functions take a DB-API cursor, so callers decide the transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..core import db, outbox, restriction
from ..core.db import Cursor
from ..core.problems import Conflict, NotFound
from ..core.times import rfc3339 as _ts
from ..core.validation import field_error

PURPOSES = ("newsletter", "marketing", "personalisation", "mentor_contact_sharing")
NEWSLETTER_TOPIC = "newsletter-sync"
_SEP = "\x1f"


def text_hash(title_nb: str, title_en: str, text_nb: str, text_en: str) -> str:
    """The proof of which text was shown: sha256 over the four texts (same as migration 0003)."""
    return hashlib.sha256(
        _SEP.join((title_nb, title_en, text_nb, text_en)).encode("utf-8")
    ).hexdigest()


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


def _covers(status: str, accepted_version: int | None, required_version: int) -> bool:
    """A choice covers the terms in force when it is 'given' for their version or a later one."""
    return (
        status == "given" and accepted_version is not None and accepted_version >= required_version
    )


@dataclass(frozen=True)
class State:
    purpose: str
    status: str  # "given" | "withdrawn" | "never"
    accepted_version: int | None
    since: datetime | None
    current_terms: Terms
    required_version: int  # the latest material version in force

    @property
    def covered(self) -> bool:
        """True when the latest choice is 'given' and it covers the terms now in force."""
        return _covers(self.status, self.accepted_version, self.required_version)

    @property
    def needs_reconsent(self) -> bool:
        return self.status == "given" and not self.covered

    def public(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "status": self.status,
            "covered": self.covered,
            "needs_reconsent": self.needs_reconsent,
            "accepted_version": self.accepted_version,
            "since": _ts(self.since) if self.since else None,
            "current_terms": self.current_terms.public(),
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


def get_terms(cur: Cursor, purpose: str, version: int) -> Terms:
    cur.execute(
        f"SELECT {_TERMS_COLUMNS} FROM consent_terms WHERE purpose = %s AND version = %s",
        (purpose, version),
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound(
            {
                "nb": "Fant ikke denne versjonen av vilkårene.",
                "en": "This version of the terms does not exist.",
            }
        )
    return _terms(row)


def states(cur: Cursor, member_id: str, now: datetime) -> dict[str, State]:
    """The member's current consent per purpose, derived from the ledger's latest rows."""
    in_force = terms_in_force(cur, now)
    cur.execute(
        "SELECT DISTINCT ON (purpose) purpose, action, terms_version, occurred_at "
        "FROM consent_events WHERE member_id = %s ORDER BY purpose, id DESC",
        (member_id,),
    )
    latest = {r[0]: r[1:] for r in cur.fetchall()}
    out = {}
    for purpose in PURPOSES:
        terms, required = in_force[purpose]
        if purpose in latest:
            action, version, since = latest[purpose]
            out[purpose] = State(purpose, action, version, since, terms, required)
        else:
            out[purpose] = State(purpose, "never", None, None, terms, required)
    return out


def covers(cur: Cursor, member_id: str, purpose: str, now: datetime | None = None) -> bool:
    """May the member's data be processed for `purpose` right now? Consent in force for the
    current terms, and processing not restricted. Every processing path calls this (two round
    trips: the terms in force, then the member's latest choice unless restricted)."""
    return member_id in covered_members(cur, [member_id], purpose, now)


def covered_members(
    cur: Cursor, member_ids: list[str], purpose: str, now: datetime | None = None
) -> set[str]:
    """`covers()` for many members in two queries: those of `member_ids` whose consent for
    `purpose` covers the terms in force and whose processing is not restricted."""
    now = now or datetime.now(UTC)
    if not member_ids:
        return set()
    required = terms_in_force(cur, now)[purpose][1]
    cur.execute(
        "SELECT DISTINCT ON (e.member_id) e.member_id, e.action, e.terms_version "
        "FROM consent_events e WHERE e.member_id = ANY(%s) AND e.purpose = %s "
        f"AND {restriction.unrestricted('e.member_id')} "
        "ORDER BY e.member_id, e.id DESC",
        (list(member_ids), purpose),
    )
    return {m for m, action, version in cur.fetchall() if _covers(action, version, required)}


def record(
    cur: Cursor,
    member_id: str,
    *,
    purpose: str,
    action: str,
    terms_version: int,
    shown_text_hash: str | None,
    locale: str,
    channel: str,
    app_version: str | None,
    now: datetime,
) -> tuple[State, bool, dict | None]:
    """Appends a give/withdraw to the ledger. Returns (new state, changed, outbox message).

    Giving must name the terms version in force and the hash of the text shown (proof);
    an older or a future version is a 409, an unknown one a 404. Repeating the current choice
    adds no row. Withdrawing needs no hash and no current version: it is always allowed, at
    once, and recorded against the terms in force.
    """
    if purpose not in PURPOSES:
        raise field_error("purpose", "enum", "Ukjent formål.", "Unknown purpose.")
    current = states(cur, member_id, now)[purpose]
    terms = get_terms(cur, purpose, terms_version)  # 404 when it does not exist
    if action != "given":
        # Withdrawing is always allowed, also from an app still showing older terms: it is
        # recorded against the terms in force, whatever version the app sent.
        terms = current.current_terms
    elif terms.version != current.current_terms.version and not (
        terms.version > current.current_terms.version
        and (pending := pending_terms(cur, now).get(purpose)) is not None
        and pending.version == terms.version
    ):
        # the version in force, or the one published to come (consent renewed ahead)
        raise Conflict(
            {
                "nb": "Vilkårene er endret. Hent gjeldende vilkår og prøv igjen.",
                "en": "The terms have changed. Fetch the terms in force and try again.",
            },
            current_version=current.current_terms.version,
        )
    if action == "given":
        if shown_text_hash != terms.text_hash:
            raise Conflict(
                {
                    "nb": "Teksten som ble vist, er ikke gjeldende vilkår.",
                    "en": "The text shown is not the terms in force.",
                },
                current_version=terms.version,
            )
        if current.status == "given" and current.accepted_version == terms.version:
            return current, False, None
    else:
        if current.status in ("withdrawn", "never"):
            return current, False, None
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
    message = None
    if purpose == "newsletter":
        message = newsletter_message(
            cur, member_id, subscribed=action == "given", terms_version=terms.version, now=now
        )
    new = State(
        purpose, action, terms.version, now, current.current_terms, current.required_version
    )
    return new, True, message


def newsletter_message(
    cur: Cursor, member_id: str, *, subscribed: bool, terms_version: int, now: datetime
) -> dict[str, Any]:
    """Records the newsletter state to propagate and returns the `newsletter-sync` message
    for the caller to put in the outbox (same transaction)."""
    event_id = str(uuid.uuid4())
    cur.execute(
        "INSERT INTO newsletter_sync (member_id, event_id, subscribed, terms_version, requested_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (member_id) DO UPDATE SET "
        "event_id = EXCLUDED.event_id, subscribed = EXCLUDED.subscribed, "
        "terms_version = EXCLUDED.terms_version, requested_at = EXCLUDED.requested_at, "
        "confirmed_at = NULL",
        (member_id, event_id, subscribed, terms_version, now),
    )
    return {
        "event_id": event_id,
        "member_id": member_id,
        "subscribed": subscribed,
        "terms_version": terms_version,
        "occurred_at": _ts(now),
    }


def resync_newsletter(cur: Cursor, member_id: str, now: datetime) -> dict[str, Any] | None:
    """After a restriction is applied or lifted: the newsletter state the member should have
    now (consent in force and not restricted), as a `newsletter-sync` message; None when the
    member never had a newsletter choice to propagate."""
    cur.execute("SELECT terms_version FROM newsletter_sync WHERE member_id = %s", (member_id,))
    row = cur.fetchone()
    if row is None:
        return None
    return newsletter_message(
        cur,
        member_id,
        subscribed=covers(cur, member_id, "newsletter", now),
        terms_version=row[0],
        now=now,
    )


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


def pending_change(state: State, pending: Terms | None) -> dict[str, Any] | None:
    """What the app shows beside a consent: the change to come, from when, and whether the
    member must consent again to keep it (a material change of a consent they gave)."""
    if pending is None:
        return None
    renew = (
        pending.material
        and state.status == "given"
        and (state.accepted_version or 0) < pending.version
    )
    return {**pending.public(), "consent_again_by": _ts(pending.effective_from) if renew else None}


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


#: Who a terms notice comes from (messages.created_by).
NOTICE_SENDER = "consent-terms"
#: The Pub/Sub topic of "a material change was published" (ids only), read by `terms-notice`.
NOTICE_TOPIC = "terms-notice"
_OSLO = ZoneInfo("Europe/Oslo")


def notice(terms: Terms) -> dict[str, Any]:
    """The direct message telling a member that terms they consented to change (R8): what
    changes and from when, and that their consent counts until then and not after unless they
    consent again. Sensitive, so the push shows only a neutral text."""
    day = terms.effective_from.astimezone(_OSLO)
    changes = terms.changes or {"nb": "", "en": ""}
    return {
        "category": "news",
        "concerns": "terms",
        "sensitive": True,
        "deep_link": f"lederappen://consents/{terms.purpose}",
        "title": {
            "nb": f"Endrede vilkår: {terms.title['nb']}"[:120],
            "en": f"Changed terms: {terms.title['en']}"[:120],
        },
        "body": {
            "nb": (
                f"Vilkårene for samtykket ditt «{terms.title['nb']}» endres fra "
                f"{day:%d.%m.%Y}. {changes['nb'][:2000]} Samtykket ditt gjelder fram til "
                "da, men ikke etter, med mindre du godtar de nye vilkårene i appen under "
                "Profil > Samtykker."
            ).replace("  ", " "),
            "en": (
                f'The terms of your consent "{terms.title["en"]}" change from '
                f"{day:%Y-%m-%d}. {changes['en'][:2000]} Your consent counts until then, "
                "but not after unless you accept the new terms in the app under "
                "Profile > Consents."
            ).replace("  ", " "),
        },
    }


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


def publish_terms(
    cur: Cursor,
    *,
    purpose: str,
    title: dict,
    text: dict,
    changes: dict | None,
    material: bool,
    effective_from: datetime | None,
    now: datetime,
    notice_days: int = 30,
) -> tuple[Terms, list[int]]:
    """Staff publish a new version of a purpose's terms; versions are never edited. A
    material change applies `notice_days` after publication at the earliest (left out: just
    then), and the members whose consent it affects are told: the same transaction queues a
    `terms-notice` event (purpose and version), and that function sends each of them a
    direct message through the message pipeline. Returns the terms and the outbox ids to
    flush."""
    if purpose not in PURPOSES:
        raise field_error("purpose", "enum", "Ukjent formål.", "Unknown purpose.")
    earliest = now + timedelta(days=notice_days) if material else now
    if effective_from is None:
        effective_from = earliest
    if (now - effective_from).total_seconds() > 60:
        raise field_error(
            "effective_from",
            "past",
            "Kan ikke gjelde fra et tidspunkt som er passert.",
            "Cannot take effect in the past.",
        )
    if material and (earliest - effective_from).total_seconds() > 60:
        raise field_error(
            "effective_from",
            "notice",
            f"En vesentlig endring må varsles {notice_days} dager før den gjelder: tidligst "
            f"{earliest.astimezone(_OSLO):%d.%m.%Y %H:%M}.",
            f"A material change must be announced {notice_days} days before it applies: "
            f"{earliest.isoformat(timespec='minutes')} at the earliest.",
        )
    if material and not changes:
        raise field_error("changes", "required", "Si hva som endres.", "Say what changes.")
    digest = text_hash(title["nb"], title["en"], text["nb"], text["en"])
    # The next version number; two concurrent publishes for one purpose collide on the primary
    # key and the loser gets a 409 (ON CONFLICT DO NOTHING returns no row).
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
    if row is None:
        raise Conflict(
            {
                "nb": "En annen versjon ble publisert samtidig. Prøv igjen.",
                "en": "Another version was published at the same time. Try again.",
            }
        )
    version = row[0]
    terms = Terms(purpose, version, title, text, changes, digest, material, effective_from)
    if not material:
        return terms, []
    # The notice is sent by the `terms-notice` function (notifications/terms_notice.py): the
    # message names only the version; who is told is read when it is sent.
    return terms, [
        outbox.enqueue(cur, NOTICE_TOPIC, {"purpose": purpose, "version": version}, None)
    ]


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
