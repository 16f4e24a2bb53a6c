"""The privacy capability's own tables: `privacy_requests` (requests and erasure receipts) and
`membership_end_runs` (the membership-end job's runs). The only module of the package that
names them; it returns typed rows (`PrivacyRequest`, `Run`) and holds no rule: requests.py
decides what a request may do, events.py carries jobs out, membership_end.py runs the job.

Erasure, access and retention build their SQL for other features' stores from the data map
(core/datamap.py); that SQL names no table literally and stays with them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from ..core import db
from ..core.db import Cursor

# -- privacy_requests ---------------------------------------------------------------------------


class PrivacyRequest(NamedTuple):
    id: uuid.UUID
    member_id: str | None  # None once an erasure is done (the receipt)
    kind: str
    origin: str
    status: str
    reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    rejection_reason: str | None
    received_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    last_error: str | None
    categories: list[str] | None
    counts: dict[str, Any] | None


_COLUMNS = (
    "id, member_id, kind, origin, status, reason, decided_by, decided_at, "
    "rejection_reason, received_at, started_at, finished_at, attempts, last_error, "
    "categories, counts"
)


def _request(row) -> PrivacyRequest:
    return PrivacyRequest(*row)


def load_many(cur: Cursor, keys: list[str], *, for_update: bool = False) -> list[PrivacyRequest]:
    """The requests with these (canonical) ids, by id; locked when `for_update`."""
    cur.execute(
        f"SELECT {_COLUMNS} FROM privacy_requests WHERE id = ANY(%s::uuid[]) ORDER BY id"
        + (" FOR UPDATE" if for_update else ""),
        (keys,),
    )
    return [_request(r) for r in cur.fetchall()]


def load(cur: Cursor, key: str, *, for_update: bool = False) -> PrivacyRequest | None:
    cur.execute(
        f"SELECT {_COLUMNS} FROM privacy_requests WHERE id = %s"
        + (" FOR UPDATE" if for_update else ""),
        (key,),
    )
    row = cur.fetchone()
    return _request(row) if row else None


def approve_received_erasures(
    cur: Cursor, member_ids: list[str], decided_by: str, now: datetime
) -> list[str]:
    """The members' erasure requests still waiting for a decision, queued; their ids."""
    cur.execute(
        "UPDATE privacy_requests SET status = 'queued', decided_by = %s, "
        "decided_at = %s WHERE member_id = ANY(%s) AND kind = 'erasure' "
        "AND status = 'received' RETURNING id",
        (decided_by, now, member_ids),
    )
    return [str(r[0]) for r in cur.fetchall()]


def insert_membership_end_erasures(
    cur: Cursor, member_ids: list[str], decided_by: str, now: datetime
) -> list[str]:
    """New queued erasure requests (origin "membership_end") for the members, except those
    with one in progress already (the unique index); the new ids."""
    cur.execute(
        "INSERT INTO privacy_requests (id, member_id, kind, origin, status, decided_by, "
        "decided_at, received_at) SELECT gen_random_uuid(), m, 'erasure', "
        "'membership_end', 'queued', %s, %s, %s FROM unnest(%s::text[]) m "
        "ON CONFLICT DO NOTHING RETURNING id",
        (decided_by, now, now, member_ids),
    )
    return [str(r[0]) for r in cur.fetchall()]


def find(cur: Cursor, member_id: str, kind: str, statuses: list[str]) -> PrivacyRequest | None:
    """The member's request of `kind` in one of `statuses`."""
    cur.execute(
        f"SELECT {_COLUMNS} FROM privacy_requests WHERE member_id = %s AND kind = %s "
        "AND status = ANY(%s)",
        (member_id, kind, statuses),
    )
    row = cur.fetchone()
    return _request(row) if row else None


def insert_member_request(
    cur: Cursor, request_id: str, member_id: str, kind: str, reason: str | None, now: datetime
) -> bool:
    """A member's own request, received; False when one of the kind is in progress already
    (the unique index: a concurrent request won)."""
    cur.execute(
        "INSERT INTO privacy_requests (id, member_id, kind, origin, status, reason, received_at) "
        "VALUES (%s, %s, %s, 'member', 'received', %s, %s) ON CONFLICT DO NOTHING",
        (request_id, member_id, kind, reason, now),
    )
    return cur.rowcount != 0


def list_for_member(cur: Cursor, member_id: str) -> list[PrivacyRequest]:
    cur.execute(
        f"SELECT {_COLUMNS} FROM privacy_requests WHERE member_id = %s "
        "ORDER BY received_at DESC, id",
        (member_id,),
    )
    return [_request(r) for r in cur.fetchall()]


def list_for_staff(
    cur: Cursor, status: str | None, limit: int, after: tuple[datetime, str] | None
) -> list[PrivacyRequest]:
    """Newest first (optionally of one status), after the (received_at, id) cursor."""
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
    return [_request(r) for r in cur.fetchall()]


def mark_queued(cur: Cursor, request_id: uuid.UUID, decided_by: str, now: datetime) -> None:
    cur.execute(
        "UPDATE privacy_requests SET status = 'queued', decided_by = %s, "
        "decided_at = %s WHERE id = %s",
        (decided_by, now, request_id),
    )


def mark_rejected(
    cur: Cursor, request_id: uuid.UUID, decided_by: str, now: datetime, reason: str | None
) -> None:
    cur.execute(
        "UPDATE privacy_requests SET status = 'rejected', decided_by = %s, "
        "decided_at = %s, rejection_reason = %s WHERE id = %s",
        (decided_by, now, reason, request_id),
    )


