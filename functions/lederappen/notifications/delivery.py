"""The `message-delivery` handler: one batch of members gets the message, once each.

For a batch (at most 10,000 member keys of one message; the message names the batch by id,
and its members are read from what the fan-out stored for it, `store.py`):

0. The attempt takes the batch's lease (`message_batch_leases`, LEASE long). A copy of the
   batch delivered while another attempt holds a live lease does nothing and asks Pub/Sub to
   try again later (events.Retry), so two attempts never send the batch's pushes at once.
1. Members already recorded in `message_recipients` are done: a redelivered or replayed
   batch does not check or record them again (an inbox item they deleted stays deleted).
2. The rest are checked *now*, at send time: membership still active (the register),
   processing not restricted (unless the member needs the message, see `needed`), the
   message's category switched on in their preferences, marketing consent for marketing,
   personalisation consent for an interest audience; the devices of those with the push
   channel are read in the same round trip.
3. Eligible members with the inbox channel get the inbox item: for a direct message (to one
   member) a Firestore item (create-if-absent, so a repeat writes nothing); a message to many
   is stored once, and its inbox item *is* the member's `message_recipients` row (`inbox`
   true), which the member's inbox lists (notifications/inbox.py). Every member's outcome,
   with whether it has the push channel, is recorded in one statement.
4. The pushes are sent to FCM with bounded concurrency and retries that honour Retry-After
   (each encoded by the SDK once per variant, push.Pushes), and then each push's row is
   written once, with its outcome, in the transaction that gives the lease back: `sent`;
   `pruned` (404 UNREGISTERED or an invalid token: the registration is deleted in the same
   transaction); `failed` (FCM refused the message itself); `pending` (still failing after
   the sender's retries: the handler asks Pub/Sub to redeliver the batch, events.Retry;
   after the subscription's maximum attempts it lands in the dead-letter topic, from where
   staff can replay it). A member erased while the pushes were on their way gets no row.
5. On a redelivery or replay, the pushes an earlier attempt left unsent (rows `pending`, or
   none at all when it died before writing them) are sent to the devices the member had
   when they were recorded, never to one registered later; a device unregistered since gets
   `pruned` (NOT_REGISTERED). Those members were checked in an earlier attempt, maybe
   minutes ago: the database's rules (restriction, category, push channel, consent) are
   asked again before the push goes, and one the member no longer wants is recorded
   `failed` with error code WITHHELD and not sent. (Membership is not asked again: a member
   whose membership ended is erased, R5, and erased members are dropped above.) A final row
   (`sent`, `pruned`, `failed`) is never sent again or changed.

Nothing about a member is logged; counts only.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, NamedTuple

import msgspec

from ..consents import service as consents
from ..core import db, events, firestore, lederne, log, tombstones
from ..core.tombstones import erased_since
from ..preferences.service import DEFAULT_CATEGORIES, DEFAULT_CHANNELS
from . import devices as device_store
from . import fcm, inbox, outgoing, push, store

_log = logging.getLogger("lederappen.notifications.delivery")

#: How long an attempt holds its batch: longer than it can take to send its pushes.
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
    batch: int,
    lease_until: datetime,
) -> set[str]:
    """Records the outcomes, in one statement, and on the lease how many pushes are now on
    their way. Members erased since the message was created are left out and returned, so the caller
    removes the inbox items it wrote for them and sends them nothing. The rows travel as JSON
    expanded in SQL (pg8000 encodes array parameters in Python, ~3 us an element)."""
    # the erasure lock's shared side first: an erasure either finished (its tombstones are
    # seen here) or starts after this commits and deletes what it writes (core/tombstones.py)
    late = set(decided) - set(tombstones.still_here(cur, list(decided), stored.created_at))
    store.record_outcomes(
        cur, stored.id, [[m, *d] for m, d in decided.items() if m not in late], now
    )
    pushes = sum(1 for r in registrations if r.member_id not in late)
    if pushes:
        store.sending(cur, stored.id, batch, lease_until, pushes)
    return late


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


class _Batch(NamedTuple):
    """What an attempt found when it took the batch's lease."""

    stored: outgoing.Stored
    members: list[str]  # minus the members erased since the message was created
    recorded: list[store.Recorded]


