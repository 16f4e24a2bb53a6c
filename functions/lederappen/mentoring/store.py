"""The mentoring tables: `mentor_engagements` (sign-ups), `mentor_rounds`, `mentor_proposals`,
`mentorships` and `mentorship_feedback`. The only module of the package that reads or writes
them; it returns typed rows (`Engagement`, `Profile`, `Proposal`, `Mentorship`, `Feedback`,
`RoundFigures`, `matching.Candidate`) and holds no rule: engagement.py, proposals.py,
rounds.py and admin.py decide, this module stores.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from ..core import db, restriction
from ..core.db import Cursor
from . import matching

# -- sign-ups -----------------------------------------------------------------------------------


class Engagement(NamedTuple):
    role: str
    topics: list[str]
    industry: str | None
    county: str | None
    position_level: str | None
    years_as_manager: int | None
    formats: list[str]
    languages: list[str]
    capacity: int | None
    presentation: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class Profile(NamedTuple):
    """What a member signed up with in a role, as the other side of a pair may see it."""

    topics: list[str]
    industry: str | None
    county: str | None
    position_level: str | None
    years_as_manager: int | None
    formats: list[str]
    languages: list[str]
    presentation: str | None


_COLUMNS = (
    "role, topics, industry, county, position_level, years_as_manager, formats, "
    "languages, capacity, presentation, version, created_at, updated_at"
)
_PROFILE = (
    "topics, industry, county, position_level, years_as_manager, formats, languages, presentation"
)


def engagements(cur: Cursor, member_id: str) -> list[Engagement]:
    """The member's sign-ups (one per role at most)."""
    cur.execute(f"SELECT {_COLUMNS} FROM mentor_engagements WHERE member_id = %s", (member_id,))
    return [Engagement(*r) for r in cur.fetchall()]


def engagement_version(cur: Cursor, member_id: str, role: str) -> int:
    """The sign-up's version (0 when there is none), locked until commit."""
    # FOR UPDATE: a change of capacity and a mentee taking the last place (which locks the
    # same row) happen one after the other, never on the same stale count.
    cur.execute(
        "SELECT version FROM mentor_engagements WHERE member_id = %s AND role = %s FOR UPDATE",
        (member_id, role),
    )
    row = cur.fetchone()
    return row[0] if row else 0


def create_engagement(
    cur: Cursor, member_id: str, role: str, values: tuple, now: datetime
) -> Engagement | None:
    """`values`: topics, industry, county, position_level, years_as_manager, formats,
    languages, capacity, presentation. None when the sign-up exists already."""
    cur.execute(
        "INSERT INTO mentor_engagements (member_id, role, topics, industry, county, "
        "position_level, years_as_manager, formats, languages, capacity, presentation, "
        "created_at, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT DO NOTHING RETURNING {_COLUMNS}",
        (member_id, role, *values, now, now),
    )
    row = cur.fetchone()
    return None if row is None else Engagement(*row)


def update_engagement(
    cur: Cursor, member_id: str, role: str, values: tuple, expected_version: int, now: datetime
) -> Engagement | None:
    """Replaces the sign-up if it is still at `expected_version` (`values` as for
    create_engagement); None when it is not."""
    cur.execute(
        "UPDATE mentor_engagements SET topics = %s, industry = %s, county = %s, "
        "position_level = %s, years_as_manager = %s, formats = %s, languages = %s, "
        "capacity = %s, presentation = %s, version = version + 1, updated_at = %s "
        f"WHERE member_id = %s AND role = %s AND version = %s RETURNING {_COLUMNS}",
        (*values, now, member_id, role, expected_version),
    )
    row = cur.fetchone()
    return None if row is None else Engagement(*row)


def delete_engagement(cur: Cursor, member_id: str, role: str) -> bool:
    cur.execute(
        "DELETE FROM mentor_engagements WHERE member_id = %s AND role = %s", (member_id, role)
    )
    return cur.rowcount > 0


def profile(cur: Cursor, member_id: str, role: str) -> Profile | None:
    cur.execute(
        f"SELECT {_PROFILE} FROM mentor_engagements WHERE member_id = %s AND role = %s",
        (member_id, role),
    )
    row = cur.fetchone()
    return None if row is None else Profile(*row)


