"""The statistics computed in PostgreSQL equal an independent Python reference, leave out
restricted members, and what is stored obeys the disclosure rules and gives an intruder who
solves the integer programme over every table nothing (property-based, through the real
SQL)."""

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lederappen.salary import disclosure, statistics
from lederappen.salary import vocabulary as v

from tests.support import attacker, sdc
from tests.support.examples import examples

pytestmark = pytest.mark.stack
YEAR = 2008

# representative raw answers for each band the statistics group by
_EXPERIENCE = {"0_4": 2, "5_9": 7, "10_19": 15, "20_29": 25, "30_plus": 35}
_MANAGED = {"none": 0, "1_4": 2, "5_9": 7, "10_49": 20, "50_plus": 60}
_HOURS = {"full_time": 37.5, "part_time": 20.0}


@pytest.fixture(scope="module")
def conn(stack, pseudonyms):  # a computation audits (S2)
    c = stack.cluster.connect()
    cur = c.cursor()
    cur.execute(
        "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, questions) "
        "VALUES (%s, 'T', 'T', '2008-09-01Z', '2008-11-01Z', %s)",
        (YEAR, list(v.OPTIONAL_QUESTIONS)),
    )
    c.commit()
    yield c
    c.rollback()
    cur = c.cursor()
    for table in ("salary_release_tables", "salary_releases", "salary_answers", "salary_rounds"):
        cur.execute(f"DELETE FROM {table} WHERE year = %s", (YEAR,))
    cur.execute("DELETE FROM processing_restrictions WHERE member_id LIKE 'sdc-%%'")
    c.commit()
    c.close()


def _load(cur, people):
    cur.execute("DELETE FROM salary_answers WHERE year = %s", (YEAR,))
    cur.execute("DELETE FROM salary_release_tables WHERE year = %s", (YEAR,))
    cur.execute("DELETE FROM salary_releases WHERE year = %s", (YEAR,))
    cur.execute("DELETE FROM processing_restrictions WHERE member_id LIKE 'sdc-%%'")
    for i, p in enumerate(people):
        cur.execute(
            "INSERT INTO salary_answers (year, member_id, base_monthly, bonus_annual, position_level, "
            "people_managed, sector, nace, county, experience_years, age_band, gender, weekly_hours) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                YEAR,
                f"sdc-{i}",
                p["base"],
                p["total"] - 12 * p["base"],
                p["position_level"],
                _MANAGED.get(p["people_managed"]),
                p["sector"],
                p["nace"],
                p["county"],
                _EXPERIENCE.get(p["experience"]),
                p["age_band"],
                p["gender"],
                _HOURS.get(p["working_time"]),
            ),
        )
        if p.get("restricted"):
            cur.execute(
                "INSERT INTO processing_restrictions (member_id) VALUES (%s)", (f"sdc-{i}",)
            )


@settings(
    max_examples=examples(12),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sdc.paid_populations(), st.randoms(use_true_random=False))
def test_stored_statistics_match_the_reference_and_obey_the_rules(conn, people, rnd):
    for p in people:
        p["restricted"] = rnd.random() < 0.1
    cur = conn.cursor()
    try:
        _load(cur, people)
        release = statistics.publish(cur, YEAR, datetime.now(UTC))
        counted = [p for p in people if not p["restricted"]]
        expected = disclosure.protect(sdc.reference_aggregates(counted))
        counts = sdc.count_groups(counted)
        published = set()
        served = {}
        for dims in v.TABLES:
            stored = served[v.table_key(dims)] = statistics.read_table(cur, YEAR, release, dims)
            assert stored == expected[dims]
            assert sdc.published_statistic_violations(stored) == []
            published |= {sdc.group_of(c) for c in stored if c["published"]}
        assert sdc.nested_pair_violations(published, counts) == []
        assert sdc.differencing_violations(published, counts) == []
        assert [str(f) for f in attacker.attack(served)] == []
    finally:
        conn.rollback()


def test_the_aggregate_query_groups_only_the_published_tables():
    sql = statistics.AGGREGATE_SQL
    assert sql.count("(position_level, ") == len(v.DIMENSIONS) - 1
    assert "processing_restrictions" in sql
