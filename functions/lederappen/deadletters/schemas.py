"""The answers of the deadletters feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..core.validation import Timestamp


class DeadLetter(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[int, msgspec.Meta(ge=1)]
    state: DeadLetterState
    source_function: Annotated[
        str | None,
        msgspec.Meta(
            description=("The Pub/Sub function that gave up on it; null when it cannot be told.")
        ),
    ]
    topic: Annotated[
        str | None,
        msgspec.Meta(description="Where a replay is published: the source function's topic."),
    ]
    subscription: Annotated[
        str, msgspec.Meta(description="The -inspect subscription it was drained from.")
    ]
    reason: Annotated[
        str,
        msgspec.Meta(
            description=(
                "`malformed` (data that is not the handler's payload), `malformed: "
                "<code>` (an undecodable push envelope: no-message, no-data, no-"
                "message-id, bad-base64, not-json), `rejected: <code>` (dead-lettered "
                "at once by the function), `delivery-attempts-exhausted` (moved by "
                "Pub/Sub after max_delivery_attempts) or `unknown`."
            )
        ),
    ]
    message_id: Annotated[
        str,
        msgspec.Meta(
            description=(
                "The Pub/Sub id of the dead-letter message (the original id is in "
                "attributes.source_message_id when the function dead-lettered it)."
            )
        ),
    ]
    attributes: Annotated[
        dict[str, str],
        msgspec.Meta(description=('The message attributes; a member key would read "<redacted>".')),
    ]
    received_at: Annotated[
        Timestamp, msgspec.Meta(description="When it reached the dead-letter topic.")
    ]
    replayed_at: Annotated[Timestamp | None, msgspec.Meta(description="The latest replay.")]
    replay_count: Annotated[int, msgspec.Meta(ge=0)]
    discarded_at: Timestamp | None
    payload_bytes: Annotated[int, msgspec.Meta(ge=0)]
    member_count: Annotated[
        int,
        msgspec.Meta(
            description=(
                "How many member keys the payload names (the keys themselves are never shown)."
            ),
            ge=0,
        ),
    ]


class DeadLetterDetail(DeadLetter, kw_only=True, forbid_unknown_fields=True):
    payload_format: Literal["json", "not_json", "empty"]
    payload: Annotated[
        Any,
        msgspec.Meta(
            description=(
                "The payload as JSON with member keys redacted; null unless payload_format is json."
            )
        ),
    ]


class DeadLetterPageDrained(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    stored: Annotated[int, msgspec.Meta(ge=0)]
    complete: bool


class DeadLetterPage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[DeadLetter]
    next_cursor: str | None
    drained: Annotated[
        DeadLetterPageDrained | None,
        msgspec.Meta(
            description=(
                "What this request drained from the -inspect subscriptions (first page "
                "only, else null). complete false: it stopped at its bound or a "
                "subscription could not be read; more may be waiting."
            )
        ),
    ]


class DeadLetterState(enum.StrEnum):
    open = "open"
    replayed = "replayed"
    discarded = "discarded"


class ListDeadLettersQuery(msgspec.Struct, kw_only=True):
    """The query parameters of listDeadLetters."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    cursor: (
        Annotated[str, msgspec.Meta(description="next_cursor from the previous page.")] | UnsetType
    ) = UNSET
    state: (
        Annotated[
            DeadLetterState,
            msgspec.Meta(
                description=(
                    "Only open (neither replayed nor discarded), replayed (and not "
                    "discarded) or discarded messages."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    source_function: (
        Annotated[
            Literal["newsletter-sync", "message-fanout", "message-delivery", "privacy-worker"],
            msgspec.Meta(
                description=(
                    "Only messages from this Pub/Sub function (a manifest name, e.g. "
                    "newsletter-sync); another value is a 422."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
