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
mentor, each mentor at most capacity - active_mentees). It scores the pool with numpy a block
of mentors at a time (`_allowed_pairs`: a block stays in the CPU cache, and the whole matrix
is never held) and keeps only the pairs that may be proposed; `_solve_pairs` hands those to
scipy's sparse assignment solver (`min_weight_full_bipartite_matching`, LAPJVsp: a
Jonker-Volgenant shortest augmenting path algorithm) with one row per usable free slot. Its
optimum is that of the dense matrix with one column per free slot that scipy's
`linear_sum_assignment` would solve (a pair that may not be proposed is worth nothing either
way), on a problem a quarter of the size; where several assignments reach the same total, the
two may pick different ones. `score_matrix` and `solve` do the same through the whole matrix
(tests, the benchmark's baseline). `score` (plain Python) is only called for the chosen
pairs, for their parts and reasons. Both compute each total with the same float operations in
the same order, so they agree exactly. Inputs are sorted by member id first, so the result
does not depend on the order the caller loaded them in.

numpy and scipy are imported inside the functions that need them: on this machine ``import
numpy`` costs ~50 ms and ``scipy.sparse.csgraph`` ~150 ms more (``scipy.optimize``, for the
dense solver, would be ~255 ms), which only the matching job pays, never the HTTP functions
that import this package for `Candidate` or `score` (this module costs ~5 ms on top of
dataclasses and typing). A pool of 5,000 mentees and 2,000 mentors (3,975 free slots; 24 % of
the 10 million pairs may be proposed) takes 0.45-0.75 s in the benchmark
(tests/benchmarks/bench_matching.py, 2 cores shared with other work): scores and allowed
pairs 0.15-0.35 s, the sparse problem 0.07-0.15 s, the solver 0.19-0.25 s, the reasons of the
chosen pairs 0.02 s. The dense path it replaced took ~1.85 s (the whole matrix 0.40 s, the
slot columns 0.38 s, `linear_sum_assignment` 1.06 s).
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
#: The weight of leaving a free slot empty in `solve`: 0 in effect (any sum it is added to is
#: unchanged in float64), but not 0, which the sparse solver would read as "no edge".
_UNMATCHED = 1e-300

#: Seniority by level gap (mentor's rank - mentee's rank) when the gap alone decides.
_GAP_NEAR = 1.0  # 1-2 levels above
_GAP_FAR = 0.5  # 3 levels above: still more senior, but far from the mentee's daily work
#: Seniority by years as a manager (mentor's - mentee's) on the same or an unknown level.
_YEARS_MANY = 3  # >= 3 more years: 1.0
_YEARS_SOME = 1  # 1-2 more years: 0.5

#: Reason codes per part, in the order they are listed when contributions tie.
REASONS = (
    "shared_topics",
    "same_industry",
    "digital",
    "same_county",
    "more_experienced",
    "shared_language",
)


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
    return (
        mentee.county is not None
        and mentee.county == mentor.county
        and "in_person" in mentee.formats
        and "in_person" in mentor.formats
    )


def _seniority_of(
    mentee_level: str | None,
    mentee_years: int | None,
    mentor_level: str | None,
    mentor_years: int | None,
) -> float:
    if mentee_level is not None and mentor_level is not None:
        gap = LEVEL_RANK[mentor_level] - LEVEL_RANK[mentee_level]
        if gap < 0:
            return 0.0
        if gap > 0:
            return _GAP_NEAR if gap <= 2 else _GAP_FAR
    # the same level, or a level unknown: years as a manager decide
    if mentee_years is None or mentor_years is None:
        return 0.0
    more = mentor_years - mentee_years
    return 1.0 if more >= _YEARS_MANY else 0.5 if more >= _YEARS_SOME else 0.0


def _seniority(mentee: Candidate, mentor: Candidate) -> float:
    return _seniority_of(
        mentee.position_level,
        mentee.years_as_manager,
        mentor.position_level,
        mentor.years_as_manager,
    )


def score(mentee: Candidate, mentor: Candidate) -> Score | None:
    """The score of mentee with mentor, or None if they cannot be paired (no shared language,
    no shared topic, or the same member). Does not look at capacity or exclusions: `assign`
    does."""
    if (
        mentee.member_id == mentor.member_id
        or not (mentee.languages & mentor.languages)
        or not (mentee.topics & mentor.topics)
    ):
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
        "shared_topics": parts["topics"] > 0,
        "same_industry": parts["industry"] > 0,
        "digital": digital,
        "same_county": same_county,
        "more_experienced": parts["seniority"] > 0,
        "shared_language": True,
    }
    part_of = {
        "shared_topics": "topics",
        "same_industry": "industry",
        "digital": "place_or_format",
        "same_county": "place_or_format",
        "more_experienced": "seniority",
        "shared_language": "language",
    }
    # biggest contribution first; sorted is stable, so ties keep the order of REASONS
    reasons = sorted(
        (c for c in REASONS if codes[c]), key=lambda c: -WEIGHTS[part_of[c]] * parts[part_of[c]]
    )
    return Score(total=total, parts=parts, reasons=reasons)


