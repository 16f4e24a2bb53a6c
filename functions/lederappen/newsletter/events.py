"""Handles `newsletter-sync` messages: tell the newsletter system, then record confirmation.

Idempotent twice over: the newsletter system applies an `event_id` once and ignores events
older than what it has, and the confirmation is recorded together with a claim on the
event id, so a redelivered message changes nothing. A message for a member who has no sync
row any more (erased) is dropped without calling anyone. The message is only a signal that
the member's newsletter state changed: what is sent is the state at handling time, from the
database alone: subscribed exactly when the consent ledger covers the newsletter now (given
for the terms in force, not restricted), with the id and time of the latest requested change
(`newsletter_sync`). A forged, replayed or reordered message can at most send the newsletter
system what the ledger already says.

Sending the choice is sharing the member's data outside the backend (R9, on the newsletter
consent), so it is audited (S2): one entry per event, appended with the claim in the
confirming transaction. A redelivered event calls the newsletter system again (it ignores
the repeat) but finds its claim and adds no second entry.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from ..consents import service as consents
from ..core import audit, db, events, lederne
from ..core.db import Cursor
from ..core.times import rfc3339


class Payload(msgspec.Struct, forbid_unknown_fields=True):
    event_id: str
    member_id: str
    subscribed: bool
    terms_version: int
    occurred_at: str


CONSUMER = "newsletter-sync"


def handle(message: events.Message, settings) -> None:
    p: Payload = message.data

    def state(cur: Cursor) -> tuple[str, int, datetime, bool] | None:
        row = consents.newsletter_request(cur, p.member_id)
        if row is None:
            return None
        # Subscribed only while the consent ledger covers it now (given for the terms in
        # force, not restricted): never what the message says.
        return (*row, consents.covers(cur, p.member_id, "newsletter"))

    found = db.read(state)
    if found is None:
        return  # erased or never requested: nothing to propagate
    event_id, terms_version, requested_at, subscribed = found
    # The latest requested change (its id and time) carries the state: a replayed or older
    # message sends the newest again, which the newsletter system applies once.
    lederne.client(settings).put_newsletter_subscriber(
        p.member_id,
        {
            "subscribed": subscribed,
            "terms_version": str(terms_version),
            "event_id": event_id,
            "occurred_at": rfc3339(requested_at),
        },
    )

    def confirm(cur: Cursor) -> None:
        if not events.claim(cur, CONSUMER, p.event_id):
            return
        # Locks the member's row (confirming it if it is still this event's): an erasure in
        # flight deletes it first and erases the audit trail after it (privacy/erasure.py), so
        # an erased member gets no entry written after the trail went.
        if not consents.confirm_newsletter_request(cur, p.member_id, event_id):
            return  # erased meanwhile: nothing to audit about someone forgotten
        # Audited also when a newer choice has replaced this one (no row confirmed): what
        # was sent was sent. "consent": the data map's category of the newsletter choice.
        audit.record(
            cur,
            p.member_id,
            actor_kind="job",
            actor=CONSUMER,
            category="consent",
            action=(
                "shared_with_newsletter_system"
                if subscribed
                else "unsubscribed_at_newsletter_system"
            ),
            purpose="newsletter_subscription",
            at=datetime.now(UTC),
        )

    db.transaction(confirm)