def mentor_capacity(cur: Cursor, mentor_id: str) -> int | None:
    """The mentor's capacity (None: not a mentor), their sign-up locked until commit."""
    cur.execute(
        "SELECT capacity FROM mentor_engagements WHERE member_id = %s "
        "AND role = 'mentor' FOR UPDATE",
        (mentor_id,),
    )
    row = cur.fetchone()
    return None if row is None else row[0]


# -- proposals ----------------------------------------------------------------------------------


class Proposal(NamedTuple):
    id: Any  # uuid
    mentee_id: str
    mentor_id: str
    score: Any  # numeric
    parts: dict[str, float]
    reasons: list[str]
    shared_topics: list[str]
    status: str
    mentee_answer: str | None
    mentor_answer: str | None
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None


_PROPOSAL = (
    "p.id, p.mentee_id, p.mentor_id, p.score, p.parts, p.reasons, p.shared_topics, "
    "p.status, p.mentee_answer, p.mentor_answer, p.created_at, p.expires_at, "
    "p.closed_at"
)


def member_proposals(
    cur: Cursor, member_id: str, now: datetime, closed_days: int
) -> list[Proposal]:
    """The member's proposals, open or closed within `closed_days`, newest first."""
    cur.execute(
        f"SELECT {_PROPOSAL} FROM mentor_proposals p WHERE (p.mentee_id = %s OR p.mentor_id = %s) "
        "AND (p.status = 'open' OR p.closed_at > %s::timestamptz - make_interval(days => %s)) "
        "ORDER BY p.created_at DESC, p.id",
        (member_id, member_id, now, closed_days),
    )
    return [Proposal(*r) for r in cur.fetchall()]


def member_proposal(
    cur: Cursor, member_id: str, proposal_id: str, *, for_update: bool
) -> Proposal | None:
    """The proposal if the member is part of it (locked until commit `for_update`)."""
    cur.execute(
        f"SELECT {_PROPOSAL} FROM mentor_proposals p WHERE p.id = %s "
        "AND (p.mentee_id = %s OR p.mentor_id = %s)" + (" FOR UPDATE" if for_update else ""),
        (proposal_id, member_id, member_id),
    )
    row = cur.fetchone()
    return None if row is None else Proposal(*row)


def decline(cur: Cursor, proposal_id: str, side: str, now: datetime) -> None:
    """`side` ('mentee' or 'mentor') declined: the proposal closes as declined."""
    cur.execute(
        f"UPDATE mentor_proposals SET {side}_answer = 'declined', "
        f"{side}_answered_at = %s, status = 'declined', closed_at = %s WHERE id = %s",
        (now, now, proposal_id),
    )


def accept(cur: Cursor, proposal_id: str, side: str, now: datetime) -> None:
    """`side` accepted; the proposal stays open for the other side's answer."""
    cur.execute(
        f"UPDATE mentor_proposals SET {side}_answer = 'accepted', "
        f"{side}_answered_at = %s WHERE id = %s",
        (now, proposal_id),
    )


def complete(
    cur: Cursor, proposal_id: str, side: str, mentee_id: str, mentor_id: str, now: datetime
) -> None:
    """`side` accepted last: the proposal closes as accepted and the mentorship starts (its
    id is the proposal's)."""
    cur.execute(
        f"UPDATE mentor_proposals SET {side}_answer = 'accepted', "
        f"{side}_answered_at = %s, status = 'accepted', closed_at = %s WHERE id = %s",
        (now, now, proposal_id),
    )
    cur.execute(
        "INSERT INTO mentorships (id, mentee_id, mentor_id, started_at) VALUES (%s, %s, %s, %s)",
        (proposal_id, mentee_id, mentor_id, now),
    )


def withdraw_open(cur: Cursor, member_id: str, role: str, now: datetime) -> list[str]:
    """Closes the member's open proposals in `role` as withdrawn; the other sides."""
    column = "mentee_id" if role == "mentee" else "mentor_id"
    other = "mentor_id" if role == "mentee" else "mentee_id"
    cur.execute(
        f"UPDATE mentor_proposals SET status = 'withdrawn', closed_at = %s "
        f"WHERE {column} = %s AND status = 'open' RETURNING {other}",
        (now, member_id),
    )
    return [r[0] for r in cur.fetchall()]