# --- the pool, numpy -------------------------------------------------------------------------

#: Cells (mentor x mentee pairs) scored at a time: a block and its temporaries stay in the CPU
#: cache, where numpy's passes over it are several times faster than over the whole matrix.
_BLOCK_CELLS = 160_000


def _classes(np, keys: Sequence) -> tuple[numpy.ndarray, list]:
    """(code of each key, the distinct keys in order of first appearance)."""
    index: dict = {}
    codes = np.fromiter(
        (index.setdefault(k, len(index)) for k in keys), dtype=np.intp, count=len(keys)
    )
    return codes, list(index)


def _incidence(np, sets: Sequence[frozenset[str]], vocab: dict[str, int]) -> numpy.ndarray:
    out = np.zeros((len(sets), max(1, len(vocab))), dtype=np.float64)
    for i, s in enumerate(sets):
        for value in s:
            out[i, vocab[value]] = 1.0
    return out


def _topics_table(np, mentor_keys: list, mentee_keys: list) -> numpy.ndarray:
    """W_TOPICS * the topics part per (mentor, mentee) class of (topics, languages); NaN where
    the classes share no topic or no language (never proposed)."""
    vocab = {
        v: i for i, v in enumerate(sorted({t for k in mentor_keys + mentee_keys for t in k[0]}))
    }
    tr, te = (_incidence(np, [k[0] for k in keys], vocab) for keys in (mentor_keys, mentee_keys))
    shared = tr @ te.T  # exact small integers
    with np.errstate(divide="ignore", invalid="ignore"):
        table = shared / te.sum(axis=1)  # `_topics`' division, then the same product
    table *= W_TOPICS
    vocab = {
        v: i for i, v in enumerate(sorted({g for k in mentor_keys + mentee_keys for g in k[1]}))
    }
    lr, le = (_incidence(np, [k[1] for k in keys], vocab) for keys in (mentor_keys, mentee_keys))
    table[(shared == 0) | ((lr @ le.T) == 0)] = np.nan
    return table


