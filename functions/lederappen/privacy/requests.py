"""Privacy requests (R3, R5): erasure, restriction and lifting it, with a visible state.

    received --approve--> queued --worker--> running --> done
        \\--reject--> rejected                   \\--> failed --redelivery--> running ...

A member asks (`create`, origin "member"); the privacy officer approves or rejects with a
reason; approval queues a deletion job on the `privacy-jobs` topic through the outbox, in
the same transaction, so an approved request always has its job and a rejected one never
does. The membership-end job opens requests already approved (origin "membership_end"): the
membership has ended, so the policy's promise applies without a decision.

One request of a kind is in progress per member at a time (a unique index); asking again
while one is in progress returns that one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ..core import outbox
from ..core.problems import Conflict, NotFound
from ..core.times import rfc3339 as _ts
from ..core.validation import canonical_uuid

TOPIC = "privacy-jobs"
KINDS = ("erasure", "restriction", "lift_restriction")
IN_PROGRESS = ("received", "queued", "running", "failed")

_COLUMNS = ("id, member_id, kind, origin, status, reason, decided_by, decided_at, "
            "rejection_reason, received_at, started_at, finished_at, attempts, last_error, "
            "categories, counts")


def _row(row) -> dict[str, Any]:
    keys = [c.strip() for c in _COLUMNS.split(",")]
    return dict(zip(keys, row))


def member_view(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(r["id"]), "kind": r["kind"], "status": r["status"],
            "reason": r["reason"], "rejection_reason": r["rejection_reason"],
            "received_at": _ts(r["received_at"]), "decided_at": _ts(r["decided_at"]),
            "finished_at": _ts(r["finished_at"])}


def staff_view(r: dict[str, Any]) -> dict[str, Any]:
    """For the privacy officer: who asked (the member number, needed to handle it) until an
    erasure has run; then only the receipt."""
    return {**member_view(r), "member_id": r["member_id"], "origin": r["origin"],
            "decided_by": r["decided_by"], "started_at": _ts(r["started_at"]),
            "attempts": r["attempts"], "last_error": r["last_error"],
            "receipt": ({"categories": r["categories"], "counts": r["counts"]}
                        if r["status"] == "done" and r["kind"] == "erasure" else None)}


def load(cur, request_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    key = canonical_uuid(request_id)
    if key is None:
        return None
    cur.execute(f"SELECT {_COLUMNS} FROM privacy_requests WHERE id = %s"
                + (" FOR UPDATE" if for_update else ""), (key,))
    row = cur.fetchone()
    return _row(row) if row else None


def _enqueue(cur, request_id: str, member_id: str, kind: str) -> int:
    return outbox.enqueue(cur, TOPIC, {"request_id": request_id, "kind": kind,
                                       "member_id": member_id}, member_id)


def create(cur, member_id: str, kind: str, reason: str | None, *, origin: str, now: datetime,
           decided_by: str | None = None) -> tuple[dict[str, Any], bool, list[int]]:
    """Opens a request; returns (request, created, outbox ids to flush). An open request of
    the same kind is returned instead of a second one."""
    if kind not in KINDS:
        raise ValueError(kind)
    cur.execute(f"SELECT {_COLUMNS} FROM privacy_requests WHERE member_id = %s AND kind = %s "
                "AND status = ANY(%s)", (member_id, kind, list(IN_PROGRESS)))
    row = cur.fetchone()
    approved = origin == "membership_end"
    if row:
        existing = _row(row)
        if approved and existing["status"] == "received":
            # the membership ended while the member's own request waited for a decision: the
            # policy's promise applies now, so it is approved and queued
            queued, ids = decide(cur, str(existing["id"]), approve=True,
                                 staff=decided_by or origin, reason=None, now=now)
            return queued, False, ids
        return existing, False, []
    request_id = str(uuid.uuid4())
    cur.execute(
        "INSERT INTO privacy_requests (id, member_id, kind, origin, status, reason, decided_by, "
        "decided_at, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (request_id, member_id, kind, origin, "queued" if approved else "received", reason,
         decided_by if approved else None, now if approved else None, now))
    if cur.rowcount == 0:  # a concurrent request of the same kind won
        return create(cur, member_id, kind, reason, origin=origin, now=now,
                      decided_by=decided_by)
    ids = [_enqueue(cur, request_id, member_id, kind)] if approved else []
    created = load(cur, request_id)
    assert created is not None
    return created, True, ids


def list_for_member(cur, member_id: str) -> list[dict[str, Any]]:
    cur.execute(f"SELECT {_COLUMNS} FROM privacy_requests WHERE member_id = %s "
                "ORDER BY received_at DESC, id", (member_id,))
    return [_row(r) for r in cur.fetchall()]


def list_for_staff(cur, status: str | None, limit: int,
                   after: tuple[datetime, str] | None) -> list[dict[str, Any]]:
    where, params = [], []
    if status:
        where.append("status = %s")
        params.append(status)
    if after:
        where.append("(received_at, id) < (%s, %s::uuid)")
        params.extend(after)
    cur.execute(f"SELECT {_COLUMNS} FROM privacy_requests "
                + (("WHERE " + " AND ".join(where)) if where else "")
                + " ORDER BY received_at DESC, id DESC LIMIT %s", (*params, limit))
    return [_row(r) for r in cur.fetchall()]


def decide(cur, request_id: str, *, approve: bool, staff: str, reason: str | None,
           now: datetime) -> tuple[dict[str, Any], list[int]]:
    """Approves (queues the job) or rejects (with a reason) a received request. Deciding the
    same way again changes nothing; the other way is 409."""
    r = load(cur, request_id, for_update=True)
    if r is None:
        raise NotFound({"nb": "Fant ikke henvendelsen.", "en": "No such request."})
    wanted = "rejected" if not approve else None
    if r["status"] != "received":
        if (approve and r["status"] != "rejected") or r["status"] == wanted:
            return r, []
        raise Conflict({"nb": "Henvendelsen er allerede avgjort.",
                        "en": "The request has already been decided."})
    if approve:
        cur.execute("UPDATE privacy_requests SET status = 'queued', decided_by = %s, "
                    "decided_at = %s WHERE id = %s", (staff, now, r["id"]))
        ids = [_enqueue(cur, str(r["id"]), r["member_id"], r["kind"])]
    else:
        cur.execute("UPDATE privacy_requests SET status = 'rejected', decided_by = %s, "
                    "decided_at = %s, rejection_reason = %s WHERE id = %s",
                    (staff, now, reason, r["id"]))
        ids = []
    decided = load(cur, str(r["id"]))
    assert decided is not None
    return decided, ids


def erase_member(cur, member_id: str) -> int:
    """`erase_with` of privacy_requests: the member's requests go, except the erasure being
    carried out, which the worker turns into the receipt (member number cleared) in the same
    transaction."""
    cur.execute("DELETE FROM privacy_requests WHERE member_id = %s AND NOT (kind = 'erasure' "
                "AND status IN ('queued', 'running', 'failed'))", (member_id,))
    return cur.rowcount
