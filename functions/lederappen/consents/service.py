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

from ..core import outbox
from ..core.db import Cursor
from ..core.problems import Conflict, NotFound
from ..core.times import rfc3339 as _ts
from ..core.validation import field_error
from . import store

# The stored shapes and plain reads are the store's; callers keep asking this module.
from .store import (  # noqa: F401 (re-exported)
    Terms,
    confirm_newsletter_request,
    consenting_count,
    consenting_members,
    history,
    list_terms,
    mark_notified,
    newsletter_request,
    newsletter_status,
    non_material_changes,
    notice_due,
    pending_terms,
    terms_in_force,
)

PURPOSES = ("newsletter", "marketing", "personalisation", "mentor_contact_sharing")
NEWSLETTER_TOPIC = "newsletter-sync"
_SEP = "\x1f"


def text_hash(title_nb: str, title_en: str, text_nb: str, text_en: str) -> str:
    """The proof of which text was shown: sha256 over the four texts (same as migration 0003)."""
    return hashlib.sha256(
        _SEP.join((title_nb, title_en, text_nb, text_en)).encode("utf-8")
    ).hexdigest()


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


def get_terms(cur: Cursor, purpose: str, version: int) -> Terms:
    terms = store.get_terms(cur, purpose, version)
    if terms is None:
        raise NotFound(
            {
                "nb": "Fant ikke denne versjonen av vilkårene.",
                "en": "This version of the terms does not exist.",
            }
        )
    return terms


def states(cur: Cursor, member_id: str, now: datetime) -> dict[str, State]:
    """The member's current consent per purpose, derived from the ledger's latest rows."""
    in_force = terms_in_force(cur, now)
    latest = store.latest_choices(cur, member_id)
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
    return {
        m
        for m, action, version in store.latest_unrestricted_choices(cur, member_ids, purpose)
        if _covers(action, version, required)
    }


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
    store.append_choice(cur, member_id, purpose, terms, action, locale, channel, app_version, now)
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
    store.request_newsletter(cur, member_id, event_id, subscribed, terms_version, now)
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
    version = store.newsletter_terms_version(cur, member_id)
    if version is None:
        return None
    return newsletter_message(
        cur,
        member_id,
        subscribed=covers(cur, member_id, "newsletter", now),
        terms_version=version,
        now=now,
    )


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
    version = store.insert_terms(
        cur, purpose, title, text, changes, digest, material, effective_from, now
    )
    if version is None:  # a concurrent publish took the number
        raise Conflict(
            {
                "nb": "En annen versjon ble publisert samtidig. Prøv igjen.",
                "en": "Another version was published at the same time. Try again.",
            }
        )
    terms = Terms(purpose, version, title, text, changes, digest, material, effective_from)
    if not material:
        return terms, []
    # The notice is sent by the `terms-notice` function (notifications/terms_notice.py): the
    # message names only the version; who is told is read when it is sent.
    return terms, [
        outbox.enqueue(cur, NOTICE_TOPIC, {"purpose": purpose, "version": version}, None)
    ]
