"""Types several features answer with (shared parts of their routes' answers), as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

import enum

import msgspec


class InboxCategory(enum.StrEnum):
    """The notification category (the same as in the preferences). A direct message to one
    member carries the category of what it is about.
    """

    course_reminders = "course_reminders"
    news = "news"
    survey_invitations = "survey_invitations"
    mentor_updates = "mentor_updates"
    marketing = "marketing"


class Localised(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    nb: str
    en: str
