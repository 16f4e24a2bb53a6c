"""The audit trail (S2, R9): every access to a member's data by someone other than the member.

An entry says who (a staff subject, a job's name, or another member's pseudonym), which data
category (the data map's), what was done, why, and when, about a member who appears only as
a pseudonym (`log.pseudonym`: HMAC-SHA256 under PSEUDONYM_KEY). The data itself is never
written here. Entries are appended in the same transaction as the access they record, so an
access that happened is always audited and an audited access always happened.

The member can list the entries that concern them (the privacy capability looks them up by
their own pseudonym); the privacy officer can read all of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from . import log
from .db import Cursor

ACTOR_KINDS = ("member", "staff", "job")


def record(
    cur: Cursor,
    member_id: str,
    *,
    actor_kind: str,
    actor: str,
    category: str,
    action: str,
    purpose: str,
    at: datetime,
) -> None:
    """Appends one entry about `member_id`. For a member actor, pass their member id as
    `actor`: it is pseudonymised like the subject."""
    record_many(
        cur,
        [member_id],
        actor_kind=actor_kind,
        actor=actor,
        category=category,
        action=action,
        purpose=purpose,
        at=at,
    )


def record_many(
    cur: Cursor,
    member_ids: Iterable[str],
    *,
    actor_kind: str,
    actor: str,
    category: str,
    action: str,
    purpose: str,
    at: datetime,
) -> None:
    """One entry per member (a job that read many members' data), in one statement."""
    if actor_kind not in ACTOR_KINDS:
        raise ValueError(f"unknown actor kind {actor_kind!r}")
    if actor_kind == "member":
        actor = log.pseudonym(actor)
    subjects = [log.pseudonym(m) for m in member_ids]
    if not subjects:
        return
    # one JSON parameter: pg8000 encodes a text[] parameter in Python, ~3 us an element
    cur.execute(
        "INSERT INTO audit_events (at, member_pseudonym, actor_kind, actor, category, action, "
        "purpose) SELECT %s, s, %s, %s, %s, %s, %s FROM json_array_elements_text(%s::json) AS s",
        (at, actor_kind, actor, category, action, purpose, json.dumps(subjects)),
    )


# -- what an entry means, in the member's words ------------------------------------------------
#
# Entries hold short codes. These are their words in bokmål and English, for the member (the
# access view, R1) and the privacy officer. Every code passed to `record` / `record_many`, and
# every data map category, has one here: tests/unit/test_audit_labels.py finds the calls.

CATEGORY_LABELS: dict[str, dict[str, str]] = {
    # the data map's categories (core/datamap.py)
    "salary": {"nb": "Lønnsopplysninger", "en": "Salary data"},
    "mentoring": {"nb": "Mentorprogrammet", "en": "The mentoring programme"},
    "audit": {"nb": "Revisjonsspor", "en": "Audit trail"},
    "restriction": {"nb": "Begrensning av behandling", "en": "Restriction of processing"},
    "consent": {
        "nb": "Samtykker (for eksempel nyhetsbrev)",
        "en": "Consents (for example the newsletter)",
    },
    "preferences": {"nb": "Preferanser og interesser", "en": "Preferences and interests"},
    "technical": {"nb": "Tekniske opplysninger", "en": "Technical data"},
    "device": {"nb": "Enhetene dine", "en": "Your devices"},
    "messages": {"nb": "Meldinger til deg", "en": "Messages to you"},
    "privacy_rights": {"nb": "Personvernforespørslene dine", "en": "Your privacy requests"},
    "profile": {
        "nb": "Profil og medlemskap (medlemsregisteret)",
        "en": "Profile and membership (the member register)",
    },
}

ACTION_LABELS: dict[str, dict[str, str]] = {
    # mentoring
    "matched": {
        "nb": "Tatt med i matchingen av mentorer og mentees",
        "en": "Included in matching mentors and mentees",
    },
    "shown_to_mentoring_partner": {
        "nb": "Vist til den andre i mentorparet",
        "en": "Shown to the other member of your mentoring pair",
    },
    # jobs
    "used_in_statistics": {
        "nb": "Svaret ditt på lønnsundersøkelsen ble brukt i statistikken (føres på nytt "
        "hvert år så lenge det brukes)",
        "en": "Your salary survey answer was used in the statistics (recorded again every "
        "year while it is used)",
    },
    "chosen_as_recipient_by_interest": {
        "nb": "Interessene dine ble brukt til å velge deg som mottaker av en melding",
        "en": "Your interests were used to choose you as a recipient of a message",
    },
    "chosen_as_recipient_by_county": {
        "nb": "Fylket ditt i medlemsregisteret ble brukt til å velge deg som mottaker av en "
        "melding",
        "en": "Your county in the member register was used to choose you as a recipient of "
        "a message",
    },
    # privacy requests and restriction
    "listed": {"nb": "Vist i en liste", "en": "Shown in a list"},
    "read": {"nb": "Lest", "en": "Read"},
    "approved": {"nb": "Godkjent", "en": "Approved"},
    "rejected": {"nb": "Avslått", "en": "Rejected"},
    "restricted": {"nb": "Behandlingen ble begrenset", "en": "Processing was restricted"},
    "restriction_lifted": {"nb": "Begrensningen ble opphevet", "en": "The restriction was lifted"},
    "membership_end_preview": {
        "nb": "Gjennomgått før sletting fordi medlemskapet er opphørt",
        "en": "Reviewed before erasure because the membership ended",
    },
    # the newsletter system at lederne.no (sharing outside the backend, R9)
    "shared_with_newsletter_system": {
        "nb": "Påmeldingen din ble sendt til Ledernes nyhetsbrevsystem",
        "en": "Your subscription was sent to Lederne's newsletter system",
    },
    "unsubscribed_at_newsletter_system": {
        "nb": "Avmeldingen din ble sendt til Ledernes nyhetsbrevsystem",
        "en": "Your unsubscription was sent to Lederne's newsletter system",
    },
    # messages between systems that could not be processed (operations never see whom)
    "dead_letter_read": {
        "nb": "En melding om deg som ikke kunne behandles, ble undersøkt (uten å vise hvem den "
        "gjelder)",
        "en": "A message about you that could not be processed was inspected (without showing "
        "whom it is about)",
    },
    "dead_letter_replayed": {
        "nb": "En melding om deg som ikke kunne behandles, ble sendt på nytt",
        "en": "A message about you that could not be processed was sent again",
    },
    "dead_letter_discarded": {
        "nb": "En melding om deg som ikke kunne behandles, ble forkastet",
        "en": "A message about you that could not be processed was discarded",
    },
    # editors' messages to one member
    "direct_message_addressed": {
        "nb": "En melding ble adressert til deg",
        "en": "A message was addressed to you",
    },
    "direct_message_figures_read": {
        "nb": "Det ble sett på hvordan det gikk med en melding til deg (levert, åpnet)",
        "en": "How a message to you fared was looked at (delivered, opened)",
    },
    "direct_message_cancelled": {
        "nb": "En planlagt melding til deg ble stoppet",
        "en": "A scheduled message to you was cancelled",
    },
    "membership_status_checked": {
        "nb": "Det ble sjekket om du er aktivt medlem",
        "en": "Whether you are an active member was checked",
    },
}

PURPOSE_LABELS: dict[str, dict[str, str]] = {
    "mentor_matching": {"nb": "Foreslå mentorpar", "en": "Proposing mentoring pairs"},
    "mentoring": {"nb": "Mentorskapet ditt", "en": "Your mentorship"},
    "salary_statistics": {
        "nb": "Lønnsstatistikk som ikke kan knyttes til deg",
        "en": "Salary statistics that cannot be traced to you",
    },
    "data_subject_request": {
        "nb": "Det du ba om i en personvernforespørsel",
        "en": "What you asked for in a privacy request",
    },
    "handling_data_subject_request": {
        "nb": "Behandle personvernforespørselen din",
        "en": "Handling your privacy request",
    },
    "membership_end_review": {
        "nb": "Kontroll før sletting når medlemskapet er opphørt",
        "en": "A check before erasure when membership has ended",
    },
    "newsletter_subscription": {
        "nb": "Nyhetsbrevet du har samtykket til",
        "en": "The newsletter you consented to",
    },
    "fault_handling": {
        "nb": "Rette en feil i behandlingen av en melding mellom systemene",
        "en": "Fixing a fault in processing a message between systems",
    },
    "member_communication": {
        "nb": "Sende deg en melding fra Lederne",
        "en": "Sending you a message from Lederne",
    },
}


def labels(category: str, action: str, purpose: str) -> dict[str, dict[str, str]]:
    """An entry's codes in words ({"category": {"nb": ..., "en": ...}, ...}); a code without
    a label (an entry older than its label) stands for itself."""

    def word(table: dict[str, dict[str, str]], code: str) -> dict[str, str]:
        return dict(table.get(code) or {"nb": code, "en": code})

    return {
        "category": word(CATEGORY_LABELS, category),
        "action": word(ACTION_LABELS, action),
        "purpose": word(PURPOSE_LABELS, purpose),
    }
