"""A matching round: from the sign-ups in PostgreSQL to proposals and their messages (F7).

`run` does in one transaction what a round is: expire the proposals whose answer window has
closed (their capacity is free again), load the pool, assign it (`matching.assign`, optimal
over the whole pool), write the proposals, and queue a direct message to each member
proposed. Either all of it is committed or none of it, and a transaction-level advisory lock
makes a second round wait its turn instead of proposing the same free slot twice.

Who is in the pool:

- mentees with no open proposal and no active mentorship (one mentor at a time);
- mentors with free slots: capacity - active mentorships - open proposals;
- never a member whose processing is restricted (GDPR Art. 18: the data is kept, not used);
- never a member whose membership is not active in the register. The register is asked
  before the transaction (batches of 1,000, `LederneClient.membership_statuses`), so no HTTP
  call holds the lock; a member who signed up in between waits for the next round.

Pairs ever proposed before (declined, expired, withdrawn or accepted) are never proposed
again. Every member in the pool gets an audit entry (the job read their engagement) in one
statement.

Cost: a round of 5,000 mentees and 2,000 mentors (3,975 proposals, 7,950 messages, 6,940
audit entries) takes 0.9-1.4 s end to end in tests/benchmarks/bench_matching.py (2 cores
shared with other work; the bare dense solver alone 1.05-1.13 s in the same runs): the pool
0.06 s, `matching.assign` 0.5-0.75 s, the proposals 0.09-0.13 s, the messages 0.13-0.16 s, the
audit entries 0.035 s. Rows go to PostgreSQL as one JSON parameter per statement, expanded
in SQL (`json_to_recordset`), and the array columns come back as JSON text: pg8000 encodes
and parses array values in Python at ~3 us an element (these statements took ~0.7 s a round
with array parameters and columns, ~0.3 s now).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..core import audit, db, restriction
from ..core.db import Cursor
from ..notifications import outgoing
from . import matching, texts

#: Days both sides have to answer a proposal.
ANSWER_DAYS = 14
#: One key for the advisory lock every round takes (any constant; "mentor" in ASCII).
_LOCK_KEY = 0x6D656E746F72
JOB = "mentor-matching"

#: The array columns travel as one JSON text per row: pg8000 parses array columns in Python
#: (~0.13 s for a pool of 7,000 sign-ups), `json.loads` of one short text per row is ~10x
#: cheaper.
_CANDIDATE = (
    "e.member_id, e.industry, e.county, e.position_level, e.years_as_manager, "
    "json_build_array(e.topics, e.formats, e.languages)::text"
)
_NOT_RESTRICTED = restriction.unrestricted("e.member_id")


def _candidate(row, capacity: int = 0, active: int = 0) -> matching.Candidate:
    member_id, industry, county, level, years, arrays = row[:6]
    topics, formats, languages = json.loads(arrays)
    return matching.Candidate(
        member_id,
        frozenset(topics),
        industry,
        county,
        level,
        years,
        frozenset(formats),
        frozenset(languages),
        capacity,
        active,
    )


def signed_up(cur: Cursor) -> list[str]:
    """Every member with a sign-up, for the membership check before a round."""
    cur.execute("SELECT DISTINCT member_id FROM mentor_engagements")
    return [r[0] for r in cur.fetchall()]


def load_pool(
    cur: Cursor, active_members: set[str] | None
) -> tuple[list[matching.Candidate], list[matching.Candidate], set[tuple[str, str]]]:
    """Mentees, mentors (with their taken slots) and the pairs never to propose again.
    `active_members`: ids whose membership is active (None: do not filter, for tests)."""
    cur.execute(
        f"SELECT {_CANDIDATE} FROM mentor_engagements e WHERE e.role = 'mentee' "
        f"AND {_NOT_RESTRICTED} "
        "AND NOT EXISTS (SELECT 1 FROM mentor_proposals p WHERE p.mentee_id = e.member_id "
        "AND p.status = 'open') "
        "AND NOT EXISTS (SELECT 1 FROM mentorships s WHERE s.mentee_id = e.member_id "
        "AND s.ended_at IS NULL)"
    )
    mentees = [_candidate(r) for r in cur.fetchall()]
    cur.execute(
        f"SELECT {_CANDIDATE}, e.capacity, coalesce(s.n, 0) + coalesce(p.n, 0) "
        "FROM mentor_engagements e "
        "LEFT JOIN (SELECT mentor_id, count(*) AS n FROM mentorships WHERE ended_at IS NULL "
        "GROUP BY mentor_id) s ON s.mentor_id = e.member_id "
        "LEFT JOIN (SELECT mentor_id, count(*) AS n FROM mentor_proposals WHERE status = 'open' "
        "GROUP BY mentor_id) p ON p.mentor_id = e.member_id "
        f"WHERE e.role = 'mentor' AND {_NOT_RESTRICTED}"
    )
    mentors = [_candidate(r, r[6], r[7]) for r in cur.fetchall()]
    if active_members is not None:
        mentees = [c for c in mentees if c.member_id in active_members]
        mentors = [c for c in mentors if c.member_id in active_members]
    cur.execute("SELECT mentee_id, mentor_id FROM mentor_proposals")
    excluded = {(a, b) for a, b in cur.fetchall()}
    return mentees, mentors, excluded


def expire(cur: Cursor, now: datetime) -> tuple[int, list[int]]:
    """Closes every open proposal whose window has passed and tells both sides. Returns the
    count and the outbox ids to flush after the commit."""
    cur.execute(
        "UPDATE mentor_proposals SET status = 'expired', closed_at = %s "
        "WHERE status = 'open' AND expires_at <= %s RETURNING mentee_id, mentor_id",
        (now, now),
    )
    rows = cur.fetchall()
    draft = texts.expired()  # one object: send_direct_many checks it once
    drafts = [(m, draft) for pair in rows for m in pair]
    return len(rows), outgoing.send_direct_many(cur, drafts, created_by=JOB, now=now)


def run(
    cur: Cursor, *, trigger: str, started_by: str, now: datetime, active_members: set[str] | None
) -> tuple[dict[str, Any], list[int]]:
    """One round in the caller's transaction. Returns the round's figures and the outbox ids
    to flush after the commit."""
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
    expired, outbox_ids = expire(cur, now)
    cur.execute(
        "INSERT INTO mentor_rounds (trigger, started_by, started_at) VALUES (%s, %s, %s) "
        "RETURNING id",
        (trigger, started_by, now),
    )
    round_id = db.one(cur)[0]
    mentees, mentors, excluded = load_pool(cur, active_members)
    proposals = matching.assign(mentees, mentors, excluded)
    expires = now + timedelta(days=ANSWER_DAYS)
    if proposals:
        topics_of = {c.member_id: c.topics for c in mentees}
        mentor_topics = {c.member_id: c.topics for c in mentors}
        # one JSON parameter, expanded in SQL: pg8000 encodes array parameters in Python at
        # ~3 us an element, json.dumps is C
        cur.execute(
            "INSERT INTO mentor_proposals (id, round_id, mentee_id, mentor_id, score, parts, "
            "reasons, shared_topics, created_at, expires_at) "
            "SELECT gen_random_uuid(), %s, a, b, s, p, r, t, %s, %s "
            "FROM json_to_recordset(%s::json) AS u(a text, b text, s float8, p jsonb, "
            "r text[], t text[])",
            (
                round_id,
                now,
                expires,
                json.dumps(
                    [
                        {
                            "a": p.mentee_id,
                            "b": p.mentor_id,
                            "s": p.score.total,
                            "p": {
                                k: round(matching.WEIGHTS[k] * v, 4)
                                for k, v in p.score.parts.items()
                            },
                            "r": p.score.reasons,
                            "t": sorted(topics_of[p.mentee_id] & mentor_topics[p.mentor_id]),
                        }
                        for p in proposals
                    ]
                ),
            ),
        )
        # one draft object per role: send_direct_many checks each distinct draft once
        to_mentee, to_mentor = texts.proposed("mentee"), texts.proposed("mentor")
        drafts = [(p.mentee_id, to_mentee) for p in proposals]
        drafts += [(p.mentor_id, to_mentor) for p in proposals]
        outbox_ids += outgoing.send_direct_many(cur, drafts, created_by=JOB, now=now)
    pool = [c.member_id for c in mentees] + [c.member_id for c in mentors]
    actor_kind = "staff" if trigger == "staff" else "job"
    audit.record_many(
        cur,
        sorted(set(pool)),
        actor_kind=actor_kind,
        actor=started_by,
        category="mentoring",
        action="matched",
        purpose="mentor_matching",
        at=now,
    )
    figures = {
        "id": round_id,
        "trigger": trigger,
        "mentees_in_pool": len(mentees),
        "mentors_in_pool": len(mentors),
        "free_slots": sum(c.free_slots for c in mentors),
        "proposed": len(proposals),
        "expired_before_round": expired,
        "mean_score": (
            round(sum(p.score.total for p in proposals) / len(proposals), 4) if proposals else None
        ),
    }
    cur.execute(
        "UPDATE mentor_rounds SET finished_at = clock_timestamp(), mentees_in_pool = %s, "
        "mentors_in_pool = %s, free_slots = %s, proposed = %s, mean_score = %s WHERE id = %s",
        (
            figures["mentees_in_pool"],
            figures["mentors_in_pool"],
            figures["free_slots"],
            figures["proposed"],
            figures["mean_score"],
            round_id,
        ),
    )
    return figures, outbox_ids


def active_members(statuses: Callable[[list[str]], dict[str, str]], ids: list[str]) -> set[str]:
    """The ids whose membership the register says is active."""
    return {m for m, status in statuses(ids).items() if status == "active"}
