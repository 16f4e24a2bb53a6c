"""The member's privacy requests and self-service deletion (R3).

* `DELETE /v1/privacy/voluntary-data` deletes, at once and in one transaction, everything
  the member gave voluntarily: salary answers (and any published figure that contained
  them), preferences and interests, mentor engagement in both roles (open proposals close as
  withdrawn and the other side is told). Consents are not voluntary data but the proof of
  what was agreed; they stay until membership ends.
* `POST /v1/privacy/requests` asks for full erasure, restriction of processing, or lifting
  a restriction; the privacy officer decides (R3). `GET` lists the member's requests with
  their state (received, queued, running, failed and retried, done, rejected with reason).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from ..core import db, outbox
from ..core.db import Cursor
from ..core.http import Api, Out, Reply, Request
from ..core.validation import Body
from . import requests
from .schemas import PrivacyRequest, PrivacyRequestList, VoluntaryDataDeleted

api = Api()
_NO_STORE = {"Cache-Control": "no-store"}


class NewRequest(Body):
    kind: Literal["erasure", "restriction", "lift_restriction"]
    reason: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


@api.post(
    "/v1/privacy/requests",
    body=NewRequest,
    operation_id="createPrivacyRequest",
    summary=(
        "Ask for erasure, restriction of processing, or lifting it; the privacy officer decides. "
        "An open request of the same kind is returned (200) instead of a second one."
    ),
    response=PrivacyRequest,
    returns="Already in progress",
    responses={201: Out(PrivacyRequest, "Received")},
    errors=(503,),
)
def create(request: Request) -> Reply:
    body = request.body
    reason = (body.reason or "").strip() or None
    r, created = db.transaction(
        lambda cur: requests.create(cur, request.member_id, body.kind, reason, now=_now())
    )
    return Reply(
        requests.member_view(r),
        status=201 if created else 200,
        headers={**_NO_STORE, "Location": f"/v1/privacy/requests/{r.id}"},
    )


@api.get(
    "/v1/privacy/requests",
    operation_id="listPrivacyRequests",
    summary="Your privacy requests and their state.",
    response=PrivacyRequestList,
    returns="Requests",
    errors=(503,),
)
def list_mine(request: Request) -> Reply:
    rows = db.read(lambda cur: requests.list_for_member(cur, request.member_id))
    return Reply({"items": [requests.member_view(r) for r in rows]}, headers=_NO_STORE)


def delete_voluntary(
    cur: Cursor, member_id: str, now: datetime
) -> tuple[dict[str, int], list[int]]:
    from ..mentoring import engagement, proposals
    from ..preferences import service as preferences
    from ..salary import service as salary

    counts = {"salary_answers": salary.erase_member(cur, member_id)}
    counts["member_preferences"] = int(preferences.clear(cur, member_id))
    ids: list[int] = []
    withdrawn = 0
    for role in engagement.ROLES:
        if engagement.withdraw(cur, member_id, role):
            withdrawn += 1
            ids += proposals.withdraw_open(cur, member_id, role, now)
    counts["mentor_engagements"] = withdrawn
    return counts, ids


@api.delete(
    "/v1/privacy/voluntary-data",
    operation_id="deleteVoluntaryData",
    summary=(
        "Delete at once everything you gave voluntarily: salary answers, preferences and "
        "interests, mentor engagement."
    ),
    response=VoluntaryDataDeleted,
    returns="Deleted, with counts",
    errors=(503,),
)
def delete_voluntary_data(request: Request) -> Reply:
    counts, ids = db.transaction(lambda cur: delete_voluntary(cur, request.member_id, _now()))
    outbox.flush(request.settings.google_cloud_project, ids)
    return Reply({"deleted": counts}, headers=_NO_STORE)
