"""Privacy requests (R3, R5): erasure, restriction and lifting it, with a visible state.

    received --approve--> queued --worker--> running --> done
        \\--reject--> rejected                   \\--> failed --redelivery--> running ...

A member asks (`create`, origin "member"); the privacy officer approves or rejects with a
reason; approval queues a deletion job on the `privacy-jobs` topic through the outbox, in
the same transaction, so an approved request always has its job and a rejected one never
does. The membership-end job opens requests already approved (`queue_membership_end`, origin
"membership_end"): the membership has ended, so the policy's promise applies without a
decision. A job message carries request ids only (one, or a batch from the membership-end
job), never a member number.

One request of a kind is in progress per member at a time (a unique index); asking again
while one is in progress returns that one.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from ..core import outbox
from ..core.db import Cursor
from ..core.problems import Conflict, NotFound
from ..core.times import rfc3339 as _ts
from ..core.validation import canonical_uuid
from . import store
from .store import (  # noqa: F401 (re-exported: admin, member requests, the worker)
    PrivacyRequest,
    list_for_member,
    list_for_staff,
)

TOPIC = "privacy-jobs"
KINDS = ("erasure", "restriction", "lift_restriction")
IN_PROGRESS = ("received", "queued", "running", "failed")


def member_view(r: PrivacyRequest) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "kind": r.kind,
        "status": r.status,
        "reason": r.reason,
        "rejection_reason": r.rejection_reason,
        "received_at": _ts(r.received_at),
        "decided_at": _ts(r.decided_at),
        "finished_at": _ts(r.finished_at),
    }


def staff_view(r: PrivacyRequest) -> dict[str, Any]:
    """For the privacy officer: who asked (the member number, needed to handle it) until an
    erasure has run; then only the receipt."""
    return {
        **member_view(r),
        "member_id": r.member_id,
        "origin": r.origin,
        "decided_by": r.decided_by,
        "started_at": _ts(r.started_at),
        "attempts": r.attempts,
        "last_error": r.last_error,
        "receipt": (
            {"categories": r.categories, "counts": r.counts}
            if r.status == "done" and r.kind == "erasure"
            else None
        ),
    }


def load_many(
    cur: Cursor, request_ids: list[str], *, for_update: bool = False
) -> list[PrivacyRequest]:
    keys = [k for k in (canonical_uuid(i) for i in request_ids) if k is not None]
    if not keys:
        return []
    return store.load_many(cur, keys, for_update=for_update)


def load(cur: Cursor, request_id: str, *, for_update: bool = False) -> PrivacyRequest | None:
    key = canonical_uuid(request_id)
    if key is None:
        return None
    return store.load(cur, key, for_update=for_update)


#: Requests per job message from the membership-end job: a deletion job erases its members
#: with a few statements per store and one query per Firestore collection (set-based), so
#: its cost grows little with its size; a failure retries at most this many.
JOB_BATCH = 300


def _enqueue(cur: Cursor, request_ids: list[str], member_id: str | None) -> int:
    """A job message names requests only: the worker reads what to do and for whom from
    the stored request, so no member number travels through Pub/Sub."""
    return outbox.enqueue(cur, TOPIC, {"request_ids": request_ids}, member_id)


def queue_membership_end(
    cur: Cursor, member_ids: list[str], *, job: str, now: datetime
) -> tuple[int, list[int]]:
    """Opens approved erasure requests (origin "membership_end") for members whose
    membership has ended, set-based, and queues one job per `JOB_BATCH` of them. A member
    with an erasure already in progress keeps it (its job exists); one whose own request
    waits for a decision has it approved now: the policy's promise applies without one.
    Returns (requests queued now, outbox ids to flush)."""
    if not member_ids:
        return 0, []
    queued = store.approve_received_erasures(cur, member_ids, job, now)
    queued += store.insert_membership_end_erasures(cur, member_ids, job, now)
    ids = [_enqueue(cur, queued[i : i + JOB_BATCH], None) for i in range(0, len(queued), JOB_BATCH)]
    return len(queued), ids


def create(
    cur: Cursor, member_id: str, kind: str, reason: str | None, *, now: datetime
) -> tuple[PrivacyRequest, bool]:
    """Opens the member's own request, to be decided by the privacy officer; returns
    (request, created). An open request of the same kind is returned instead of a second."""
    if kind not in KINDS:
        raise ValueError(kind)
    open_request = store.find(cur, member_id, kind, list(IN_PROGRESS))
    if open_request:
        return open_request, False
    request_id = str(uuid.uuid4())
    if not store.insert_member_request(cur, request_id, member_id, kind, reason, now):
        # a concurrent request of the same kind won
        return create(cur, member_id, kind, reason, now=now)
    created = load(cur, request_id)
    assert created is not None
    return created, True


def decide(
    cur: Cursor, request_id: str, *, approve: bool, staff: str, reason: str | None, now: datetime
) -> tuple[PrivacyRequest, list[int]]:
    """Approves (queues the job) or rejects (with a reason) a received request. Deciding the
    same way again changes nothing; the other way is 409."""
    r = load(cur, request_id, for_update=True)
    if r is None:
        raise NotFound({"nb": "Fant ikke henvendelsen.", "en": "No such request."})
    wanted = "rejected" if not approve else None
    if r.status != "received":
        if (approve and r.status != "rejected") or r.status == wanted:
            return r, []
        raise Conflict(
            {
                "nb": "Henvendelsen er allerede avgjort.",
                "en": "The request has already been decided.",
            }
        )
    if approve:
        store.mark_queued(cur, r.id, staff, now)
        ids = [_enqueue(cur, [str(r.id)], r.member_id)]
    else:
        store.mark_rejected(cur, r.id, staff, now, reason)
        ids = []
    decided = load(cur, str(r.id))
    assert decided is not None
    return decided, ids


def erase_members(cur: Cursor, member_ids: list[str]) -> dict[str, int]:
    """`erase_with` of privacy_requests: the members' requests go, except the erasures being
    carried out, which the worker turns into receipts (member number cleared) in the same
    transaction."""
    return dict(Counter(store.delete_members_unless_erasing(cur, member_ids)))
