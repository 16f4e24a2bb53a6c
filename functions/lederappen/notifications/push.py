"""The FCM v1 message for one device: what may show on a lock screen, and nothing more.

Union membership is special-category data (GDPR Art. 9), and a phone's lock screen is read by
whoever holds the phone. So:

* The text is the editor's text, the same for every recipient: no message is ever
  personalised with a name, a salary figure or anything else about the member.
* A *sensitive* message (every direct message, and whatever the editor marks) shows only a
  neutral text ("Du har en ny melding i Lederappen") and carries only a reference to the
  inbox item; its content is read in the inbox, behind login.
* The push carries a preview of the body (the first PREVIEW_CHARS characters, cut at a word):
  the whole text is in the inbox. This also keeps every push far below FCM's 4096-byte limit,
  which `check_size()` verifies for the longest message an editor can write.
* Android notifications are `PRIVATE` (a secure lock screen shows that a notification came,
  not its text); the collapse key / `apns-collapse-id` is the message id, so should a device
  ever get a message twice, it shows once.
* No per-member FCM topics: every push goes to one registration token.
"""

from __future__ import annotations

import json
from typing import Any

from .message import Message

#: FCM's limit on a message's notification + data payload.
MAX_PAYLOAD_BYTES = 4096
PREVIEW_CHARS = 240

NEUTRAL_TITLE = {"nb": "Lederne", "en": "Lederne"}
NEUTRAL_BODY = {"nb": "Du har en ny melding i Lederappen.",
                "en": "You have a new message in Lederappen."}


def language(locale: str | None) -> str:
    return "en" if (locale or "").lower().startswith("en") else "nb"


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The text, or its first `limit` characters cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def inbox_link(item_id: str) -> str:
    return f"lederappen://inbox/{item_id}"


def fcm_message(message: Message, token: str, locale: str | None,
                inbox_item: str | None) -> dict[str, Any]:
    """The `message` object of an FCM v1 send to one device."""
    lang = language(locale)
    if message.sensitive:
        title, body = NEUTRAL_TITLE[lang], NEUTRAL_BODY[lang]
        link = inbox_link(inbox_item) if inbox_item else "lederappen://inbox"
    else:
        title = getattr(message.title, lang)
        body = preview(getattr(message.body, lang))
        link = message.deep_link or (inbox_link(inbox_item) if inbox_item else "lederappen://inbox")
    data = {"message_id": message.message_id, "category": message.category, "link": link}
    if inbox_item:
        data["inbox_item"] = inbox_item
    collapse = message.message_id[:64]
    return {
        "token": token,
        "notification": {"title": title, "body": body},
        "data": data,
        "android": {
            "collapse_key": collapse,
            "priority": "normal",
            "notification": {"visibility": "PRIVATE", "tag": collapse},
        },
        "apns": {
            "headers": {"apns-collapse-id": collapse, "apns-priority": "5"},
            "payload": {"aps": {"thread-id": message.category}},
        },
    }


def _compact_len(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def payload_bytes(fcm: dict[str, Any]) -> int:
    """The size FCM counts against its limit (notification, data and the platform payloads)."""
    size = _compact_len(fcm.get("notification") or {}) + _compact_len(fcm.get("data") or {})
    android = fcm.get("android") or {}
    for part in ("notification", "data"):
        if android.get(part) is not None:
            size += _compact_len(android[part])
    apns = fcm.get("apns") or {}
    if apns.get("payload") is not None:
        size += _compact_len(apns["payload"])
    return size


def largest_payload(message: Message) -> int:
    """The largest push this message can make (either language, a full-length inbox id)."""
    worst = "x" * 43
    return max(payload_bytes(fcm_message(message, worst, locale, worst))
               for locale in ("nb", "en"))


def fits(message: Message) -> bool:
    return largest_payload(message) <= MAX_PAYLOAD_BYTES
