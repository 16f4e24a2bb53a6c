"""Forgotten at membership end (R5): a nightly job erases every member whose membership ended.

The policy's promise (section 4): "når du avslutter medlemskapet ditt hos Lederne, slettes all
informasjon om deg hos oss". The job does not trust a single feed of ended memberships (a
missed event would keep a former member's data for ever). It reconciles: it lists every
member key the backend holds, in every store of the data map (`held_keys`: each SQL table by
each member key column, array keys unnested; each Firestore collection by its member key
field or document id), and asks the member register for the status of each, 1,000 at a
time. A key whose membership has ended, or which the register does not know at all (gone
from the register), gets an approved erasure request, and the requests go to the
`privacy-jobs` topic in jobs of `requests.JOB_BATCH`, which the privacy worker erases
set-based (`erasure.erase_many`). Member keys inside a payload are listed by the data map's
`Reference.keys` (the members of a queued delivery batch). Stores keyed by a pseudonym (the
audit trail, its actors, tombstones) cannot be listed by member number; erasure removes them
(an entry about another member keeps only a neutral actor), and retention ages them out.

* **Resumable.** A run walks the keys in key order (Unicode code point order, which is also
  Firestore's) and commits its cursor with each batch's requests, so a run cut short (the
  function's time limit, the register down) resumes from the last committed batch at the
  next call. One run is open at a time; two calls at once cooperate (a batch whose cursor
  moved under it is discarded and read again).
* **Idempotent.** A member with an erasure already in progress keeps it; a member erased in
  the meantime is no longer held. Running the job twice queues each member once.
* **A register that answers nothing is not believed.** When the register knows none of a
  batch of 100 keys or more, the job asks it to list one active member: if it cannot, the
  register (or its environment, or credential) is wrong rather than every member gone, and
  the run stops with DependencyUnavailable with nothing of that batch queued.
* **Dry run for the privacy officer** (`preview`): the same reconciliation for one page of
  keys, without queueing anything, listing who would be forgotten, why (ended, or unknown to
  the register) and which stores hold them. Each member shown is an audited staff access.

Restricted members are erased too: the restriction is kept "while the restriction stands;
deleted when it is lifted or membership ends" (the data map), as the policy promises.
Nothing personal is logged: counts only.
"""

from __future__ import annotations

import heapq
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..core import audit, datamap, db, firestore, lederne, log, outbox
from ..core.db import Cursor
from ..core.http import Api, Reply, Request
from ..core.problems import DependencyUnavailable
from . import requests
from . import store as privacy_store

_log = logging.getLogger("lederappen.membership_end")
api = Api()
JOB = "membership-end"
#: Keys compared with the register per batch (the register's batch limit).
BATCH = 1000
#: Firestore documents read per page when listing a collection's member keys (the key field
#: only: ~0.5 MB a page). Few large pages: each is a round trip in Google Cloud and, in the
#: Firestore emulator, a scan and sort of the whole collection.
_PAGE = 10000
#: Statuses that mean the person is no longer a member (absent: unknown to the register).
ENDED = frozenset({"ended"})
#: A batch at least this large that the register knows nothing of is not believed.
_SUSPECT = 100

Source = Callable[[str], Iterator[str]]


def _now() -> datetime:
    return datetime.now(UTC)


# -- the member keys held ---------------------------------------------------------------------


def sql_keys(cur: Cursor) -> list[tuple[str, str]]:
    """(key, store), sorted, for every member key held in SQL, from every store of the data
    map that keys by member number. Each column is read by its own index."""
    parts = []
    for store in datamap.sql_tables().values():
        if store.key_form != "id":
            continue
        for key in store.member_keys:
            column = datamap.quote_ident(key)
            expr = f"unnest({column})" if key in datamap.ARRAY_KEY_COLUMNS else column
            where = f"{column} IS NOT NULL" + (f" AND {store.key_where}" if store.key_where else "")
            parts.append(
                f"SELECT DISTINCT {expr}::text AS k, '{store.name}' AS s "
                f"FROM {datamap.quote_ident(store.name)} WHERE {where}"
            )
        for r in store.references:  # keys held inside a payload (a delivery batch)
            if r.keys and r.key_form == "id":
                parts.append(
                    f"SELECT DISTINCT {r.keys} AS k, '{store.name}' AS s "
                    f"FROM {datamap.quote_ident(store.name)}"
                )
    cur.execute(" UNION ".join(parts))
    return sorted((k, s) for k, s in cur.fetchall() if k)


