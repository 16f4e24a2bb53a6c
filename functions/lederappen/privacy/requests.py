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
from datetime import datetime
from typing import Any

from ..core import outbox
from ..core.db import Cursor
from ..core.problems import Conflict, NotFound
from ..core.times import rfc3339 as _ts
from ..core.validation import canonical_uuid

TOPIC = "privacy-jobs"
KINDS = ("erasure", "restriction", "lift_restriction")
IN_PROGRESS = ("received", "queued", "running", "failed")

_COLUMNS = (
    "id, member_id, kind, origin, status, reason, decided_by, decided_at, "
    "rejection_reason, received_at, started_at, finished_at, attempts, last_error, "
    "categories, counts"
)


def _row(row) -> dict[str, Any]:
    keys = [c.strip() for c in _COLUMNS.split(",")]
    return dict(zip(keys, row))


def member_view(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(r["id"]),
        "kind": r["kind"],
        "status": r["status"],
        "reason": r["reason"],
        "rejection_reason": r["rejection_reason"],
        "received_at": _ts(r["received_at"]),
        "decided_at": _ts(r["decided_at"]),
        "finished_at": _ts(r["finished_at"]),
    }


def staff_view(r: dict[str, Any]) -> dict[str, Any]:
    """For the privacy officer: who asked (the member number, needed to handle it) until an
    erasure has run; then only the receipt."""
    return {
        **member_view(r),
        "member_id": r["member_id"],
        "origin": r["origin"],
        "decided_by": r["decided_by"],
        "started_at": _ts(r["started_at"]),
        "attempts": r["attempts"],
        "last_error": r["last_error"],
        "receipt": (
            {"categories": r["categories"], "counts": r["counts"]}
            if r["status"] == "done" and r["kind"] == "erasure"
            else None
        ),
    }


def load_many(
    cur: Cursor, request_ids: list[str], *, for_update: bool = False
) -> list[dict[str, Any]]:
    keys = [k for k in (canonical_uuid(i) for i in request_ids) if k is not None]
    if not keys:
        return []
    cur.execute(
        f"SELECT {_COLUMNS} FROM privacy_requests WHERE id = ANY(%s::uuid[]) ORDER BY id"
        + (" FOR UPDATE" if for_update else ""),
        (keys,),
    )
    return [_row(r) for r in cur.fetchall()]


