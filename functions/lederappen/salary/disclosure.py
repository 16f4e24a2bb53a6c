"""Statistical disclosure control for the published salary statistics (F6).

No published figure may let anyone single out a person. The rules, all enforced here and
nowhere else, on aggregates that were computed from the answers of members whose processing is
not restricted:

1. **Minimum distinct persons per figure.** A cell (a group) is published only with at least
   5 persons behind it; then its count, median and mean. Quartiles need 9, P10/P90 need 21.
   Each answer is one person (one answer per member per round), so counts are distinct persons.
2. **Dominance (2, 50 %).** The mean of a measure is withheld when the two largest answers make
   up more than half of the cell's total. Totals (sums) are never published.
3. **Rounding.** Monthly amounts to the nearest NOK 1,000, annual amounts to the nearest
   NOK 10,000.
4. **No differencing.** Only the fixed tables in `vocabulary.TABLES` are published: the whole
   round, each dimension alone, and position level crossed with one other dimension (a star
   around position level). On that family two rules are enforced together, to a fixpoint:

   a. *Inheritance*: a cell is published only if every coarser cell containing it is (its
      parents: the same group with one dimension dropped).
   b. *Residual*: for a published cell P and a dimension d it is broken down by, the persons
      in P that are not in a published child along d (those in suppressed children, and those
      who did not answer d, such as an unstated gender) number 0 or at least 5. When they
      number 1..4, the smallest published child is suppressed as well (complementary
      suppression) and the check repeats.

   Together these guarantee that for every published cell P and every set of pairwise disjoint
   published cells inside P, the persons left over number 0 or at least 5, so no subtraction of
   published cells isolates fewer than five persons (the proof sketch is in README "Salary
   statistics"; `tests/unit/test_disclosure.py` checks the guarantee itself by brute force over
   random data). Means of such a remainder cannot be derived exactly either, since means are
   rounded and sums are never published.
5. **Counts in bands, and nothing solvable.** A published cell tells its persons as a band
   (`COUNT_BANDS`: 5-8, 9-20, ... the first two are what its quartiles and deciles tell anyway),
   never exactly. All tables of a release read together still tie the counts to each other; the
   exact integer programme over them (`inference.exposed`) must neither pin the count of a
   hidden cell nor prove a `too_few` cell non-empty. Where it could, one more neighbouring cell
   is hidden and the check repeats (complementary suppression driven by the audit itself).

Open rounds publish nothing: figures that moved as members answered would reveal each new
answer by comparing before and after. A closed round is published once, as a release
(statistics.py), which never changes afterwards; see there for corrections.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product
from typing import Any

from . import vocabulary as v

METHOD = (
    "lederappen-sdc-2: thresholds 5/9/21, dominance (2,50%), rounding, star tables with "
    "inheritance and residual >= 5, banded counts, no solvable hidden cell"
)

MIN_PERSONS = 5
QUARTILE_MIN = 9
DECILE_MIN = 21
DOMINANCE_TOP = 2
DOMINANCE_SHARE = 0.5
ROUND_MONTHLY = 1_000
ROUND_ANNUAL = 10_000

MEASURES = {"base_monthly_salary": ROUND_MONTHLY, "total_annual_pay": ROUND_ANNUAL}
#: What a published cell says about its number of persons: the band it falls in (inclusive;
#: None is open-ended). The first two bands are what its quartiles and deciles tell anyway.
COUNT_BANDS: tuple[tuple[int, int | None], ...] = (
    (5, 8),
    (9, 20),
    (21, 49),
    (50, 99),
    (100, 199),
    (200, 499),
    (500, 999),
    (1000, None),
)
#: Published statistics and the fewest persons each needs.
STATISTICS = {
    "p10": DECILE_MIN,
    "p25": QUARTILE_MIN,
    "median": MIN_PERSONS,
    "p75": QUARTILE_MIN,
    "p90": DECILE_MIN,
    "mean": MIN_PERSONS,
}
QUANTILES = ("p10", "p25", "median", "p75", "p90")

REASONS: dict[str, dict[str, str]] = {
    "too_few": {
        "nb": f"Færre enn {MIN_PERSONS} personer i gruppen, så tallene vises ikke.",
        "en": f"Fewer than {MIN_PERSONS} people in the group, so no figures are shown.",
    },
    "protects_other_cells": {
        "nb": "Skjult for at ingen skal kunne regne seg fram til tall for en liten gruppe "
        "ved å trekke grupper fra hverandre.",
        "en": "Hidden so that nobody can work out figures for a small group by subtracting "
        "one group from another.",
    },
    "round_too_small": {
        "nb": "Runden fikk for få svar til at noen tall kan vises uten at noen kan regnes ut.",
        "en": "The round had too few answers to show any figure without someone being worked out.",
    },
    "quartiles_need_9": {
        "nb": f"Kvartiler vises bare for grupper med minst {QUARTILE_MIN} personer.",
        "en": f"Quartiles are shown only for groups of at least {QUARTILE_MIN} people.",
    },
    "deciles_need_21": {
        "nb": f"P10 og P90 vises bare for grupper med minst {DECILE_MIN} personer.",
        "en": f"P10 and P90 are shown only for groups of at least {DECILE_MIN} people.",
    },
    "dominance": {
        "nb": "Gjennomsnittet vises ikke fordi noen få svar utgjør mesteparten av summen.",
        "en": "The mean is not shown because a few answers make up most of the total.",
    },
}

Group = tuple[tuple[str, str], ...]  # ((dimension, value), ...) in canonical dimension order


@dataclass(frozen=True)
class Measure:
    """One measure of one cell, exact (before rounding): quantiles, total and the two largest."""

    quantiles: tuple[float, float, float, float, float]  # p10, p25, median, p75, p90
    total: int
    top: tuple[int, ...]  # the largest answers, descending (at most DOMINANCE_TOP)


@dataclass(frozen=True)
class Aggregate:
    n: int
    measures: dict[str, Measure]  # keyed like MEASURES


def round_to(x: float, step: int) -> int:
    return math.floor(x / step + 0.5) * step


def dims_of(group: Group) -> tuple[str, ...]:
    return tuple(d for d, _ in group)


def parents(group: Group) -> list[Group]:
    """The cells one dimension coarser (all published tables are closed under dropping one)."""
    return [group[:i] + group[i + 1 :] for i in range(len(group))]


def refinements(dims: tuple[str, ...]) -> list[str]:
    """Dimensions a cell of table `dims` is broken down by in another published table."""
    tables = set(v.TABLES)
    return [d for d in v.DIMENSION_ORDER if d not in dims and v.canonical(dims + (d,)) in tables]


def child(group: Group, dim: str, value: str) -> Group:
    return tuple(sorted(group + ((dim, value),), key=lambda kv: v.DIMENSION_ORDER.index(kv[0])))


def all_groups(tables: Iterable[tuple[str, ...]] = v.TABLES) -> list[Group]:
    """Every cell of every published table, empty ones included."""
    out: list[Group] = []
    for dims in tables:
        for values in product(*(tuple(v.DIMENSIONS[d]["values"]) for d in dims)):
            out.append(tuple(zip(dims, values)))
    return out


def published_groups(
    counts: dict[Group, int], hidden: frozenset[Group] = frozenset()
) -> tuple[set[Group], dict[Group, str]]:
    """Which cells may be published, and why each other one is not (rules 1 and 4).

    `counts` maps cells to their number of persons; a missing cell has none. `hidden` are cells
    to suppress in any case (rule 5 asked for them). Returns the published set and a reason per
    suppressed non-empty cell.
    """
    n = lambda g: counts.get(g, 0)
    published = {g for g, c in counts.items() if c >= MIN_PERSONS and g not in hidden}
    reasons: dict[Group, str] = {g: "protects_other_cells" for g in hidden if n(g) >= MIN_PERSONS}
    reasons.update({g: "too_few" for g, c in counts.items() if 0 < c < MIN_PERSONS})

    # The breakdowns to check: (parent cell, dimension) -> its children with persons in them.
    splits: dict[tuple[Group, str], list[Group]] = {}
    for g, c in counts.items():
        if not g or c <= 0:
            continue
        for i, (d, _) in enumerate(g):
            splits.setdefault((g[:i] + g[i + 1 :], d), []).append(g)
    for kids in splits.values():
        kids.sort(key=lambda g: (n(g), g))  # smallest first: the cheapest complement

    def suppress(g: Group) -> None:
        published.discard(g)
        reasons.setdefault(g, "protects_other_cells")

    changed = True
    while changed:
        changed = False
        for g in sorted(published, key=len):  # a: inheritance, coarse to fine
            if g in published and any(p not in published for p in parents(g)):
                suppress(g)
                changed = True
        for (parent, _dim), kids in splits.items():  # b: residual
            if parent not in published:
                continue
            shown = [k for k in kids if k in published]
            residual = n(parent) - sum(n(k) for k in shown)
            while 0 < residual < MIN_PERSONS and shown:
                smallest = shown.pop(0)
                suppress(smallest)
                residual += n(smallest)
                changed = True
    return published, reasons


def _measure(m: Measure, n: int, step: int) -> tuple[dict[str, int | None], dict[str, str]]:
    values: dict[str, int | None] = {}
    withheld: dict[str, str] = {}
    for name, q in zip(QUANTILES, m.quantiles):
        need = STATISTICS[name]
        if n >= need:
            values[name] = round_to(q, step)
        else:
            values[name] = None
            withheld[name] = "deciles_need_21" if need == DECILE_MIN else "quartiles_need_9"
    if sum(m.top[:DOMINANCE_TOP]) > DOMINANCE_SHARE * m.total:
        values["mean"] = None
        withheld["mean"] = "dominance"
    else:
        values["mean"] = round_to(m.total / n, step)
    return values, withheld


def count_band(n: int) -> dict[str, int | None]:
    for low, high in COUNT_BANDS:
        if n >= low and (high is None or n <= high):
            return {"min": low, "max": high}
    raise ValueError("a published cell has at least MIN_PERSONS persons")


def cell_view(
    group: Group, aggregate: Aggregate | None, published: bool, reason: str | None
) -> dict:
    out: dict[str, Any] = {"group": dict(group), "published": published}
    if not published:
        out["persons"] = None
        out["reason"] = reason or "too_few"
        return out
    assert aggregate is not None and aggregate.n >= MIN_PERSONS
    out["persons"] = count_band(aggregate.n)
    withheld: dict[str, dict[str, str]] = {}
    for name, step in MEASURES.items():
        values, held = _measure(aggregate.measures[name], aggregate.n, step)
        out[name] = values
        if held:
            withheld[name] = held
    out["withheld"] = withheld
    return out


def protect(aggregates: dict[Group, Aggregate]) -> dict[tuple[str, ...], list[dict]]:
    """Every published table of one round, with disclosure control applied.

    `aggregates` holds the exact figures of every non-empty cell of every table in
    `vocabulary.TABLES`. The result lists every cell of every table, empty ones as suppressed
    (so an empty group and a group of 1..4 look the same).
    """
    from . import inference

    counts = {g: a.n for g, a in aggregates.items()}
    groups = all_groups()
    hidden: set[Group] = set()
    while True:
        published, reasons = published_groups(counts, frozenset(hidden))
        cells = {g: cell_view(g, aggregates.get(g), g in published, reasons.get(g)) for g in groups}
        exposed = inference.exposed(groups, cells, counts)
        if not exposed:
            break
        try:
            for g in sorted(exposed):
                hidden.add(_complement(g, published, counts))
        except _NoComplement:
            # Nothing published is left near an exposed cell: what still gives it away is
            # the labels themselves (`protects_other_cells` says ">= 5", `too_few` "<= 4"),
            # which only a tiny round can come to. Such a round shows no figure and one label
            # that says nothing about any count.
            cells = {g: cell_view(g, None, False, "round_too_small") for g in groups}
            break
    tables: dict[tuple[str, ...], list[dict]] = {dims: [] for dims in v.TABLES}
    for g in groups:
        tables[dims_of(g)].append(cells[g])
    return tables


def _complement(group: Group, published: set[Group], counts: dict[Group, int]) -> Group:
    """The published cell to hide so that `group` is no longer exposed: the smallest published
    cell among those that tie its count, searched outwards from it."""
    from . import inference

    seen, ring = {group}, [group]
    while ring:
        nxt = [h for g in ring for h in inference.neighbours(g) if h not in seen]
        seen.update(nxt)
        candidates = [h for h in nxt if h in published]
        if candidates:
            return min(candidates, key=lambda h: (counts.get(h, 0), len(h), h))
        ring = nxt
    raise _NoComplement(group)


class _NoComplement(Exception):
    """No published cell is left in an exposed cell's star (see `protect`)."""
