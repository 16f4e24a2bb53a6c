"""The `privacy-jobs` handler: carries out an approved erasure, restriction or lifting (R3, R5).

Pub/Sub delivers at least once, and every step is idempotent, so the handler simply does
the whole job each time it is delivered until the request is done:

* a request already done (or rejected, or unknown: erased long ago) is acknowledged and
  nothing happens: the same job delivered three times has one effect;
* otherwise it is marked running (attempts + 1) in its own short transaction, so the
  privacy officer sees it is being worked on, and then carried out;
* a failure (database, Firestore or the register down) marks it failed with the error's
  class name (never data) and raises, so Pub/Sub redelivers with backoff; the next attempt
  starts from the top and completes what the crashed one left.

Restriction keeps the data and stops its use: one row in processing_restrictions, which
every processing path reads (statistics, matching, personalisation, notifications). Lifting
deletes that row. Both also record an audit entry (the job acting on the member's data).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import msgspec

from ..consents import service as consents
from ..core import audit, db, events, log, outbox
from . import erasure, requests

_log = logging.getLogger("lederappen.privacy")
JOB = "privacy-jobs"


class Payload(msgspec.Struct, forbid_unknown_fields=True):
    request_id: str
    kind: str
    member_id: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _start(p: Payload, now: datetime):
    def work(cur):
        r = requests.load(cur, p.request_id, for_update=True)
        if r is None or r["status"] not in ("queued", "running", "failed"):
            return None
        if r["member_id"] != p.member_id or r["kind"] != p.kind:
            raise events.Reject("payload-mismatch")  # before it is marked running
        cur.execute("UPDATE privacy_requests SET status = 'running', attempts = attempts + 1, "
                    "started_at = coalesce(started_at, %s), last_error = NULL WHERE id = %s",
                    (now, r["id"]))
        return r

    return db.transaction(work)


def _fail(request_id: str, exc: BaseException) -> None:
    try:
        db.transaction(lambda cur: cur.execute(
            "UPDATE privacy_requests SET status = 'failed', last_error = %s "
            "WHERE id = %s AND status = 'running'", (type(exc).__name__[:60], request_id)))
    except Exception:  # the database itself is down: the redelivery will tell
        pass


def _restrict(cur, r, now: datetime, *, lift: bool) -> list[int]:
    """Applies or lifts the restriction, and tells the newsletter system the state that
    follows (a restricted member gets no newsletter). Returns outbox ids to flush."""
    if lift:
        cur.execute("DELETE FROM processing_restrictions WHERE member_id = %s",
                    (r["member_id"],))
    else:
        cur.execute("INSERT INTO processing_restrictions (member_id, restricted_since, "
                    "request_ref) VALUES (%s, %s, %s) ON CONFLICT (member_id) DO NOTHING",
                    (r["member_id"], now, r["id"]))
    audit.record(cur, r["member_id"], actor_kind="job", actor=JOB, category="restriction",
                 action="restriction_lifted" if lift else "restricted",
                 purpose="data_subject_request", at=now)
    _done(cur, r, now)
    message = consents.resync_newsletter(cur, r["member_id"], now)
    if message is None:
        return []
    return [outbox.enqueue(cur, consents.NEWSLETTER_TOPIC, message, r["member_id"])]


def _done(cur, r, now: datetime) -> None:
    cur.execute("UPDATE privacy_requests SET status = 'done', finished_at = %s WHERE id = %s",
                (now, r["id"]))


def handle(message: events.Message, settings) -> None:
    p: Payload = message.data
    now = _now()
    r = _start(p, now)
    if r is None:
        return
    log.bind(request=str(r["id"]))
    try:
        if r["kind"] == "erasure":
            def finish(cur, receipt) -> None:
                cur.execute(
                    "UPDATE privacy_requests SET status = 'done', finished_at = %s, "
                    "member_id = NULL, categories = %s, counts = %s::jsonb, reason = NULL "
                    "WHERE id = %s", (now, receipt["categories"],
                                      msgspec.json.encode(receipt["counts"]).decode(), r["id"]))

            receipt = erasure.erase(settings, db.transaction, r["member_id"], now, finish)
            log.event(_log, "erasure done", items=sum(receipt["counts"].values()))
        else:
            ids = db.transaction(lambda cur: _restrict(
                cur, r, now, lift=r["kind"] == "lift_restriction"))
            outbox.flush(settings.google_cloud_project, ids)
    except Exception as exc:
        _fail(str(r["id"]), exc)
        raise