def _begin(message_id: str, batch: int, now: datetime, lease_until: datetime) -> _Batch | None:
    """The batch, leased to this attempt; None when there is nothing to do (no such message
    or batch, cancelled, every member erased). Retry while another attempt holds it."""

    def work(cur) -> _Batch | bool | None:
        stored = outgoing.load(cur, message_id)
        if stored is None or stored.status == "cancelled":
            return None
        # Who is in the batch is what the fan-out stored, never what the message says.
        members = store.batch_members(cur, stored.id, batch)
        if members is None:
            return None
        members = list(dict.fromkeys(members))
        # A member erased after this message was created is dropped without a trace (R5).
        erased = erased_since(cur, members, stored.created_at)
        alive = [m for m in members if m not in erased]
        if not alive:
            return None
        if not store.lease_batch(cur, stored.id, batch, now, lease_until):
            return False
        return _Batch(stored, alive, store.recorded(cur, stored.id, alive))

    found = db.transaction(work)
    if found is False:
        # another attempt (a copy of this batch, or an earlier one that may have died) holds
        # the batch: try again once its lease has run out, instead of acknowledging it away
        raise events.Retry("leased")
    return found if isinstance(found, _Batch) else None


def _unsent(
    cur, stored: outgoing.Stored, recorded: list[store.Recorded], now: datetime
) -> tuple[list[device_store.Registration], list[tuple[str, str]], list[tuple[str, str]]]:
    """A redelivery: the pushes earlier attempts left unsent, as (to send, withheld, gone).
    To send: the devices each member with the push channel had when recorded, without a
    final row, if the member still wants the push; withheld: those of members who no longer
    do; gone: pending rows whose device is unregistered since ((device, member) pairs)."""
    rows = store.push_states(cur, stored.id, [r.member_id for r in recorded])
    final = {r.device_id for r in rows if r.state in store.FINAL_STATES}
    pending = {r.device_id: r.member_id for r in rows if r.state not in store.FINAL_STATES}
    owners = sorted({r.member_id for r in recorded if r.push} | set(pending.values()))
    mine = set(owners)
    since = {r.member_id: r.processed_at for r in recorded if r.member_id in mine}
    newer = device_store.registered_after(cur, since)
    devices = [
        d
        for d in device_store.devices_of(cur, owners)
        if d.device_id not in final
        # a device with a pending row was sent to before; any other only if the member had
        # it when recorded (a replay days later reaches no device registered since)
        and (d.device_id in pending or d.device_id not in newer)
    ]
    present = {d.device_id for d in devices}
    gone = [(d, m) for d, m in pending.items() if d not in present]
    asked = sorted({d.member_id for d in devices})
    wanted = still_wanted(cur, stored, asked, now) if asked else set()
    withheld = [(d.device_id, d.member_id) for d in devices if d.member_id not in wanted]
    return [d for d in devices if d.member_id in wanted], withheld, gone


def _finish(
    stored: outgoing.Stored,
    batch: int,
    lease_until: datetime,
    sends: list[device_store.Registration],
    results: list[fcm.Outcome],
    others: list[tuple[str, str, str, str]],
    now: datetime,
) -> None:
    """Writes each push's row with its outcome, and `others` ((device, member, state, code):
    the withheld and the gone, never sent), gives the batch's lease back, and deletes the
    registrations whose token FCM reported dead (each only while it still holds that
    token), in one transaction, the erasure lock's shared side first (core/tombstones.py).
    A member erased since the batch began gets no row."""
    dead = [r for r, o in zip(sends, results) if o.status in ("unregistered", "invalid_token")]
    rows = [
        [r.device_id, r.member_id, _STATE[o.status], o.error_code, o.attempts]
        for r, o in zip(sends, results)
    ] + [[d, m, state, code, 0] for d, m, state, code in others]
    owners = sorted({r.member_id for r in sends} | {m for _, m, _, _ in others})

    def work(cur) -> None:
        late = set(owners) - set(tombstones.still_here(cur, owners, stored.created_at))
        device_store.remove_devices(cur, dead)
        kept = [r for r in rows if r[1] not in late]
        if kept:
            store.record_push_outcomes(cur, stored.id, json.dumps(kept), now)
        store.release_batch(cur, stored.id, batch, lease_until)

    db.transaction(work)


