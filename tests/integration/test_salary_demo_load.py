"""Synthetic salary answers go into PostgreSQL with COPY and come back as generated; the
database derives the same bands the vocabulary does; the demo seed runs once."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal

import pytest
from lederappen.salary import vocabulary as v

from infra import migrate
from infra.local import demo_data, postgres
from infra.local import salary_demo as sd

pytestmark = pytest.mark.stack

#: A round year no other test uses; created here and deleted afterwards (the DB is shared).
YEAR = 2031
TODAY = dt.date(2026, 11, 25)
N = 2_000


@pytest.fixture(scope="module")
def members():
    return demo_data.generate_members(3_000, reference_date=TODAY)


@pytest.fixture()
def conn(stack):
    c = stack.cluster.connect()
    cur = c.cursor()
    cur.execute("SELECT 1 FROM salary_rounds WHERE year = %s", (YEAR,))
    assert not cur.fetchall(), f"round {YEAR} exists already; this test owns that year"
    created = sd.ensure_rounds(c, [YEAR], TODAY)
    c.commit()
    assert created == [YEAR]
    yield c
    c.close()
    cleanup = stack.cluster.connect()  # a fresh one: a failed COPY leaves `c` unusable
    try:
        cur = cleanup.cursor()
        cur.execute("DELETE FROM salary_answers WHERE year = %s", (YEAR,))
        cur.execute("DELETE FROM salary_rounds WHERE year = %s", (YEAR,))
        cleanup.commit()
    finally:
        cleanup.close()


def _fetch(conn, sql, params=()):
    cur = conn.cursor()
    cur.execute(sql, params)
    return [tuple(r) for r in cur.fetchall()]


def test_ensure_rounds_creates_a_missing_round_once_with_every_optional_question(conn):
    ((title_nb, title_en, opens, closes, questions),) = _fetch(
        conn,
        "SELECT title_nb, title_en, opens_at, closes_at, questions FROM salary_rounds "
        "WHERE year = %s",
        (YEAR,),
    )
    assert (title_nb, title_en) == (f"Lønnsundersøkelsen {YEAR}", f"Salary survey {YEAR}")
    assert (opens, closes) == sd.round_window(YEAR, TODAY)
    assert questions == list(v.OPTIONAL_QUESTIONS)
    assert sd.ensure_rounds(conn, [YEAR], TODAY) == []


def test_copy_loads_generated_answers_that_read_back_unchanged(conn, members):
    rows = list(itertools.islice(sd.generate_answers(members, [YEAR], seed=3), N))
    assert len(rows) == N
    progress = []
    assert sd.load(conn, iter(rows), progress=progress.append, chunk_rows=300) == N
    assert sum(progress) == N and len(progress) == 7
    conn.commit()

    cols = ", ".join(sd.ANSWER_COLUMNS)
    back = _fetch(
        conn, f"SELECT {cols} FROM salary_answers WHERE year = %s ORDER BY member_id", (YEAR,)
    )

    def normal(row):
        return tuple(float(x) if isinstance(x, Decimal) else x for x in row)

    assert [normal(r) for r in back] == sorted(rows, key=lambda r: r[1])


def test_the_generated_bands_and_totals_agree_with_the_vocabulary(conn, members):
    rows = list(itertools.islice(sd.generate_answers(members, [YEAR], seed=4), N))
    sd.load(conn, rows)
    conn.commit()
    got = _fetch(
        conn,
        "SELECT member_id, total_annual, experience, managed, working_time "
        "FROM salary_answers WHERE year = %s",
        (YEAR,),
    )
    by_id = {r[1]: dict(zip(sd.ANSWER_COLUMNS, r)) for r in rows}
    assert len(got) == len(by_id) == N
    seen = {"experience": set(), "managed": set(), "working_time": set()}
    for member_id, total, experience, managed, working_time in got:
        a = by_id[member_id]
        assert total == a["base_monthly"] * 12 + (a["bonus_annual"] or 0) + (a["other_annual"] or 0)
        assert experience == v.experience_band(a["experience_years"])
        assert managed == v.managed_band(a["people_managed"])
        assert working_time == v.working_time(a["weekly_hours"])
        seen["experience"].add(experience)
        seen["managed"].add(managed)
        seen["working_time"].add(working_time)
    # The sample reaches every band (and NULL), so each CASE branch was exercised.
    assert seen["experience"] == set(v.EXPERIENCE_BANDS) | {None}
    assert seen["managed"] == set(v.MANAGED_BANDS) | {None}
    assert seen["working_time"] == set(v.WORKING_TIME) | {None}


@pytest.fixture()
def fresh_db(stack):
    """A migrated database of its own, so the demo seed sees no rounds and touches no others'."""
    name = "salary_demo_" + uuid.uuid4().hex[:10]
    admin = stack.cluster.connect(user=postgres.SUPERUSER)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}" OWNER {postgres.APP_ROLE}')
    conn = stack.cluster.connect(database=name)
    migrate.migrate(conn)
    yield conn
    conn.close()
    admin.cursor().execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


def test_seed_demo_creates_five_rounds_with_answers_once(fresh_db):
    members = demo_data.generate_members(300, reference_date=TODAY)
    result = sd.seed_demo(fresh_db, members, TODAY)
    years = list(range(TODAY.year - 4, TODAY.year + 1))
    assert result["rounds"] == 5
    assert sorted(result["by_year"]) == years
    assert result["answers"] == sum(result["by_year"].values()) > 4 * 200

    now = dt.datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=dt.UTC)
    rounds = _fetch(fresh_db, "SELECT year, opens_at, closes_at FROM salary_rounds ORDER BY year")
    assert [r[0] for r in rounds] == years
    assert [r[1] <= now < r[2] for r in rounds] == [False] * 4 + [True]
    counts = dict(_fetch(fresh_db, "SELECT year, count(*) FROM salary_answers GROUP BY year"))
    assert counts == result["by_year"]
    open_ids = {
        r[0]
        for r in _fetch(
            fresh_db, "SELECT member_id FROM salary_answers WHERE year = %s", (TODAY.year,)
        )
    }
    assert demo_data.DEMO_MEMBER_ID not in open_ids
    assert not open_ids & {m["member_id"] for m in members[100:200]}
    # answers are dated as a survey's come in: inside their round's days, over many of them,
    # most early (the survey manager's chart of answers over time)
    outside = _fetch(
        fresh_db,
        "SELECT count(*) FROM salary_answers a JOIN salary_rounds r USING (year) "
        "WHERE a.created_at < r.opens_at OR a.created_at > least(r.closes_at, now()) "
        "OR a.updated_at <> a.created_at",
    )
    assert outside == [(0,)]
    for year, days, early, late in _fetch(
        fresh_db,
        "SELECT year, count(DISTINCT a.created_at::date), "
        "count(*) FILTER (WHERE a.created_at < r.opens_at + interval '7 days'), "
        "count(*) FILTER (WHERE a.created_at >= least(r.closes_at, now()) - interval '7 days') "
        "FROM salary_answers a JOIN salary_rounds r USING (year) GROUP BY year",
    ):
        assert days > 10 and early > 2 * late, year

    assert sd.seed_demo(fresh_db, members, TODAY) == {"rounds": 0, "answers": 0, "by_year": {}}
    assert (
        dict(_fetch(fresh_db, "SELECT year, count(*) FROM salary_answers GROUP BY year")) == counts
    )
