"""Staff side of mentoring (F7): run a matching round, see how the programme is doing.

For the staff role `mentor_coordinator`. Everything here is counts: pool sizes, free places,
proposals by outcome, match and acceptance rates, mentorships, and the average feedback
rating (only from five ratings up, so one member's rating cannot be read out of it). No
route shows a member, a pair or anybody's free text.

The scheduled job (`mentoring/job.py`, daily) runs the same round as staff do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..core import db, lederne, outbox
from ..core.db import Cursor
from ..core.http import Api, Reply, Request
from ..core.times import rfc3339 as _ts
from . import rounds, store
from .schemas import MentoringFigures, MentorRoundResult

api = Api()

#: Fewer ratings than this and the average is not shown.
MIN_RATINGS = 5
_NO_STORE = {"Cache-Control": "no-store"}


def _now() -> datetime:
    return datetime.now(UTC)


def run_round(settings, *, trigger: str, started_by: str) -> dict[str, Any]:
    """Checks memberships with the register, then runs the round in one transaction and
    publishes its messages."""
    ids = db.read(rounds.signed_up)
    active = rounds.active_members(lederne.client(settings).membership_statuses, ids)
    figures, outbox_ids = db.transaction(
        lambda cur: rounds.run(
            cur, trigger=trigger, started_by=started_by, now=_now(), active_members=active
        )
    )
    outbox.flush(settings.google_cloud_project, outbox_ids)
    return figures


def _round_view(row: store.RoundFigures) -> dict[str, Any]:
    (rid, trigger, started, finished, mentees, mentors, slots, proposed, mean) = row
    return {
        "id": rid,
        "trigger": trigger,
        "started_at": _ts(started),
        "finished_at": _ts(finished),
        "mentees_in_pool": mentees,
        "mentors_in_pool": mentors,
        "free_slots": slots,
        "proposed": proposed,
        "match_rate": (round(proposed / mentees, 4) if mentees else None),
        "mean_score": None if mean is None else round(float(mean), 4),
    }


def figures(cur: Cursor, now: datetime) -> dict[str, Any]:
    mentors, mentees, capacity = store.engagement_counts(cur)
    by_status = {s: 0 for s in ("open", "accepted", "declined", "expired", "withdrawn")}
    by_status.update(store.proposals_by_status(cur))
    active, ended = store.mentorship_counts(cur)
    ratings, mean_rating = store.ratings(cur)
    waiting = store.mentees_waiting(cur)
    recent = [_round_view(r) for r in store.recent_rounds(cur)]
    closed = sum(by_status[s] for s in ("accepted", "declined", "expired", "withdrawn"))
    return {
        "pool": {
            "mentors": mentors,
            "mentees": mentees,
            "capacity": capacity,
            "mentees_waiting": waiting,
        },
        "proposals": by_status,
        "acceptance_rate": round(by_status["accepted"] / closed, 4) if closed else None,
        "mentorships": {"active": active, "ended": ended},
        "feedback": {
            "ratings": ratings,
            "mean_rating": (round(float(mean_rating), 2) if ratings >= MIN_RATINGS else None),
        },
        "recent_rounds": recent,
        "as_of": _ts(now),
    }


@api.post(
    "/v1/admin/mentoring/rounds",
    operation_id="runMentorRound",
    summary="Coordinator: run a matching round now (expire, then propose over the whole pool).",
    response=MentorRoundResult,
    returns="The round's figures",
    status=201,
    errors=(503,),
)
def start_round(request: Request) -> Reply:
    """Needs a staff token with role `mentor_coordinator`."""
    assert request.principal is not None
    result = run_round(request.settings, trigger="staff", started_by=request.caller.subject)
    return Reply(result, status=201, headers=_NO_STORE)


@api.get(
    "/v1/admin/mentoring/figures",
    operation_id="getMentoringFigures",
    summary=(
        "Coordinator: pool sizes, free places, proposals by outcome, match and acceptance rates, "
        "mentorships, average rating. Counts only."
    ),
    response=MentoringFigures,
    returns="Figures",
    errors=(503,),
)
def get_figures(request: Request) -> Reply:
    """Needs a staff token with role `mentor_coordinator`."""
    return Reply(db.read(lambda cur: figures(cur, _now())), headers=_NO_STORE)
