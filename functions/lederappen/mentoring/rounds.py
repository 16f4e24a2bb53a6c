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

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..core import audit
from ..core.db import Cursor
from ..notifications import outgoing
from . import matching, store, texts

#: Days both sides have to answer a proposal.
ANSWER_DAYS = 14
JOB = "mentor-matching"

#: Every member with a sign-up, for the membership check before a round.
signed_up = store.signed_up


def load_pool(
    cur: Cursor, active_members: set[str] | None
) -> tuple[list[matching.Candidate], list[matching.Candidate], set[tuple[str, str]]]:
    """Mentees, mentors (with their taken slots) and the pairs never to propose again.
    `active_members`: ids whose membership is active (None: do not filter, for tests)."""
    mentees, mentors, excluded = store.pool(cur)
    if active_members is not None:
        mentees = [c for c in mentees if c.member_id in active_members]
        mentors = [c for c in mentors if c.member_id in active_members]
    return mentees, mentors, excluded


def expire(cur: Cursor, now: datetime) -> tuple[int, list[int]]:
    """Closes every open proposal whose window has passed and tells both sides. Returns the
    count and the outbox ids to flush after the commit."""
    rows = store.expire(cur, now)
    draft = texts.expired()  # one object: send_direct_many checks it once
    drafts = [(m, draft) for pair in rows for m in pair]
    return len(rows), outgoing.send_direct_many(cur, drafts, created_by=JOB, now=now)


def run(
    cur: Cursor, *, trigger: str, started_by: str, now: datetime, active_members: set[str] | None
) -> tuple[dict[str, Any], list[int]]:
    """One round in the caller's transaction. Returns the round's figures and the outbox ids
    to flush after the commit."""
    store.lock_rounds(cur)
    expired, outbox_ids = expire(cur, now)
    round_id = store.start_round(cur, trigger, started_by, now)
    mentees, mentors, excluded = load_pool(cur, active_members)
    proposals = matching.assign(mentees, mentors, excluded)
    expires = now + timedelta(days=ANSWER_DAYS)
    if proposals:
        topics_of = {c.member_id: c.topics for c in mentees}
        mentor_topics = {c.member_id: c.topics for c in mentors}
        store.create_proposals(
            cur,
            round_id,
            now,
            expires,
            [
                {
                    "a": p.mentee_id,
                    "b": p.mentor_id,
                    "s": p.score.total,
                    "p": {k: round(matching.WEIGHTS[k] * v, 4) for k, v in p.score.parts.items()},
                    "r": p.score.reasons,
                    "t": sorted(topics_of[p.mentee_id] & mentor_topics[p.mentor_id]),
                }
                for p in proposals
            ],
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
    figures: dict[str, Any] = {
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
    store.finish_round(
        cur,
        round_id,
        figures["mentees_in_pool"],
        figures["mentors_in_pool"],
        figures["free_slots"],
        figures["proposed"],
        figures["mean_score"],
    )
    return figures, outbox_ids


def active_members(statuses: Callable[[list[str]], dict[str, str]], ids: list[str]) -> set[str]:
    """The ids whose membership the register says is active."""
    return {m for m, status in statuses(ids).items() if status == "active"}