def expire(cur: Cursor, now: datetime) -> list[tuple[str, str]]:
    """Closes every open proposal whose window has passed; (mentee, mentor) of each."""
    cur.execute(
        "UPDATE mentor_proposals SET status = 'expired', closed_at = %s "
        "WHERE status = 'open' AND expires_at <= %s RETURNING mentee_id, mentor_id",
        (now, now),
    )
    return [(a, b) for a, b in cur.fetchall()]


def create_proposals(
    cur: Cursor, round_id: int, now: datetime, expires: datetime, rows: list[dict[str, Any]]
) -> None:
    """Writes a round's proposals: each row {a: mentee, b: mentor, s: score, p: parts,
    r: reasons, t: shared topics}. One JSON parameter, expanded in SQL: pg8000 encodes array
    parameters in Python at ~3 us an element, json.dumps is C."""
    cur.execute(
        "INSERT INTO mentor_proposals (id, round_id, mentee_id, mentor_id, score, parts, "
        "reasons, shared_topics, created_at, expires_at) "
        "SELECT gen_random_uuid(), %s, a, b, s, p, r, t, %s, %s "
        "FROM json_to_recordset(%s::json) AS u(a text, b text, s float8, p jsonb, "
        "r text[], t text[])",
        (round_id, now, expires, json.dumps(rows)),
    )


# -- mentorships --------------------------------------------------------------------------------


class Mentorship(NamedTuple):
    id: Any  # uuid
    mentee_id: str
    mentor_id: str
    started_at: datetime
    ended_at: datetime | None
    ended_by: str | None


class Feedback(NamedTuple):
    rating: int
    comment: str | None
    created_at: datetime


_MENTORSHIP = "id, mentee_id, mentor_id, started_at, ended_at, ended_by"


def active_mentees(cur: Cursor, mentor_id: str) -> int:
    """The mentor's mentorships that have not ended."""
    cur.execute(
        "SELECT count(*) FROM mentorships WHERE mentor_id = %s AND ended_at IS NULL", (mentor_id,)
    )
    return db.one(cur)[0]


def member_mentorship(
    cur: Cursor, member_id: str, mentorship_id: str, *, for_update: bool = False
) -> Mentorship | None:
    """The mentorship if the member is part of it (locked until commit `for_update`)."""
    cur.execute(
        f"SELECT {_MENTORSHIP} FROM mentorships WHERE id = %s "
        "AND (mentee_id = %s OR mentor_id = %s)" + (" FOR UPDATE" if for_update else ""),
        (mentorship_id, member_id, member_id),
    )
    row = cur.fetchone()
    return None if row is None else Mentorship(*row)


def member_mentorships(cur: Cursor, member_id: str) -> list[Mentorship]:
    """The member's mentorships, newest first."""
    cur.execute(
        f"SELECT {_MENTORSHIP} FROM mentorships WHERE mentee_id = %s OR mentor_id = %s "
        "ORDER BY started_at DESC, id",
        (member_id, member_id),
    )
    return [Mentorship(*r) for r in cur.fetchall()]


def end_mentorship(cur: Cursor, mentorship_id: str, ended_by: str, now: datetime) -> None:
    cur.execute(
        "UPDATE mentorships SET ended_at = %s, ended_by = %s WHERE id = %s",
        (now, ended_by, mentorship_id),
    )


def feedback(cur: Cursor, mentorship_id: Any, member_id: str) -> Feedback | None:
    """The member's feedback on the mentorship."""
    cur.execute(
        "SELECT rating, comment, created_at FROM mentorship_feedback "
        "WHERE mentorship_id = %s AND member_id = %s",
        (mentorship_id, member_id),
    )
    row = cur.fetchone()
    return None if row is None else Feedback(*row)


def put_feedback(
    cur: Cursor, mentorship_id: str, member_id: str, rating: int, comment: str | None, now: datetime
) -> None:
    """Creates or replaces the member's feedback on the mentorship."""
    cur.execute(
        "INSERT INTO mentorship_feedback (mentorship_id, member_id, rating, comment, created_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (mentorship_id, member_id) DO UPDATE "
        "SET rating = EXCLUDED.rating, comment = EXCLUDED.comment, "
        "created_at = EXCLUDED.created_at",
        (mentorship_id, member_id, rating, comment, now),
    )


# -- matching rounds ----------------------------------------------------------------------------

#: One key for the advisory lock every round takes (any constant; "mentor" in ASCII).
_LOCK_KEY = 0x6D656E746F72

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
    """Every member with a sign-up."""
    cur.execute("SELECT DISTINCT member_id FROM mentor_engagements")
    return [r[0] for r in cur.fetchall()]


