"""HTTP endpoints of the messages-admin function: editors send messages to members (F9).

An editor writes a message (category, title and body in Norwegian and English, optional deep
link, sensitive or not), picks an audience (every member, an interest, a county, one member)
and sends it now or at a time; a scheduled message can be cancelled until it goes. The
figures per message are counts only: how many the audience held, how many were eligible,
why the others were skipped, pushes sent, failed and pruned, inbox items opened. No endpoint
lists who received a message.

Audit (S2): a message to one member is about an identified member, so each staff access to
it appends an audit entry about that member, in the same transaction: addressing it (the
register was asked whether they are a member), reading its figures (for one member they
tell whether the member turned the category off, is restricted, opened it) and cancelling
it. An address the register rejects is audited too: the editor learnt that this number is
not an active member. Messages to many concern no identified member: no entry.

The audience's size before sending (`POST /v1/admin/message-audience`) is counted by the
fan-out's and the delivery's own code (`fanout.count_recipients`) and told as a number only,
below MIN_PERSONS as "fewer than 5" (0 included, as an empty salary cell looks like a small
one), so a count of a rare interest cannot tell an editor that one or two identifiable
members hold it. It is not audited per member: it chooses no one and sends nothing, and what
it tells staff is an aggregate about no identified member (the fan-out audits each member it
then chooses by interest or county, when the message goes). One member is never counted: a
count of one person would tell their consent, category and restriction choices.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import msgspec

from ..core import audit, db, firestore, idempotency, lederne, log, outbox, pagination
from ..core.http import IDEMPOTENCY_KEY, Api, Reply, Request
from ..core.problems import DependencyUnavailable, NotFound
from ..core.public_cache import topic_ids
from ..core.times import rfc3339
from ..core.validation import Body, Timestamp, fields_error
from ..salary.disclosure import MIN_PERSONS
from ..salary.vocabulary import COUNTIES
from . import fanout, inbox, outgoing, push, store
from .message import Category, DeepLink, Message, Text, Title
from .schemas import AdminMessage, AdminMessagePage, AudienceSize, ListMessagesQuery

api = Api()
_log = logging.getLogger("lederappen.notifications.admin")

#: How far ahead a message can be scheduled.
MAX_SCHEDULE_DAYS = 366
#: A send_at this far in the past is a mistake, not "now".
PAST_TOLERANCE = timedelta(minutes=5)

AudienceKind = Literal["all", "interest", "county", "member"]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Audience(Body):
    kind: AudienceKind
    value: Short | None = None
    member_id: Short | None = None


class Draft(Body):
    category: Category
    title: Title
    body: Text
    audience: Audience
    deep_link: DeepLink | None = None
    #: Left out: sensitive for a message to one member (what is meant for one person stays
    #: off the lock screen), not for messages to many.
    sensitive: bool | None = None
    send_at: Timestamp | None = None
    #: A message to one member that they need even while their processing is restricted:
    #: about their privacy request, their membership, or a change of terms (delivery.needed).
    concerns: Literal["privacy_request", "membership", "terms"] | None = None


class AudienceQuery(Body):
    """What decides the audience's size: the category (preferences, marketing consent) and
    the audience of a draft (`Draft`'s fields of the same names)."""

    category: Category
    audience: Audience


def _now() -> datetime:
    return datetime.now(UTC)


def _audit(
    cur, request: Request, member_id: str, action: str, now: datetime, category: str = "messages"
) -> None:
    assert request.principal is not None
    audit.record(
        cur,
        member_id,
        actor_kind="staff",
        actor=request.principal.subject,
        category=category,
        action=action,
        purpose="member_communication",
        at=now,
    )


def _audience_errors(request: Request, a: Audience) -> list[tuple[str, str, str, str]]:
    """The audience's rules beyond the types (a draft's and a count's)."""
    errors: list[tuple[str, str, str, str]] = []
    if a.kind in ("all", "member") and a.value is not None:
        errors.append(
            (
                "audience.value",
                "not_allowed",
                "Brukes bare for interesse og fylke.",
                "Only used for interest and county.",
            )
        )
    if a.kind != "member" and a.member_id is not None:
        errors.append(
            (
                "audience.member_id",
                "not_allowed",
                "Brukes bare for ett medlem.",
                "Only used for one member.",
            )
        )
    if a.kind == "member" and a.member_id is None:
        errors.append(
            ("audience.member_id", "required", "Mangler medlemsnummer.", "A member id is required.")
        )
    if a.kind == "county" and a.value not in COUNTIES:
        errors.append(("audience.value", "enum", "Ukjent fylkesnummer.", "Unknown county number."))
    if a.kind == "interest" and (a.value is None or a.value not in topic_ids(request.settings)):
        errors.append(("audience.value", "enum", "Ukjent interesse.", "Unknown interest."))
    return errors


def _check(request: Request, d: Draft, now: datetime) -> None:
    """Every rule beyond the types, all reported at once (422)."""
    a = d.audience
    errors = _audience_errors(request, a)
    if a.kind != "member" and d.concerns is not None:
        errors.append(
            ("concerns", "not_allowed", "Brukes bare for ett medlem.", "Only used for one member.")
        )
    if d.concerns is not None and d.category == "marketing":
        errors.append(
            (
                "concerns",
                "not_allowed",
                "Markedsføring er aldri nødvendig.",
                "Marketing is never needed.",
            )
        )
    if d.send_at is not None:
        if d.send_at.tzinfo is None:
            errors.append(
                (
                    "send_at",
                    "timezone",
                    "Tidspunktet må ha tidssone.",
                    "The time needs a time zone.",
                )
            )
        elif d.send_at < now - PAST_TOLERANCE:
            errors.append(("send_at", "past", "Tidspunktet har passert.", "That time has passed."))
        elif d.send_at > now + timedelta(days=MAX_SCHEDULE_DAYS):
            errors.append(
                ("send_at", "too_far", "Høyst ett år fram i tid.", "At most one year ahead.")
            )
    message = _message(d)
    if not push.fits(message):
        errors.append(
            (
                "body",
                "push_too_large",
                f"Varselet blir større enn FCMs grense på {push.MAX_PAYLOAD_BYTES} byte.",
                f"The push would exceed FCM's limit of {push.MAX_PAYLOAD_BYTES} bytes.",
            )
        )
    if errors:
        raise fields_error(errors)
    if a.kind == "member" and a.member_id:  # without one, _audience_errors said so above
        statuses = lederne.client(request.settings).membership_statuses([a.member_id])
        if statuses.get(a.member_id) != "active":
            member_id = a.member_id
            db.transaction(
                lambda cur: _audit(
                    cur, request, member_id, "membership_status_checked", now, "profile"
                )
            )
            raise fields_error(
                [
                    (
                        "audience.member_id",
                        "not_member",
                        "Ikke et aktivt medlem.",
                        "Not an active member.",
                    )
                ]
            )


def _sensitive(d: Draft) -> bool:
    return d.audience.kind == "member" if d.sensitive is None else d.sensitive


def _message(d: Draft) -> Message:
    return Message(
        message_id="draft",
        category=d.category,
        title=d.title,
        body=d.body,
        deep_link=d.deep_link,
        sensitive=_sensitive(d),
    )


def draft_message(d: Draft) -> Message:
    """The message a draft makes, as its push and inbox item are built from it (the staff
    console's preview shows it before sending)."""
    return _message(d)


@api.post(
    "/v1/admin/messages",
    body=Draft,
    operation_id="createMessage",
    summary="Editor: write a message and send it now or at a time.",
    response=AdminMessage,
    returns="Created (queued, or scheduled)",
    status=201,
    errors=(
        409,
        503,
    ),
    headers=(IDEMPOTENCY_KEY,),
)
def create_message(request: Request) -> Reply:
    """Needs a staff token with role `editor`. The text is the same for every recipient (never
    personalised); the push carries a preview and a sensitive message only a neutral text.
    Eligibility (membership, restriction, notification preferences, marketing consent) is
    checked when it is sent.
    """
    d: Draft = request.body
    now = _now()
    _check(request, d, now)
    queued: list[int] = []

    def work(cur) -> Reply:
        stored, outbox_id = outgoing.create(
            cur,
            message={
                "category": d.category,
                "title": msgspec.structs.asdict(d.title),
                "body": msgspec.structs.asdict(d.body),
                "deep_link": d.deep_link,
                "sensitive": _sensitive(d),
            },
            audience_kind=d.audience.kind,
            audience_value=d.audience.value,
            member_id=d.audience.member_id,
            send_at=d.send_at,
            created_by=request.caller.subject,
            now=now,
            concerns=d.concerns,
        )
        if d.audience.member_id is not None:
            _audit(cur, request, d.audience.member_id, "direct_message_addressed", now)
        if outbox_id is not None:
            queued.append(outbox_id)
        return Reply(
            stored.view(), status=201, headers={"Location": f"/v1/admin/messages/{stored.id}"}
        )

    reply = idempotency.run(request, msgspec.json.encode(d), work)
    outbox.flush(request.settings.google_cloud_project, queued)
    log.event(
        _log,
        "message created",
        logging.INFO,
        audience=d.audience.kind,
        scheduled=bool(d.send_at and d.send_at > now),
    )
    return reply


@api.post(
    "/v1/admin/message-audience",
    body=AudienceQuery,
    operation_id="countMessageAudience",
    summary=(
        "Editor: how many members a message with this category and audience would reach if it "
        "went out now."
    ),
    response=AudienceSize,
    returns="The audience's size now",
    errors=(503,),
)
def count_audience(request: Request) -> Reply:
    """Needs a staff token with role `editor`. Counted by the fan-out's and the delivery's own
    code (active members of the audience who have the category switched on, the consent it
    needs and no restriction); changes nothing and sends nothing. Fewer than 5 (0 included)
    is told only as `fewer_than: 5`, never exactly. One member (`kind: member`) is not
    counted (422).
    """
    q: AudienceQuery = request.body
    a = q.audience
    if a.kind == "member":
        raise fields_error(
            [
                (
                    "audience.kind",
                    "not_counted",
                    "Bare grupper telles, ikke ett medlem.",
                    "Only groups are counted, not one member.",
                )
            ]
        )
    errors = _audience_errors(request, a)
    if errors:
        raise fields_error(errors)
    now = _now()
    count = fanout.count_recipients(
        outgoing.Selection(q.category, a.kind, a.value), request.settings, now
    )
    small = count < MIN_PERSONS
    audience: dict[str, str] = {"kind": a.kind}
    if a.value is not None:
        audience["value"] = a.value
    log.event(_log, "audience counted", logging.INFO, audience=a.kind, small=small)
    return Reply(
        {
            "category": q.category,
            "audience": audience,
            "recipients": None if small else count,
            "fewer_than": MIN_PERSONS if small else None,
            "counted_at": rfc3339(now),
        },
        headers={"Cache-Control": "no-store"},
    )


@api.get(
    "/v1/admin/messages",
    operation_id="listMessages",
    summary="Editor: the editors' messages, newest first.",
    response=AdminMessagePage,
    returns="A page of messages",
    errors=(
        422,
        503,
    ),
    query=ListMessagesQuery,
)
def list_messages(request: Request) -> Reply:
    """Needs a staff token with role `editor`."""
    size = pagination.limit(request.query)
    after = pagination.decode_cursor(request.query.get("cursor"), tuple[datetime, uuid.UUID])
    rows = db.read(
        lambda cur: outgoing.list_editor_messages(
            cur, size + 1, (after[0].isoformat(), str(after[1])) if after else None
        )
    )
    items, cursor = pagination.page(
        rows, size, lambda s: [s.created_at.astimezone(UTC).isoformat(), s.id]
    )
    return Reply({"items": [s.view() for s in items], "next_cursor": cursor})


def _editor_message(cur, message_id: str) -> outgoing.Stored:
    stored = outgoing.load(cur, message_id)
    if stored is None or stored.origin != "editor":
        raise NotFound({"nb": "Fant ikke meldingen.", "en": "No such message."})
    return stored


@api.get(
    "/v1/admin/messages/{message_id}",
    operation_id="getMessage",
    summary=(
        "Editor: one message with its figures (audience, eligible, skipped by reason, pushes "
        "sent, failed, pruned, pending, opened)."
    ),
    response=AdminMessage,
    returns="The message",
    errors=(503,),
)
def get_message(request: Request) -> Reply:
    """Needs a staff token with role `editor`."""

    def work(cur):
        stored = _editor_message(cur, request.params["message_id"])
        if stored.member_id is not None:
            _audit(cur, request, stored.member_id, "direct_message_figures_read", _now())
        return stored, outgoing.figures(cur, stored)

    stored, figures = db.transaction(work)  # a transaction: it may append an audit entry
    if inbox.is_broadcast(stored.audience_kind):  # stored once: opened is per recipient row
        figures["opened"] = db.read(lambda cur: store.broadcast_opened(cur, stored.id))
        return Reply({**stored.view(), "figures": figures})
    try:
        with firestore.guard():
            figures["opened"] = inbox.opened(firestore.client(request.settings), stored.id)
    except DependencyUnavailable:
        # The count is a nice-to-have beside the delivery figures: without it they still
        # answer, with `opened` unknown (null), rather than failing as a whole.
        figures["opened"] = None
    return Reply({**stored.view(), "figures": figures})


@api.post(
    "/v1/admin/messages/{message_id}/cancel",
    operation_id="cancelMessage",
    summary="Editor: cancel a message before it goes (409 once it has gone out).",
    response=AdminMessage,
    returns="Cancelled",
    errors=(
        409,
        503,
    ),
)
def cancel_message(request: Request) -> Reply:
    """Needs a staff token with role `editor`."""
    now = _now()

    def work(cur) -> outgoing.Stored:
        stored = outgoing.cancel(cur, request.params["message_id"], now)
        if stored.member_id is not None and stored.cancelled_at == now:  # cancelled just now
            _audit(cur, request, stored.member_id, "direct_message_cancelled", now)
        return stored

    return Reply(db.transaction(work).view())
