"""The salary tables: `salary_rounds`, `salary_answers`, `salary_statistics_uses`,
`salary_releases` and `salary_release_tables`, and the views `salary_answer_counts` and
`salary_answer_days`. The only module of the package that reads or writes them; it returns
typed rows (`Round`, `Answer`) and holds no rule: service.py decides what may be answered or
changed, statistics.py and disclosure.py what is published.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from typing import Any, NamedTuple

from ..core import db, restriction
from ..core.db import Cursor
from . import disclosure
from . import vocabulary as v

# API field name -> salary_answers column
FIELDS: dict[str, str] = {
    "base_monthly_salary": "base_monthly",
    "annual_bonus": "bonus_annual",
    "other_annual_pay": "other_annual",
    "position_level": "position_level",
    "people_managed": "people_managed",
    "sector": "sector",
    "nace": "nace",
    "county": "county",
    "years_experience": "experience_years",
    "age_band": "age_band",
    "gender": "gender",
    "weekly_hours": "weekly_hours",
}


class Round(NamedTuple):
    year: int
    title_nb: str
    title_en: str
    opens_at: datetime
    closes_at: datetime
    questions: list[str]
    version: int


class Answer(NamedTuple):
    """A member's answer as stored: the FIELDS columns in order, then the derived total."""

    base_monthly: int | None
    bonus_annual: int | None
    other_annual: int | None
    position_level: str | None
    people_managed: int | None
    sector: str | None
    nace: str | None
    county: str | None
    experience_years: int | None
    age_band: str | None
    gender: str | None
    weekly_hours: Any  # numeric: Decimal or None
    total_annual: int | None
    version: int
    updated_at: datetime


assert Answer._fields[: len(FIELDS)] == tuple(FIELDS.values())

_ROUND_COLUMNS = "year, title_nb, title_en, opens_at, closes_at, questions, version"
_ANSWER_COLUMNS = ", ".join(FIELDS.values()) + ", total_annual, version, updated_at"

#: Advisory lock class of a salary round (with the year): an answer holds it shared while it is
#: written, a change to the round exclusively, so a round cannot close under an answer. A row
#: lock (FOR SHARE) would do the same but needs UPDATE on salary_rounds, which the members'
#: function must not have (least privilege: it may only read rounds).
ROUND_LOCK = 7_461_236

#: pg_advisory_xact_lock(class, year): one release of a round is made at a time.
RELEASE_LOCK = 74_612_360


def _round(row) -> Round | None:
    return None if row is None else Round(*row)


# -- rounds -------------------------------------------------------------------------------------


def get_round(cur: Cursor, year: int) -> Round | None:
    cur.execute(f"SELECT {_ROUND_COLUMNS} FROM salary_rounds WHERE year = %s", (year,))
    return _round(cur.fetchone())


def list_rounds(cur: Cursor) -> list[Round]:
    cur.execute(f"SELECT {_ROUND_COLUMNS} FROM salary_rounds ORDER BY year DESC")
    return [Round(*r) for r in cur.fetchall()]


def lock_round_shared(cur: Cursor, year: int) -> None:
    """Until commit, the round cannot change (see ROUND_LOCK): an answer is being written."""
    cur.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", (ROUND_LOCK, year))


def lock_round_exclusive(cur: Cursor, year: int) -> None:
    """Until commit, no answer to the round is written (see ROUND_LOCK)."""
    cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (ROUND_LOCK, year))


def get_round_for_update(cur: Cursor, year: int) -> Round | None:
    cur.execute(f"SELECT {_ROUND_COLUMNS} FROM salary_rounds WHERE year = %s FOR UPDATE", (year,))
    return _round(cur.fetchone())


def create_round(
    cur: Cursor,
    year: int,
    title_nb: str,
    title_en: str,
    opens_at: datetime,
    closes_at: datetime,
    questions: list[str],
) -> Round | None:
    """The new round; None when there is one for the year already."""
    cur.execute(
        "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, questions) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (year) DO NOTHING "
        f"RETURNING {_ROUND_COLUMNS}",
        (year, title_nb, title_en, opens_at, closes_at, questions),
    )
    return _round(cur.fetchone())


def update_round(
    cur: Cursor,
    year: int,
    title_nb: str,
    title_en: str,
    opens_at: datetime,
    closes_at: datetime,
    questions: list[str],
) -> Round:
    cur.execute(
        "UPDATE salary_rounds SET title_nb = %s, title_en = %s, opens_at = %s, closes_at = %s, "
        f"questions = %s, version = version + 1 WHERE year = %s RETURNING {_ROUND_COLUMNS}",
        (title_nb, title_en, opens_at, closes_at, questions, year),
    )
    return Round(*db.one(cur))


def lock_round(cur: Cursor, year: int) -> int | None:
    """Locks the round until commit; its version, or None when there is no such round."""
    cur.execute("SELECT version FROM salary_rounds WHERE year = %s FOR UPDATE", (year,))
    row = cur.fetchone()
    return None if row is None else row[0]


