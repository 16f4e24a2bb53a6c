"""The answers of the privacy feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ..core import datamap
from ..core.schemas import Localised
from ..core.validation import Timestamp


class AdminAuditTrailItemsItem(msgspec.Struct, kw_only=True):
    at: str | None
    actor_kind: str
    actor: str | None
    category: str
    action: str
    purpose: str
    meaning: dict[str, Any]


class AdminAuditTrail(msgspec.Struct, kw_only=True):
    member_id: str
    items: list[AdminAuditTrailItemsItem]
    total: Annotated[int, msgspec.Meta(ge=0)]
    next_cursor: str | None


class AdminPrivacyRequestReceipt(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    categories: list[str]
    counts: dict[str, int]


class AdminPrivacyRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
    kind: Literal["erasure", "restriction", "lift_restriction"]
    status: Literal["received", "rejected", "queued", "running", "failed", "done"]
    reason: str | None
    rejection_reason: str | None
    received_at: Timestamp
    decided_at: Timestamp | None
    finished_at: Timestamp | None
    member_id: Annotated[str | None, msgspec.Meta(description="Cleared once an erasure has run.")]
    origin: Literal["member", "membership_end"]
    decided_by: str | None
    started_at: Timestamp | None
    attempts: int
    last_error: Annotated[str | None, msgspec.Meta(description="An error class, never data.")]
    receipt: Annotated[
        AdminPrivacyRequestReceipt | None,
        msgspec.Meta(description="The proof of erasure: no personal data."),
    ]


class AdminPrivacyRequestList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[AdminPrivacyRequest]
    next_cursor: str | None


class MembershipEndOutcome(msgspec.Struct, kw_only=True):
    run: MembershipEndRun
    finished: Annotated[
        bool, msgspec.Meta(description="False: the time budget ran out; the next call resumes.")
    ]
    resumed: bool


class MembershipEndPreviewWouldForgetItem(msgspec.Struct, kw_only=True):
    member_id: str
    reason: Literal["membership_ended", "unknown_to_register"]
    held_in: Annotated[
        list[str], msgspec.Meta(description="The stores of the data map holding the member's key.")
    ]


class MembershipEndPreview(msgspec.Struct, kw_only=True):
    checked: int
    active: int
    ended: int
    unknown: int
    would_forget: list[MembershipEndPreviewWouldForgetItem]
    next_cursor: str | None


class MembershipEndRun(msgspec.Struct, kw_only=True):
    """A run of the membership-end job: figures only (never a member)."""

    id: Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
    trigger: Literal["schedule", "staff"]
    started_by: str
    started_at: Timestamp
    finished_at: Timestamp | None
    checked: Annotated[int, msgspec.Meta(description="Member keys compared with the register.")]
    ended: Annotated[
        int, msgspec.Meta(description="Keys whose membership the register says has ended.")
    ]
    unknown: Annotated[int, msgspec.Meta(description="Keys the register does not know.")]
    queued: Annotated[int, msgspec.Meta(description="Erasure requests queued by this run.")]
    batches: int


class MembershipEndRunList(msgspec.Struct, kw_only=True):
    items: list[MembershipEndRun]


class PrivacyAccess(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Everything stored about the member (R1): the profile read live from the member register,
    then every store of the data map in its order, each labelled with where it is kept,
    category, purpose, legal basis and retention.
    """

    member_id: str
    generated_at: Timestamp
    limit: Annotated[int, msgspec.Meta(description="Items per section at most.", ge=1, le=100)]
    notice: Localised
    sections: list[PrivacySection]