def mark_running(cur: Cursor, request_ids: list[str], now: datetime) -> None:
    """One more attempt at these requests (started_at kept from the first one)."""
    cur.execute(
        "UPDATE privacy_requests SET status = 'running', "
        "attempts = attempts + 1, started_at = coalesce(started_at, %s), "
        "last_error = NULL WHERE id = ANY(%s::uuid[])",
        (now, request_ids),
    )


def mark_failed(cur: Cursor, request_ids: list[str], error: str) -> None:
    """The running ones of these requests failed with `error` (an error class, never data)."""
    cur.execute(
        "UPDATE privacy_requests SET status = 'failed', last_error = %s "
        "WHERE id = ANY(%s::uuid[]) AND status = 'running'",
        (error, request_ids),
    )


def mark_done(cur: Cursor, request_id: uuid.UUID, now: datetime) -> None:
    cur.execute(
        "UPDATE privacy_requests SET status = 'done', finished_at = %s WHERE id = %s",
        (now, request_id),
    )


def finish_erasures(cur: Cursor, now: datetime, categories: list[str], receipts: str) -> None:
    """Turns erasure requests into receipts: done, member number and reason cleared, with the
    categories covered and the counts of `receipts` (JSON: [{"id": ..., "counts": {...}}])."""
    cur.execute(
        "UPDATE privacy_requests p SET status = 'done', finished_at = %s, member_id = NULL, "
        "categories = %s, counts = j.counts, reason = NULL "
        "FROM jsonb_to_recordset(%s::jsonb) AS j(id uuid, counts jsonb) WHERE p.id = j.id",
        (now, categories, receipts),
    )


def delete_members_unless_erasing(cur: Cursor, member_ids: list[str]) -> list[str]:
    """Deletes the members' requests except the erasures being carried out (queued, running,
    failed); the member of each row deleted."""
    cur.execute(
        "DELETE FROM privacy_requests WHERE member_id = ANY(%s) AND NOT (kind = 'erasure' "
        "AND status IN ('queued', 'running', 'failed')) RETURNING member_id",
        (member_ids,),
    )
    return [r[0] for r in cur.fetchall()]


# -- membership_end_runs ------------------------------------------------------------------------


class Run(NamedTuple):
    id: uuid.UUID
    trigger: str
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    cursor: str | None  # the last member key checked; None once finished
    checked: int
    ended: int
    unknown: int
    queued: int
    batches: int


_RUN_COLUMNS = (
    "id, trigger, started_by, started_at, finished_at, cursor, checked, ended, "
    "unknown, queued, batches"
)


def _run(row) -> Run:
    return Run(*row)


def open_run(cur: Cursor) -> Run | None:
    """The unfinished run (at most one: a unique index)."""
    cur.execute(f"SELECT {_RUN_COLUMNS} FROM membership_end_runs WHERE finished_at IS NULL")
    row = cur.fetchone()
    return _run(row) if row else None


def insert_run(cur: Cursor, run_id: str, trigger: str, started_by: str, now: datetime) -> bool:
    """A new run at the first key; False when another is open (the unique index)."""
    cur.execute(
        "INSERT INTO membership_end_runs (id, trigger, started_by, started_at, cursor) "
        "VALUES (%s, %s, %s, %s, '') ON CONFLICT DO NOTHING",
        (run_id, trigger, started_by, now),
    )
    return cur.rowcount == 1


def lock_run(cur: Cursor, run_id: str) -> tuple[str | None, datetime | None]:
    """The run's (cursor, finished_at), its row locked until the transaction ends."""
    cur.execute(
        "SELECT cursor, finished_at FROM membership_end_runs WHERE id = %s FOR UPDATE",
        (run_id,),
    )
    current, done = db.one(cur)
    return current, done


def advance_run(
    cur: Cursor,
    run_id: str,
    cursor: str | None,
    finished_at: datetime | None,
    checked: int,
    ended: int,
    unknown: int,
    queued: int,
) -> Run:
    """Moves the run's cursor and adds one batch's figures."""
    cur.execute(
        "UPDATE membership_end_runs SET cursor = %s, finished_at = %s, "
        "checked = checked + %s, ended = ended + %s, unknown = unknown + %s, "
        "queued = queued + %s, batches = batches + 1 WHERE id = %s "
        f"RETURNING {_RUN_COLUMNS}",
        (cursor, finished_at, checked, ended, unknown, queued, run_id),
    )
    return _run(cur.fetchone())


def fetch_run(cur: Cursor, run_id: str) -> Run:
    cur.execute(f"SELECT {_RUN_COLUMNS} FROM membership_end_runs WHERE id = %s", (run_id,))
    return _run(cur.fetchone())


def recent_runs(cur: Cursor, limit: int) -> list[Run]:
    cur.execute(
        f"SELECT {_RUN_COLUMNS} FROM membership_end_runs ORDER BY started_at DESC, id LIMIT %s",
        (limit,),
    )
    return [_run(r) for r in cur.fetchall()]


def rewind_cursors(cur: Cursor, member_ids: list[str]) -> list[str]:
    """Runs whose cursor is one of these keys step back one character; the new cursors."""
    cur.execute(
        "UPDATE membership_end_runs SET cursor = left(cursor, -1) "
        "WHERE cursor = ANY(%s) RETURNING cursor",
        (member_ids,),
    )
    return [r[0] for r in cur.fetchall()]
