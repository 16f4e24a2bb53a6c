"""The answers of the profile feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..core.validation import Timestamp


class Address(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    street: str | None | UnsetType = UNSET
    postal_code: str | None | UnsetType = UNSET
    city: str | None | UnsetType = UNSET
    county: str | None | UnsetType = UNSET


class Employer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str | None | UnsetType = UNSET
    org_number: str | None | UnsetType = UNSET


class Membership(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: Literal["active", "ended"] | None | UnsetType = UNSET
    member_since: datetime.date | None | UnsetType = UNSET
    ended_on: datetime.date | None | UnsetType = UNSET
    category: str | None | UnsetType = UNSET


class Profile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Read live from the member register; fødselsnummer is never passed on."""

    member_id: str
    given_name: str | None
    family_name: str | None
    email: str | None
    phone: str | None
    address: Address | None
    employer: Employer | None
    position: str | None
    membership: Membership | None
    processing_restricted: Annotated[
        bool, msgspec.Meta(description="True while the member's processing is restricted (R3).")
    ]
    source: str
    retrieved_at: Timestamp


class ProfilePatchAddress(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The postal address, replaced as a whole; the register sets the county from the postal
    code.
    """

    street: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, msgspec.Meta(examples=["0184"], pattern="^\\s*[0-9]{4}\\s*$")]
    city: Annotated[str, msgspec.Meta(description="The post town.", min_length=1, max_length=60)]


class ProfilePatchEmployer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The employer, replaced as a whole (absent org_number: none)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=150)]
    org_number: (
        Annotated[
            Annotated[str, msgspec.Meta(examples=["923609016"])] | None,
            msgspec.Meta(
                description=("Nine digits (spaces allowed) with a valid modulus-11 check digit.")
            ),
        ]
        | UnsetType
    ) = UNSET


class ProfilePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The fields to change (R2); absent fields stay as they are."""

    openapi_extra = {"minProperties": 1}

    email: (
        Annotated[
            str,
            msgspec.Meta(
                description=(
                    "Checked for syntax (no DNS query) and normalised; the local part in ASCII."
                ),
                examples=["kari.nordmann@example.no"],
                max_length=254,
            ),
        ]
        | UnsetType
    ) = UNSET
    phone: (
        Annotated[
            str,
            msgspec.Meta(
                description=(
                    "Norwegian without a country code, or any valid number with one; "
                    "answered in E.164."
                ),
                examples=["912 34 567", "+46 70 123 45 67"],
                max_length=40,
            ),
        ]
        | UnsetType
    ) = UNSET
    position: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | UnsetType = UNSET
    address: (
        Annotated[
            ProfilePatchAddress,
            msgspec.Meta(
                description=(
                    "The postal address, replaced as a whole; the register sets the county "
                    "from the postal code."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    employer: (
        Annotated[
            ProfilePatchEmployer,
            msgspec.Meta(
                description="The employer, replaced as a whole (absent org_number: none)."
            ),
        ]
        | UnsetType
    ) = UNSET


class ProfilePhoto(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What was stored in the member register: the cleaned, re-encoded photo."""

    content_type: Literal["image/jpeg"]
    width: Annotated[int, msgspec.Meta(ge=1, le=1024)]
    height: Annotated[int, msgspec.Meta(ge=1, le=1024)]
    bytes: Annotated[int, msgspec.Meta(ge=1)]
