"""HTTP endpoints of the mentoring function: the member's side of mentoring (F7).

Engagement: `GET /v1/mentoring/engagement` shows both roles (null when not signed up) and the
notice; `PUT /v1/mentoring/engagement/{role}` signs up or changes (If-Match: the role's ETag,
"0" before the first sign-up); `DELETE` withdraws at once (open proposals in that role close
as withdrawn). A mentor cannot lower their capacity below their active mentorships (422).

Proposals and mentorships (`proposals`): list, accept, decline; list mentorships, see the
other's contact details (both consented; audited), end, private feedback. No route takes a
member id: a member reaches only what they are part of, anything else is 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from ..core import db, lederne, outbox
from ..core.db import Cursor
from ..core.http import Api, Header, Out, Reply, Request, etag, require_if_match
from ..core.problems import NotFound
from ..core.public_cache import topic_ids
from ..core.validation import Body, canonical_uuid, fields_error
from . import engagement, proposals
from .schemas import (
    MentorContact,
    MentorEngagement,
    MentorEngagements,
    MentorProposal,
    MentorProposalList,
    Mentorship,
    MentorshipFeedback,
    MentorshipList,
)

api = Api()

Short = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class Engagement(Body):
    topics: Annotated[list[Short], msgspec.Meta(min_length=1, max_length=engagement.MAX_TOPICS)]
    formats: Annotated[list[Short], msgspec.Meta(min_length=1, max_length=2)]
    languages: Annotated[list[Short], msgspec.Meta(min_length=1, max_length=2)]
    notice_acknowledged: bool = False
    industry: Short | None = None
    county: Short | None = None
    position_level: Short | None = None
    years_as_manager: Annotated[int, msgspec.Meta(ge=0, le=60)] | None = None
    capacity: Annotated[int, msgspec.Meta(ge=1, le=engagement.MAX_CAPACITY)] | None = None
    presentation: (
        Annotated[str, msgspec.Meta(max_length=engagement.MAX_PRESENTATION_CHARS)] | None
    ) = None


def _role(request: Request) -> str:
    role = request.params["role"]
    if role not in engagement.ROLES:
        raise NotFound(
            {
                "nb": "Ukjent rolle; bruk mentor eller mentee.",
                "en": "Unknown role; use mentor or mentee.",
            }
        )
    return role


def _now() -> datetime:
    return datetime.now(UTC)


@api.get(
    "/v1/mentoring/engagement",
    operation_id="getMentorEngagement",
    summary=(
        "The member's mentor engagement in both roles (null when not signed up) and the "
        "voluntariness notice."
    ),
    response=MentorEngagements,
    returns="Both roles",
    errors=(503,),
)
def get_engagement(request: Request) -> Reply:
    roles = db.read(lambda cur: engagement.get_all(cur, request.member_id))
    return Reply({**roles, "notice": engagement.NOTICE}, headers={"Cache-Control": "no-store"})


@api.put(
    "/v1/mentoring/engagement/{role}",
    body=Engagement,
    operation_id="putMentorEngagement",
    summary=(
        'Sign up as mentor or mentee, or change it (If-Match: the role\'s ETag, "0" before the '
        "first sign-up)."
    ),
    response=Out(MentorEngagement, "Changed", headers=(Header("ETag"),)),
    responses={201: Out(MentorEngagement, "Signed up", headers=(Header("ETag"),))},
    errors=(
        412,
        428,
        503,
    ),
    headers=(Header("If-Match", required=True),),
    path_params={"role": Literal["mentor", "mentee"]},
)
def put_engagement(request: Request) -> Reply:
    role = _role(request)
    body = msgspec.structs.asdict(request.body)
    engagement.check(role, body, topic_ids(request.settings))

    def work(cur: Cursor) -> Reply:
        current = engagement.version_of(cur, request.member_id, role)
        require_if_match(request, current)
        if role == "mentor":
            active = proposals.active_mentees(cur, request.member_id)
            if body["capacity"] < active:
                raise fields_error(
                    [
                        (
                            "capacity",
                            "below_active",
                            f"Du har {active} aktive mentees; kapasiteten kan ikke være lavere.",
                            f"You have {active} active mentees; capacity cannot be lower.",
                        )
                    ]
                )
        view, created = engagement.put(cur, request.member_id, role, body, current, _now())
        return Reply(
            view,
            status=201 if created else 200,
            headers={"ETag": etag(view["version"]), "Cache-Control": "no-store"},
        )

    return db.transaction(work)


@api.delete(
    "/v1/mentoring/engagement/{role}",
    operation_id="deleteMentorEngagement",
    summary="Withdraw from a role at once; the sign-up is deleted.",
    response=None,
    returns="Withdrawn",
    errors=(503,),
    path_params={"role": Literal["mentor", "mentee"]},
)
def delete_engagement(request: Request) -> Reply:
    role = _role(request)

    def work(cur: Cursor) -> list[int]:
        if not engagement.withdraw(cur, request.member_id, role):
            raise NotFound(
                {
                    "nb": "Du er ikke påmeldt i denne rollen.",
                    "en": "You have not signed up in this role.",
                }
            )
        return proposals.withdraw_open(cur, request.member_id, role, _now())

    _flush(request, db.transaction(work))
    return Reply(None, status=204)


def _flush(request: Request, outbox_ids: list[int]) -> None:
    outbox.flush(request.settings.google_cloud_project, outbox_ids)


def _id(request: Request, name: str) -> str:
    """A path id as a canonical UUID; anything else is unknown (404), never a 500."""
    key = canonical_uuid(request.params[name])
    if key is None:
        raise NotFound({"nb": "Fant ikke ressursen.", "en": "No such resource."})
    return key


_NO_STORE = {"Cache-Control": "no-store"}


@api.get(
    "/v1/mentoring/proposals",
    operation_id="listMentorProposals",
    summary=(
        "Your open proposals, and closed ones from the last 90 days, with the reasons; never the "
        "other's name or contact details."
    ),
    response=MentorProposalList,
    returns="Proposals",
    errors=(503,),
)
def list_proposals(request: Request) -> Reply:
    items = db.read(lambda cur: proposals.list_proposals(cur, request.member_id, _now()))
    return Reply({"items": items}, headers=_NO_STORE)


@api.get(
    "/v1/mentoring/proposals/{proposal_id}",
    operation_id="getMentorProposal",
    summary="One of your proposals.",
    response=MentorProposal,
    returns="The proposal",
    errors=(503,),
)
def get_proposal(request: Request) -> Reply:
    pid = _id(request, "proposal_id")
    return Reply(
        db.read(lambda cur: proposals.get_proposal(cur, request.member_id, pid)), headers=_NO_STORE
    )


def _answer(request: Request, answer: str) -> Reply:
    pid = _id(request, "proposal_id")
    view, ids = db.transaction(
        lambda cur: proposals.answer(cur, request.member_id, pid, answer, _now())
    )
    _flush(request, ids)
    return Reply(view, headers=_NO_STORE)


@api.post(
    "/v1/mentoring/proposals/{proposal_id}/accept",
    operation_id="acceptMentorProposal",
    summary=(
        "Accept a proposal. The same answer again changes nothing. 404 for a proposal that is not"
        " yours, 409 when it has expired or closed, or (accept) when the mentor's last place was "
        "just taken."
    ),
    response=MentorProposal,
    returns="The proposal as it now stands",
    errors=(
        409,
        503,
    ),
)
def accept(request: Request) -> Reply:
    return _answer(request, "accepted")


@api.post(
    "/v1/mentoring/proposals/{proposal_id}/decline",
    operation_id="declineMentorProposal",
    summary=(
        "Decline a proposal. The same answer again changes nothing. 404 for a proposal that is "
        "not yours, 409 when it has expired or closed, or (accept) when the mentor's last place "
        "was just taken."
    ),
    response=MentorProposal,
    returns="The proposal as it now stands",
    errors=(
        409,
        503,
    ),
)
def decline(request: Request) -> Reply:
    return _answer(request, "declined")


@api.get(
    "/v1/mentoring/mentorships",
    operation_id="listMentorships",
    summary="Your mentorships, active and ended, with whether contact sharing is available.",
    response=MentorshipList,
    returns="Mentorships",
    errors=(503,),
)
def list_mentorships(request: Request) -> Reply:
    items = db.read(lambda cur: proposals.list_mentorships(cur, request.member_id, _now()))
    return Reply({"items": items}, headers=_NO_STORE)


@api.get(
    "/v1/mentoring/mentorships/{mentorship_id}/contact",
    operation_id="getMentorshipContact",
    summary=(
        "The other member's name, e-mail and phone, read live from the member register, when the "
        "mentorship is active and both of you have consented to sharing contact details for "
        "mentoring. Audited."
    ),
    response=MentorContact,
    returns="Contact details",
    errors=(
        409,
        503,
    ),
)
def contact(request: Request) -> Reply:
    mid = _id(request, "mentorship_id")
    register = lederne.client(request.settings)
    view = db.transaction(
        lambda cur: proposals.contacts(cur, register, request.member_id, mid, _now())
    )
    return Reply(view, headers=_NO_STORE)


@api.post(
    "/v1/mentoring/mentorships/{mentorship_id}/end",
    operation_id="endMentorship",
    summary="End a mentorship (either side, at any time); the other side is told.",
    response=Mentorship,
    returns="The mentorship",
    errors=(503,),
)
def end(request: Request) -> Reply:
    mid = _id(request, "mentorship_id")
    view, ids = db.transaction(lambda cur: proposals.end(cur, request.member_id, mid, _now()))
    _flush(request, ids)
    return Reply(view, headers=_NO_STORE)


class Feedback(Body):
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


@api.put(
    "/v1/mentoring/mentorships/{mentorship_id}/feedback",
    body=Feedback,
    operation_id="putMentorshipFeedback",
    summary=(
        "Your private rating (1-5) and comment; nobody else sees it, staff see only the average "
        "from five ratings up."
    ),
    response=MentorshipFeedback,
    returns="Saved",
    errors=(503,),
)
def feedback(request: Request) -> Reply:
    mid = _id(request, "mentorship_id")
    body = request.body
    comment = body.comment.strip() or None if body.comment is not None else None
    view = db.transaction(
        lambda cur: proposals.put_feedback(
            cur, request.member_id, mid, body.rating, comment, _now()
        )
    )
    return Reply(view, headers=_NO_STORE)