def lock_rounds(cur: Cursor) -> None:
    """Until commit, no other round runs."""
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))


def pool(
    cur: Cursor,
) -> tuple[list[matching.Candidate], list[matching.Candidate], set[tuple[str, str]]]:
    """Unrestricted mentees with no open proposal and no active mentorship; unrestricted
    mentors with their capacity and taken slots (active mentorships and open proposals);
    every (mentee, mentor) pair ever proposed."""
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
    cur.execute("SELECT mentee_id, mentor_id FROM mentor_proposals")
    excluded = {(a, b) for a, b in cur.fetchall()}
    return mentees, mentors, excluded


def start_round(cur: Cursor, trigger: str, started_by: str, now: datetime) -> int:
    """A new round's row; its id."""
    cur.execute(
        "INSERT INTO mentor_rounds (trigger, started_by, started_at) VALUES (%s, %s, %s) "
        "RETURNING id",
        (trigger, started_by, now),
    )
    return db.one(cur)[0]


def finish_round(
    cur: Cursor,
    round_id: int,
    mentees_in_pool: int,
    mentors_in_pool: int,
    free_slots: int,
    proposed: int,
    mean_score: float | None,
) -> None:
    cur.execute(
        "UPDATE mentor_rounds SET finished_at = clock_timestamp(), mentees_in_pool = %s, "
        "mentors_in_pool = %s, free_slots = %s, proposed = %s, mean_score = %s WHERE id = %s",
        (mentees_in_pool, mentors_in_pool, free_slots, proposed, mean_score, round_id),
    )


# -- the programme's figures (counts only) ------------------------------------------------------


class RoundFigures(NamedTuple):
    """A finished round's figures (finish_round has set them all)."""

    id: int
    trigger: str
    started_at: datetime
    finished_at: datetime
    mentees_in_pool: int
    mentors_in_pool: int
    free_slots: int
    proposed: int
    mean_score: Any  # numeric, None when nothing was proposed


def engagement_counts(cur: Cursor) -> tuple[int, int, int]:
    """(mentors, mentees, the mentors' summed capacity)."""
    cur.execute(
        "SELECT count(*) FILTER (WHERE role = 'mentor'), count(*) FILTER (WHERE role = 'mentee'), "
        "coalesce(sum(capacity), 0) FROM mentor_engagements"
    )
    mentors, mentees, capacity = db.one(cur)
    return mentors, mentees, int(capacity)


def proposals_by_status(cur: Cursor) -> dict[str, int]:
    """Proposals per status (statuses without any are absent)."""
    cur.execute("SELECT status, count(*) FROM mentor_proposals GROUP BY status")
    return dict(cur.fetchall())


def mentorship_counts(cur: Cursor) -> tuple[int, int]:
    """(active, ended) mentorships."""
    cur.execute(
        "SELECT count(*) FILTER (WHERE ended_at IS NULL), "
        "count(*) FILTER (WHERE ended_at IS NOT NULL) FROM mentorships"
    )
    active, ended = db.one(cur)
    return active, ended


def ratings(cur: Cursor) -> tuple[int, Any]:
    """(how many ratings, their mean: numeric or None)."""
    cur.execute("SELECT count(*), avg(rating) FROM mentorship_feedback")
    count, mean = db.one(cur)
    return count, mean


def mentees_waiting(cur: Cursor) -> int:
    """Mentees with no open proposal and no active mentorship."""
    cur.execute(
        "SELECT count(*) FROM mentor_engagements e WHERE e.role = 'mentee' "
        "AND NOT EXISTS (SELECT 1 FROM mentor_proposals p WHERE p.mentee_id = e.member_id "
        "AND p.status = 'open') AND NOT EXISTS (SELECT 1 FROM mentorships s "
        "WHERE s.mentee_id = e.member_id AND s.ended_at IS NULL)"
    )
    return db.one(cur)[0]


def recent_rounds(cur: Cursor) -> list[RoundFigures]:
    """The ten latest finished rounds, newest first."""
    cur.execute(
        "SELECT id, trigger, started_at, finished_at, mentees_in_pool, mentors_in_pool, "
        "free_slots, proposed, mean_score FROM mentor_rounds "
        "WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 10"
    )
    return [RoundFigures(*r) for r in cur.fetchall()]
