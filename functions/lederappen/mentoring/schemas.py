"""The answers of the mentoring feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..core.validation import Timestamp


class MentorContact(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Read live from the member register; never stored. Each time it is shown is audited."""

    mentorship_id: Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    source: str
    retrieved_at: Timestamp


class MentorEngagement(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Literal["mentor", "mentee"]
    topics: Annotated[
        list[str],
        msgspec.Meta(description="Topic ids from /v1/topics.", min_length=1, max_length=10),
    ]
    industry: Annotated[str | None, msgspec.Meta(description="NACE section letter.")]
    county: Annotated[
        str | None, msgspec.Meta(description="County number (required to meet in person).")
    ]
    position_level: Literal["first_line", "middle", "senior", "executive"] | None
    years_as_manager: Annotated[int, msgspec.Meta(ge=0, le=60)] | None
    formats: Annotated[
        list[Literal["digital", "in_person"]], msgspec.Meta(min_length=1, max_length=2)
    ]
    languages: Annotated[list[Literal["nb", "en"]], msgspec.Meta(min_length=1, max_length=2)]
    capacity: (
        Annotated[
            Annotated[int, msgspec.Meta(ge=1, le=10)] | None,
            msgspec.Meta(description="Mentors only: the most mentees at once."),
        ]
        | UnsetType
    ) = UNSET
    presentation: Annotated[
        Annotated[str, msgspec.Meta(max_length=1000)] | None,
        msgspec.Meta(description="Goals or a short presentation in the member's own words."),
    ]
    version: Annotated[int, msgspec.Meta(ge=1)]
    created_at: Timestamp
    updated_at: Timestamp


class MentorEngagementsNotice(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    nb: str
    en: str


class MentorEngagements(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    mentor: MentorEngagement | None
    mentee: MentorEngagement | None
    notice: MentorEngagementsNotice


class MentorPartnerEngagement(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the other member signed up with in their role; null after they withdrew. Never a
    name or contact detail.
    """

    topics: Annotated[
        list[str],
        msgspec.Meta(description="Topic ids from /v1/topics.", min_length=1, max_length=10),
    ]
    industry: Annotated[str | None, msgspec.Meta(description="NACE section letter.")]
    county: Annotated[
        str | None, msgspec.Meta(description="County number (required to meet in person).")
    ]
    position_level: Literal["first_line", "middle", "senior", "executive"] | None
    years_as_manager: Annotated[int, msgspec.Meta(ge=0, le=60)] | None
    formats: Annotated[
        list[Literal["digital", "in_person"]], msgspec.Meta(min_length=1, max_length=2)
    ]
    languages: Annotated[list[Literal["nb", "en"]], msgspec.Meta(min_length=1, max_length=2)]
    presentation: Annotated[
        Annotated[str, msgspec.Meta(max_length=1000)] | None,
        msgspec.Meta(description="Goals or a short presentation in the member's own words."),
    ]


class MentorProposalReasonsItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Literal[
        "shared_topics",
        "same_industry",
        "digital",
        "same_county",
        "more_experienced",
        "shared_language",
    ]
    nb: str
    en: str


class MentorProposalOther(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Literal["mentor", "mentee"]
    engagement: MentorPartnerEngagement | None


class MentorProposal(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
    role: Annotated[
        Literal["mentor", "mentee"], msgspec.Meta(description="Your role in the proposal.")
    ]
    status: Literal["open", "accepted", "declined", "expired", "withdrawn"]
    score: Annotated[float, msgspec.Meta(ge=0, le=1)]
    parts: Annotated[
        dict[str, float],
        msgspec.Meta(
            description=(
                "Each part's weighted contribution to the score (topics, industry, "
                "place_or_format, seniority, language)."
            )
        ),
    ]
    reasons: Annotated[
        list[MentorProposalReasonsItem],
        msgspec.Meta(description="Why you were proposed, biggest contribution first."),
    ]
    shared_topics: list[str]
    other: MentorProposalOther
    your_answer: Literal["accepted", "declined"] | None
    their_answer: Annotated[
        (Literal["accepted", "declined", "answered"] | None),
        msgspec.Meta(
            description=("While open only whether they answered; their answer once closed.")
        ),
    ]
    created_at: Timestamp
    expires_at: Timestamp
    closed_at: Timestamp | None


class MentorProposalList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[MentorProposal]


class MentorRoundResult(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: int
    trigger: str
    mentees_in_pool: int
    mentors_in_pool: int
    free_slots: int
    proposed: int
    expired_before_round: int
    mean_score: float | None


class MentorRoundSummary(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: int
    trigger: Literal["schedule", "staff"]
    started_at: Timestamp
    finished_at: Timestamp | None
    mentees_in_pool: int | None
    mentors_in_pool: int | None
    free_slots: int | None
    proposed: int | None
    match_rate: float | None
    mean_score: float | None


class MentoringFiguresPool(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    mentors: Annotated[int, msgspec.Meta(ge=0)]
    mentees: Annotated[int, msgspec.Meta(ge=0)]
    capacity: Annotated[int, msgspec.Meta(ge=0)]
    mentees_waiting: Annotated[int, msgspec.Meta(ge=0)]


class MentoringFiguresProposals(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    open: Annotated[int, msgspec.Meta(ge=0)]
    accepted: Annotated[int, msgspec.Meta(ge=0)]
    declined: Annotated[int, msgspec.Meta(ge=0)]
    expired: Annotated[int, msgspec.Meta(ge=0)]
    withdrawn: Annotated[int, msgspec.Meta(ge=0)]


class MentoringFiguresMentorships(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    active: Annotated[int, msgspec.Meta(ge=0)]
    ended: Annotated[int, msgspec.Meta(ge=0)]


class MentoringFiguresFeedback(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    ratings: Annotated[int, msgspec.Meta(ge=0)]
    mean_rating: Annotated[float | None, msgspec.Meta(description="Only from 5 ratings up.")]


class MentoringFigures(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Counts only; never a member, a pair or free text."""

    pool: MentoringFiguresPool
    proposals: MentoringFiguresProposals
    acceptance_rate: float | None
    mentorships: MentoringFiguresMentorships
    feedback: MentoringFiguresFeedback
    recent_rounds: list[MentorRoundSummary]
    as_of: Timestamp


class MentorshipOther(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    role: Literal["mentor", "mentee"]
    engagement: MentorPartnerEngagement | None


class MentorshipContactSharing(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    you_consented: bool
    other_consented: bool
    available: bool


class MentorshipYourFeedback(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: str | None
    given_at: Timestamp


class Mentorship(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
    role: Literal["mentor", "mentee"]
    status: Literal["active", "ended"]
    other: MentorshipOther
    contact_sharing: Annotated[
        MentorshipContactSharing | None,
        msgspec.Meta(
            description=(
                "Whether each side has consented to sharing contact details (purpose "
                "mentor_contact_sharing); null once ended."
            )
        ),
    ]
    started_at: Timestamp
    ended_at: Timestamp | None
    ended_by: Literal["you", "other", "withdrawal", "membership"] | None
    your_feedback: MentorshipYourFeedback | None


class MentorshipFeedback(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    rating: int
    comment: str | None
    given_at: Timestamp


class MentorshipList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[Mentorship]
