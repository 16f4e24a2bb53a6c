"""Disclosure control of the salary statistics, proved on random data and random queries.

The auditor in tests/support/sdc.py looks only at what is published and measures what
subtraction would reveal. Hypothesis draws populations from small vocabularies (so groups are
small and collide, which is where disclosure happens) and queries against the result.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lederappen.core.problems import ValidationFailed
from lederappen.salary import api, disclosure, statistics
from lederappen.salary import vocabulary as v

from tests.support import sdc
from tests.support.examples import examples


def _published(counts):
    published, reasons = disclosure.published_groups(counts)
    return published, reasons


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sdc.populations())
def test_no_published_cell_below_threshold_and_no_differencing(people):
    counts = sdc.count_groups(people)
    published, reasons = _published(counts)
    assert all(counts[g] >= disclosure.MIN_PERSONS for g in published)
    assert all(p in published for g in published for p in disclosure.parents(g))
    assert sdc.nested_pair_violations(published, counts) == []
    assert sdc.differencing_violations(published, counts) == []
    # every non-empty cell that is not published says why
    assert all(
        reasons.get(g) in disclosure.REASONS for g, n in counts.items() if n and g not in published
    )


def test_the_auditor_catches_a_threshold_only_rule():
    """Without complementary suppression a group of 52 and its subgroup of 50 reveal 2."""
    people = (
        [{"position_level": "middle", "county": "03"}] * 50
        + [{"position_level": "middle", "county": "56"}] * 2
        + [{"position_level": "senior", "county": "03"}] * 30
    )
    counts = sdc.count_groups(people)
    naive = {g for g, n in counts.items() if n >= disclosure.MIN_PERSONS}
    assert sdc.nested_pair_violations(naive, counts)
    assert sdc.differencing_violations(naive, counts)
    published, reasons = _published(counts)
    assert sdc.nested_pair_violations(published, counts) == []
    assert sdc.differencing_violations(published, counts) == []
    oslo_middle = (("position_level", "middle"), ("county", "03"))
    assert oslo_middle not in published and reasons[oslo_middle] == "protects_other_cells"


def test_the_auditor_finds_a_disjoint_family_remainder():
    a = ()
    counts = {a: 22, (("sector", "private"),): 10, (("sector", "public"),): 10}
    assert sdc.differencing_violations({a, *[g for g in counts if g]}, counts)


_ALL_TABLE_KEYS = [v.table_key(t) for t in v.TABLES]


@pytest.mark.slow
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sdc.paid_populations(),
    st.lists(
        st.tuples(
            st.sampled_from(
                _ALL_TABLE_KEYS
                + [
                    "nace,county",
                    "sector,nace",
                    "gender,age_band",
                    "position_level,sector,nace",
                    "bogus",
                ]
            ),
            st.dictionaries(
                st.sampled_from(list(v.DIMENSIONS)),
                st.sampled_from(
                    [
                        "first_line",
                        "middle",
                        "private",
                        "public",
                        "A",
                        "B",
                        "03",
                        "11",
                        "female",
                        "x",
                    ]
                ),
                max_size=2,
            ),
        ),
        min_size=1,
        max_size=15,
    ),
)
def test_random_queries_only_ever_see_safe_figures(people, queries):
    """Whatever an intruder asks, what comes back obeys every rule, and all of it together
    still allows no subtraction down to fewer than five persons."""
    tables = disclosure.protect(sdc.reference_aggregates(people))
    counts = {g: a.n for g, a in sdc.reference_aggregates(people).items()}
    seen: dict = {}
    for dims_raw, filters in queries:
        try:
            dims = api.parse_dimensions(dims_raw)
            chosen = api.parse_filters(filters, dims)
        except ValidationFailed as problem:
            assert dims_raw.split(",")[0] in v.DIMENSIONS or dims_raw == "bogus" or filters
            assert problem.errors
            continue
        cells = statistics.select(tables[dims], chosen)
        assert sdc.published_statistic_violations(cells) == []
        for c in cells:
            seen[sdc.group_of(c)] = c
    published = {g for g, c in seen.items() if c["published"]}
    for g in published:
        band = seen[g]["persons"]
        assert band["min"] <= counts[g] and (band["max"] is None or counts[g] <= band["max"])
    assert sdc.differencing_violations(published, counts) == []


def test_every_table_lists_every_cell_and_empty_cells_look_like_small_ones():
    tables = disclosure.protect({})
    for dims, cells in tables.items():
        expected = 1
        for d in dims:
            expected *= len(v.DIMENSIONS[d]["values"])
        assert len(cells) == expected
        assert all(
            c == {"group": c["group"], "published": False, "persons": None, "reason": "too_few"}
            for c in cells
        )


def _one_cell(values: list[int]):
    m = disclosure.Measure(
        tuple(sdc.quantile(sorted(values), f) for f in (0.1, 0.25, 0.5, 0.75, 0.9)),
        sum(values),
        tuple(sorted(values, reverse=True)[:2]),
    )
    return disclosure.cell_view(
        (),
        disclosure.Aggregate(len(values), {"base_monthly_salary": m, "total_annual_pay": m}),
        True,
        None,
    )


@pytest.mark.parametrize(
    "n, shown",
    [
        (5, {"median", "mean"}),
        (8, {"median", "mean"}),
        (9, {"p25", "median", "p75", "mean"}),
        (20, {"p25", "median", "p75", "mean"}),
        (21, {"p10", "p25", "median", "p75", "p90", "mean"}),
    ],
)
def test_statistics_need_their_own_number_of_persons(n, shown):
    cell = _one_cell([50_000 + 1_000 * i for i in range(n)])
    figures = cell["base_monthly_salary"]
    assert {k for k, val in figures.items() if val is not None} == shown
    assert set(cell["withheld"].get("base_monthly_salary", {})) == set(figures) - shown


def test_dominance_withholds_the_mean_but_not_the_median():
    cell = _one_cell([40_000, 41_000, 42_000, 900_000, 950_000])
    assert cell["base_monthly_salary"]["mean"] is None
    assert cell["withheld"]["base_monthly_salary"]["mean"] == "dominance"
    assert cell["base_monthly_salary"]["median"] == 42_000


def test_amounts_are_rounded_monthly_to_1000_and_annual_to_10000():
    values = [61_499, 61_501, 62_250, 63_900, 64_100]
    m = disclosure.Measure(
        tuple(sdc.quantile(values, f) for f in (0.1, 0.25, 0.5, 0.75, 0.9)),
        sum(values),
        (64_100, 63_900),
    )
    annual = disclosure.Measure((745_000.0,) * 5, 3_725_000, (745_000, 745_000))
    cell = disclosure.cell_view(
        (),
        disclosure.Aggregate(5, {"base_monthly_salary": m, "total_annual_pay": annual}),
        True,
        None,
    )
    assert cell["base_monthly_salary"]["median"] == 62_000
    assert cell["total_annual_pay"]["median"] == 750_000
    assert all(x % 1000 == 0 for x in cell["base_monthly_salary"].values() if x is not None)


def test_unpublished_dimension_combinations_are_refused_with_the_allowed_list():
    with pytest.raises(ValidationFailed) as err:
        api.parse_dimensions("nace,county")
    assert "position_level,nace" in err.value.extensions["allowed_dimensions"]
    assert api.parse_dimensions("nace,position_level") == ("position_level", "nace")
    assert api.parse_dimensions(None) == ()


def test_the_published_family_is_a_star_closed_under_dropping_a_dimension():
    tables = set(v.TABLES)
    for t in tables:
        assert len(t) <= 2 and (len(t) < 2 or v.HUB in t)
        for i in range(len(t)):
            assert t[:i] + t[i + 1 :] in tables


@pytest.mark.parametrize(
    "value, band",
    [
        (10_000, "below_p10"),
        (45_000, "p10_p25"),
        (55_000, "p25_median"),
        (60_000, "at_median"),
        (65_000, "median_p75"),
        (75_000, "p75_p90"),
        (99_000, "above_p90"),
    ],
)
def test_band_places_a_value_among_published_quantiles(value, band):
    figures = {"p10": 40_000, "p25": 50_000, "median": 60_000, "p75": 70_000, "p90": 80_000}
    assert statistics.band(value, figures) == band


def test_band_is_coarser_when_quantiles_are_withheld():
    figures = {"p10": None, "p25": 50_000, "median": 60_000, "p75": 70_000, "p90": None}
    assert statistics.band(10_000, figures) == "below_p25"
    assert statistics.band(99_000, figures) == "above_p75"
    assert statistics.band(1, {"median": 60_000}) == "below_median"
    assert statistics.band(1, {"median": None}) is None
