"""Cursor pagination (`limit`, `cursor` in; `next_cursor` out) and query parameters.

A cursor is opaque to the app: base64url of the last item's sort key. It is only ever used
inside a query already restricted to the caller's own rows, so a forged cursor can only skip
within the caller's own data.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .validation import field_error, unstorable

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(key: Any) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def _invalid_cursor():
    return field_error("cursor", "invalid", "Ugyldig cursor.", "Invalid cursor.")


def decode_cursor(cursor: str | None, type_: Any = None) -> Any:
    """The key inside a cursor, or None without one; 422 naming `cursor` when it is not base64
    of JSON, when `type_` (a msgspec type, e.g. `tuple[datetime, uuid.UUID]`) is given and the
    key is not one, or when it holds what no column can (NUL, integers beyond bigint). A forged
    cursor with the right shape and the wrong types never reaches the database."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _invalid_cursor() from None
    if type_ is not None:
        import msgspec

        try:
            value = msgspec.convert(value, type_)
        except msgspec.ValidationError:
            raise _invalid_cursor() from None
    if any(True for _ in unstorable(value)):
        raise _invalid_cursor()
    return value


def limit(query, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    raw = query.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise field_error(
            "limit", "range", f"Må være mellom 1 og {maximum}.", f"Must be between 1 and {maximum}."
        )
    return value


def choice(query, name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
    raw = query.get(name)
    if raw is None:
        return default
    if raw not in allowed:
        raise field_error(
            name,
            "enum",
            f"Må være en av: {', '.join(allowed)}.",
            f"Must be one of: {', '.join(allowed)}.",
        )
    return raw


def page(items: list, size: int, key) -> tuple[list, str | None]:
    """Splits `items` (fetched with size+1) into a page and the next cursor."""
    if len(items) > size:
        return items[:size], encode_cursor(key(items[size - 1]))
    return items, None
