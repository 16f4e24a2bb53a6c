"""Salary statistics of closed rounds, published as releases that never change.

A closed round is published once, as release 1: `publish` aggregates the round in one
PostgreSQL query (GROUPING SETS over every published table, exact percentiles with
percentile_cont) over the answers of members whose processing is not restricted at that moment,
applies `disclosure.protect`, and stores each table as one JSON row, so a statistics request is
a primary-key read. Afterwards nothing republishes the round: a member deleting an answer, an
erasure, the membership-end job, retention or a restriction deletes or stops using the answers,
and the release stays as it was. A release that identifies no one is anonymous output, not
personal data (README "Salary statistics"), and a table that changed when one person left would
identify exactly that person.

A correction (the survey manager removed a batch of invalid answers, say) is a new release,
made from the answers as they are now and kept beside the earlier ones. It is refused unless
every cell that a member could read differently in the two differs from the same cell of every
earlier release of the round by no person or by at least `disclosure.MIN_PERSONS` persons
(`changed_cells`). Members read the latest release; staff can read every release.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..core import audit
from ..core.db import Cursor
from ..core.problems import Conflict
from . import disclosure, store
from . import vocabulary as v

#: Who the audit trail names for reading the answers, whether the scheduled job, a reader that
#: found a closed round unpublished, or a staff correction made the release.
AUDIT_ACTOR = "salary-statistics"
#: An answer's use in the statistics is audited again when its last entry is this old, so the
#: trail (kept two years) shows the use for as long as it goes on (migration 0011).
REAUDIT_AFTER = timedelta(days=365)

_DIMS = v.DIMENSION_ORDER
#: The one query a release aggregates a round with (store.py; named here for the tests).
AGGREGATE_SQL = store.AGGREGATE_SQL


def aggregates(cur: Cursor, year: int) -> dict[disclosure.Group, disclosure.Aggregate]:
    """The exact figures of every non-empty cell of every published table of a round."""
    k = len(_DIMS)
    out: dict[disclosure.Group, disclosure.Aggregate] = {}
    for row in store.aggregate_rows(cur, year):
        flags, values = row[:k], row[k : 2 * k]
        n, bq, bsum, btop, tq, tsum, ttop = row[2 * k :]
        group = tuple((d, val) for d, f, val in zip(_DIMS, flags, values) if f == 0)
        if n == 0 or any(val is None for _, val in group):
            continue  # the empty round's grand total, or not answered (an optional question): part of the parent's residual only
        out[group] = disclosure.Aggregate(
            n,
            {
                "base_monthly_salary": _measure(bq, bsum, btop),
                "total_annual_pay": _measure(tq, tsum, ttop),
            },
        )
    return out


def _measure(quantiles, total, top) -> disclosure.Measure:
    """A cell's measure from its SQL columns (p10, p25, median, p75, p90; total; largest)."""
    p10, p25, p50, p75, p90 = (float(x) for x in quantiles)
    return disclosure.Measure((p10, p25, p50, p75, p90), int(total), tuple(int(x) for x in top))


def cell_key(group: disclosure.Group) -> str:
    """A cell's name in `salary_releases.cell_counts`: 'position_level=middle,county=03'."""
    return ",".join(f"{d}={val}" for d, val in group)


def counts_kept(aggregates: dict[disclosure.Group, disclosure.Aggregate]) -> dict[str, int]:
    """What a release keeps of its exact counts for auditing later corrections: cells of at
    least MIN_PERSONS only (a cell of 1..4 is not kept at all)."""
    return {cell_key(g): a.n for g, a in aggregates.items() if a.n >= disclosure.MIN_PERSONS}


def changed_cells(
    earlier_counts: dict[str, int],
    earlier: dict[str, list[dict]],
    counts: dict[str, int],
    tables: dict[str, list[dict]],
) -> list[dict]:
    """Cells a member could read differently in two releases without at least MIN_PERSONS
    persons between them: the cell's persons changed by 1..4 (exactly known where the earlier
    release kept the count; a cell kept as fewer than five now published with at most
    MIN_PERSONS + 3 could be such a change too), or its persons are as many as before but its
    figures differ (one answer went, another came back). `tables` are keyed by table key."""
    k = disclosure.MIN_PERSONS
    out = []
    for key, cells in tables.items():
        for cell, old in zip(cells, earlier[key]):
            name = cell_key(tuple(cell["group"].items()))
            before, now = earlier_counts.get(name), counts.get(name, 0)
            if before is None:
                risky = cell["published"] and now < 2 * k - 1
            else:
                diff = abs(now - before)
                risky = 0 < diff < k or (
                    diff == 0 and cell["published"] and old["published"] and cell != old
                )
            if risky:
                out.append({"table": key, "group": cell["group"]})
    return out


