"""The `privacy-jobs` handler: carries out an approved erasure, restriction or lifting (R3, R5).

Pub/Sub delivers at least once, and every step is idempotent, so the handler simply does
the whole job each time it is delivered until the request is done:

* a message names one request (approved by the privacy officer) or up to
  `requests.JOB_BATCH` (the membership-end job); what to do and for whom is read from
  the stored request (store.py), so no member number travels through Pub/Sub;
* a request already done (or rejected, or unknown: erased long ago) is left alone: the same
  job delivered three times has one effect;
* the others are marked running (attempts + 1) in their own short transaction, so the
  privacy officer sees they are being worked on, and then carried out: the erasures of a
  batch together, set-based (`erasure.erase_many`);
* a failure (database, Firestore or the register down) marks it failed with the error's
  class name (never data) and raises, so Pub/Sub redelivers with backoff; the next attempt
  starts from the top and completes what the crashed one left.

Restriction keeps the data and stops its use: one row in processing_restrictions, which
every processing path reads (statistics, matching, personalisation, notifications). Lifting
deletes that row. Both also record an audit entry (the job acting on the member's data).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime
from functools import partial

import msgspec

from ..consents import service as consents
from ..core import audit, db, events, log, outbox, restriction
from ..core.db import Cursor
from . import erasure, requests, store

_log = logging.getLogger("lederappen.privacy")
JOB = "privacy-jobs"


class Payload(msgspec.Struct, forbid_unknown_fields=True):
    #: One request (approved by the privacy officer) or a batch (the membership-end job).
    request_ids: list[str]


def _now() -> datetime:
    return datetime.now(UTC)


def _start(p: Payload, now: datetime) -> list[requests.PrivacyRequest]:
    """Marks the job's unfinished requests running (attempts + 1) and returns them; requests
    already done, rejected or unknown (erased long ago) are left alone."""
    if not p.request_ids or len(p.request_ids) > requests.JOB_BATCH:
        raise events.Reject("batch-size")

    def work(cur: Cursor):
        todo = [
            r
            for r in requests.load_many(cur, p.request_ids, for_update=True)
            if r.status in ("queued", "running", "failed")
        ]
        if todo:
            store.mark_running(cur, [str(r.id) for r in todo], now)
        return todo

    return db.transaction(work)


def _fail(request_ids: list[str], exc: BaseException) -> None:
    with contextlib.suppress(Exception):  # the database itself is down: the redelivery will tell
        db.transaction(lambda cur: store.mark_failed(cur, request_ids, type(exc).__name__[:60]))


def _restrict(cur: Cursor, r: requests.PrivacyRequest, now: datetime, *, lift: bool) -> list[int]:
    """Applies or lifts the restriction, and tells the newsletter system the state that
    follows (a restricted member gets no newsletter). Returns outbox ids to flush."""
    member_id = r.member_id
    assert member_id is not None  # only an erasure that is done has none
    if lift:
        restriction.lift(cur, member_id)
    else:
        restriction.restrict(cur, member_id, now, str(r.id))
    audit.record(
        cur,
        member_id,
        actor_kind="job",
        actor=JOB,
        category="restriction",
        action="restriction_lifted" if lift else "restricted",
        purpose="data_subject_request",
        at=now,
    )
    store.mark_done(cur, r.id, now)
    message = consents.resync_newsletter(cur, member_id, now)
    if message is None:
        return []
    return [outbox.enqueue(cur, consents.NEWSLETTER_TOPIC, message, member_id)]


def _erase(settings, todo: list[requests.PrivacyRequest], now: datetime) -> None:
    """Erases the members of the job's erasure requests together; each request becomes its
    member's receipt (member number cleared, categories, items removed per store)."""
    request_of = {r.member_id: str(r.id) for r in todo if r.member_id is not None}
    covered = erasure.categories()

    def finish(cur: Cursor, counts) -> None:
        rows = [{"id": request_of[m], "counts": c} for m, c in counts.items()]
        store.finish_erasures(cur, now, covered, msgspec.json.encode(rows).decode())

    counts = erasure.erase_many(settings, db.transaction, list(request_of), now, finish)
    log.event(
        _log,
        "erasure done",
        members=len(counts),
        items=sum(sum(c.values()) for c in counts.values()),
    )


def handle(message: events.Message, settings) -> None:
    p: Payload = message.data
    now = _now()
    todo = _start(p, now)
    if not todo:
        return
    try:
        erasures = [r for r in todo if r.kind == "erasure"]
        if erasures:
            _erase(settings, erasures, now)
        for r in todo:
            if r.kind != "erasure":
                ids = db.transaction(
                    partial(_restrict, r=r, now=now, lift=r.kind == "lift_restriction")
                )
                outbox.flush(settings.google_cloud_project, ids)
    except Exception as exc:
        _fail([str(r.id) for r in todo], exc)
        raise
