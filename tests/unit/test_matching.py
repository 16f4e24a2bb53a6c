"""The mentor matching core (F7): score parts and reasons, hard constraints, optimality of the
assignment over the pool, agreement of the vectorised matrix with `score`, and speed."""

from __future__ import annotations

import itertools
import math
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lederappen.mentoring import matching as mt
from lederappen.mentoring.matching import Candidate, assign, score, score_matrix, solve

from tests.support.examples import examples

NB, EN = frozenset({"nb"}), frozenset({"en"})
DIGITAL, IN_PERSON = frozenset({"digital"}), frozenset({"in_person"})
BOTH_FORMATS = DIGITAL | IN_PERSON


def cand(
    member_id,
    topics=("leadership",),
    industry="C",
    county="03",
    level="middle",
    years=5,
    formats=DIGITAL,
    languages=NB,
    capacity=0,
    active=0,
) -> Candidate:
    return Candidate(
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


def mentor(member_id, **kw) -> Candidate:
    kw.setdefault("level", "senior")
    kw.setdefault("years", 12)
    kw.setdefault("capacity", 1)
    return cand(member_id, **kw)


# --- score -----------------------------------------------------------------------------------


def test_weights_sum_to_one_and_topics_weigh_most():
    assert math.isclose(sum(mt.WEIGHTS.values()), 1.0)
    assert max(mt.WEIGHTS, key=mt.WEIGHTS.get) == "topics"


def test_a_pair_that_fits_in_every_way_scores_one_with_every_reason():
    s = score(
        cand("a", topics={"leadership", "hse"}),
        mentor("b", topics={"leadership", "hse", "labour_law"}),
    )
    assert s.parts == {
        "topics": 1.0,
        "industry": 1.0,
        "place_or_format": 1.0,
        "seniority": 1.0,
        "language": 1.0,
    }
    assert s.total == pytest.approx(1.0)
    # biggest contribution first; ties in the fixed order of REASONS
    assert s.reasons == [
        "shared_topics",
        "digital",
        "more_experienced",
        "same_industry",
        "shared_language",
    ]


def test_parts_of_a_partial_pair():
    s = score(
        cand(
            "a",
            topics={"leadership", "hse"},
            industry="C",
            formats=IN_PERSON,
            level="middle",
            years=4,
        ),
        mentor("b", topics={"hse"}, industry="F", formats=BOTH_FORMATS, level="middle", years=7),
    )
    assert s.parts == {
        "topics": 0.5,
        "industry": 0.0,
        "place_or_format": 1.0,
        "seniority": 1.0,
        "language": 1.0,
    }
    assert s.total == pytest.approx(0.4 * 0.5 + 0.2 + 0.2 + 0.05)
    # topics, county and seniority each add 0.2: a tie, listed in the order of REASONS
    assert s.reasons == ["shared_topics", "same_county", "more_experienced", "shared_language"]


def test_topics_are_the_share_of_the_mentees_topics_the_mentor_offers():
    mentee = cand("a", topics={"leadership", "hse", "labour_law", "finance"})
    assert score(mentee, mentor("b", topics={"hse"})).parts["topics"] == 0.25
    assert (
        score(cand("a", topics={"hse"}), mentor("b", topics={"hse", "x", "y"})).parts["topics"]
        == 1.0
    )


def test_a_pair_sharing_no_topic_is_never_proposed():
    """Same industry, both digital, a more senior mentor: 0.6 without a topic. Still no."""
    mentee = cand("a", topics={"hse"}, industry="C", formats=DIGITAL, level="first_line")
    other = mentor("b", topics={"finance"}, industry="C", formats=DIGITAL, level="senior")
    assert score(mentee, other) is None
    assert score(cand("a", topics=()), mentor("b")) is None
    import numpy as np

    assert np.isnan(mt.score_matrix([mentee], [other])[0, 0])
    assert assign([mentee], [other]) == []


def test_industry_must_be_known_and_equal():
    assert score(cand("a", industry=None), mentor("b", industry=None)).parts["industry"] == 0
    assert score(cand("a", industry="C"), mentor("b", industry="F")).parts["industry"] == 0


@pytest.mark.parametrize(
    "fe, ce, fr, cr, expected, reasons",
    [
        (DIGITAL, "03", DIGITAL, "46", 1.0, ["digital"]),
        (IN_PERSON, "03", IN_PERSON, "03", 1.0, ["same_county"]),
        (BOTH_FORMATS, "03", BOTH_FORMATS, "03", 1.0, ["digital", "same_county"]),
        (IN_PERSON, "03", IN_PERSON, "46", 0.0, []),
        (DIGITAL, "03", IN_PERSON, "03", 0.0, []),  # same county, but one of them only digital
        (IN_PERSON, None, IN_PERSON, None, 0.0, []),  # unknown counties are not the same
    ],
)
def test_place_or_format(fe, ce, fr, cr, expected, reasons):
    s = score(cand("a", formats=fe, county=ce), mentor("b", formats=fr, county=cr))
    assert s.parts["place_or_format"] == expected
    assert [r for r in s.reasons if r in ("digital", "same_county")] == reasons


@pytest.mark.parametrize(
    "le, ye, lr, yr, expected",
    [
        ("middle", 5, "senior", 5, 1.0),  # one level up
        ("first_line", 5, "senior", 5, 1.0),  # two levels up
        ("first_line", 1, "executive", 30, 0.5),  # three levels up: far from the mentee's work
        ("senior", 2, "middle", 20, 0.0),  # below the mentee: years do not help
        ("middle", 5, "middle", 8, 1.0),  # same level, >= 3 more years
        ("middle", 5, "middle", 7, 0.5),  # same level, 1-2 more years
        ("middle", 5, "middle", 5, 0.0),
        ("middle", 9, "middle", 5, 0.0),
        (None, 1, "senior", 6, 1.0),  # level unknown: years decide
        ("middle", None, None, 30, 0.0),  # nothing comparable
        ("middle", 5, "middle", None, 0.0),
    ],
)
def test_seniority(le, ye, lr, yr, expected):
    s = score(cand("a", level=le, years=ye), mentor("b", level=lr, years=yr))
    assert s.parts["seniority"] == expected
    assert ("more_experienced" in s.reasons) == (expected > 0)


def test_no_shared_language_is_infeasible():
    assert score(cand("a", languages=NB), mentor("b", languages=EN)) is None
    assert score(cand("a", languages=NB | EN), mentor("b", languages=EN)) is not None


def test_the_same_member_is_never_scored_with_themself():
    assert score(cand("a"), mentor("a")) is None


def test_reasons_are_only_stable_codes():
    rng = random.Random(3)
    for mentee, mentor_ in zip(random_pool(rng, 50, True), random_pool(rng, 50, False)):
        s = score(mentee, mentor_)
        if s is not None:
            assert set(s.reasons) <= set(mt.REASONS)
            assert all(0.0 <= p <= 1.0 for p in s.parts.values())
            assert 0.0 <= s.total <= 1.0 + 1e-12


def test_invalid_candidates_are_refused():
    with pytest.raises(ValueError):
        cand("a", level="boss")
    with pytest.raises(ValueError):
        cand("a", years=-1)


# --- assign: hard constraints ----------------------------------------------------------------


def pairs(proposals):
    return [(p.mentee_id, p.mentor_id) for p in proposals]


def test_a_member_signed_up_on_both_sides_is_not_matched_with_themself():
    assert assign([cand("x")], [mentor("x")]) == []
    assert pairs(assign([cand("x"), cand("y")], [mentor("x"), mentor("z", industry="F")])) == [
        ("x", "z"),
        ("y", "x"),
    ]


def test_capacity_minus_active_mentees_bounds_the_proposals():
    mentees = [cand(f"e{i}") for i in range(3)]
    assert len(assign(mentees, [mentor("m", capacity=2, active=1)])) == 1
    assert len(assign(mentees, [mentor("m", capacity=2, active=0)])) == 2
    assert assign(mentees, [mentor("m", capacity=2, active=2)]) == []
    assert assign(mentees, [mentor("m", capacity=2, active=3)]) == []
    assert len(assign(mentees, [mentor("m", capacity=10)])) == 3


def test_excluded_pairs_are_never_proposed():
    mentees, mentors = [cand("a"), cand("b")], [mentor("x"), mentor("y", industry="F")]
    assert ("a", "x") in pairs(assign(mentees, mentors))
    got = pairs(assign(mentees, mentors, excluded={("a", "x"), ("b", "x")}))
    assert ("a", "x") not in got and ("b", "x") not in got and len(got) == 1
    assert assign(mentees, mentors, excluded={(e, m) for e in "ab" for m in "xy"}) == []


def test_pairs_below_the_minimum_score_are_not_proposed():
    # all topics shared and a language, nothing else: 0.45
    mentee = cand("a", industry="C", formats=IN_PERSON, county="03", level="senior", years=10)
    weak = mentor("m", industry="F", formats=IN_PERSON, county="46", level="middle", years=10)
    assert score(mentee, weak).total == pytest.approx(0.45)
    assert assign([mentee], [weak]) == []
    assert pairs(assign([mentee], [weak], min_score=0.45)) == [("a", "m")]


def test_a_pair_exactly_on_the_minimum_is_proposed():
    mentee = cand("a", topics={"x", "y"}, industry="C", formats=DIGITAL, level="middle", years=5)
    m = mentor("m", topics={"x"}, industry="C", formats=IN_PERSON, level="middle", years=6)
    # 0.2 topics + 0.15 industry + 0.1 seniority + 0.05 language
    assert score(mentee, m).total == pytest.approx(mt.MIN_SCORE)
    assert pairs(assign([mentee], [m])) == [("a", "m")]


def test_empty_pools():
    assert assign([], [mentor("m")]) == []
    assert assign([cand("a")], []) == []
    assert score_matrix([], [mentor("m")]).shape == (0, 1)


def test_duplicate_member_on_one_side_is_refused():
    with pytest.raises(ValueError):
        assign([cand("a"), cand("a")], [mentor("m")])


# --- assign: optimality ----------------------------------------------------------------------


def test_the_pool_optimum_beats_greedy():
    # a fits x perfectly and y well; b fits only x (shares no language with y). Greedy takes the
    # single best pair (a, x) and leaves b alone; the optimum gives x to b and y to a.
    a = cand("a", languages=NB | EN)
    b = cand("b", languages=EN)
    x = mentor("x", languages=NB | EN)
    y = mentor("y", languages=NB, industry="F")
    sa_x, sa_y, sb_x = score(a, x).total, score(a, y).total, score(b, x).total
    assert score(b, y) is None and sa_x > sa_y
    greedy = sa_x
    got = assign([a, b], [x, y])
    assert pairs(got) == [("a", "y"), ("b", "x")]
    total = sum(p.score.total for p in got)
    assert total == pytest.approx(sa_y + sb_x) and total > greedy


def brute_force(mentees, mentors, excluded, min_score):
    """The best total over every assignment, by enumeration."""
    options = []
    for e in mentees:
        opts = [None]
        for j, m in enumerate(mentors):
            s = score(e, m)
            if (
                s is not None
                and (e.member_id, m.member_id) not in excluded
                and s.total >= min_score - 1e-9
            ):
                opts.append((j, s.total))
        options.append(opts)
    best = 0.0
    for combo in itertools.product(*options):
        used = [0] * len(mentors)
        for o in combo:
            if o is not None:
                used[o[0]] += 1
        if all(u <= m.free_slots for u, m in zip(used, mentors)):
            best = max(best, sum(o[1] for o in combo if o is not None))
    return best


TOPICS = ("leadership", "labour_law", "hse", "finance", "conflict")


@st.composite
def candidates(draw, prefix, n_max, is_mentor):
    n = draw(st.integers(0, n_max))
    out = []
    for i in range(n):
        # ids overlap between the sides now and then: members signed up as both
        member_id = draw(st.sampled_from([f"{prefix}{i}", f"both{i}"]))
        out.append(
            Candidate(
                member_id=member_id,
                topics=frozenset(draw(st.sets(st.sampled_from(TOPICS), max_size=3))),
                industry=draw(st.sampled_from([None, "C", "F"])),
                county=draw(st.sampled_from([None, "03", "46"])),
                position_level=draw(st.sampled_from((None,) + mt.LEVELS)),
                years_as_manager=draw(st.one_of(st.none(), st.integers(0, 12))),
                formats=frozenset(draw(st.sets(st.sampled_from(sorted(mt.FORMATS)), min_size=1))),
                languages=frozenset(draw(st.sets(st.sampled_from(["nb", "en"]), min_size=1))),
                capacity=draw(st.integers(0, 3)) if is_mentor else 0,
                active_mentees=draw(st.integers(0, 2)) if is_mentor else 0,
            )
        )
    return out


@settings(max_examples=examples(40), deadline=None)
@given(
    mentees=candidates("e", 5, False),
    mentors=candidates("m", 4, True),
    min_score=st.sampled_from([0.0, 0.3, mt.MIN_SCORE, 0.7]),
    data=st.data(),
)
def test_assign_is_optimal_and_valid_on_small_pools(mentees, mentors, min_score, data):
    all_pairs = [(e.member_id, m.member_id) for e in mentees for m in mentors]
    excluded = set(data.draw(st.lists(st.sampled_from(all_pairs), max_size=4)) if all_pairs else [])
    got = assign(mentees, mentors, excluded, min_score)

    by_id = {m.member_id: m for m in mentors}
    mentee_by_id = {e.member_id: e for e in mentees}
    assert len({p.mentee_id for p in got}) == len(got)
    for p in got:
        assert p.mentee_id != p.mentor_id
        assert (p.mentee_id, p.mentor_id) not in excluded
        assert p.score.total >= min_score - 1e-9
        assert p.score == score(mentee_by_id[p.mentee_id], by_id[p.mentor_id])
    for m in mentors:
        assert sum(p.mentor_id == m.member_id for p in got) <= m.free_slots
    assert sum(p.score.total for p in got) == pytest.approx(
        brute_force(mentees, mentors, excluded, min_score)
    )


# --- the vectorised matrix, determinism, speed -----------------------------------------------

COUNTIES = ("03", "11", "15", "18", "31", "32", "33", "34", "39", "40", "42", "46", "50", "55")
VOCAB = tuple(f"topic_{i}" for i in range(15))


def random_pool(rng, n, is_mentor, busy=True):
    prefix = "m" if is_mentor else "e"
    return [
        Candidate(
            member_id=f"{prefix}{i}",
            topics=frozenset(rng.sample(VOCAB, rng.randint(0, 4))),
            industry=rng.choice([None, *"ABCDEFGHIJKLMN"]),
            county=rng.choice((None,) + COUNTIES),
            position_level=rng.choice((None,) + mt.LEVELS),
            years_as_manager=rng.choice([None, *range(31)]),
            formats=frozenset(rng.choice([["digital"], ["in_person"], ["digital", "in_person"]])),
            languages=frozenset(rng.choice([["nb"], ["nb"], ["nb", "en"], ["en"]])),
            capacity=rng.randint(1, 3) if is_mentor else 0,
            active_mentees=rng.choice([0, 0, 0, 1]) if is_mentor and busy else 0,
        )
        for i in range(n)
    ]


def test_the_vectorised_matrix_equals_score_for_every_pair():
    rng = random.Random(7)
    mentees = random_pool(rng, 120, False)
    mentors = random_pool(rng, 80, True) + [mentees[0], mentees[1]]  # also mentors
    excluded = {(mentees[5].member_id, mentors[3].member_id)}
    matrix = score_matrix(mentees, mentors, excluded)
    assert matrix.shape == (len(mentees), len(mentors))
    for i, e in enumerate(mentees):
        for j, m in enumerate(mentors):
            s = score(e, m)
            if s is None or (e.member_id, m.member_id) in excluded:
                assert math.isnan(matrix[i, j]), (i, j)
            else:
                assert matrix[i, j] == s.total, (i, j, matrix[i, j], s.total)  # exactly


def test_the_same_input_gives_the_same_proposals_in_any_order():
    rng = random.Random(11)
    mentees, mentors = random_pool(rng, 300, False), random_pool(rng, 120, True)
    first = assign(mentees, mentors)
    assert first and assign(mentees, mentors) == first
    shuffled_e, shuffled_m = mentees[:], mentors[:]
    rng.shuffle(shuffled_e)
    rng.shuffle(shuffled_m)
    assert assign(shuffled_e, shuffled_m) == first
    assert [p.mentee_id for p in first] == sorted(p.mentee_id for p in first)


def test_solve_takes_the_matrix_from_score_matrix():
    rng = random.Random(5)
    mentees, mentors = random_pool(rng, 40, False), random_pool(rng, 20, True)
    mentees.sort(key=lambda c: c.member_id)
    mentors.sort(key=lambda c: c.member_id)
    matrix = score_matrix(mentees, mentors)
    got = solve(matrix, [m.free_slots for m in mentors])
    assert [(mentees[i].member_id, mentors[j].member_id) for i, j in got] == pairs(
        assign(mentees, mentors)
    )


def test_scoring_block_by_block_gives_every_pair_its_score(monkeypatch):
    # blocks of one mentor: the excluded pairs and members on both sides fall in different
    # blocks, and every block reuses the same scratch arrays
    monkeypatch.setattr(mt, "_BLOCK_CELLS", 1)
    rng = random.Random(9)
    mentees = random_pool(rng, 30, False)
    mentors = random_pool(rng, 12, True) + [mentees[2], mentees[7]]  # also mentors
    excluded = {
        (mentees[1].member_id, mentors[0].member_id),
        (mentees[4].member_id, mentors[5].member_id),
        (mentees[4].member_id, mentors[11].member_id),
        ("nobody", "m1"),
    }
    matrix = score_matrix(mentees, mentors, excluded)
    for i, e in enumerate(mentees):
        for j, m in enumerate(mentors):
            s = score(e, m)
            if s is None or (e.member_id, m.member_id) in excluded:
                assert math.isnan(matrix[i, j]), (i, j)
            else:
                assert matrix[i, j] == s.total, (i, j)
    per_mentor, cols, weights = mt._allowed_pairs(mentees, mentors, excluded, mt.MIN_SCORE)
    allowed = sorted(
        (int(j), int(i))  # mentor by mentor
        for i, j in zip(*(matrix >= mt.MIN_SCORE - 1e-9).nonzero())
    )
    assert per_mentor.tolist() == [sum(j == k for j, _ in allowed) for k in range(len(mentors))]
    assert cols.tolist() == [i for _, i in allowed]
    assert weights.tolist() == [matrix[i, j] for j, i in allowed]


def dense_optimum(mentees, mentors, excluded=frozenset(), min_score=mt.MIN_SCORE):
    """The best total by scipy's dense solver on the whole slot matrix (disallowed cells 0)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    mentors = [m for m in mentors if m.free_slots > 0]
    matrix = score_matrix(mentees, mentors, excluded)
    slots = np.repeat(np.arange(len(mentors)), [m.free_slots for m in mentors])
    sub = matrix[:, slots]
    with np.errstate(invalid="ignore"):
        sub[~(sub >= min_score - 1e-9)] = 0.0
    r, c = linear_sum_assignment(sub, maximize=True)
    return math.fsum(sub[r, c].tolist())


@pytest.mark.parametrize(
    "n_mentees, n_mentors, seed",
    [
        (200, 80, 1),
        (200, 80, 2),
        (150, 150, 3),  # more slots than mentees
        (40, 200, 4),
        (300, 20, 5),
    ],
)
def test_assign_reaches_the_dense_solvers_optimum(n_mentees, n_mentors, seed):
    # the sparse problem (allowed pairs only, one row per usable slot) has the optimum of the
    # dense slot matrix; ties between optimal assignments may be broken another way
    rng = random.Random(seed)
    mentees, mentors = random_pool(rng, n_mentees, False), random_pool(rng, n_mentors, True)
    excluded = {(rng.choice(mentees).member_id, rng.choice(mentors).member_id) for _ in range(20)}
    got = assign(mentees, mentors, excluded)
    assert got
    assert math.fsum(p.score.total for p in got) == pytest.approx(
        dense_optimum(mentees, mentors, excluded), abs=1e-9
    )
    by_id = {m.member_id: m for m in mentors}
    assert len({p.mentee_id for p in got}) == len(got)
    for m in mentors:
        assert sum(p.mentor_id == m.member_id for p in got) <= m.free_slots
    assert all(
        (p.mentee_id, p.mentor_id) not in excluded
        and p.score.total >= mt.MIN_SCORE - 1e-9
        and p.mentor_id in by_id
        for p in got
    )


def test_mentors_without_a_candidate_and_a_pool_with_nothing_allowed():
    a = cand("a", topics=("hse",))
    x = mentor("x", topics=("leadership",))  # shares no topic with a
    y = mentor("y", capacity=3)
    assert assign([a], [x]) == []
    assert pairs(assign([a, cand("b")], [x, y])) == [("b", "y")]
    assert solve(score_matrix([a], [x]), [1]) == []


@pytest.mark.slow
def test_a_pool_of_5000_mentees_and_2000_mentors_is_assigned_quickly():
    rng = random.Random(1)
    # capacity 1-3 and no active mentees: 2 free slots per mentor on average
    mentees, mentors = random_pool(rng, 5000, False), random_pool(rng, 2000, True, busy=False)
    slots = [m.free_slots for m in mentors]
    assign([mentees[0]], [mentors[0]])  # numpy and scipy imported: time the work only
    t0 = time.perf_counter()
    matrix = score_matrix(mentees, mentors)
    t1 = time.perf_counter()
    chosen = solve(matrix, slots)
    t2 = time.perf_counter()
    proposals = assign(mentees, mentors)
    t3 = time.perf_counter()
    print(
        f"\n5000 x 2000 ({sum(slots)} free slots): score_matrix {t1 - t0:.2f} s, "
        f"solve {t2 - t1:.2f} s, assign {t3 - t2:.2f} s, {len(proposals)} proposals"
    )
    assert len(chosen) == len(proposals) > 0
    assert t3 - t2 < 20  # sanity bound only; about half a second here