def _field_keys(fs, store: datamap.Store, after: str) -> Iterator[str]:
    """A collection's distinct member keys after `after`, in order: pages of documents by the
    key field (projected to that field only); each page resumes after its last key, so a
    member with many documents costs at most one page."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    collection = fs.collection(store.name)
    while True:
        with firestore.guard():
            snaps = list(
                collection.where(filter=FieldFilter(store.member_key, ">", after))
                .order_by(store.member_key)
                .select([store.member_key])
                .limit(_PAGE)
                .stream(timeout=firestore.TIMEOUT_SECONDS)
            )
        keys = sorted({s.get(store.member_key) for s in snaps} - {None})
        yield from keys
        if len(snaps) < _PAGE or not keys:
            return
        after = keys[-1]


def _document_keys(fs, store: datamap.Store, after: str) -> Iterator[str]:
    """A collection keyed by document id: the ids after `after`, in order."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    collection = fs.collection(store.name)
    while True:
        query = collection.order_by("__name__").select([]).limit(_PAGE)
        if after:
            query = query.where(filter=FieldFilter("__name__", ">", collection.document(after)))
        with firestore.guard():
            ids = [s.id for s in query.stream(timeout=firestore.TIMEOUT_SECONDS)]
        yield from ids
        if len(ids) < _PAGE:
            return
        after = ids[-1]


def _tagged(keys: Iterator[str], name: str) -> Iterator[tuple[str, str]]:
    for key in keys:
        yield key, name


def held_keys(settings, sql: list[tuple[str, str]], after: str) -> Iterator[tuple[str, set[str]]]:
    """Every member key held after `after`, in order, each once with the stores holding it."""
    from bisect import bisect_right

    fs = firestore.client(settings)
    start = bisect_right(sql, (after, "\uffff")) if after else 0
    streams: list[Iterable[tuple[str, str]]] = [(sql[i] for i in range(start, len(sql)))]
    for store in datamap.firestore_collections().values():
        keys = (
            _document_keys(fs, store, after)
            if store.member_key == "document id"
            else _field_keys(fs, store, after)
        )
        streams.append(_tagged(keys, store.name))
    current: str | None = None
    stores: set[str] = set()
    for key, name in heapq.merge(*streams):
        if key != current:
            if current is not None:
                yield current, stores
            current, stores = key, set()
        stores.add(name)
    if current is not None:
        yield current, stores


def _take(keys: Iterator[tuple[str, set[str]]], n: int) -> list[tuple[str, set[str]]]:
    out = []
    for item in keys:
        out.append(item)
        if len(out) == n:
            break
    return out


# -- comparing with the register --------------------------------------------------------------


@dataclass
class Batch:
    keys: list[str]
    statuses: dict[str, str]
    ended: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    @property
    def forget(self) -> list[str]:
        return self.ended + self.unknown


def compare(register: lederne.LederneClient, keys: list[str]) -> Batch:
    statuses = register.membership_statuses(keys) if keys else {}
    if len(keys) >= _SUSPECT and not statuses and not register_has_members(register):
        raise DependencyUnavailable(lederne.DEPENDENCY)
    batch = Batch(keys, statuses)
    for key in keys:
        status = statuses.get(key)
        if status is None:
            batch.unknown.append(key)
        elif status in ENDED:
            batch.ended.append(key)
    return batch


def register_has_members(register: lederne.LederneClient) -> bool:
    """The register lists at least one active member: it is the real one, not empty (a wrong
    environment or credential answering 200 with nothing), so its "unknown" can be believed."""
    ids, _ = register.list_member_ids(status="active", page_size=1)
    return bool(ids)


# -- a run ----------------------------------------------------------------------------------


def open_run(
    cur: Cursor, *, trigger: str, started_by: str, now: datetime
) -> tuple[privacy_store.Run, bool]:
    """The open run (resumed), or a new one; (run, resumed)."""
    row = privacy_store.open_run(cur)
    if row:
        return row, True
    created = privacy_store.insert_run(cur, str(uuid.uuid4()), trigger, started_by, now)
    opened = privacy_store.open_run(cur)
    assert opened is not None  # ours, or the one that won (the unique index)
    return opened, not created