def publish(cur: Cursor, year: int, now: datetime, reason: dict[str, str] | None = None) -> int:
    """Makes the next release of a closed round from its answers as they are now; returns its
    number. The first release takes no reason; a correction takes one (nb and en) and raises
    Conflict when it would let a member single out 1..4 persons against an earlier release."""
    store.lock_releases(cur, year)
    aggs = aggregates(cur, year)
    tables = {v.table_key(dims): cells for dims, cells in disclosure.protect(aggs).items()}
    kept = counts_kept(aggs)
    earlier = store.release_counts(cur, year)
    if (reason is None) != (not earlier):
        raise Conflict(
            {
                "nb": "Runden er allerede publisert; en ny utgave må ha en begrunnelse.",
                "en": "The round is already published; a new release needs a reason.",
            }
            if earlier
            else {
                "nb": "Runden er ikke publisert ennå.",
                "en": "The round has not been published yet.",
            }
        )
    for release, old_counts in earlier:
        old_tables = store.release_tables(cur, year, release)
        changed = changed_cells(old_counts, old_tables, _all_counts(aggs), tables)
        if changed:
            raise Conflict(
                {
                    "nb": f"Den nye utgaven ville skilt seg fra utgave {release} med 1–"
                    f"{disclosure.MIN_PERSONS - 1} personer i {len(changed)} celler, så "
                    "noen kunne pekes ut ved å sammenligne dem. Endre minst "
                    f"{disclosure.MIN_PERSONS} svar i hver berørt gruppe.",
                    "en": f"The new release would differ from release {release} by 1–"
                    f"{disclosure.MIN_PERSONS - 1} persons in {len(changed)} cells, so "
                    "someone could be singled out by comparing them. Change at least "
                    f"{disclosure.MIN_PERSONS} answers in every affected group.",
                },
                compared_with=release,
                cells=len(changed),
                tables=sorted({c["table"] for c in changed}),
            )
    number = earlier[-1][0] + 1 if earlier else 1
    audit_use(cur, year, now)
    kind = "correction" if reason else "first"
    store.insert_release(cur, year, number, now, kind, reason, kept, tables)
    return number


def _all_counts(aggs: dict[disclosure.Group, disclosure.Aggregate]) -> dict[str, int]:
    return {cell_key(g): a.n for g, a in aggs.items()}


def ensure(cur: Cursor, year: int, now: datetime) -> tuple[int, datetime]:
    """The latest release of a closed round, making the first one if there is none yet."""
    found = latest(cur, year)
    if found:
        return found
    store.lock_releases(cur, year)
    found = latest(cur, year)  # someone else may have published it while we waited
    if found:
        return found
    return publish(cur, year, now), now


latest = store.latest
read_table = store.read_table


def select(cells: list[dict], filters: Mapping[str, str | None]) -> list[dict]:
    return [c for c in cells if all(c["group"].get(d) == val for d, val in filters.items())]


# ---------------------------------------------------------------------------------------
# Where do I stand
# ---------------------------------------------------------------------------------------

#: Comparison groups, most specific first; the first published one is used.
COMPARISON_TABLES: tuple[tuple[str, ...], ...] = (
    ("position_level", "nace"),
    ("position_level", "sector"),
    ("position_level", "county"),
    ("position_level",),
    (),
)

BANDS: dict[str, dict[str, str]] = {
    "below_p10": {"nb": "Blant de 10 % laveste", "en": "In the lowest 10 %"},
    "p10_p25": {"nb": "Mellom P10 og nedre kvartil", "en": "Between P10 and the lower quartile"},
    "below_p25": {"nb": "Under nedre kvartil", "en": "Below the lower quartile"},
    "p25_median": {
        "nb": "Mellom nedre kvartil og medianen",
        "en": "Between the lower quartile and the median",
    },
    "below_median": {"nb": "Under medianen", "en": "Below the median"},
    "at_median": {"nb": "På medianen", "en": "At the median"},
    "above_median": {"nb": "Over medianen", "en": "Above the median"},
    "median_p75": {
        "nb": "Mellom medianen og øvre kvartil",
        "en": "Between the median and the upper quartile",
    },
    "above_p75": {"nb": "Over øvre kvartil", "en": "Above the upper quartile"},
    "p75_p90": {"nb": "Mellom øvre kvartil og P90", "en": "Between the upper quartile and P90"},
    "above_p90": {"nb": "Blant de 10 % høyeste", "en": "In the highest 10 %"},
}


def band(value: float, figures: dict[str, Any]) -> str | None:
    """The percentile band of `value` among the published quantiles (coarser if some are withheld)."""
    median = figures.get("median")
    if median is None:
        return None
    p10, p25, p75, p90 = (figures.get(k) for k in ("p10", "p25", "p75", "p90"))
    if value == median:
        return "at_median"
    if value < median:
        if p25 is None:
            return "below_median"
        if value >= p25:
            return "p25_median"
        if p10 is None:
            return "below_p25"
        return "p10_p25" if value >= p10 else "below_p10"
    if p75 is None:
        return "above_median"
    if value <= p75:
        return "median_p75"
    if p90 is None:
        return "above_p75"
    return "p75_p90" if value <= p90 else "above_p90"


def audit_use(cur: Cursor, year: int, now: datetime) -> None:
    """Audits the reading of the round's answers (S2): one entry per answer the computation
    used whose use was not audited within REAUDIT_AFTER, marked in `salary_statistics_uses`
    (migration 0011), in the computation's transaction. Restricted members' answers are not
    read, so not audited."""
    used = store.mark_used(cur, year, now, now - REAUDIT_AFTER)
    audit.record_many(
        cur,
        used,
        actor_kind="job",
        actor=AUDIT_ACTOR,
        category="salary",
        action="used_in_statistics",
        purpose="salary_statistics",
        at=now,
    )


# -- what is published: the rounds' latest releases (store.py reads them) --------------------

ONE_ROUND = store.ONE_ROUND
ROUND = store.ROUND
CLOSED_ROUNDS = store.CLOSED_ROUNDS
latest_release_tables = store.latest_release_tables
rounds_to_release = store.rounds_to_release
releases = store.releases