class PrivacyExportController(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    address: str
    email: str
    phone: str


class PrivacyExport(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Data portability (R6, GDPR Art. 20): the data the member gave (stores marked
    provided_by_member in the data map), without values the backend derived. Format
    `no.lederne.lederappen.member-export`, version 1: a new version is published when a
    field changes meaning or goes away; new fields and sections may appear within a version.
    """

    format: Literal["no.lederne.lederappen.member-export"]
    format_version: Literal[1]
    schema: Annotated[
        str, msgspec.Meta(description="Where this format is described (this schema).")
    ]
    generated_at: Timestamp
    member_id: str
    controller: PrivacyExportController
    description: Localised
    sections: list[PrivacyExportSection]


class PrivacyExportField(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    description: Localised


class PrivacyExportSection(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    store: str
    title: Localised
    category: str
    purpose: Localised
    legal_basis: str
    retention: Localised
    fields: list[PrivacyExportField]
    items: Annotated[
        list[dict[str, Any]],
        msgspec.Meta(
            description=(
                "Each item holds exactly the section's `fields`: timestamps RFC 3339 in"
                " UTC, money integer NOK, codes as the API uses them."
            )
        ),
    ]
    total: Annotated[int, msgspec.Meta(ge=0)]
    truncated: Annotated[
        bool,
        msgspec.Meta(
            description=("True only if a store held more than the export reads (10,000 rows).")
        ),
    ]


class PrivacyField(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One column (SQL), field (Firestore) or payload field (Pub/Sub) of a store, and what it
    means.
    """

    name: Annotated[str, msgspec.Meta(description="The key of this value in each item.")]
    description: Localised
    derived: Annotated[
        bool,
        msgspec.Meta(
            description=(
                "Computed by the backend (a score, a band, a hash), not given by the "
                "member: shown in access, left out of the portable export."
            )
        ),
    ]


class PrivacyRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[str, msgspec.Meta(extra_json_schema={"format": "uuid"})]
    kind: Literal["erasure", "restriction", "lift_restriction"]
    status: Literal["received", "rejected", "queued", "running", "failed", "done"]
    reason: str | None
    rejection_reason: str | None
    received_at: Timestamp
    decided_at: Timestamp | None
    finished_at: Timestamp | None


class PrivacyRequestList(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    items: list[PrivacyRequest]


class PrivacySection(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What one store holds about the member, labelled from the data map
    (lederappen.core.datamap).
    """

    store: Annotated[
        str,
        msgspec.Meta(
            description=("The table, collection or topic (`member_register` for the profile).")
        ),
    ]
    kind: Annotated[
        Literal["register", "sql", "firestore", "pubsub", "logging", "backup"],
        msgspec.Meta(
            description=(
                "register: read live from the member register, never stored; sql: Cloud"
                " SQL for PostgreSQL; firestore: Firestore; pubsub: messages in "
                "transit; logging: Cloud Logging; backup: Cloud SQL backups and point-"
                "in-time recovery (described, cannot be listed per member)."
            )
        ),
    ]
    source: Localised
    title: Localised
    category: str
    purpose: Localised
    legal_basis: str
    retention: Localised
    retention_days: Annotated[
        int | None,
        msgspec.Meta(
            description=(
                "The longest time kept, in days; null when it is kept while a stated "
                "condition holds (or not stored)."
            )
        ),
    ]
    readers: Annotated[list[Localised], msgspec.Meta(description="Who can read it.")]
    provided_by_member: Annotated[
        bool, msgspec.Meta(description="Part of the portable export (GET /v1/privacy/export).")
    ]
    fields: list[PrivacyField]
    items: Annotated[
        list[dict[str, Any]],
        msgspec.Meta(
            description=(
                "Newest first, at most `limit`; each holds the section's `fields`. In a"
                " row about two members the other member's number is replaced by "
                "`your_role`."
            )
        ),
    ]
    total: Annotated[
        Annotated[int, msgspec.Meta(ge=0)] | None,
        msgspec.Meta(
            description=(
                "How many the store holds about the member; null for messages in "
                "transit, which cannot be counted."
            )
        ),
    ]
    truncated: Annotated[bool, msgspec.Meta(description="More items exist than are shown.")]
    next_cursor: Annotated[
        str | None,
        msgspec.Meta(
            description=("Pass as `cursor` with `store` for the next page of this store.")
        ),
    ]
    note: Localised | None
    erased_after: (
        Annotated[
            Localised | None,
            msgspec.Meta(
                description=("Logs and backups: when data of an erased member has left this store.")
            ),
        ]
        | UnsetType
    ) = UNSET


class ProcessingActivityAlsoNamesMembersItem(
    msgspec.Struct, kw_only=True, forbid_unknown_fields=True
):
    column: str
    description: Localised
    erasure: Localised


class ProcessingActivity(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    store: str
    kind: Literal["register", "sql", "firestore", "pubsub", "logging", "backup"]
    stored: Annotated[
        bool, msgspec.Meta(description="False for data read live and passed through (the profile).")
    ]
    title: Localised
    source: Localised
    category: str
    purpose: Localised
    legal_basis: str
    retention: Localised
    retention_days: int | None
    recipients: list[Localised]
    provided_by_member: bool
    member_keys: list[str]
    pseudonymised: bool
    erasure: Localised
    data: list[PrivacyField]
    also_names_members: (
        Annotated[
            list[ProcessingActivityAlsoNamesMembersItem],
            msgspec.Meta(
                description=(
                    "Columns that can name a member besides the member key (an actor, a "
                    "payload), and what erasure does to them."
                )
            ),
        ]
        | UnsetType
    ) = UNSET
    retention_set_by: (
        Annotated[
            str | None,
            msgspec.Meta(
                description=("Logs and backups: the Terraform variable that sets the retention.")
            ),
        ]
        | UnsetType
    ) = UNSET


class ProcessingRecordDataProtectionOfficer(msgspec.Struct, kw_only=True):
    email: str


class ProcessingRecordProcessorsItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    role: Localised


class ProcessingRecord(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The record of processing activities (GDPR Art. 30), generated at request time from the
    data map. Holds no personal data.
    """

    title: Localised
    format_version: Literal[1]
    generated_at: Timestamp
    generated_from: str
    controller: dict[str, Any]
    data_protection_officer: ProcessingRecordDataProtectionOfficer
    data_subjects: Localised
    processors: list[ProcessingRecordProcessorsItem]
    transfers: Localised
    security_measures: list[Localised]
    activities: list[ProcessingActivity]


class VoluntaryDataDeleted(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    deleted: Annotated[dict[str, int], msgspec.Meta(description="Items deleted per store.")]


#: The stores the access answer pages through: every store of the data map (core/datamap.py)
#: that holds data of the member here, not in transit or outside.
if TYPE_CHECKING:  # a Literal made at run time is no type to mypy
    PageableStore = str
else:
    PageableStore = Literal[
        tuple(
            s.name
            for s in (*datamap.STORES, *datamap.views())
            if s.export not in ("in_transit", "outside")
        )
    ]


class GetPrivacyAccessQuery(msgspec.Struct, kw_only=True):
    """The query parameters of getPrivacyAccess."""

    store: (
        Annotated[
            PageableStore,
            msgspec.Meta(description="Only this store's section (to page on with `cursor`)."),
        ]
        | UnsetType
    ) = UNSET
    cursor: (
        Annotated[str, msgspec.Meta(description="next_cursor from the previous page.")] | UnsetType
    ) = UNSET
    limit: Annotated[int, msgspec.Meta(description="Items per section.", ge=1, le=100)] = 100


class ListAdminPrivacyRequestsQuery(msgspec.Struct, kw_only=True):
    """The query parameters of listAdminPrivacyRequests."""

    status: Literal["received", "rejected", "queued", "running", "failed", "done"] | UnsetType = (
        UNSET
    )
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
    cursor: (
        Annotated[str, msgspec.Meta(description="next_cursor from the previous page.")] | UnsetType
    ) = UNSET


class PreviewMembershipEndQuery(msgspec.Struct, kw_only=True):
    """The query parameters of previewMembershipEnd."""

    limit: Annotated[
        int,
        msgspec.Meta(
            description="Member keys per page (one batch of the job at most).", ge=1, le=1000
        ),
    ] = 200
    cursor: (
        Annotated[str, msgspec.Meta(description="next_cursor from the previous page.")] | UnsetType
    ) = UNSET


class ListMembershipEndRunsQuery(msgspec.Struct, kw_only=True):
    """The query parameters of listMembershipEndRuns."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20