def latest_closed_year(cur: Cursor, now: datetime, up_to: int) -> int | None:
    """The latest round, at most `up_to`, that has closed by `now`."""
    cur.execute(
        "SELECT max(year) FROM salary_rounds WHERE closes_at <= %s AND year <= %s", (now, up_to)
    )
    return db.one(cur)[0]


def answer_counts(cur: Cursor) -> dict[int, int]:
    """Answers per round (the salary_answer_counts view)."""
    cur.execute("SELECT year, answers FROM salary_answer_counts")
    return dict(cur.fetchall())


def answer_days(cur: Cursor, year: int) -> list[tuple[date, int]]:
    """(day in Norway, answers first submitted that day) of a round (salary_answer_days)."""
    cur.execute("SELECT day, answers FROM salary_answer_days WHERE year = %s", (year,))
    return [(day, answers) for day, answers in cur.fetchall()]


# -- answers ------------------------------------------------------------------------------------


def get_answer(cur: Cursor, year: int, member_id: str) -> Answer | None:
    cur.execute(
        f"SELECT {_ANSWER_COLUMNS} FROM salary_answers WHERE year = %s AND member_id = %s",
        (year, member_id),
    )
    row = cur.fetchone()
    return Answer(*row) if row else None


def answered_years(cur: Cursor, member_id: str) -> set[int]:
    cur.execute("SELECT year FROM salary_answers WHERE member_id = %s", (member_id,))
    return {r[0] for r in cur.fetchall()}


def answer_version(cur: Cursor, year: int, member_id: str) -> int:
    """The answer's version; 0 when there is none."""
    cur.execute(
        "SELECT version FROM salary_answers WHERE year = %s AND member_id = %s", (year, member_id)
    )
    row = cur.fetchone()
    return row[0] if row else 0


def put_answer(
    cur: Cursor, year: int, member_id: str, values: list[Any], now: datetime
) -> tuple[Answer, bool]:
    """Creates or replaces the answer (`values` in FIELDS order). Returns (row, created)."""
    cols = list(FIELDS.values())
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
    cur.execute(
        f"INSERT INTO salary_answers (year, member_id, {', '.join(cols)}, updated_at) "
        f"VALUES (%s, %s, {', '.join(['%s'] * len(cols))}, %s) "
        f"ON CONFLICT (year, member_id) DO UPDATE SET {updates}, updated_at = EXCLUDED.updated_at, "
        f"version = salary_answers.version + 1 "
        f"RETURNING {_ANSWER_COLUMNS}, (xmax = 0)",
        (year, member_id, *values, now),
    )
    row = db.one(cur)
    return Answer(*row[:-1]), bool(row[-1])


def delete_answer(cur: Cursor, year: int, member_id: str) -> bool:
    cur.execute("DELETE FROM salary_answers WHERE year = %s AND member_id = %s", (year, member_id))
    return cur.rowcount > 0


def delete_answers(cur: Cursor, member_ids: list[str]) -> dict[str, int]:
    """Deletes every answer of the members, in one statement; how many per member."""
    cur.execute(
        "DELETE FROM salary_answers WHERE member_id = ANY(%s) RETURNING member_id", (member_ids,)
    )
    return dict(Counter(r[0] for r in cur.fetchall()))


# -- statistics: aggregation ------------------------------------------------------------------

_DIMS = v.DIMENSION_ORDER
_COLS = [v.DIMENSIONS[d]["column"] for d in _DIMS]
_FRACTIONS = "ARRAY[0.1, 0.25, 0.5, 0.75, 0.9]"


def _grouping_sets() -> str:
    sets = []
    for dims in v.TABLES:
        sets.append("(" + ", ".join(v.DIMENSIONS[d]["column"] for d in dims) + ")")
    return ", ".join(sets)


#: Per cell of every published table (GROUPING SETS): the GROUPING flags and values of the
#: dimensions in DIMENSION_ORDER, then count, base quantiles, sum and largest values, total
#: pay quantiles, sum and largest values; over the round's unrestricted members' answers.
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
  AND {restriction.unrestricted("a.member_id")}
