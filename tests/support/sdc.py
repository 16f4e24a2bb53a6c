"""An independent auditor of published salary tables: what an intruder could derive.

Used by the property-based tests. It knows nothing of how disclosure.py decides; it looks only
at what is published (and at the true counts, to measure what a subtraction would reveal).
"""

from __future__ import annotations

import math

from hypothesis import strategies as st
from lederappen.salary import disclosure
from lederappen.salary import vocabulary as v

Group = tuple[tuple[str, str], ...]


def group_of(cell: dict) -> Group:
    return tuple(sorted(cell["group"].items(), key=lambda kv: v.DIMENSION_ORDER.index(kv[0])))


def count_groups(people: list[dict]) -> dict[Group, int]:
    """True counts of every cell of every published table (people: dim -> value or None)."""
    counts: dict[Group, int] = {}
    for p in people:
        for dims in v.TABLES:
            if any(p.get(d) is None for d in dims):
                continue
            g = tuple((d, p[d]) for d in dims)
            counts[g] = counts.get(g, 0) + 1
    return counts


def disjoint(a: Group, b: Group) -> bool:
    """Disjoint by definition (what an intruder knows): same dimension, different value."""
    da = dict(a)
    return any(d in da and da[d] != val for d, val in b)


def contains(outer: Group, inner: Group) -> bool:
    return set(outer) < set(inner)


def published_statistic_violations(cells: list[dict]) -> list[str]:
    """Rule 1: each published figure has enough persons behind it."""
    out = []
    for c in cells:
        if not c["published"]:
            for m in disclosure.MEASURES:
                assert m not in c, "a suppressed cell must carry no figures"
            continue
        n = c["persons"]["min"]  # the band's lower end: no figure may need more
        if n < disclosure.MIN_PERSONS:
            out.append(f"{c['group']} published with {n}")
        for m in disclosure.MEASURES:
            for stat, need in disclosure.STATISTICS.items():
                if c[m][stat] is not None and n < need:
                    out.append(f"{c['group']} {m}.{stat} published with {n} < {need}")
    return out


def differencing_violations(
    published: set[Group], counts: dict[Group, int], max_family: int = 6
) -> list[str]:
    """Every published cell minus any family of pairwise-disjoint published cells inside it.

    A remainder of 1..4 persons is a disclosure by subtraction. Nested pairs are the family of
    one. Searched exhaustively up to `max_family` members (enough for the small vocabularies
    the property tests draw from).
    """
    k = disclosure.MIN_PERSONS
    out = []
    for a in published:
        n_a = counts.get(a, 0)
        inside = sorted((g for g in published if contains(a, g)), key=lambda g: -counts.get(g, 0))

        def search(
            start: int,
            chosen: list[Group],
            total: int,
            a: Group = a,
            n_a: int = n_a,
            inside: list[Group] = inside,
        ) -> None:
            if chosen and 0 < n_a - total < k:
                out.append(f"{dict(a)} minus {[dict(g) for g in chosen]} leaves {n_a - total}")
                return
            if len(chosen) == max_family:
                return
            for i in range(start, len(inside)):
                g = inside[i]
                c = counts.get(g, 0)
                if total + c > n_a or any(not disjoint(g, h) for h in chosen):
                    continue
                search(i + 1, chosen + [g], total + c)
                if out:
                    return

        search(0, [], 0)
    return out


def nested_pair_violations(published: set[Group], counts: dict[Group, int]) -> list[str]:
    k = disclosure.MIN_PERSONS
    return [
        f"{dict(a)} - {dict(b)} = {counts[a] - counts[b]}"
        for a in published
        for b in published
        if contains(a, b) and 0 < counts[a] - counts[b] < k
    ]


def quantile(sorted_values: list[int], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between closest ranks."""
    pos = fraction * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


# -- random populations (for the property-based tests) ---------------------------------


def _small_vocabulary(draw) -> dict:
    """A few values per dimension; optional answers may be missing (None)."""
    pick = {}
    for d, spec in v.DIMENSIONS.items():
        values = sorted(spec["values"])
        size = draw(st.integers(1, min(3, len(values))))
        pick[d] = values[:size]
    return pick


@st.composite
def populations(draw, max_people=90):
    vocab = _small_vocabulary(draw)
    optional = {"gender", "experience", "age_band", "people_managed", "working_time"}
    person = st.fixed_dictionaries(
        {
            d: (
                st.one_of(st.none(), st.sampled_from(vals))
                if d in optional
                else st.sampled_from(vals)
            )
            for d, vals in vocab.items()
        }
    )
    return draw(st.lists(person, min_size=0, max_size=max_people))


def reference_aggregates(people_with_pay: list[dict]) -> dict:
    """Exact per-cell figures, as the SQL in statistics.AGGREGATE_SQL computes them."""
    cells: dict = {}
    for p in people_with_pay:
        for dims in v.TABLES:
            if any(p.get(d) is None for d in dims):
                continue
            cells.setdefault(tuple((d, p[d]) for d in dims), []).append(p)
    out = {}
    for g, members in cells.items():
        measures = {}
        for m, key in (("base_monthly_salary", "base"), ("total_annual_pay", "total")):
            values = sorted(x[key] for x in members)
            measures[m] = disclosure.Measure(
                tuple(quantile(values, f) for f in (0.1, 0.25, 0.5, 0.75, 0.9)),
                sum(values),
                tuple(sorted(values, reverse=True)[: disclosure.DOMINANCE_TOP]),
            )
        out[g] = disclosure.Aggregate(len(members), measures)
    return out


@st.composite
def paid_populations(draw):
    people = draw(populations(max_people=70))
    pay = st.integers(20_000, 200_000)
    out = []
    for p in people:
        base = draw(pay)
        out.append({**p, "base": base, "total": base * 12 + draw(st.integers(0, 3_000_000))})
    return out
