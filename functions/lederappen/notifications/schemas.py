"""The answers of the notifications feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..core.schemas import InboxCategory
from ..core.validation import Timestamp


class AdminMessageTitle(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    nb: Annotated[str, msgspec.Meta(min_length=1)]
    en: Annotated[str, msgspec.Meta(min_length=1)]


class AdminMessageBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    nb: Annotated[str, msgspec.Meta(min_length=1)]
    en: Annotated[str, msgspec.Meta(min_length=1)]


class AdminMessage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
    category: InboxCategory
    title: AdminMessageTitle
    body: AdminMessageBody
    deep_link: str | None
    sensitive: bool
    audience: MessageAudience
    send_at: Timestamp
    status: Literal["scheduled", "sending", "sent", "cancelled"]
    created_at: Timestamp
    cancelled_at: Timestamp | None
    started_at: Timestamp | None
    fanned_out_at: Timestamp | None
    figures: MessageFigures | UnsetType = UNSET
    concerns: Literal["privacy_request", "membership", "terms"] | None


class AdminMessagePage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[AdminMessage]
    next_cursor: str | None


class AudienceSize(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How many members a message would reach now: `recipients` exactly from 5 up; below that
    `recipients` is null and `fewer_than` is 5.
    """

    category: InboxCategory
    audience: MessageAudience
    recipients: Annotated[int, msgspec.Meta(ge=5)] | None
    fewer_than: Literal[5] | None
    counted_at: Timestamp


class MessageAudience(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Who gets the message: every active member, members with an interest (a topic id from
    /v1/topics; only those whose personalisation consent covers it), members in a county
    (county number, e.g. "03" Oslo), or one member (member_id, only on input; never shown
    back).
    """

    kind: Literal["all", "interest", "county", "member"]
    value: Annotated[str, msgspec.Meta(max_length=64)] | None | UnsetType = UNSET
    member_id: Annotated[str, msgspec.Meta(max_length=64)] | None | UnsetType = UNSET


class MessageFiguresSkipped(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    category_off: Annotated[int, msgspec.Meta(ge=0)]
    no_consent: Annotated[int, msgspec.Meta(ge=0)]
    restricted: Annotated[int, msgspec.Meta(ge=0)]
    not_member: Annotated[int, msgspec.Meta(ge=0)]


class MessageFiguresPush(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    sent: Annotated[int, msgspec.Meta(ge=0)]
    failed: Annotated[int, msgspec.Meta(ge=0)]
    pruned: Annotated[int, msgspec.Meta(ge=0)]
    pending: Annotated[int, msgspec.Meta(ge=0)]


class MessageFigures(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Counts only; no endpoint lists who received a message."""

    audience: Annotated[int, msgspec.Meta(ge=0)]
    processed: Annotated[int, msgspec.Meta(ge=0)]
    eligible: Annotated[int, msgspec.Meta(ge=0)]
    skipped: MessageFiguresSkipped
    inbox: Annotated[int, msgspec.Meta(ge=0)]
    push: MessageFiguresPush
    opened: Annotated[
        Annotated[int, msgspec.Meta(ge=0)] | None,
        msgspec.Meta(
            description=(
                "Inbox items of this message that have been read (null when Firestore "
                "could not count them just now)."
            )
        ),
    ]


class ListMessagesQuery(msgspec.Struct, kw_only=True):
    """The query parameters of listMessages."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] | UnsetType = UNSET
    cursor: str | UnsetType = UNSET