GROUP BY GROUPING SETS ({_grouping_sets()})
"""


def aggregate_rows(cur: Cursor, year: int) -> list:
    """The rows of AGGREGATE_SQL for a round."""
    cur.execute(AGGREGATE_SQL, (year,))
    return cur.fetchall()


def mark_used(cur: Cursor, year: int, now: datetime, unless_since: datetime) -> list[str]:
    """Marks the use of every answer of the round read by AGGREGATE_SQL whose use was not
    marked at or after `unless_since` (salary_statistics_uses); the members marked."""
    cur.execute(
        "INSERT INTO salary_statistics_uses AS u (year, member_id, audited_at) "
        "SELECT a.year, a.member_id, %s FROM salary_answers a WHERE a.year = %s "
        f"AND {restriction.unrestricted('a.member_id')} "
        "AND NOT EXISTS (SELECT 1 FROM salary_statistics_uses m WHERE m.year = a.year "
        "                AND m.member_id = a.member_id AND m.audited_at >= %s) "
        "ON CONFLICT (year, member_id) DO UPDATE SET audited_at = excluded.audited_at "
        "RETURNING u.member_id",
        (now, year, unless_since),
    )
    return [r[0] for r in cur.fetchall()]


# -- statistics: releases ---------------------------------------------------------------------


def lock_releases(cur: Cursor, year: int) -> None:
    """Until commit, no other release of the round is made (RELEASE_LOCK)."""
    cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", (RELEASE_LOCK, year))


def release_counts(cur: Cursor, year: int) -> list[tuple[int, dict[str, int]]]:
    """(release, the exact counts it kept) of every release of the round, oldest first."""
    cur.execute(
        "SELECT release, cell_counts FROM salary_releases WHERE year = %s ORDER BY release", (year,)
    )
    return [(release, counts) for release, counts in cur.fetchall()]


def release_tables(cur: Cursor, year: int, release: int) -> dict[str, list[dict]]:
    """Every table of a release: table key -> cells."""
    cur.execute(
        "SELECT dimensions, cells FROM salary_release_tables WHERE year = %s AND release = %s",
        (year, release),
    )
    return dict(cur.fetchall())


def insert_release(
    cur: Cursor,
    year: int,
    number: int,
    now: datetime,
    kind: str,
    reason: dict[str, str] | None,
    counts: dict[str, int],
    tables: dict[str, list[dict]],
) -> None:
    """Stores a release: its row, with the counts kept, and each table as one JSON row."""
    cur.execute(
        "INSERT INTO salary_releases (year, release, released_at, method, kind, "
        "reason_nb, reason_en, cell_counts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
        (
            year,
            number,
            now,
            disclosure.METHOD,
            kind,
            reason and reason["nb"],
            reason and reason["en"],
            json.dumps(counts),
        ),
    )
    cur.execute(
        "INSERT INTO salary_release_tables (year, release, dimensions, cells) "
        "SELECT %s, %s, t.key, t.cells FROM jsonb_each(%s::jsonb) AS t(key, cells)",
        (year, number, json.dumps(tables, separators=(",", ":"))),
    )


def latest(cur: Cursor, year: int) -> tuple[int, datetime] | None:
    """(number, released_at) of the round's latest release."""
    cur.execute(
        "SELECT release, released_at FROM salary_releases WHERE year = %s "
        "ORDER BY release DESC LIMIT 1",
        (year,),
    )
    row = cur.fetchone()
    return (row[0], row[1]) if row else None


def read_table(cur: Cursor, year: int, release: int, dims: tuple[str, ...]) -> list[dict]:
    cur.execute(
        "SELECT cells FROM salary_release_tables "
        "WHERE year = %s AND release = %s AND dimensions = %s",
        (year, release, v.table_key(dims)),
    )
    return db.one(cur)[0]  # pg8000 decodes jsonb


#: Per round chosen by a selector below (SQL over `r`, salary_rounds): its latest release and
#: the cells of the tables asked for.
_TABLES_SQL = """
SELECT r.year, r.opens_at, r.closes_at, s.release, s.released_at, t.dimensions, t.cells
FROM salary_rounds r
LEFT JOIN LATERAL (SELECT release, released_at FROM salary_releases x WHERE x.year = r.year
                   ORDER BY release DESC LIMIT 1) s ON true
LEFT JOIN salary_release_tables t
       ON t.year = r.year AND t.release = s.release AND t.dimensions = ANY(%s)
WHERE {which}
ORDER BY r.year
"""
ONE_ROUND = "r.year = coalesce(%s, (SELECT max(year) FROM salary_rounds WHERE closes_at <= %s))"
ROUND = "r.year = %s"
CLOSED_ROUNDS = "r.closes_at <= %s"


def latest_release_tables(cur: Cursor, which: str, params: tuple, table_keys: list[str]) -> list:
    """Rows (year, opens_at, closes_at, release, released_at, table key, cells) of the rounds
    `which` (one of the selectors above) selects with `params`; a round without a release
    has one row with release None."""
    cur.execute(_TABLES_SQL.format(which=which), (table_keys, *params))
    return cur.fetchall()


def rounds_to_release(cur: Cursor, now: datetime) -> list[int]:
    """Closed rounds without any release yet, oldest first."""
    cur.execute(
        "SELECT r.year FROM salary_rounds r WHERE r.closes_at <= %s AND NOT EXISTS "
        "(SELECT 1 FROM salary_releases s WHERE s.year = r.year) ORDER BY r.year",
        (now,),
    )
    return [r[0] for r in cur.fetchall()]


_RELEASES_SQL = (
    "SELECT release, released_at, kind, reason_nb, reason_en, method "
    "FROM salary_releases WHERE year = %s AND (%s::int IS NULL OR release = %s) ORDER BY release"
)


def releases(cur: Cursor, year: int, release: int | None = None) -> list:
    """A round's releases (or the one numbered `release`): (release, released_at, kind,
    reason_nb, reason_en, method)."""
    cur.execute(_RELEASES_SQL, (year, release, release))
    return cur.fetchall()
