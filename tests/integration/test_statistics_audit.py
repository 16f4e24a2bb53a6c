"""The salary-statistics computation audits its reading of the answers (S2): once per answer,
again after a year or after a restriction ends, never for a restricted member, and marking an
answer as audited (salary_statistics_uses, migration 0011) does not throw the round's figures
away."""

from datetime import datetime, timedelta, timezone

import pytest

from lederappen.core import log
from lederappen.salary import statistics

pytestmark = pytest.mark.stack
YEAR = 2007
MEMBERS = [f"sa-{i}" for i in range(12)]


@pytest.fixture
def cur(rolled_back):
    cur = rolled_back
    cur.execute("INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, "
                "questions) VALUES (%s, 'T', 'T', '2007-09-01Z', '2007-11-01Z', '{}')", (YEAR,))
    for i, m in enumerate(MEMBERS):
        cur.execute("INSERT INTO salary_answers (year, member_id, base_monthly, position_level, "
                    "sector, nace, county) VALUES (%s, %s, %s, 'middle', 'private', 'C', '03')",
                    (YEAR, m, 50_000 + 1_000 * i))
    return cur


def _entries(cur, member_id: str) -> list[tuple]:
    cur.execute("SELECT actor_kind, actor, category, action, purpose FROM audit_events "
                "WHERE member_pseudonym = %s", (log.pseudonym(member_id),))
    return [tuple(r) for r in cur.fetchall()]


def _current(cur) -> bool:
    cur.execute("SELECT count(*) FROM salary_statistic_runs WHERE year = %s", (YEAR,))
    return cur.fetchone()[0] == 1


def test_a_computation_audits_each_answer_it_reads_once(cur):
    now = datetime.now(timezone.utc)
    cur.execute("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (MEMBERS[0],))
    statistics.compute(cur, YEAR, now)
    assert _current(cur), "marking the answers as audited threw the figures away"
    assert _entries(cur, MEMBERS[0]) == []  # restricted: not read, not audited
    assert _entries(cur, MEMBERS[1]) == [
        ("job", "salary-statistics", "salary", "used_in_statistics", "salary_statistics")]

    # another member deletes their answer: the figures go, and the next computation reads the
    # same answers again without a second entry for them
    cur.execute("DELETE FROM salary_answers WHERE year = %s AND member_id = %s",
                (YEAR, MEMBERS[-1]))
    assert not _current(cur)
    cur.execute("SELECT count(*) FROM salary_statistics_uses WHERE member_id = %s", (MEMBERS[-1],))
    assert cur.fetchone()[0] == 0  # the mark went with its answer
    statistics.compute(cur, YEAR, now + timedelta(hours=1))
    assert len(_entries(cur, MEMBERS[1])) == 1

    # a year on, the use is audited again, so the two-year trail never loses it
    cur.execute("DELETE FROM salary_statistic_runs WHERE year = %s", (YEAR,))
    statistics.compute(cur, YEAR, now + statistics.REAUDIT_AFTER + timedelta(days=1))
    assert len(_entries(cur, MEMBERS[1])) == 2


def test_a_changed_answer_still_throws_the_figures_away(cur):
    statistics.compute(cur, YEAR, datetime.now(timezone.utc))
    assert _current(cur)
    cur.execute("UPDATE salary_answers SET base_monthly = base_monthly + 1 "
                "WHERE year = %s AND member_id = %s", (YEAR, MEMBERS[2]))
    assert not _current(cur)


def test_the_first_use_after_a_lifted_restriction_is_audited_anew(cur):
    now = datetime.now(timezone.utc)
    statistics.compute(cur, YEAR, now)
    cur.execute("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (MEMBERS[3],))
    statistics.compute(cur, YEAR, now + timedelta(hours=1))
    cur.execute("DELETE FROM processing_restrictions WHERE member_id = %s", (MEMBERS[3],))
    assert not _current(cur)
    statistics.compute(cur, YEAR, now + timedelta(hours=2))
    assert len(_entries(cur, MEMBERS[3])) == 2
    assert len(_entries(cur, MEMBERS[4])) == 1
