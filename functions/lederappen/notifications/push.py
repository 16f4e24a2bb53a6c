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

`Pushes` is one message's pushes to many devices. They differ only by the token within a
*variant* (language, inbox reference: a message to many has one inbox reference for every
member, inbox.broadcast_item_id), so the SDK builds, validates and encodes each variant once,
with a placeholder token, and each device's request body is that encoding with its token put
in (JSON-escaped). The SDK stays the builder and validator; a token is only ever a string to
it, which is all the substitution needs. Should the placeholder appear anywhere else in the
encoding (an editor who wrote it into a text), that variant is encoded per device instead.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import msgspec

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


#: The token the SDK encodes a variant with; replaced by each device's token.
_PLACEHOLDER = "lederappen-token-placeholder"
_QUOTED_PLACEHOLDER = msgspec.json.encode(_PLACEHOLDER)


class Pushes:
    """One message's pushes: built and encoded by the SDK once per variant (module docstring).

    `request(token, locale, inbox_item)` is the HTTP body of one send (`{"message": ...}`,
    JSON bytes), `message(...)` the same push as a `messaging.Message` (for the SDK's own
    transport). A variant the SDK refuses to encode comes back from `request` as its
    `messaging.Message`, which the sender's transport then refuses the same way (recorded
    `failed`, INVALID_MESSAGE, nothing sent)."""

    __slots__ = ("_message", "_variants")

    def __init__(self, message: Message):
        self._message = message
        self._variants: dict[tuple[str, str | None], tuple[bytes, bytes] | None] = {}

    def message(self, token: str, locale: str | None, inbox_item: str | None) -> Any:
        return fcm_message(self._message, token, locale, inbox_item)

    def _encode(self, token: str, locale: str | None, inbox_item: str | None) -> bytes:
        try:
            return msgspec.json.encode(
                {"message": encoded(self.message(token, locale, inbox_item))}
            )
        except (TypeError, msgspec.EncodeError) as exc:  # e.g. an object in custom data
            raise ValueError("the message cannot be encoded as JSON") from exc

    def request(self, token: str, locale: str | None, inbox_item: str | None) -> bytes | Any:
        key = (language(locale), inbox_item)
        try:
            parts = self._variants[key]
        except KeyError:
            try:
                body = self._encode(_PLACEHOLDER, locale, inbox_item)
            except ValueError:
                body = b""
            head, _, tail = body.partition(_QUOTED_PLACEHOLDER)
            parts = self._variants[key] = (
                (head, tail) if body.count(_QUOTED_PLACEHOLDER) == 1 else None
            )
        if parts is None or not isinstance(token, str) or not token:
            try:  # per device: the SDK's own encoding, or its refusal at the send
                return self._encode(token, locale, inbox_item)
            except ValueError:
                return self.message(token, locale, inbox_item)
        return parts[0] + msgspec.json.encode(token) + parts[1]
