"""The privacy officer's side of requests (R3): list, read, approve, reject with a reason.

Staff role `privacy_officer`. The officer needs the member number to handle a request (to
answer the member, or to check the register), so it is shown until an erasure has run; each
read of requests appends an audit entry per member concerned (S2). Approving queues the
deletion job in the same transaction; rejecting requires a reason, which the member sees.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import msgspec

from ..core import audit, db, outbox, pagination, tombstones
from ..core.db import Cursor
from ..core.http import Api, Reply, Request
from ..core.problems import NotFound
from ..core.validation import Body, field_error
from . import requests
from .schemas import (
    AdminAuditTrail,
    AdminPrivacyRequest,
    AdminPrivacyRequestList,
    ListAdminPrivacyRequestsQuery,
    ListMembershipEndRunsQuery,
    MembershipEndOutcome,
    MembershipEndPreview,
    MembershipEndRunList,
    PreviewMembershipEndQuery,
)

api = Api()
_NO_STORE = {"Cache-Control": "no-store"}
STATUSES = ("received", "rejected", "queued", "running", "failed", "done")


def _now() -> datetime:
    return datetime.now(UTC)


def _audit(cur: Cursor, request: Request, rows: list[requests.PrivacyRequest], action: str) -> None:
    """One entry per member concerned; none for a member erased since their request came
    (an erasure in its last step still shows its member number, and an entry written then
    would outlive the erasure of the member's audit trail)."""
    named = [(r.member_id, r.received_at) for r in rows if r.member_id]
    erased = tombstones.erasures(cur, [m for m, _ in named])
    members = [m for m, received in named if m not in erased or erased[m] < received]
    audit.record_many(
        cur,
        members,
        actor_kind="staff",
        actor=request.caller.subject,
        category="privacy_rights",
        action=action,
        purpose="handling_data_subject_request",
        at=_now(),
    )


@api.get(
    "/v1/admin/privacy-requests",
    operation_id="listAdminPrivacyRequests",
    summary="Privacy officer: requests, newest first, optionally by status.",
    response=AdminPrivacyRequestList,
    returns="Requests",
    errors=(
        422,
        503,
    ),
    query=ListAdminPrivacyRequestsQuery,
)
def list_requests(request: Request) -> Reply:
    """Needs a staff token with role `privacy_officer`. Each read is audited."""
    status = pagination.choice(request.query, "status", STATUSES)
    size = pagination.limit(request.query)
    after = pagination.decode_cursor(request.query.get("cursor"), tuple[datetime, uuid.UUID])

    def work(cur: Cursor):
        rows = requests.list_for_staff(
            cur, status, size + 1, (after[0], str(after[1])) if after else None
        )
        _audit(cur, request, rows[:size], "listed")
        return rows

    rows = db.transaction(work)
    items, cursor = pagination.page(
        rows, size, lambda r: [r.received_at.astimezone(UTC).isoformat(), str(r.id)]
    )
    return Reply(
        {"items": [requests.staff_view(r) for r in items], "next_cursor": cursor}, headers=_NO_STORE
    )


@api.get(
    "/v1/admin/privacy-requests/{request_id}",
    operation_id="getAdminPrivacyRequest",
    summary="Privacy officer: one request (the receipt once an erasure is done).",
    response=AdminPrivacyRequest,
    returns="The request",
    errors=(503,),
)
def get_request(request: Request) -> Reply:
    """Needs a staff token with role `privacy_officer`. Each read is audited."""

    def work(cur: Cursor):
        r = requests.load(cur, request.params["request_id"])
        if r is None:
            raise NotFound({"nb": "Fant ikke henvendelsen.", "en": "No such request."})
        _audit(cur, request, [r], "read")
        return r

    return Reply(requests.staff_view(db.transaction(work)), headers=_NO_STORE)


class Rejection(Body):
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


def _decide(request: Request, approve: bool, reason: str | None) -> Reply:
    assert request.principal is not None

    def work(cur: Cursor):
        # before decide() locks the request row: an erasure takes the same two in this order
        tombstones.hold(cur)
        r, ids = requests.decide(
            cur,
            request.params["request_id"],
            approve=approve,
            staff=request.caller.subject,
            reason=reason,
            now=_now(),
        )
        _audit(cur, request, [r], "approved" if approve else "rejected")
        return r, ids

    r, ids = db.transaction(work)
    outbox.flush(request.settings.google_cloud_project, ids)
    return Reply(requests.staff_view(r), headers=_NO_STORE)


@api.post(
    "/v1/admin/privacy-requests/{request_id}/approve",
    operation_id="approvePrivacyRequest",
    summary="Privacy officer: approve; the job is queued in the same transaction.",
    response=AdminPrivacyRequest,
    returns="The request",
    errors=(
        409,
        503,
    ),
)
def approve(request: Request) -> Reply:
    """Needs a staff token with role `privacy_officer`. Each read is audited."""
    return _decide(request, True, None)


@api.post(
    "/v1/admin/privacy-requests/{request_id}/reject",
    body=Rejection,
    operation_id="rejectPrivacyRequest",
    summary="Privacy officer: reject with a reason the member sees.",
    response=AdminPrivacyRequest,
    returns="The request",
    errors=(
        409,
        503,
    ),
)
def reject(request: Request) -> Reply:
    """Needs a staff token with role `privacy_officer`. Each read is audited."""
    reason = request.body.reason.strip()
    if not reason:
        raise field_error("reason", "required", "Oppgi en begrunnelse.", "Give a reason.")
    return _decide(request, False, reason)


# -- the audit trail of one member (S2) ---------------------------------------------------------


class TrailQuery(Body):
    """Whose trail (a POST body, so the member number stays out of URLs and request logs)."""

    member_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    limit: Annotated[int, msgspec.Meta(ge=1, le=pagination.MAX_LIMIT)] = pagination.DEFAULT_LIMIT
    cursor: str | None = None


@api.post(
    "/v1/admin/privacy/audit-trail",
    body=TrailQuery,
    operation_id="getAdminAuditTrail",
    summary="Privacy officer: the audit trail of one member, found by member number, newest first.",
    response=AdminAuditTrail,
    returns="The member's audit entries",
    errors=(503,),
)
def audit_trail(request: Request) -> Reply:
    """Needs a staff token with role `privacy_officer`. A POST so that the member number stays
    out of URLs (and so out of load-balancer and proxy logs); it reads and changes nothing
    but the trail itself: the entries as the member sees them in their access view (who,
    which category, what, why, when, with the codes in words), and the look-up appends an
    audit entry about the member.
    """
    from ..core import datamap, log
    from . import access

    q: TrailQuery = request.body
    store = datamap.by_name("audit_events")
    after = access.decode_cursor(store, q.cursor)
    assert request.principal is not None

    def work(cur: Cursor):
        page = access.sql_page(
            cur, store, q.member_id, pseudonym=log.pseudonym, limit=q.limit, after=after
        )
        audit.record(
            cur,
            q.member_id,
            actor_kind="staff",
            actor=request.caller.subject,
            category="audit",
            action="read",
            purpose="handling_data_subject_request",
            at=_now(),
        )
        return page

    page = db.transaction(work)
    return Reply(
        {
            "member_id": q.member_id,
            "items": page.items,
            "total": page.total,
            "next_cursor": page.next_cursor,
        },
        headers=_NO_STORE,
    )


# -- forgotten at membership end (R5) ---------------------------------------------------------


@api.get(
    "/v1/admin/privacy/membership-end/preview",
    operation_id="previewMembershipEnd",
    summary="Privacy officer: dry run of the membership-end job.",
    response=MembershipEndPreview,
    returns="Privacy officer: dry run of the membership-end job.",
    errors=(
        422,
        503,
    ),
    query=PreviewMembershipEndQuery,
)
def membership_end_preview(request: Request) -> Reply:
    """Needs a staff token with role `privacy_officer`. Compares one page of the member keys
    the backend holds (in key order; `limit` up to 1000, default 200) with the member
    register and lists who would be forgotten and why, queueing nothing. Each member listed
    is an audited staff access.
    """
    from . import membership_end

    size = pagination.limit(request.query, default=200, maximum=membership_end.BATCH)
    after = pagination.decode_cursor(request.query.get("cursor"))
    if after is not None and not isinstance(after, str):
        raise field_error("cursor", "invalid", "Ugyldig cursor.", "Invalid cursor.")
    report = membership_end.preview(request.settings, after or "", size)
    assert request.principal is not None
    shown = [m["member_id"] for m in report["would_forget"]]
    staff = request.caller.subject
    db.transaction(lambda cur: membership_end.audit_preview(cur, shown, staff, _now()))
    nxt = report.pop("next_cursor")
    return Reply(
        {**report, "next_cursor": pagination.encode_cursor(nxt) if nxt else None}, headers=_NO_STORE
    )


@api.get(
    "/v1/admin/privacy/membership-end/runs",
    operation_id="listMembershipEndRuns",
    summary="Privacy officer: the latest membership-end runs, newest first.",
    response=MembershipEndRunList,
    returns="Privacy officer: the latest membership-end runs, newest first.",
    errors=(
        422,
        503,
    ),
    query=ListMembershipEndRunsQuery,
)
def membership_end_runs(request: Request) -> Reply:
    """Needs a staff token with role `privacy_officer`. Figures only."""
    from . import membership_end

    size = pagination.limit(request.query, default=10, maximum=100)
    rows = db.read(lambda cur: membership_end.recent_runs(cur, size))
    return Reply({"items": rows}, headers=_NO_STORE)


@api.post(
    "/v1/admin/privacy/membership-end/runs",
    operation_id="startMembershipEndRun",
    summary="Privacy officer: run the membership-end job now (or resume the open run).",
    response=MembershipEndOutcome,
    returns="Privacy officer: run the membership-end job now (or resume the open run).",
    errors=(
        422,
        503,
    ),
)
def membership_end_start(request: Request) -> Reply:
    """Needs a staff token with role `privacy_officer`. The same run as the nightly job:
    erasures are queued for members whose membership has ended or who are gone from the
    register.
    """
    from . import membership_end

    assert request.principal is not None
    outcome = membership_end.run(
        request.settings, trigger="staff", started_by=request.caller.subject
    )
    return Reply(outcome, status=200, headers=_NO_STORE)