def _release(stored: outgoing.Stored, batch: int, lease_until: datetime) -> None:
    """Gives the lease back after a failed attempt, so a redelivery need not wait it out
    (best effort: if the database is what failed, the lease runs out by itself)."""
    try:
        db.transaction(lambda cur: store.release_batch(cur, stored.id, batch, lease_until))
    except Exception:  # noqa: BLE001  (the attempt's own error is the one that matters)
        log.event(_log, "batch lease not released", logging.WARNING)


def handle(message: events.Message, settings) -> None:
    p: Payload = message.data
    now = _now()
    lease_until = now + LEASE
    begun = _begin(p.message_id, p.batch, now, lease_until)
    if begun is None:
        return
    try:
        counts = _deliver(begun, p.batch, lease_until, now, settings)
    except BaseException:
        _release(begun.stored, p.batch, lease_until)
        raise
    log.event(_log, "delivery batch sent", logging.INFO, batch=p.batch, **counts)
    if counts.get("retryable"):
        raise events.Retry("fcm")


def _deliver(
    begun: _Batch, batch: int, lease_until: datetime, now: datetime, settings
) -> dict[str, int]:
    stored, members, recorded = begun
    msg = stored.message()
    broadcast = inbox.is_broadcast(stored.audience_kind)
    done = {r.member_id for r in recorded}
    boxed = {r.member_id for r in recorded if r.inbox}  # whose push may point to an inbox item
    todo = [m for m in members if m not in done]
    sends: list[device_store.Registration] = []
    others: list[tuple[str, str, str, str]] = []
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
        boxed.update(m for m, (_, box, _) in decided.items() if box)
        late = db.transaction(
            lambda cur: _record(cur, stored, decided, registrations, now, batch, lease_until)
        )
        if late:  # erased while this batch was being delivered: take back what it wrote
            if not broadcast:
                with firestore.guard():
                    inbox.remove_many(
                        firestore.client(settings), [inbox.item_id(stored.id, m) for m in late]
                    )
            boxed -= late
        sends = [r for r in registrations if r.member_id not in late]
    if done:  # a redelivery: pushes of an earlier attempt may be unsent (step 5)
        again, withheld, gone = db.read(lambda cur: _unsent(cur, stored, recorded, now))
        sends += again
        others = [(d, m, "failed", WITHHELD) for d, m in withheld] + [
            (d, m, "pruned", "NOT_REGISTERED") for d, m in gone
        ]
    results: list[fcm.Outcome] = []
    if done and sends:  # the fresh ones are on the lease already (_record)
        db.transaction(lambda cur: store.sending(cur, stored.id, batch, lease_until, len(sends)))
    if sends:
        sender = fcm.sender(settings)
        pushes = push.Pushes(msg)

        shared = inbox.broadcast_item_id(msg.message_id) if broadcast else None

        def reference(member_id: str) -> str | None:
            if member_id not in boxed:
                return None
            return shared or inbox.item_id(msg.message_id, member_id)

        results = sender.send_all(
            [
                pushes.request(r.fcm_token, r.locale, reference(r.member_id))
                if sender.transport != "sdk"
                else pushes.message(r.fcm_token, r.locale, reference(r.member_id))
                for r in sends
            ]
        )
    _finish(stored, batch, lease_until, sends, results, others, now)
    withheld_count = sum(1 for o in others if o[3] == WITHHELD)
    counts: dict[str, int] = {"withheld": withheld_count} if withheld_count else {}
    for o in results:
        counts[o.status] = counts.get(o.status, 0) + 1
    return counts
