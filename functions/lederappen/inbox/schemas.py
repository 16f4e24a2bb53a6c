"""The answers of the inbox feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from ..core.schemas import InboxCategory, Localised
from ..core.validation import Timestamp


class InboxItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9_-]{43}$")]
    message_id: Annotated[
        str,
        msgspec.Meta(
            description=("The message this item delivers (the same for every recipient).")
        ),
    ]
    category: InboxCategory
    title: Localised
    body: Localised
    deep_link: Annotated[
        str | None,
        msgspec.Meta(
            description=("Where in the app (lederappen://...) or on lederne.no the message leads.")
        ),
    ]
    sensitive: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "True: the push notification showed only a neutral text; the content is read here."
            )
        ),
    ]
    created_at: Timestamp
    read_at: Annotated[
        Timestamp | None,
        msgspec.Meta(description="When the member first marked it read; null while unread."),
    ]


class InboxPage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[InboxItem]
    next_cursor: str | None
    unread_count: Annotated[
        int, msgspec.Meta(description="Unread items in the whole inbox (not only this page).", ge=0)
    ]


class ListInboxQuery(msgspec.Struct, kw_only=True):
    """The query parameters of listInbox."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    cursor: (
        Annotated[str, msgspec.Meta(description="next_cursor from the previous page.")] | UnsetType
    ) = UNSET
