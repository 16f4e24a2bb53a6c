"""The matching core of mentor engagement (F7): score mentee/mentor pairs, assign the pool.

Pure: no database, no HTTP. The caller loads the sign-ups, leaves out every member whose
processing is restricted (they must not be matched, nor scored) and passes in the pairs that
must never be proposed again (`excluded`: declined or expired proposals, existing
mentorships, as (mentee_id, mentor_id)).

Score. Each part is in [0, 1]; the total is their weighted sum, in [0, 1]:

- ``topics`` (0.40), the reason people sign up: the share of the mentee's topics that the
  mentor offers (|shared| / |mentee's|; 0 if the mentee named none). Measured against the
  mentee's needs, not Jaccard: a mentor who offers more than the mentee asked for is not worse.
- ``place_or_format`` (0.20): 1 if both offer "digital", or both allow "in_person" in the same
  county; else 0. A pair that cannot meet is a poor pair, whatever else fits.
- ``seniority`` (0.20): the mentor should be further along. By position level (first_line <
  middle < senior < executive): mentor 1-2 levels above 1, 3 levels above 0.5, below 0. On the
  same level, or when a level is unknown, years as a manager decide: >= 3 more 1, 1-2 more 0.5,
  else 0. Nothing known: 0.
- ``industry`` (0.15): the same NACE section 1, else (or unknown) 0. Helpful, not essential.
- ``language`` (0.05): pairs sharing no language are infeasible (`score` returns None), so the
  part is 1 for every proposed pair; it has a small weight only to show up in the reasons.

Hard constraints besides capacity and exclusions: a shared language, and at least one shared
topic. Topics are why members sign up; without that rule a pair in the same industry who can
meet, with a more senior mentor, would pass the minimum (0.6) with nothing to talk about.

A pair is proposed only if its total is at least `MIN_SCORE` (0.5: e.g. all topics covered and
one of place/seniority, or half the topics, a way to meet and a more senior mentor).
`Score.reasons` names what contributed, as stable codes for the API to translate, biggest
contribution first.

Assignment. `assign` maximises the total score over the whole pool (each mentee at most one
mentor, each mentor at most capacity - active_mentees) with scipy's linear_sum_assignment
(C implementation of the shortest augmenting path / Jonker-Volgenant kind of Hungarian
algorithm) on the score matrix with one column per free slot. `score_matrix` builds the matrix
with numpy in one pass over the pool; `score` (plain Python) is only called for the chosen
pairs, for their parts and reasons. Both compute each total with the same float operations in
the same order, so they agree exactly. Inputs are sorted by member id first, so the result
does not depend on the order the caller loaded them in.

numpy and scipy are imported inside the functions that need them: on this machine ``import
numpy`` costs ~50 ms and ``scipy.optimize`` ~255 ms more, which only the matching job pays,
never the HTTP functions that import this package for `Candidate` or `score` (this module
costs ~5 ms on top of dataclasses and typing). A pool of 5,000 mentees and 2,000 mentors
(2 free slots each on average, 4,000 slot columns) takes 1.3-1.5 s here: score_matrix
0.3-0.7 s, the bare solver ~0.8 s, slicing and the reasons of the chosen pairs the rest
(tests/unit/test_matching.py).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy

#: Position levels, least senior first.
LEVELS = ("first_line", "middle", "senior", "executive")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}
FORMATS = frozenset({"digital", "in_person"})

W_TOPICS = 0.40
W_PLACE_OR_FORMAT = 0.20
W_SENIORITY = 0.20
W_INDUSTRY = 0.15
W_LANGUAGE = 0.05
#: The parts in the (fixed) order they are summed in, with their weights (summing to 1).
WEIGHTS = {
    "topics": W_TOPICS,
    "industry": W_INDUSTRY,
    "place_or_format": W_PLACE_OR_FORMAT,
    "seniority": W_SENIORITY,
    "language": W_LANGUAGE,
}
#: No pair with a lower total is proposed.
MIN_SCORE = 0.5
#: Totals are sums of floats: a pair meant to sit exactly on the threshold must not miss it by
#: a rounding error.
_EPS = 1e-9

#: Seniority by level gap (mentor's rank - mentee's rank) when the gap alone decides.
_GAP_NEAR = 1.0  # 1-2 levels above
_GAP_FAR = 0.5  # 3 levels above: still more senior, but far from the mentee's daily work
#: Seniority by years as a manager (mentor's - mentee's) on the same or an unknown level.
_YEARS_MANY = 3  # >= 3 more years: 1.0
_YEARS_SOME = 1  # 1-2 more years: 0.5

#: Reason codes per part, in the order they are listed when contributions tie.
REASONS = ("shared_topics", "same_industry", "digital", "same_county", "more_experienced",
           "shared_language")


@dataclass(frozen=True)
class Candidate:
    """One sign-up, as mentee or as mentor. capacity and active_mentees matter only for
    mentors: their free slots are capacity - active_mentees."""

    member_id: str
    topics: frozenset[str]
    industry: str | None
    county: str | None
    position_level: str | None
    years_as_manager: int | None
    formats: frozenset[str]
    languages: frozenset[str]
    capacity: int = 0
    active_mentees: int = 0

    def __post_init__(self) -> None:
        if self.position_level is not None and self.position_level not in LEVEL_RANK:
            raise ValueError(f"unknown position level {self.position_level!r}")
        if self.years_as_manager is not None and self.years_as_manager < 0:
            raise ValueError("years_as_manager must be >= 0")
        if self.capacity < 0 or self.active_mentees < 0:
            raise ValueError("capacity and active_mentees must be >= 0")

    @property
    def free_slots(self) -> int:
        return max(0, self.capacity - self.active_mentees)


@dataclass(frozen=True)
class Score:
    total: float
    parts: dict[str, float]
    reasons: list[str]


@dataclass(frozen=True)
class Proposal:
    mentee_id: str
    mentor_id: str
    score: Score


# --- one pair, plain Python ------------------------------------------------------------------


def _topics(mentee: Candidate, mentor: Candidate) -> float:
    if not mentee.topics:
        return 0.0
    return len(mentee.topics & mentor.topics) / len(mentee.topics)


def _same_industry(mentee: Candidate, mentor: Candidate) -> bool:
    return mentee.industry is not None and mentee.industry == mentor.industry


def _both_digital(mentee: Candidate, mentor: Candidate) -> bool:
    return "digital" in mentee.formats and "digital" in mentor.formats


def _same_county_in_person(mentee: Candidate, mentor: Candidate) -> bool:
    return (mentee.county is not None and mentee.county == mentor.county
            and "in_person" in mentee.formats and "in_person" in mentor.formats)


def _years(mentee: Candidate, mentor: Candidate) -> float:
    if mentee.years_as_manager is None or mentor.years_as_manager is None:
        return 0.0
    more = mentor.years_as_manager - mentee.years_as_manager
    return 1.0 if more >= _YEARS_MANY else 0.5 if more >= _YEARS_SOME else 0.0


def _seniority(mentee: Candidate, mentor: Candidate) -> float:
    if mentee.position_level is not None and mentor.position_level is not None:
        gap = LEVEL_RANK[mentor.position_level] - LEVEL_RANK[mentee.position_level]
        if gap < 0:
            return 0.0
        if gap > 0:
            return _GAP_NEAR if gap <= 2 else _GAP_FAR
    return _years(mentee, mentor)


def score(mentee: Candidate, mentor: Candidate) -> Score | None:
    """The score of mentee with mentor, or None if they cannot be paired (no shared language,
    no shared topic, or the same member). Does not look at capacity or exclusions: `assign`
    does."""
    if (mentee.member_id == mentor.member_id or not (mentee.languages & mentor.languages)
            or not (mentee.topics & mentor.topics)):
        return None
    digital = _both_digital(mentee, mentor)
    same_county = _same_county_in_person(mentee, mentor)
    parts = {
        "topics": _topics(mentee, mentor),
        "industry": 1.0 if _same_industry(mentee, mentor) else 0.0,
        "place_or_format": 1.0 if digital or same_county else 0.0,
        "seniority": _seniority(mentee, mentor),
        "language": 1.0,
    }
    total = 0.0
    for name, weight in WEIGHTS.items():  # the order score_matrix sums in
        total += weight * parts[name]
    codes = {
        "shared_topics": parts["topics"] > 0, "same_industry": parts["industry"] > 0,
        "digital": digital, "same_county": same_county,
        "more_experienced": parts["seniority"] > 0, "shared_language": True,
    }
    part_of = {"shared_topics": "topics", "same_industry": "industry", "digital":
               "place_or_format", "same_county": "place_or_format",
               "more_experienced": "seniority", "shared_language": "language"}
    # biggest contribution first; sorted is stable, so ties keep the order of REASONS
    reasons = sorted((c for c in REASONS if codes[c]),
                     key=lambda c: -WEIGHTS[part_of[c]] * parts[part_of[c]])
    return Score(total=total, parts=parts, reasons=reasons)


# --- the pool, numpy -------------------------------------------------------------------------


def _incidence(np, sets: Sequence[frozenset[str]], vocab: dict[str, int]) -> numpy.ndarray:
    out = np.zeros((len(sets), max(1, len(vocab))), dtype=np.float64)
    for i, s in enumerate(sets):
        for value in s:
            out[i, vocab[value]] = 1.0
    return out


def _codes(np, values: Sequence[str | None], vocab: dict[str, int], missing: int):
    return np.array([missing if v is None else vocab[v] for v in values], dtype=np.int32)


def _vocab(*groups: Sequence) -> dict[str, int]:
    seen: set[str] = set()
    for group in groups:
        for item in group:
            if isinstance(item, frozenset):
                seen |= item
            elif item is not None:
                seen.add(item)
    return {v: i for i, v in enumerate(sorted(seen))}


def score_matrix(mentees: Sequence[Candidate], mentors: Sequence[Candidate],
                 excluded: Collection[tuple[str, str]] = frozenset()) -> numpy.ndarray:
    """float64 matrix, mentees x mentors, of `score(mentee, mentor).total`; NaN where the pair
    can never be proposed: no shared language, no shared topic, the same member, or (mentee_id, mentor_id) in
    `excluded`. Capacity and the minimum score are not applied here (see `assign`)."""
    import numpy as np

    n, m = len(mentees), len(mentors)
    total = np.zeros((n, m), dtype=np.float64)
    if n == 0 or m == 0:
        return total

    # topics: |shared| / |mentee's| (0 if none), by a matrix product of 0/1 incidences
    vocab = _vocab([c.topics for c in mentees], [c.topics for c in mentors])
    te, tr = (_incidence(np, [c.topics for c in side], vocab) for side in (mentees, mentors))
    np.matmul(te, tr.T, out=total)  # exact small integers
    no_topic = total == 0  # a pair sharing no topic is never proposed (NaN at the end)
    count = te.sum(axis=1)
    np.divide(total, count[:, None], out=total, where=count[:, None] > 0)  # else 0 already
    total *= W_TOPICS

    # industry: the same NACE section (unknown never matches: -1 vs -2)
    vocab = _vocab([c.industry for c in mentees], [c.industry for c in mentors])
    ie = _codes(np, [c.industry for c in mentees], vocab, -1)
    ir = _codes(np, [c.industry for c in mentors], vocab, -2)
    np.add(total, W_INDUSTRY, out=total, where=ie[:, None] == ir[None, :])

    # place or format: both digital, or both in person in the same county
    def has(side, fmt):
        return np.array([fmt in c.formats for c in side], dtype=bool)

    vocab = _vocab([c.county for c in mentees], [c.county for c in mentors])
    ce = _codes(np, [c.county for c in mentees], vocab, -1)
    cr = _codes(np, [c.county for c in mentors], vocab, -2)
    meet = ce[:, None] == cr[None, :]
    meet &= has(mentees, "in_person")[:, None] & has(mentors, "in_person")[None, :]
    meet |= has(mentees, "digital")[:, None] & has(mentors, "digital")[None, :]
    np.add(total, W_PLACE_OR_FORMAT, out=total, where=meet)
    del meet

    # seniority: the level gap decides if both levels are known and differ, else the years
    def ranks(side):
        return np.array([-1 if c.position_level is None else LEVEL_RANK[c.position_level]
                         for c in side], dtype=np.int8)

    def years(side):
        return np.array([-1 if c.years_as_manager is None else c.years_as_manager
                         for c in side], dtype=np.int32)

    le, lr = ranks(mentees), ranks(mentors)
    gap = lr[None, :] - le[:, None]  # int8
    by_level = ((le >= 0)[:, None] & (lr >= 0)[None, :]) & (gap != 0)
    np.add(total, W_SENIORITY * _GAP_NEAR, out=total, where=by_level & (gap >= 1) & (gap <= 2))
    np.add(total, W_SENIORITY * _GAP_FAR, out=total, where=by_level & (gap >= 3))
    ye, yr = years(mentees), years(mentors)
    more = yr[None, :] - ye[:, None]
    by_years = ~by_level & (ye >= 0)[:, None] & (yr >= 0)[None, :]
    np.add(total, W_SENIORITY * 1.0, out=total, where=by_years & (more >= _YEARS_MANY))
    np.add(total, W_SENIORITY * 0.5, out=total,
           where=by_years & (more >= _YEARS_SOME) & (more < _YEARS_MANY))
    del gap, by_level, more, by_years

    # language: sharing one makes the pair feasible (part 1), else NaN
    vocab = _vocab([c.languages for c in mentees], [c.languages for c in mentors])
    le_, lr_ = (_incidence(np, [c.languages for c in side], vocab) for side in (mentees, mentors))
    shared = (le_ @ lr_.T) > 0
    np.add(total, W_LANGUAGE * 1.0, out=total, where=shared)
    total[~shared] = np.nan
    total[no_topic] = np.nan
    del no_topic

    # the same member on both sides, and excluded pairs
    mentor_index = {c.member_id: j for j, c in enumerate(mentors)}
    mentee_index = {c.member_id: i for i, c in enumerate(mentees)}
    for i, c in enumerate(mentees):
        j = mentor_index.get(c.member_id)
        if j is not None:
            total[i, j] = np.nan
    for mentee_id, mentor_id in excluded:
        i, j = mentee_index.get(mentee_id), mentor_index.get(mentor_id)
        if i is not None and j is not None:
            total[i, j] = np.nan
    return total


def solve(matrix: numpy.ndarray, slots: Sequence[int],
          min_score: float = MIN_SCORE) -> list[tuple[int, int]]:
    """The (row, column) pairs of an assignment of `matrix` (from `score_matrix`) that
    maximises the sum of scores: each row at most once, column j at most slots[j] times, no
    pair below min_score or NaN. Rows in increasing order."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    slots = np.asarray(slots, dtype=np.int64)
    # A pair that may not be proposed gets weight 0, the same as leaving both unmatched: every
    # allowed pair is worth more (at least the language part, 0.05), so the solver (which must
    # fill min(rows, slots) cells of a rectangular matrix) only picks a 0 cell where nothing
    # better is left, and those cells are dropped afterwards. An infinite cost instead would
    # make "no complete assignment exists" an error.
    threshold = min_score - _EPS
    with np.errstate(invalid="ignore"):
        allowed = matrix >= threshold  # False for NaN
    rows = np.flatnonzero(allowed.any(axis=1))
    usable = np.minimum(slots, allowed.sum(axis=0))  # more slots than candidates never help
    del allowed
    cols = np.flatnonzero(usable > 0)
    if rows.size == 0 or cols.size == 0:
        return []
    column_of = np.repeat(cols, usable[cols])  # one column per free slot
    transpose = rows.size > column_of.size
    if transpose:
        # linear_sum_assignment wants no more rows than columns and transposes otherwise;
        # handing it a C-contiguous transposed matrix is ~1.7x faster (0.85 s vs 1.45 s for
        # 5,000 x 4,000 here) than letting it work on a transposed view.
        sub = matrix.T[np.ix_(column_of, rows)]
    else:
        sub = matrix[np.ix_(rows, column_of)]
    with np.errstate(invalid="ignore"):
        sub[~(sub >= threshold)] = 0.0  # NaN and below the minimum
    if transpose:
        c, r = linear_sum_assignment(sub, maximize=True)
        sub = sub.T
    else:
        r, c = linear_sum_assignment(sub, maximize=True)
    keep = sub[r, c] > 0
    pairs = [(int(rows[i]), int(column_of[j])) for i, j in zip(r[keep], c[keep])]
    return sorted(pairs)


def assign(mentees: Sequence[Candidate], mentors: Sequence[Candidate],
           excluded: Collection[tuple[str, str]] = frozenset(),
           min_score: float = MIN_SCORE) -> list[Proposal]:
    """Proposals maximising the total score over the pool: each mentee with at most one
    mentor, each mentor with at most their free slots (capacity - active_mentees), never a
    member with themself, never an `excluded` (mentee_id, mentor_id), never below min_score.
    Sorted by mentee id; the same input always gives the same output. The caller has already
    left out members whose processing is restricted."""
    for side in (mentees, mentors):
        ids = [c.member_id for c in side]
        if len(set(ids)) != len(ids):
            raise ValueError("a member appears twice on the same side")
    mentees = sorted(mentees, key=lambda c: c.member_id)
    mentors = sorted((c for c in mentors if c.free_slots > 0), key=lambda c: c.member_id)
    if not mentees or not mentors:
        return []
    matrix = score_matrix(mentees, mentors, excluded)
    proposals = []
    for i, j in solve(matrix, [c.free_slots for c in mentors], min_score):
        s = score(mentees[i], mentors[j])
        assert s is not None
        proposals.append(Proposal(mentees[i].member_id, mentors[j].member_id, s))
    return proposals
