"""The answers of the feed feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..core.schemas import Localised
from ..core.validation import Timestamp

#: The fields every feed page has beside its items.
Personalised = Annotated[
    bool,
    msgspec.Meta(
        description=(
            "True when ranked by the member's interests (consent in force, "
            "processing not restricted, interests given)."
        )
    ),
]
Stale = Annotated[
    bool,
    msgspec.Meta(description="True when lederne.no did not answer and this is the last good copy."),
]
AsOf = Annotated[Timestamp, msgspec.Meta(description="When this copy was fetched from lederne.no.")]


class BenefitPage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A page of member benefits."""

    items: list[FeedBenefit]
    next_cursor: str | None
    personalised: Personalised
    stale: Stale
    as_of: AsOf


class ContentPage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A page of professional content."""

    items: list[FeedContent]
    next_cursor: str | None
    personalised: Personalised
    stale: Stale
    as_of: AsOf


class CoursePage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A page of courses."""

    items: list[FeedCourse]
    next_cursor: str | None
    personalised: Personalised
    stale: Stale
    as_of: AsOf


class FeedBenefit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A member benefit from one of Lederne's partners."""

    id: str
    title: Localised
    description: Localised | None
    partner: str | None
    category: str
    url: str
    valid_until: datetime.date | None
    topics: Annotated[
        list[str], msgspec.Meta(description="The benefit's topics, or those its category serves.")
    ]
    matched_topics: (
        Annotated[
            list[str],
            msgspec.Meta(
                description=(
                    "Only when personalised: the member's interests this item shares, in "
                    "the item's topic order."
                )
            ),
        ]
        | UnsetType
    ) = UNSET


class FeedContent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An e-book, podcast episode or article from lederne.no."""

    id: str
    type: Literal["ebook", "podcast", "article"]
    title: Localised
    summary: Localised | None
    topics: Annotated[list[str], msgspec.Meta(description="Topic ids (GET /v1/topics).")]
    published_at: Timestamp
    url: str
    matched_topics: (
        Annotated[
            list[str],
            msgspec.Meta(
                description=(
                    "Only when personalised: the member's interests this item shares, in "
                    "the item's topic order."
                )
            ),
        ]
        | UnsetType
    ) = UNSET


class FeedCourse(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A course at Lederne, as lederne.no lists it."""

    id: str
    title: Localised
    topics: Annotated[list[str], msgspec.Meta(description="Topic ids (GET /v1/topics).")]
    county: Annotated[str | None, msgspec.Meta(description="null for digital courses")]
    format: Annotated[str, msgspec.Meta(examples=["classroom", "digital"])] | None
    starts_at: Timestamp
    ends_at: Timestamp | None
    url: str
    seats_left: Annotated[int, msgspec.Meta(ge=0)] | None
    matched_topics: (
        Annotated[
            list[str],
            msgspec.Meta(
                description=(
                    "Only when personalised: the member's interests this item shares, in "
                    "the item's topic order."
                )
            ),
        ]
        | UnsetType
    ) = UNSET


class Topic(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: str
    label: Annotated[str, msgspec.Meta(description="In the request's language.")]
    labels: Localised


class TopicList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[Topic]
    next_cursor: None
    stale: bool
    as_of: Timestamp


class ListFeedCoursesQuery(msgspec.Struct, kw_only=True):
    """The query parameters of listFeedCourses."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    cursor: (
        Annotated[str, msgspec.Meta(description="next_cursor from the previous page.")] | UnsetType
    ) = UNSET
    topic: (
        Annotated[
            str,
            msgspec.Meta(
                description=("Only items on this topic (an id from GET /v1/topics); unknown: 422.")
            ),
        ]
        | UnsetType
    ) = UNSET
    county: (
        Annotated[
            Literal[
                "Oslo",
                "Rogaland",
                "Møre og Romsdal",
                "Nordland",
                "Østfold",
                "Akershus",
                "Buskerud",
                "Innlandet",
                "Vestfold",
                "Telemark",
                "Agder",
                "Vestland",
                "Trøndelag",
                "Troms",
                "Finnmark",
            ],
            msgspec.Meta(
                description=(
                    "Only classroom courses in this county (fylke); digital courses have no"
                    " county. Unknown: 422."
                )
            ),
        ]
        | UnsetType
    ) = UNSET


class ListFeedContentQuery(msgspec.Struct, kw_only=True):
    """The query parameters of listFeedContent."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    cursor: (
        Annotated[str, msgspec.Meta(description="next_cursor from the previous page.")] | UnsetType
    ) = UNSET
    type: (
        Annotated[
            Literal["ebook", "podcast", "article"],
            msgspec.Meta(description="Only this kind of content."),
        ]
        | UnsetType
    ) = UNSET
    topic: (
        Annotated[
            str,
            msgspec.Meta(
                description=("Only items on this topic (an id from GET /v1/topics); unknown: 422.")
            ),
        ]
        | UnsetType
    ) = UNSET


class ListFeedBenefitsQuery(msgspec.Struct, kw_only=True):
    """The query parameters of listFeedBenefits."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    cursor: (
        Annotated[str, msgspec.Meta(description="next_cursor from the previous page.")] | UnsetType
    ) = UNSET
    category: (
        Annotated[
            Literal["insurance", "banking", "travel", "shopping", "education", "health"],
            msgspec.Meta(description="Only benefits in this category."),
        ]
        | UnsetType
    ) = UNSET
