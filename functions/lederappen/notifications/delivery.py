"""The `message-delivery` handler: one batch of members gets the message, once each.

For a batch (at most 500 member keys of one message; the message names the batch by id, and
its members are read from what the fan-out stored for it, `store.py`):

1. Members already recorded in `message_recipients` are done: a redelivered or replayed
   batch does not touch them again (an inbox item they deleted stays deleted).
2. The rest are checked *now*, at send time: membership still active (the register),
   processing not restricted (unless the member needs the message, see `needed`), the
   message's category switched on in their preferences, marketing consent for marketing,
   personalisation consent for an interest audience.
3. Eligible members with the inbox channel get the inbox item: for a direct message (to one
   member) a Firestore item (create-if-absent, so a repeat writes nothing); a message to many
   is stored once, and its inbox item *is* the member's `message_recipients` row (`inbox`
   true), which the member's inbox lists (notifications/inbox.py). Then, in one
   transaction (one statement), every member's outcome and a push row per device of those
   with the push channel are recorded, the push rows already leased to this sender
   (`sending`): a copy of this batch handled at the same moment inserts none of them.
4. The batch's pushes (the ones this attempt inserted, and on a redelivery the `pending`
   ones and expired leases, taken with a lease) are sent to FCM with bounded concurrency and
   retries that honour Retry-After, and their outcome recorded: `sent`; `pruned` (404
   UNREGISTERED or an invalid token: the registration is deleted); `failed` (FCM refused the
   message itself). Each push is encoded by the SDK once per variant (push.Pushes).
   Pushes still failing after the sender's retries go back to `pending` and the handler
   asks Pub/Sub to redeliver the batch (events.Retry); after the subscription's maximum
   attempts the batch lands in the dead-letter topic, from where staff can replay it.
5. A push taken again on a redelivery or replay belongs to a member checked in an earlier
   attempt, maybe minutes ago: the database's rules (restriction, category, push channel,
   consent) are asked again before it goes, and a push the member no longer wants is recorded
   `failed` with error code WITHHELD and not sent. (Membership is not asked again: a member
   whose membership ended is erased, R5, and erased members are dropped above.)

Nothing about a member is logged; counts only.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec

from ..consents import service as consents
from ..core import db, events, firestore, lederne, log
from ..core.tombstones import erased_since
from ..preferences.service import DEFAULT_CATEGORIES, DEFAULT_CHANNELS
from . import devices as device_store
from . import fcm, inbox, outgoing, push, store

_log = logging.getLogger("lederappen.notifications.delivery")

#: How long a sender holds the pushes it took: longer than it can take to send them.
LEASE = timedelta(seconds=120)


class Payload(msgspec.Struct, forbid_unknown_fields=True):
    """Ids only: the batch's members are the ones the fan-out stored for it (store.py)."""

    message_id: str
    batch: Annotated[int, msgspec.Meta(ge=0)]


def _now() -> datetime:
    return datetime.now(UTC)


def needed(stored: outgoing.Stored | outgoing.Selection) -> bool:
    """Does the member need this message even while their processing is restricted (GDPR
    Art. 18)? Only a message to them alone that concerns their privacy request, their
    membership or a change of the terms they consented to (`messages.concerns`, set by the
    feature or by the editor), never marketing. Everything else, an editor's direct message
    and the mentoring programme's included, waits for the restriction to be lifted. The
    member's category choice still applies to a needed message."""
    return (
        stored.audience_kind == "member"
        and stored.concerns is not None
        and stored.category != "marketing"
    )


def needs_consent(stored: outgoing.Stored | outgoing.Selection) -> set[str]:
    """The consent purposes a recipient must cover: marketing for marketing, personalisation
    for an audience chosen by interest."""
    needs = {"marketing"} if stored.category == "marketing" else set()
    if stored.audience_kind == "interest":
        needs.add("personalisation")
    return needs


def decide(
    stored: outgoing.Stored | outgoing.Selection,
    active: bool,
    restricted: bool,
    categories: list[str] | None,
    channels: list[str] | None,
    consented: bool,
) -> tuple[str, bool, bool]:
    """One member's (outcome, inbox, push), first reason first. `consented`: covers every
    purpose of `needs_consent(stored)`."""
    switched_on = DEFAULT_CATEGORIES if categories is None else categories
    through = DEFAULT_CHANNELS if channels is None else channels
    if not active:
        return "not_member", False, False
    if restricted and not needed(stored):
        return "restricted", False, False
    if stored.category not in switched_on:
        return "category_off", False, False
    if not consented:
        return "no_consent", False, False
    return "delivered", "inbox" in through, "push" in through


