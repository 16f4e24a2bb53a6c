"""Salary statistics of closed rounds: computed once, with disclosure control, then read.

`compute` aggregates a round in one PostgreSQL query (GROUPING SETS over every published
table, exact percentiles with percentile_cont), applies `disclosure.protect`, and stores each
table as one JSON row, so a statistics request is a primary-key read. Answers of members whose
processing is restricted are left out. Triggers (migration 0004) throw a round's figures away
in the same transaction as any change to its answers or to a restriction of one who answered
it; the next reader (or the scheduled job) computes the round again without them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from ..core import audit
from . import disclosure, vocabulary as v

#: pg_advisory_xact_lock(class, year): one computation of a round at a time, and none while a
#: change to its answers is in flight (the triggers in migration 0004 take the shared form).
LOCK_CLASS = 74_612_360

#: Who the audit trail names for a computation, whether the scheduled job or a reader that
#: found the figures missing started it.
AUDIT_ACTOR = "salary-statistics"
#: An answer's use in the statistics is audited again when its last entry is this old, so the
#: trail (kept two years) shows the use for as long as it goes on (migration 0011).
REAUDIT_AFTER = timedelta(days=365)

_DIMS = v.DIMENSION_ORDER
_COLS = [v.DIMENSIONS[d]["column"] for d in _DIMS]
_FRACTIONS = "ARRAY[0.1, 0.25, 0.5, 0.75, 0.9]"


def _grouping_sets() -> str:
    sets = []
    for dims in v.TABLES:
        sets.append("(" + ", ".join(v.DIMENSIONS[d]["column"] for d in dims) + ")")
    return ", ".join(sets)


AGGREGATE_SQL = f"""
SELECT {", ".join(f"GROUPING({c})" for c in _COLS)},
       {", ".join(_COLS)},
       count(*),
       percentile_cont({_FRACTIONS}) WITHIN GROUP (ORDER BY base_monthly),
       sum(base_monthly::bigint),
       (array_agg(base_monthly ORDER BY base_monthly DESC))[1:{disclosure.DOMINANCE_TOP}],
       percentile_cont({_FRACTIONS}) WITHIN GROUP (ORDER BY total_annual),
       sum(total_annual::bigint),
       (array_agg(total_annual ORDER BY total_annual DESC))[1:{disclosure.DOMINANCE_TOP}]
FROM salary_answers a
WHERE a.year = %s
  AND NOT EXISTS (SELECT 1 FROM processing_restrictions r WHERE r.member_id = a.member_id)
GROUP BY GROUPING SETS ({_grouping_sets()})
"""


def aggregates(cur, year: int) -> dict[disclosure.Group, disclosure.Aggregate]:
    """The exact figures of every non-empty cell of every published table of a round."""
    cur.execute(AGGREGATE_SQL, (year,))
    k = len(_DIMS)
    out: dict[disclosure.Group, disclosure.Aggregate] = {}
    for row in cur.fetchall():
        flags, values = row[:k], row[k:2 * k]
        n, bq, bsum, btop, tq, tsum, ttop = row[2 * k:]
        group = tuple((d, val) for d, f, val in zip(_DIMS, flags, values) if f == 0)
        if n == 0 or any(val is None for _, val in group):
            continue  # the empty round's grand total, or not answered (an optional question): part of the parent's residual only
        out[group] = disclosure.Aggregate(n, {
            "base_monthly_salary": disclosure.Measure(tuple(float(x) for x in bq), int(bsum),
                                                      tuple(int(x) for x in btop)),
            "total_annual_pay": disclosure.Measure(tuple(float(x) for x in tq), int(tsum),
                                                   tuple(int(x) for x in ttop)),
        })
    return out


def compute(cur, year: int, now: datetime) -> None:
    """Computes and stores a closed round's published tables (replacing what was there)."""
    cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, year))
    tables = disclosure.protect(aggregates(cur, year))
    audit_use(cur, year, now)
    cur.execute("DELETE FROM salary_statistic_runs WHERE year = %s", (year,))
    cur.execute("INSERT INTO salary_statistic_runs (year, computed_at, method) VALUES (%s, %s, %s)",
                (year, now, disclosure.METHOD))
    for dims, cells in tables.items():
        cur.execute("INSERT INTO salary_statistic_tables (year, dimensions, cells) "
                    "VALUES (%s, %s, %s::jsonb)",
                    (year, v.table_key(dims), json.dumps(cells, separators=(",", ":"))))


def ensure(cur, year: int, now: datetime) -> datetime:
    """Makes sure a closed round has current figures; returns when they were computed."""
    cur.execute("SELECT computed_at FROM salary_statistic_runs WHERE year = %s", (year,))
    row = cur.fetchone()
    if row:
        return row[0]
    cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, year))
    cur.execute("SELECT computed_at FROM salary_statistic_runs WHERE year = %s", (year,))
    row = cur.fetchone()  # someone else may have computed it while we waited
    if row:
        return row[0]
    compute(cur, year, now)
    return now


def read_table(cur, year: int, dims: tuple[str, ...]) -> tuple[list[dict], datetime] | None:
    cur.execute("SELECT t.cells, r.computed_at FROM salary_statistic_tables t "
                "JOIN salary_statistic_runs r USING (year) WHERE t.year = %s AND t.dimensions = %s",
                (year, v.table_key(dims)))
    row = cur.fetchone()
    if row is None:
        return None
    return row[0], row[1]  # pg8000 decodes jsonb


def select(cells: list[dict], filters: dict[str, str]) -> list[dict]:
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
    "p25_median": {"nb": "Mellom nedre kvartil og medianen",
                   "en": "Between the lower quartile and the median"},
    "below_median": {"nb": "Under medianen", "en": "Below the median"},
    "at_median": {"nb": "På medianen", "en": "At the median"},
    "above_median": {"nb": "Over medianen", "en": "Above the median"},
    "median_p75": {"nb": "Mellom medianen og øvre kvartil",
                   "en": "Between the median and the upper quartile"},
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


def audit_use(cur, year: int, now: datetime) -> None:
    """Audits the reading of the round's answers (S2): one entry per answer the computation
    used whose use was not audited within REAUDIT_AFTER, marked in `salary_statistics_uses`
    (migration 0011), in the computation's transaction. Restricted members' answers are not
    read, so not audited."""
    cur.execute(
        "INSERT INTO salary_statistics_uses AS u (year, member_id, audited_at) "
        "SELECT a.year, a.member_id, %s FROM salary_answers a WHERE a.year = %s "
        "AND NOT EXISTS (SELECT 1 FROM processing_restrictions r WHERE r.member_id = a.member_id) "
        "AND NOT EXISTS (SELECT 1 FROM salary_statistics_uses m WHERE m.year = a.year "
        "                AND m.member_id = a.member_id AND m.audited_at >= %s) "
        "ON CONFLICT (year, member_id) DO UPDATE SET audited_at = excluded.audited_at "
        "RETURNING u.member_id", (now, year, now - REAUDIT_AFTER))
    audit.record_many(cur, [r[0] for r in cur.fetchall()], actor_kind="job", actor=AUDIT_ACTOR,
                      category="salary", action="used_in_statistics",
                      purpose="salary_statistics", at=now)