class _Scorer:
    """Scores mentors x mentees a block of mentors at a time (`fill`), as `score` does.

    Every part depends on a few attributes with few distinct values, so each part is worked
    out once per pair of distinct values (a small table, with `score`'s own rules) and spread
    over the pairs of members by numpy indexing. The parts are added in `score`'s order, so
    each total is bit for bit the float `score` computes."""

    def __init__(
        self,
        np,
        mentees: Sequence[Candidate],
        mentors: Sequence[Candidate],
        excluded: Collection[tuple[str, str]],
    ):
        self.np = np

        def part(key, table):
            rc, rk = _classes(np, [key(c) for c in mentors])
            ec, ek = _classes(np, [key(c) for c in mentees])
            return rc, ec, table(rk, ek)

        # topics, with the hard constraints (a shared topic, a shared language) as NaN
        self.topics = part(
            lambda c: (c.topics, c.languages), lambda rk, ek: _topics_table(np, rk, ek)
        )
        # industry: the same NACE section (unknown never matches)
        self.industry = part(
            lambda c: c.industry,
            lambda rk, ek: np.array(
                [[r is not None and r == e for e in ek] for r in rk], dtype=bool
            ),
        )
        # place or format: both digital, or both in person in the same county
        self.place = part(
            lambda c: (c.formats, c.county),
            lambda rk, ek: np.array(
                [
                    [
                        ("digital" in fe and "digital" in fr)
                        or (ce is not None and ce == cr and "in_person" in fe and "in_person" in fr)
                        for fe, ce in ek
                    ]
                    for fr, cr in rk
                ],
                dtype=bool,
            ),
        )
        # seniority: the level gap decides if both levels are known and differ, else years
        self.seniority = part(
            lambda c: (c.position_level, c.years_as_manager),
            lambda rk, ek: np.array(
                [[W_SENIORITY * _seniority_of(le, ye, lr, yr) for le, ye in ek] for lr, yr in rk],
                dtype=np.float64,
            ),
        )
        # the same member on both sides, and excluded pairs: NaN, by mentor
        mentor_index = {c.member_id: j for j, c in enumerate(mentors)}
        mentee_index = {c.member_id: i for i, c in enumerate(mentees)}
        cells = {
            (mentor_index[c.member_id], i)
            for i, c in enumerate(mentees)
            if c.member_id in mentor_index
        }
        cells.update(
            (mentor_index[b], mentee_index[a])
            for a, b in excluded
            if a in mentee_index and b in mentor_index
        )
        self.never = np.array(sorted(cells), dtype=np.intp).reshape(-1, 2)
        self.n, self.m = len(mentees), len(mentors)

    def block_rows(self) -> int:
        return max(1, min(self.m, _BLOCK_CELLS // max(1, self.n)))

    def fill(
        self, a: int, b: int, out: numpy.ndarray, flag: numpy.ndarray, part: numpy.ndarray
    ) -> None:
        """Writes the totals of mentors[a:b] x mentees into out ((b - a) x n, float64),
        using flag (bool) and part (float64) of the same shape as scratch space."""
        np = self.np
        rc, ec, table = self.topics
        np.take(table[rc[a:b]], ec, axis=1, out=out)
        rc, ec, table = self.industry
        np.take(table[rc[a:b]], ec, axis=1, out=flag)
        np.add(out, W_INDUSTRY, out=out, where=flag)
        rc, ec, table = self.place
        np.take(table[rc[a:b]], ec, axis=1, out=flag)
        np.add(out, W_PLACE_OR_FORMAT, out=out, where=flag)
        rc, ec, table = self.seniority
        np.take(table[rc[a:b]], ec, axis=1, out=part)
        out += part  # + 0.0 leaves a total unchanged
        out += W_LANGUAGE * 1.0  # every pair left shares a language (NaN stays NaN)
        lo, hi = np.searchsorted(self.never[:, 0], (a, b))
        out[self.never[lo:hi, 0] - a, self.never[lo:hi, 1]] = np.nan

    def blocks(self):
        """(a, b, totals of mentors[a:b] x mentees) for consecutive blocks; the array is
        reused from one block to the next."""
        np = self.np
        rows = self.block_rows()
        out = np.empty((rows, self.n), dtype=np.float64)
        flag = np.empty((rows, self.n), dtype=bool)
        part = np.empty((rows, self.n), dtype=np.float64)
        for a in range(0, self.m, rows):
            b = min(self.m, a + rows)
            k = b - a
            self.fill(a, b, out[:k], flag[:k], part[:k])
            yield a, b, out[:k]


def score_matrix(
    mentees: Sequence[Candidate],
    mentors: Sequence[Candidate],
    excluded: Collection[tuple[str, str]] = frozenset(),
) -> numpy.ndarray:
    """float64 matrix, mentees x mentors, of `score(mentee, mentor).total`; NaN where the pair
    can never be proposed: no shared language, no shared topic, the same member, or
    (mentee_id, mentor_id) in `excluded`. Capacity and the minimum score are not applied here
    (see `assign`). The transposed view of a C-contiguous mentors x mentees array."""
    import numpy as np

    n, m = len(mentees), len(mentors)
    total = np.zeros((m, n), dtype=np.float64)
    if n and m:
        scorer = _Scorer(np, mentees, mentors, excluded)
        rows = scorer.block_rows()
        flag = np.empty((rows, n), dtype=bool)
        part = np.empty((rows, n), dtype=np.float64)
        for a in range(0, m, rows):
            b = min(m, a + rows)
            scorer.fill(a, b, total[a:b], flag[: b - a], part[: b - a])
    return total.T


def _pairs_of_block(np, block: numpy.ndarray, allowed: numpy.ndarray, min_score: float):
    """(count per mentor row, mentee index (int32), score) of the allowed cells of a block of
    mentor rows, row by row."""
    with np.errstate(invalid="ignore"):
        np.greater_equal(block, min_score - _EPS, out=allowed)  # False for NaN
    cells = np.flatnonzero(allowed)
    rows, mentee = np.divmod(cells, block.shape[1])
    return (
        np.bincount(rows, minlength=block.shape[0]),
        mentee.astype(np.int32),
        block.ravel()[cells],
    )


def _allowed_pairs(
    mentees: Sequence[Candidate],
    mentors: Sequence[Candidate],
    excluded: Collection[tuple[str, str]],
    min_score: float,
):
    """The pairs that may be proposed (score at least min_score, not NaN), mentor by mentor:
    (count per mentor, mentee index, score), the same cells and values as `score_matrix`
    gives, without ever holding the whole matrix."""
    import numpy as np

    scorer = _Scorer(np, mentees, mentors, excluded)
    flags = np.empty((scorer.block_rows(), len(mentees)), dtype=bool)
    parts = [
        _pairs_of_block(np, block, flags[: b - a], min_score) for a, b, block in scorer.blocks()
    ]
    return tuple(np.concatenate(column) for column in zip(*parts))


def _solve_pairs(
    n: int,
    slots: Sequence[int],
    per_mentor: numpy.ndarray,
    mentee_of: numpy.ndarray,
    weight: numpy.ndarray,
) -> list[tuple[int, int]]:
    """(mentee, mentor) index pairs that maximise the total weight of the allowed pairs
    (`_allowed_pairs`: per_mentor[j] pairs of mentor j, mentor by mentor), each mentee at most
    once, mentor j at most slots[j] times; by mentee.

    A sparse assignment problem for scipy's LAPJVsp (`min_weight_full_bipartite_matching`):
    one row per usable free slot, one column per mentee, and one column per slot row that
    stands for "this slot stays free", with a weight too small to change any sum (the solver
    wants a full matching and non-zero weights). Pairs that may not be proposed are left out:
    each is worth nothing, the same as leaving both unmatched, so the optimum is that of the
    dense slot matrix, on a problem ~4x smaller (24 % of the pairs are allowed in the
    benchmark pool). Ties between optimal assignments may be broken differently from scipy's
    dense `linear_sum_assignment`; the total is the same. Indices are int32 (the solver's),
    which also halves the memory a round touches: fresh pages are slow to fault in on a
    small virtual machine."""
    import numpy as np
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    slot_counts = np.asarray(slots, dtype=np.int64)
    usable = np.minimum(slot_counts, per_mentor)  # more slots than candidates never help
    if not usable.any():
        return []
    # Each mentor's pairs and then its "stays free" entry make one segment; a slot row is a
    # copy of its mentor's segment, with the column of its own "stays free".
    seg_len = (per_mentor + 1).astype(np.int32)
    seg_end = np.cumsum(seg_len, dtype=np.int32)
    at = np.arange(mentee_of.size, dtype=np.int32)  # where each pair goes in its segment:
    at += np.repeat(np.arange(per_mentor.size, dtype=np.int32), per_mentor)  # after 1 per mentor
    columns = np.empty(seg_end[-1], dtype=np.int32)
    columns[at] = mentee_of
    cost = np.empty(seg_end[-1], dtype=np.float64)
    cost[at] = weight
    del at
    np.negative(cost, out=cost)  # the solver minimises
    cost[seg_end - 1] = -_UNMATCHED
    # The slot rows of the mentors with the fewest candidates first: the solver runs one
    # shortest augmenting path search per row, and the most constrained mentors taking their
    # options early leaves less to undo later (0.19 s instead of 0.35 s in the benchmark pool).
    order = np.argsort(per_mentor, kind="stable")
    row_mentor = np.repeat(order, usable[order])
    rows = row_mentor.size
    lengths = seg_len[row_mentor]
    indptr = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(lengths, out=indptr[1:])
    source = np.repeat(seg_end[row_mentor] - lengths - indptr[:-1], lengths)
    source += np.arange(indptr[-1], dtype=np.int32)
    row_columns = columns[source]
    row_columns[indptr[1:] - 1] = n + np.arange(rows, dtype=np.int32)
    graph = csr_array((cost[source], row_columns, indptr), shape=(rows, n + rows))
    del source, columns, cost
    row, column = min_weight_full_bipartite_matching(graph)
    real = column < n
    mentees, mentors = column[real], row_mentor[row[real]]
    by_mentee = np.argsort(mentees)
    return list(zip(mentees[by_mentee].tolist(), mentors[by_mentee].tolist()))


def solve(
    matrix: numpy.ndarray, slots: Sequence[int], min_score: float = MIN_SCORE
) -> list[tuple[int, int]]:
    """The (row, column) pairs of an assignment of `matrix` (mentees x mentors, from
    `score_matrix`) that maximises the sum of scores: each row at most once, column j at most
    slots[j] times, no pair below min_score or NaN. Rows in increasing order. `assign` does
    the same without the whole matrix."""
    import numpy as np

    by_mentor = np.ascontiguousarray(matrix.T)  # no copy for `score_matrix`'s result
    allowed = np.empty(by_mentor.shape, dtype=bool)
    return _solve_pairs(matrix.shape[0], slots, *_pairs_of_block(np, by_mentor, allowed, min_score))


def assign(
    mentees: Sequence[Candidate],
    mentors: Sequence[Candidate],
    excluded: Collection[tuple[str, str]] = frozenset(),
    min_score: float = MIN_SCORE,
) -> list[Proposal]:
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
    chosen = _solve_pairs(
        len(mentees),
        [c.free_slots for c in mentors],
        *_allowed_pairs(mentees, mentors, excluded, min_score),
    )
    proposals = []
    for i, j in chosen:
        s = score(mentees[i], mentors[j])
        assert s is not None
        proposals.append(Proposal(mentees[i].member_id, mentors[j].member_id, s))
    return proposals
