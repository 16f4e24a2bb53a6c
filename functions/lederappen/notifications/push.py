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

`wire()` is the push as FCM receives it (a plain dict: the size check and the tests read it
without importing the SDK); `fcm_message()` is the same push as a firebase-admin
`messaging.Message`, which the sender hands to the SDK. The SDK encodes the one into exactly
the other (tests/unit/test_push_payload.py checks it), so what is checked is what is sent.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

from .message import Message

#: FCM's limit on a message's notification + data payload.
MAX_PAYLOAD_BYTES = 4096
PREVIEW_CHARS = 240

NEUTRAL_TITLE = {"nb": "Lederne", "en": "Lederne"}
NEUTRAL_BODY = {
    "nb": "Du har en ny melding i Lederappen.",
    "en": "You have a new message in Lederappen.",
}


def language(locale: str | None) -> str:
    return "en" if (locale or "").lower().startswith("en") else "nb"


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The text, or its first `limit` characters cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def inbox_link(item_id: str) -> str:
    return f"lederappen://inbox/{item_id}"


def wire(
    message: Message, token: str, locale: str | None, inbox_item: str | None
) -> dict[str, Any]:
    """The `message` object of an FCM v1 send to one device, as FCM receives it."""
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


_messaging: Any = None


def _sdk() -> Any:
    """firebase_admin.messaging, imported on first use (only the sending function pays)."""
    global _messaging
    if _messaging is None:
        from firebase_admin import messaging

        # The app registers FCM registration tokens; firebase-admin 7.x deprecates
        # Message.token in favour of installation ids (fid), which it still sends as is.
        warnings.filterwarnings(
            "ignore", message="Message.token is deprecated", category=DeprecationWarning
        )
        _messaging = messaging
    return _messaging


def fcm_message(message: Message, token: str, locale: str | None, inbox_item: str | None) -> Any:
    """The push to one device as a firebase-admin `messaging.Message` (see `wire`)."""
    m = _sdk()
    w = wire(message, token, locale, inbox_item)
    android, apns = w["android"], w["apns"]
    return m.Message(
        token=token,
        notification=m.Notification(**w["notification"]),
        data=w["data"],
        android=m.AndroidConfig(
            collapse_key=android["collapse_key"],
            priority=android["priority"],
            notification=m.AndroidNotification(
                visibility=android["notification"]["visibility"].lower(),
                tag=android["notification"]["tag"],
            ),
        ),
        apns=m.APNSConfig(
            headers=apns["headers"],
            payload=m.APNSPayload(aps=m.Aps(thread_id=apns["payload"]["aps"]["thread-id"])),
        ),
    )


def encoded(sdk_message: Any) -> dict[str, Any]:
    """What the SDK sends for a `messaging.Message` (its own encoder; raises ValueError for
    what it refuses)."""
    from firebase_admin import _messaging_encoder

    return _messaging_encoder.MessageEncoder().default(sdk_message)


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
    return max(payload_bytes(wire(message, worst, locale, worst)) for locale in ("nb", "en"))


def fits(message: Message) -> bool:
    return largest_payload(message) <= MAX_PAYLOAD_BYTES
