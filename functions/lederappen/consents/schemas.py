"""The answers of the consents feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..core.schemas import Localised
from ..core.validation import Timestamp


class ConsentEvent(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: int
    purpose: Purpose
    action: Literal["given", "withdrawn"]
    terms_version: int
    text_hash: str
    locale: Literal["nb", "en"]
    channel: Literal["app", "web", "member_service"]
    app_version: str | None
    occurred_at: Timestamp


class ConsentHistory(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[ConsentEvent]
    next_cursor: str | None


class ConsentState(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    purpose: Purpose
    status: Literal["given", "withdrawn", "never"]
    covered: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "True when the purpose may be processed now: given, for the terms in force."
            )
        ),
    ]
    needs_reconsent: Annotated[
        bool,
        msgspec.Meta(
            description=("Given earlier, but the terms changed materially since: ask again.")
        ),
    ]
    accepted_version: int | None
    since: Timestamp | None
    current_terms: Terms
    pending_change: (
        Annotated[
            PendingTermsChange | None,
            msgspec.Meta(
                description=("In GET /v1/consents: the change to come, if one is published (R8).")
            ),
        ]
        | UnsetType
    ) = UNSET


class Consents(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    consents: list[ConsentState]
    newsletter_sync: NewsletterSync | None


class NewsletterSync(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    subscribed: bool
    terms_version: int
    requested_at: Timestamp
    confirmed: Annotated[
        bool,
        msgspec.Meta(
            description=("Whether the newsletter system has confirmed the latest change.")
        ),
    ]
    confirmed_at: Timestamp | None


class PendingTermsChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A version published but not yet in force: what changes, from when. Consent can be given
    to it ahead (send its version and text_hash).
    """

    purpose: Purpose
    version: Annotated[int, msgspec.Meta(ge=1)]
    title: Localised
    text: Localised
    changes: Localised | None
    text_hash: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]
    material: bool
    effective_from: Timestamp
    consent_again_by: Annotated[
        Timestamp | None,
        msgspec.Meta(
            description=(
                "Set when the member's consent stops counting at effective_from unless "
                "they accept this version."
            )
        ),
    ]


class Purpose(enum.StrEnum):
    newsletter = "newsletter"
    marketing = "marketing"
    personalisation = "personalisation"
    mentor_contact_sharing = "mentor_contact_sharing"


class Terms(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    purpose: Purpose
    version: Annotated[int, msgspec.Meta(ge=1)]
    title: Localised
    text: Localised
    changes: Annotated[
        Localised | None, msgspec.Meta(description="What changed from the previous version.")
    ]
    text_hash: Annotated[
        str,
        msgspec.Meta(
            description=(
                "sha256 of the texts; send it back when giving consent as proof of what was shown."
            ),
            pattern="^[0-9a-f]{64}$",
        ),
    ]
    material: Annotated[
        bool, msgspec.Meta(description="A material change needs a new consent (R8).")
    ]
    effective_from: Timestamp
    published_at: (
        Annotated[Timestamp, msgspec.Meta(description="In the public list of changes only.")]
        | UnsetType
    ) = UNSET
    notified: (
        Annotated[
            int,
            msgspec.Meta(
                description=(
                    "When publishing: how many members are told (a material change: those "
                    "whose consent it affects; the terms-notice function sends the notices "
                    "right after)."
                ),
                ge=0,
            ),
        ]
        | UnsetType
    ) = UNSET


class GetConsentHistoryQuery(msgspec.Struct, kw_only=True):
    """The query parameters of getConsentHistory."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    cursor: (
        Annotated[str, msgspec.Meta(description="next_cursor from the previous page.")] | UnsetType
    ) = UNSET


class TermsInForce(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    terms: list[Terms]


class TermsChangeList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[Terms]


class ListNonMaterialTermsChangesQuery(msgspec.Struct, kw_only=True):
    """The query parameters of listNonMaterialTermsChanges."""

    purpose: Purpose | UnsetType = UNSET


class TermsList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[Terms]


class ListTermsQuery(msgspec.Struct, kw_only=True):
    """The query parameters of listTerms."""

    purpose: Purpose | UnsetType = UNSET