def outcomes(
    cur,
    stored: outgoing.Stored | outgoing.Selection,
    members: list[str],
    statuses: dict[str, str] | None,
    now: datetime,
) -> dict[str, tuple[str, bool, bool]]:
    """Per member: (outcome, inbox, push) by the rules at send time. `statuses` are the
    register's membership statuses; None when membership is not being asked (a retry)."""
    rows = store.eligibility(cur, members)
    needs = needs_consent(stored)
    consenting = {
        purpose: consents.covered_members(cur, members, purpose, now) for purpose in needs
    }
    return {
        member: decide(
            stored,
            statuses is None or statuses.get(member) == "active",
            restricted,
            categories,
            channels,
            all(member in consenting[p] for p in needs),
        )
        for member, categories, channels, restricted in rows
    }


def still_wanted(cur, stored: outgoing.Stored, members: list[str], now: datetime) -> set[str]:
    """Those of `members` who, by the rules in force now, would still get this message as a
    push (for pushes taken again on a retry)."""
    return {
        m
        for m, (outcome, _, pushes) in outcomes(cur, stored, members, None, now).items()
        if outcome == "delivered" and pushes
    }


def _record(
    cur,
    stored: outgoing.Stored,
    decided: dict[str, tuple[str, bool, bool]],
    registrations: list[device_store.Registration],
    now: datetime,
) -> tuple[set[str], dict[str, str]]:
    """Records the outcomes and the pushes to send, in one statement: the push rows are
    inserted leased to this attempt (`sending`), and those it inserted are returned (device
    id -> member key); a row another copy of the batch inserted first is not. Members erased
    since the batch started (their tombstone is committed before erasure sweeps Firestore
    the second time) are left out and returned, so the caller removes the inbox items it
    wrote for them. The rows travel as JSON expanded in SQL (pg8000 encodes array
    parameters in Python, ~3 us an element)."""
    late = erased_since(cur, list(decided), stored.created_at)
    recipients = [[m, o, i] for m, (o, i, _) in decided.items() if m not in late]
    pushes = [[r.device_id, r.member_id] for r in registrations if r.member_id not in late]
    return late, store.record_outcomes(cur, stored.id, recipients, pushes, now, now + LEASE)


def _leased_elsewhere(stored: outgoing.Stored, members: list[str], now: datetime) -> bool:
    return store.leased_elsewhere(stored.id, members, now)


def _take(stored: outgoing.Stored, members: list[str], now: datetime) -> dict[str, str]:
    """Leases this batch's pending pushes (and expired leases of a crashed sender):
    device id -> member key."""

    def work(cur) -> dict[str, str]:
        return store.lease_pending(cur, stored.id, members, now, now + LEASE)

    return db.transaction(work)


_STATE = {
    "sent": "sent",
    "unregistered": "pruned",
    "invalid_token": "pruned",
    "failed": "failed",
    "retryable": "pending",
}


#: The error code of a push not sent because its member no longer wants it (restricted,
#: consent withdrawn, category or push switched off) by the time a retry came to send it.
WITHHELD = "WITHHELD"


def _finish(
    stored: outgoing.Stored,
    sends: list[device_store.Registration],
    results: list[fcm.Outcome],
    gone: list[str],
    withheld: list[str],
) -> None:
    """Records each push's outcome, as pruned the leased ones whose registration was
    removed before the send (nothing to send to), and as failed (WITHHELD) those whose
    member no longer wants them: neither kind is ever sent for this message. In the same
    transaction, first, the registrations whose token FCM reported dead are deleted (each
    only while it still holds that token; the erasure lock's shared side before any row
    lock, see core/tombstones.py)."""
    dead = [r for r, o in zip(sends, results) if o.status in ("unregistered", "invalid_token")]
    ids = [r.device_id for r in sends] + gone + withheld
    states = (
        [_STATE[o.status] for o in results] + ["pruned"] * len(gone) + ["failed"] * len(withheld)
    )
    codes = (
        [o.error_code for o in results]
        + ["NOT_REGISTERED"] * len(gone)
        + [WITHHELD] * len(withheld)
    )
    attempts = [o.attempts for o in results] + [0] * (len(gone) + len(withheld))
    rows = json.dumps([list(r) for r in zip(ids, states, codes, attempts)])

    def work(cur) -> None:
        device_store.remove_devices(cur, dead)
        store.record_push_outcomes(cur, stored.id, rows)

    db.transaction(work)