def load(cur: Cursor, request_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    key = canonical_uuid(request_id)
    if key is None:
        return None
    cur.execute(
        f"SELECT {_COLUMNS} FROM privacy_requests WHERE id = %s"
        + (" FOR UPDATE" if for_update else ""),
        (key,),
    )
    row = cur.fetchone()
    return _row(row) if row else None


#: Requests per job message from the membership-end job: a deletion job erases its members
#: with a few statements per store and one query per Firestore collection (set-based), so
#: its cost grows little with its size; a failure retries at most this many.
JOB_BATCH = 300


def _enqueue(cur: Cursor, request_ids: list[str], member_id: str | None) -> int:
    """A job message names requests only: the worker reads what to do and for whom from
    privacy_requests, so no member number travels through Pub/Sub."""
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
    cur.execute(
        "UPDATE privacy_requests SET status = 'queued', decided_by = %s, "
        "decided_at = %s WHERE member_id = ANY(%s) AND kind = 'erasure' "
        "AND status = 'received' RETURNING id",
        (job, now, member_ids),
    )
    queued = [str(r[0]) for r in cur.fetchall()]
    cur.execute(
        "INSERT INTO privacy_requests (id, member_id, kind, origin, status, decided_by, "
        "decided_at, received_at) SELECT gen_random_uuid(), m, 'erasure', "
        "'membership_end', 'queued', %s, %s, %s FROM unnest(%s::text[]) m "
        "ON CONFLICT DO NOTHING RETURNING id",
        (job, now, now, member_ids),
    )
    queued += [str(r[0]) for r in cur.fetchall()]
    ids = [_enqueue(cur, queued[i : i + JOB_BATCH], None) for i in range(0, len(queued), JOB_BATCH)]
    return len(queued), ids


def create(
    cur: Cursor, member_id: str, kind: str, reason: str | None, *, now: datetime
) -> tuple[dict[str, Any], bool]:
    """Opens the member's own request, to be decided by the privacy officer; returns
    (request, created). An open request of the same kind is returned instead of a second."""
    if kind not in KINDS:
        raise ValueError(kind)
    cur.execute(
        f"SELECT {_COLUMNS} FROM privacy_requests WHERE member_id = %s AND kind = %s "
        "AND status = ANY(%s)",
        (member_id, kind, list(IN_PROGRESS)),
    )
    row = cur.fetchone()
    if row:
        return _row(row), False
    request_id = str(uuid.uuid4())
    cur.execute(
        "INSERT INTO privacy_requests (id, member_id, kind, origin, status, reason, received_at) "
        "VALUES (%s, %s, %s, 'member', 'received', %s, %s) ON CONFLICT DO NOTHING",
        (request_id, member_id, kind, reason, now),
    )
    if cur.rowcount == 0:  # a concurrent request of the same kind won
        return create(cur, member_id, kind, reason, now=now)
    created = load(cur, request_id)
    assert created is not None
    return created, True


def list_for_member(cur: Cursor, member_id: str) -> list[dict[str, Any]]:
    cur.execute(
        f"SELECT {_COLUMNS} FROM privacy_requests WHERE member_id = %s "
        "ORDER BY received_at DESC, id",
        (member_id,),
    )
    return [_row(r) for r in cur.fetchall()]


def list_for_staff(
    cur: Cursor, status: str | None, limit: int, after: tuple[datetime, str] | None
) -> list[dict[str, Any]]:
    where: list[str] = []
    params: list[Any] = []
    if status:
        where.append("status = %s")
        params.append(status)
    if after:
        where.append("(received_at, id) < (%s, %s::uuid)")
        params.extend(after)
    cur.execute(
        f"SELECT {_COLUMNS} FROM privacy_requests "
        + (("WHERE " + " AND ".join(where)) if where else "")
        + " ORDER BY received_at DESC, id DESC LIMIT %s",
        (*params, limit),
    )
    return [_row(r) for r in cur.fetchall()]


def decide(
    cur: Cursor, request_id: str, *, approve: bool, staff: str, reason: str | None, now: datetime
) -> tuple[dict[str, Any], list[int]]:
    """Approves (queues the job) or rejects (with a reason) a received request. Deciding the
    same way again changes nothing; the other way is 409."""
    r = load(cur, request_id, for_update=True)
    if r is None:
        raise NotFound({"nb": "Fant ikke henvendelsen.", "en": "No such request."})
    wanted = "rejected" if not approve else None
    if r["status"] != "received":
        if (approve and r["status"] != "rejected") or r["status"] == wanted:
            return r, []
        raise Conflict(
            {
                "nb": "Henvendelsen er allerede avgjort.",
                "en": "The request has already been decided.",
            }
        )
    if approve:
        cur.execute(
            "UPDATE privacy_requests SET status = 'queued', decided_by = %s, "
            "decided_at = %s WHERE id = %s",
            (staff, now, r["id"]),
        )
        ids = [_enqueue(cur, [str(r["id"])], r["member_id"])]
    else:
        cur.execute(
            "UPDATE privacy_requests SET status = 'rejected', decided_by = %s, "
            "decided_at = %s, rejection_reason = %s WHERE id = %s",
            (staff, now, reason, r["id"]),
        )
        ids = []
    decided = load(cur, str(r["id"]))
    assert decided is not None
    return decided, ids


def erase_members(cur: Cursor, member_ids: list[str]) -> dict[str, int]:
    """`erase_with` of privacy_requests: the members' requests go, except the erasures being
    carried out, which the worker turns into receipts (member number cleared) in the same
    transaction."""
    cur.execute(
        "DELETE FROM privacy_requests WHERE member_id = ANY(%s) AND NOT (kind = 'erasure' "
        "AND status IN ('queued', 'running', 'failed')) RETURNING member_id",
        (member_ids,),
    )
    from collections import Counter

    return dict(Counter(r[0] for r in cur.fetchall()))
