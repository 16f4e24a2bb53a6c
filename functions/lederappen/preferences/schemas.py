"""The answers of the preferences feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..core.validation import Timestamp


class Preferences(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    language: Literal["nb", "en"] | None
    notification_categories: Annotated[
        list[
            Literal["course_reminders", "news", "survey_invitations", "mentor_updates", "marketing"]
        ]
        | None,
        msgspec.Meta(description="null: the defaults."),
    ]
    notification_channels: list[Literal["push", "email", "inbox"]] | None
    effective_notification_categories: list[
        Literal["course_reminders", "news", "survey_invitations", "mentor_updates", "marketing"]
    ]
    effective_notification_channels: list[Literal["push", "email", "inbox"]]
    interests: Annotated[list[str], msgspec.Meta(description="Topic ids from GET /v1/topics.")]
    personalisation_active: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "Interests are used only while the personalisation consent covers the "
                "terms in force and processing is not restricted."
            )
        ),
    ]
    updated_at: Timestamp | None
    version: int
