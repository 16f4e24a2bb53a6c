"""The answers of the devices feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ..core.validation import Timestamp


class Device(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[
        str,
        msgspec.Meta(
            description="Keyed hash of the installation id; use it to unregister.",
            pattern="^[A-Za-z0-9_-]{43}$",
        ),
    ]
    platform: Literal["ios", "android"]
    app_version: str
    locale: Literal["nb", "en"]
    created_at: Annotated[
        Timestamp,
        msgspec.Meta(description="When this installation was registered for this member."),
    ]
    last_seen_at: Annotated[
        Timestamp,
        msgspec.Meta(
            description=(
                "Last registration or refresh; unused for 270 days, the registration is deleted."
            )
        ),
    ]


class DeviceList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[
        list[Device],
        msgspec.Meta(
            description="Most recently seen first; at most 10 per member are kept.", max_length=100
        ),
    ]
