"""The `message-fanout` handler: expands a message's audience into delivery batches.

One Pub/Sub message is one *step*: it lists up to `step_size(step)` members of the audience
(growing from FIRST_STEP to STEP_SIZE), and in
one database transaction claims the step, queues the next step with the cursor where it
stopped and those members as `message-delivery` batches of BATCH_SIZE (stored in
`message_batches`, the message naming only the batch; all through the outbox, published
together right after the commit, the next step first so the listing goes on while the
batches are delivered). So however large the audience, each step is
short; a redelivered step finds its claim and queues nothing twice, and a crash between
commit and publish is repaired by the outbox relay. The chain cannot fork: step n+1 is
queued only by the transaction that claimed step n, and a step is carried out only as its
outbox row says (cursor, release time): a forged step that was never queued, or one not
due yet, does nothing, so it can neither claim a real step first nor send a scheduled
message early.

Audiences: every active member and the members of one county come from the member register
(ids only); an interest group from the members' own preferences (used only for those whose
personalisation consent covers it, checked at send time); one member is one batch.
Eligibility (preferences, consent, restriction, membership) is checked per batch at send
time by `delivery.py`, not here.

Choosing recipients by interest or county uses personal data, so each step audits it (S2) in
its claiming transaction: one entry per member chosen by county, and per member chosen by
interest whose personalisation consent covers it (the others are not sent the message, so
their interests are not used). Everyone who is an active member, and one member by number,
use nothing but membership; delivery records each member's outcome (`notification_deliveries`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from ..consents import service as consents
from ..core import audit, db, events, lederne, outbox, tombstones
from ..preferences import store as preferences
from ..salary.vocabulary import COUNTIES
from . import outgoing, store

CONSUMER = "message-fanout"
#: Members per delivery batch (one a fan-out step). A broadcast writes nothing per member to
#: Firestore (it is stored once, its inbox items are `message_recipients` rows), so the
#: batch is not held to a Firestore batched write (500). A batch pays a Pub/Sub push, the
#: envelope, about twenty SQL round trips and its register calls whatever its size, and
#: while it does them none of its pushes go out: on the push benchmark (two cores, where the
#: Pub/Sub emulator pushes two messages at a time) batches of 1,000 made 3,100 pushes/s,
#: 5,000 made 4,300-5,300 and 10,000 made 4,800-6,100 (README "Benchmarks"). In Google
#: Cloud a batch's sends (128 at a time, fcm.Sender) take ~4 s at FCM's usual 50 ms, well
#: inside the sender's 60 s and the 120 s lease and deadline; with the growing steps below
#: 17,500 members are five batches and 175,000 twenty, which the subscription pushes to
#: several instances at once (FCM's own quota, 600,000 a minute a project, bounds the rest).
BATCH_SIZE = 10000
#: Members listed per fan-out step (one delivery batch), in register pages of PAGE_SIZE.
STEP_SIZE = 10000
PAGE_SIZE = 1000
#: The first step lists this many, each next one twice as many, up to STEP_SIZE: the first
#: pushes go out after one small batch (listed, checked and recorded in well under a
#: second), the bulk in large ones (1,000, 2,000, 4,000, 8,000, then 10,000 a step).
FIRST_STEP = 1000


def step_size(step: int) -> int:
    """How many members step `step` lists (and its one delivery batch holds)."""
    return min(STEP_SIZE, FIRST_STEP << min(step, 16))


#: Clock skew tolerated between the relay that released a scheduled message and this handler.
SEND_AT_LEEWAY = timedelta(seconds=60)


class Payload(msgspec.Struct, forbid_unknown_fields=True):
    """Which step of which message. The step's cursor and release time are read from the
    outbox row that queued it (the database's truth); `cursor` here is only informative."""

    message_id: str
    step: int
    cursor: str | None = None


def _interest_page(topic: str, cursor: str | None, size: int) -> tuple[list[str], str | None]:
    ids = db.read(lambda cur: preferences.interested(cur, topic, cursor or "", size + 1))
    if len(ids) > size:
        return ids[:size], ids[size - 1]
    return ids, None


def _county_name(number: str | None) -> str:
    return COUNTIES[number or ""]["nb"]


def audience_page(
    stored: outgoing.Stored | outgoing.Selection,
    cursor: str | None,
    settings,
    size: int = STEP_SIZE,
) -> tuple[list[str], str | None]:
    """One page of at most `size` members of the audience and the cursor of the next (None
    after the last)."""
    kind = stored.audience_kind
    if kind == "member":
        if not stored.member_id:
            raise KeyError(kind)  # a member audience always names its member
        return [stored.member_id], None
    if kind == "interest":
        if not stored.audience_value:
            raise KeyError(kind)
        return _interest_page(stored.audience_value, cursor, size)
    county = _county_name(stored.audience_value) if kind == "county" else None
    register = lederne.client(settings)
    members: list[str] = []
    while True:
        page, cursor = register.list_member_ids(
            status="active", county=county, page_token=cursor, page_size=PAGE_SIZE
        )
        members += page
        if cursor is None or len(members) + PAGE_SIZE > size:
            return members, cursor


def count_recipients(selection: outgoing.Selection, settings, now: datetime) -> int:
    """How many members a message would reach if it went out now: its audience listed page
    by page exactly as the fan-out lists it (`audience_page`), each page decided by the
    delivery's rules at send time (`delivery.outcomes`: membership, restriction, category
    switched on, marketing and personalisation consent). The same code as sending, no copy of
    its rules; it only reads (no step claimed, no batch stored, no audit entry: see
    notifications/admin.py for why a count is not audited per member).

    Members listed by the register are active by that listing; members chosen by interest
    (from the preferences) are asked about, like delivery asks."""
    from . import delivery

    register = lederne.client(settings)
    total = 0
    cursor: str | None = None
    while True:
        members, cursor = audience_page(selection, cursor, settings)
        if members:
            statuses = (
                register.membership_statuses(members)
                if selection.audience_kind in ("interest", "member")
                else None
            )
            decided = db.read(
                lambda cur: delivery.outcomes(cur, selection, members, statuses, now)  # noqa: B023
            )
            total += sum(1 for outcome, _, _ in decided.values() if outcome == "delivered")
        if cursor is None:
            return total


def _audit_choice(cur, stored: outgoing.Stored, members: list[str], now: datetime) -> None:
    kind = stored.audience_kind
    if kind == "interest":
        chosen = sorted(consents.covered_members(cur, members, "personalisation", now))
        category, action = "preferences", "chosen_as_recipient_by_interest"
    elif kind == "county":
        chosen, category, action = members, "profile", "chosen_as_recipient_by_county"
    else:
        return
    audit.record_many(
        cur,
        chosen,
        actor_kind="job",
        actor=CONSUMER,
        category=category,
        action=action,
        purpose="member_communication",
        at=now,
    )


def handle(message: events.Message, settings) -> None:
    p: Payload = message.data
    stored = db.read(lambda cur: outgoing.load(cur, p.message_id))
    if stored is None or stored.status == "cancelled":
        return  # erased with its member, or cancelled: nothing to send
    # The step as it was queued (its outbox row: where the listing resumes, when it is due).
    queued_step = outbox.queued_step(outgoing.FANOUT_TOPIC, stored.id, p.step)
    if queued_step is None:
        return  # no such step was ever queued: a forged or stray message
    cursor, not_before = queued_step
    if not_before is not None and not_before > datetime.now(UTC) + SEND_AT_LEEWAY:
        # Not due: the outbox relay releases a scheduled message only once its row is, so
        # this is a forged or stray message; the real one comes when the time has come.
        return
    try:
        listed, next_cursor = audience_page(stored, cursor, settings, step_size(p.step))
    except KeyError:
        raise events.Reject("unknown-audience") from None
    now = datetime.now(UTC)

    def work(cur) -> list[int]:
        tombstones.hold(cur)  # first, as an erasure takes it: see core/tombstones.py
        if not events.claim(cur, CONSUMER, f"{stored.id}:{p.step}"):
            return []
        # Members erased since the message was made are not chosen, audited or batched (the
        # register still lists a member who asked to be erased; R3, R5).
        members = tombstones.still_here(cur, listed, stored.created_at)
        if not store.start_step(cur, stored.id, len(members), now):
            return []  # cancelled in the meantime
        _audit_choice(cur, stored, members, now)
        queued = []
        if next_cursor:
            queued.append(
                outbox.enqueue(
                    cur,
                    outgoing.FANOUT_TOPIC,
                    {"message_id": stored.id, "step": p.step + 1, "cursor": next_cursor},
                    None,
                )
            )
        for i in range(0, len(members), BATCH_SIZE):
            # The batch's members stay here; the message carries only its ids (store.py).
            batch = p.step * 1000 + i // BATCH_SIZE
            store.store_batch(cur, stored.id, batch, members[i : i + BATCH_SIZE])
            queued.append(
                outbox.enqueue(
                    cur, outgoing.DELIVERY_TOPIC, {"message_id": stored.id, "batch": batch}, None
                )
            )
        if not next_cursor:
            store.fanned_out(cur, stored.id, now)
        return queued

    outbox.flush(settings.google_cloud_project, db.transaction(work))
