"""The shape of a message to members, validated once where it enters (editor API, Pub/Sub).

A message carries its text in both languages, a category the member can switch off in the
preferences (F8), an optional deep link into the app, and `sensitive`: a sensitive message's
push shows only a neutral text and an inbox reference, its content is read in the inbox
behind login (special-category data, GDPR Art. 9).

The category is one of the preference categories on purpose: "direct" is an audience (one
member), not a kind of content, so a direct message ("your mentor accepted") carries the
category of what it is about (`mentor_updates`) and the member's choice for that category
still applies. A separate "direct" category would be one nobody could switch off.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

#: The preference categories (lederappen.preferences.service.NOTIFICATION_CATEGORIES; a unit
#: test keeps the two equal without importing the preferences feature here).
Category = Literal["course_reminders", "news", "survey_invitations", "mentor_updates", "marketing"]
CATEGORIES: tuple[str, ...] = (
    "course_reminders",
    "news",
    "survey_invitations",
    "mentor_updates",
    "marketing",
)

MAX_TITLE_CHARS = 120
MAX_BODY_CHARS = 4000
MAX_DEEP_LINK_CHARS = 500

MessageId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
TitleText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE_CHARS)]
BodyText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_BODY_CHARS)]
#: Into the app (lederappen://...) or to Lederne's own site; nothing else.
DeepLink = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_DEEP_LINK_CHARS,
        pattern=r"^(lederappen://[A-Za-z0-9/_.?=&%-]+|https://([a-z0-9-]+\.)*lederne\.no(/\S*)?)$",
    ),
]


class Title(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    nb: TitleText
    en: TitleText


class Text(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    nb: BodyText
    en: BodyText


class Message(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """One message as it lands in each recipient's inbox."""

    message_id: MessageId
    category: Category
    title: Title
    body: Text
    deep_link: DeepLink | None = None
    sensitive: bool = False


def parse(value: dict | bytes | Message) -> Message:
    """A Message from a dict (or JSON bytes); msgspec.ValidationError names the bad field."""
    if isinstance(value, Message):
        return value
    if isinstance(value, (bytes, bytearray)):
        return msgspec.json.decode(value, type=Message)
    return msgspec.convert(value, Message)