def run(
    settings,
    *,
    trigger: str,
    started_by: str,
    budget_seconds: float = 420.0,
    now: Callable[[], datetime] = _now,
) -> dict[str, Any]:
    """Works through the open run (or a new one) until every key is checked or the time
    budget is spent; returns the run's figures and whether it finished."""
    started = time.monotonic()
    run_row, resumed = db.transaction(
        lambda cur: open_run(cur, trigger=trigger, started_by=started_by, now=now())
    )
    run_id = str(run_row.id)
    sql = db.read(sql_keys)
    register = lederne.client(settings)
    project = settings.google_cloud_project
    finished = False
    # One pass over the held keys for the whole run; started again from the cursor only
    # when another call moved it (not once per batch, which read every collection again).
    keys = held_keys(settings, sql, run_row.cursor or "")
    while time.monotonic() - started < budget_seconds:
        cursor = run_row.cursor or ""
        items = _take(keys, BATCH)
        batch = compare(register, [k for k, _ in items])

        def commit(cur: Cursor, cursor=cursor, batch=batch):
            current, done = privacy_store.lock_run(cur, run_id)
            if done is not None or (current or "") != cursor:
                return None, []  # another call moved on meanwhile: read again from there
            queued, ids = requests.queue_membership_end(cur, batch.forget, job=JOB, now=now())
            last = batch.keys[-1] if batch.keys else None
            advanced = privacy_store.advance_run(
                cur,
                run_id,
                last,
                None if last else now(),
                len(batch.keys),
                len(batch.ended),
                len(batch.unknown),
                queued,
            )
            return advanced, ids

        updated, ids = db.transaction(commit)
        outbox.flush(project, ids)
        if updated is None:
            run_row = db.read(lambda cur: privacy_store.fetch_run(cur, run_id))
            keys = held_keys(settings, sql, run_row.cursor or "")
        else:
            run_row = updated
        if run_row.finished_at is not None:
            finished = True
            break
    figures = {k: getattr(run_row, k) for k in ("checked", "ended", "unknown", "queued", "batches")}
    log.event(_log, "membership end run", finished=finished, resumed=resumed, **figures)
    return {"run": run_view(run_row), "finished": finished, "resumed": resumed}


def run_view(r: privacy_store.Run) -> dict[str, Any]:
    """A run as staff see it: figures only (the cursor is a member key and never shown)."""
    from ..core.times import rfc3339

    return {
        "id": str(r.id),
        "trigger": r.trigger,
        "started_by": r.started_by,
        "started_at": rfc3339(r.started_at),
        "finished_at": rfc3339(r.finished_at),
        "checked": r.checked,
        "ended": r.ended,
        "unknown": r.unknown,
        "queued": r.queued,
        "batches": r.batches,
    }


def recent_runs(cur: Cursor, limit: int) -> list[dict[str, Any]]:
    return [run_view(r) for r in privacy_store.recent_runs(cur, limit)]


def rewind_cursor(cur: Cursor, member_ids: list[str]) -> dict[str, int]:
    """`erase_with` of membership_end_runs: an open run whose cursor is an erased member's
    key steps back to just before it (the keys in between are checked once more, harmlessly),
    so the run keeps its place and the key is gone."""
    by_prefix = {m[:-1]: m for m in member_ids}
    rewound = [
        by_prefix[c] for c in privacy_store.rewind_cursors(cur, member_ids) if c in by_prefix
    ]
    return {m: rewound.count(m) for m in rewound}


# -- the dry run ----------------------------------------------------------------------------


def preview(settings, cursor: str, limit: int) -> dict[str, Any]:
    """One page of the reconciliation without acting: who would be forgotten and why."""
    sql = db.read(sql_keys)
    items = _take(held_keys(settings, sql, cursor), limit)
    batch = compare(lederne.client(settings), [k for k, _ in items])
    held = dict(items)
    forget = [
        {
            "member_id": k,
            "reason": "membership_ended" if k in batch.ended else "unknown_to_register",
            "held_in": sorted(held[k]),
        }
        for k in batch.keys
        if k in set(batch.forget)
    ]
    return {
        "checked": len(batch.keys),
        "active": len(batch.keys) - len(batch.forget),
        "ended": len(batch.ended),
        "unknown": len(batch.unknown),
        "would_forget": forget,
        "next_cursor": batch.keys[-1] if len(batch.keys) == limit else None,
    }


# -- the scheduled job ----------------------------------------------------------------------


@api.post("/jobs/membership-end")
def scheduled(request: Request) -> Reply:
    return Reply(
        run(request.settings, trigger="schedule", started_by=JOB),
        headers={"Cache-Control": "no-store"},
    )


def audit_preview(cur: Cursor, member_ids: list[str], staff: str, at: datetime) -> None:
    audit.record_many(
        cur,
        member_ids,
        actor_kind="staff",
        actor=staff,
        category="profile",
        action="membership_end_preview",
        purpose="membership_end_review",
        at=at,
    )
