"""Salary releases: nothing in a release can be solved for, and a correction is refused while
comparing it with an earlier release would single out 1..4 persons (F6, R9).

The intruder here is tests/support/attacker.py, which knows nothing of how the tables were
protected: it solves the integer programme over what is served.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lederappen.salary import disclosure, statistics
from lederappen.salary import vocabulary as v

from tests.support import attacker, sdc
from tests.support.examples import examples

#: solver-based and data-generating: `make unit` leaves them to `make test`
pytestmark = pytest.mark.slow


def _people(spec: list[tuple[dict, int]]) -> list[dict]:
    out = []
    for attrs, k in spec:
        for i in range(k):
            out.append(
                {
                    "position_level": "middle",
                    "sector": "private",
                    "nace": "C",
                    "county": "03",
                    **attrs,
                    "base": 50_000 + 997 * i,
                    "total": 600_000 + 9_973 * i,
                }
            )
    return out


# 21 managers: 8 first-line, 8 middle, 3 senior, 2 executive. Every subtraction leaves 0 or >= 5
# (rules 1-4 hold), yet the whole round's band (21-49) minus two bands of at most 8 proves the
# 5 others are in the two small groups, each of at most 4: both non-empty.
TWO_BANDS_PROVE_TWO_SMALL_GROUPS = _people(
    [
        ({"position_level": "first_line"}, 8),
        ({"position_level": "middle"}, 8),
        ({"position_level": "senior"}, 3),
        ({"position_level": "executive"}, 2),
    ]
)


def _served(tables) -> dict[str, list[dict]]:
    return {v.table_key(dims): cells for dims, cells in tables.items()}


def _without_rule_5(aggregates) -> dict:
    counts = {g: a.n for g, a in aggregates.items()}
    published, reasons = disclosure.published_groups(counts)
    tables: dict = {dims: [] for dims in v.TABLES}
    for g in disclosure.all_groups():
        tables[disclosure.dims_of(g)].append(
            disclosure.cell_view(g, aggregates.get(g), g in published, reasons.get(g))
        )
    return tables


def test_banded_counts_alone_can_prove_a_small_group_non_empty_and_the_audit_hides_more():
    aggregates = sdc.reference_aggregates(TWO_BANDS_PROVE_TWO_SMALL_GROUPS)
    naive = attacker.attack(_served(_without_rule_5(aggregates)))
    assert {"position_level": "senior"} in [f.group for f in naive]
    protected = disclosure.protect(aggregates)
    assert attacker.attack(_served(protected)) == []
    levels = {c["group"]["position_level"]: c for c in protected[("position_level",)]}
    assert not all(levels[p]["published"] for p in ("first_line", "middle"))


def test_exact_counts_would_pin_hidden_cells_which_is_why_counts_are_bands():
    aggregates = sdc.reference_aggregates(TWO_BANDS_PROVE_TWO_SMALL_GROUPS)
    exact = _without_rule_5(aggregates)
    counts = {g: a.n for g, a in aggregates.items()}
    for cells in exact.values():
        for c in cells:
            if c["published"]:
                n = counts[sdc.group_of(c)]
                c["persons"] = {"min": n, "max": n}
    assert any(f.smallest == f.largest for f in attacker.attack(_served(exact)))


def test_published_cells_tell_their_persons_only_as_a_band():
    tables = disclosure.protect(sdc.reference_aggregates(TWO_BANDS_PROVE_TWO_SMALL_GROUPS))
    [whole] = tables[()]
    assert whole["persons"] == {"min": 21, "max": 49}
    assert "count" not in whole


def _release(people):
    aggregates = sdc.reference_aggregates(people)
    tables = _served(disclosure.protect(aggregates))
    return (
        statistics.counts_kept(aggregates),
        tables,
        {statistics.cell_key(g): a.n for g, a in aggregates.items()},
    )


def test_a_correction_that_changes_a_cell_by_one_to_four_persons_is_refused():
    base = _people([({}, 30), ({"county": "11"}, 12), ({"position_level": "senior"}, 25)])
    kept, old, _ = _release(base)
    for removed in (1, 4):
        _, new, counts = _release(base[removed:])
        assert statistics.changed_cells(kept, old, counts, new), removed


def test_a_correction_that_changes_every_affected_cell_by_five_or_more_is_accepted():
    base = _people([({}, 30), ({"county": "11"}, 12), ({"position_level": "senior"}, 25)])
    kept, old, _ = _release(base)
    _, new, counts = _release(base[:30] + base[42:])  # all 12 of Rogaland go
    assert statistics.changed_cells(kept, old, counts, new) == []
    _, same, counts = _release(base)
    assert statistics.changed_cells(kept, old, counts, same) == []


def test_a_small_group_that_becomes_publishable_is_a_change_the_audit_cannot_size():
    base = _people([({}, 30), ({"county": "11"}, 3)])
    kept, old, _ = _release(base)
    assert "position_level=middle,county=11" not in kept  # 1..4 are not kept at all
    grown = base + _people([({"county": "11"}, 3)])  # 3 come back (a restriction lifted)
    _, new, counts = _release(grown)
    changed = statistics.changed_cells(kept, old, counts, new)
    assert {"table": "county", "group": {"county": "11"}} in changed


@settings(
    max_examples=examples(8),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(sdc.paid_populations(), st.randoms(use_true_random=False))
def test_an_accepted_correction_never_lets_a_reader_isolate_one_to_four_persons(people, rnd):
    """Ground truth the intruder does not have: whenever the audit accepts a correction, every
    cell a member could read differently in the two releases lost 0 or at least 5 persons."""
    gone = {i for i in range(len(people)) if rnd.random() < rnd.choice((0.02, 0.3))}
    kept, old, _ = _release(people)
    after = [p for i, p in enumerate(people) if i not in gone]
    _, new, counts = _release(after)
    if statistics.changed_cells(kept, old, counts, new):
        return  # refused: nothing is published
    before_counts = sdc.count_groups(people)
    after_counts = sdc.count_groups(after)
    for key, cells in new.items():
        for cell, was in zip(cells, old[key]):
            if cell != was:
                g = sdc.group_of(cell)
                lost = before_counts.get(g, 0) - after_counts.get(g, 0)
                assert lost == 0 or lost >= disclosure.MIN_PERSONS, (cell["group"], lost)


# 10 executives in one county: sector other 4, private 4, public 2, each split over two NACE
# codes (found by hypothesis). Every cell but the totals has fewer than 5; hiding the totals
# still leaves their label saying ">= 5", which with the "<= 4" of the small groups proves
# some of them non-empty, and no published cell is left to hide.
A_ROUND_TOO_SMALL_TO_PROTECT_BY_HIDING = _people(
    [
        ({"position_level": "executive", "sector": s, "nace": n}, k)
        for s, n, k in [
            ("other", "A", 2),
            ("other", "B", 2),
            ("private", "A", 2),
            ("private", "B", 2),
            ("public", "A", 1),
            ("public", "B", 1),
        ]
    ]
)


def test_a_round_whose_labels_alone_give_someone_away_shows_no_figure_and_one_neutral_label():
    aggregates = sdc.reference_aggregates(A_ROUND_TOO_SMALL_TO_PROTECT_BY_HIDING)
    protected = disclosure.protect(aggregates)
    cells = [c for table in protected.values() for c in table]
    assert all(
        c == {"group": c["group"], "published": False, "persons": None, "reason": "round_too_small"}
        for c in cells
    )
    assert attacker.attack(_served(protected)) == []
    assert "round_too_small" in disclosure.REASONS