def handle(message: events.Message, settings) -> None:
    p: Payload = message.data

    def state(cur):
        stored = outgoing.load(cur, p.message_id)
        if stored is None or stored.status == "cancelled":
            return None, [], []
        # Who is in the batch is what the fan-out stored, never what the message says.
        members = list(dict.fromkeys(store.batch_members(cur, stored.id, p.batch) or []))
        # A member erased after this message was created is dropped without a trace (R5).
        erased = erased_since(cur, members, stored.created_at)
        alive = [m for m in members if m not in erased]
        return stored, alive, store.recorded(cur, stored.id, alive)

    stored, members, recorded = db.read(state)
    if stored is None or not members:
        return
    msg = stored.message()
    broadcast = inbox.is_broadcast(stored.audience_kind)
    now = _now()
    done = {r.member_id for r in recorded}
    boxed = {r.member_id for r in recorded if r.inbox}  # whose push may point to an inbox item
    todo = [m for m in members if m not in done]
    known: dict[str, device_store.Registration] = {}
    taken: dict[str, str] = {}
    withheld: list[str] = []
    if todo:
        statuses = lederne.client(settings).membership_statuses(todo)

        def eligible(cur):
            decided = outcomes(cur, stored, todo, statuses, now)
            # the members with push are known only now: their devices in the same read
            found = device_store.devices_of(cur, [m for m, (_, _, p) in decided.items() if p])
            return decided, found

        decided, registrations = db.read(eligible)
        if not broadcast:  # a message to many is stored once: its rows are the inbox
            with firestore.guard():
                inbox.deliver_many(
                    firestore.client(settings),
                    [m for m, (_, box, _) in decided.items() if box],
                    msg,
                    now=now,
                )
        known = {r.device_id: r for r in registrations}
        boxed.update(m for m, (_, box, _) in decided.items() if box)
        late, taken = db.transaction(lambda cur: _record(cur, stored, decided, registrations, now))
        if late:  # erased while this batch was being delivered: take back what it wrote
            if not broadcast:
                with firestore.guard():
                    inbox.remove_many(
                        firestore.client(settings), [inbox.item_id(stored.id, m) for m in late]
                    )
            members = [m for m in members if m not in late]
            boxed -= late
    if done:  # a redelivery: pushes of an earlier attempt may be pending (or orphaned)
        taken.update(_take(stored, members, now))
    if not taken:
        if _leased_elsewhere(stored, members, now):
            # another attempt (a copy of this batch, or an earlier one that may have
            # died) holds pushes of this batch: try again once its lease has run out,
            # instead of acknowledging them away
            raise events.Retry("leased")
        return
    fresh = set(todo)  # checked a moment ago, in this attempt
    earlier = sorted({m for m in taken.values() if m not in fresh})
    # a redelivery: those members' devices are looked up again
    owners = sorted({m for d, m in taken.items() if d not in known})
    if earlier or owners:

        def recheck(cur):
            # checked in an earlier attempt: ask again before sending (step 5)
            wanted = still_wanted(cur, stored, earlier, now) if earlier else set()
            return wanted, device_store.devices_of(cur, owners)

        wanted, found = db.read(recheck)
        for r in found:
            known.setdefault(r.device_id, r)
        withheld = [d for d, m in taken.items() if m not in fresh and m not in wanted]
        taken = {d: m for d, m in taken.items() if m in fresh or m in wanted}
    gone = [d for d in taken if d not in known]  # unregistered since: nothing to send
    sends = [known[d] for d in taken if d in known]
    sender = fcm.sender(settings)
    pushes = push.Pushes(msg)

    def reference(member_id: str) -> str | None:
        if member_id not in boxed:
            return None
        if broadcast:
            return inbox.broadcast_item_id(msg.message_id)
        return inbox.item_id(msg.message_id, member_id)

    results = sender.send_all(
        [
            pushes.request(r.fcm_token, r.locale, reference(r.member_id))
            if sender.transport != "sdk"
            else pushes.message(r.fcm_token, r.locale, reference(r.member_id))
            for r in sends
        ]
    )
    _finish(stored, sends, results, gone, withheld)
    counts: dict[str, int] = {"withheld": len(withheld)} if withheld else {}
    for o in results:
        counts[o.status] = counts.get(o.status, 0) + 1
    log.event(_log, "delivery batch sent", logging.INFO, batch=p.batch, **counts)
    if counts.get("retryable"):
        raise events.Retry("fcm")
