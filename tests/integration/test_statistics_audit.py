"""Publishing a release audits its reading of the answers (S2): once per answer, again after a
year or after a restriction ends, never for a restricted member; and nothing that happens to
the answers afterwards republishes the round."""

from datetime import UTC, datetime, timedelta

import pytest
from lederappen.core import log
from lederappen.salary import statistics

pytestmark = pytest.mark.stack
YEAR = 2007
MEMBERS = [f"sa-{i}" for i in range(12)]


@pytest.fixture
def cur(rolled_back):
    cur = rolled_back
    cur.execute(
        "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, "
        "questions) VALUES (%s, 'T', 'T', '2007-09-01Z', '2007-11-01Z', '{}')",
        (YEAR,),
    )
    for i, m in enumerate(MEMBERS):
        cur.execute(
            "INSERT INTO salary_answers (year, member_id, base_monthly, position_level, "
            "sector, nace, county) VALUES (%s, %s, %s, 'middle', 'private', 'C', '03')",
            (YEAR, m, 50_000 + 1_000 * i),
        )
    return cur


def _entries(cur, member_id: str) -> list[tuple]:
    cur.execute(
        "SELECT actor_kind, actor, category, action, purpose FROM audit_events "
        "WHERE member_pseudonym = %s",
        (log.pseudonym(member_id),),
    )
    return [tuple(r) for r in cur.fetchall()]


def _releases(cur) -> list[tuple]:
    cur.execute(
        "SELECT r.release, t.dimensions, t.cells::text FROM salary_releases r "
        "JOIN salary_release_tables t USING (year, release) WHERE r.year = %s "
        "ORDER BY 1, 2",
        (YEAR,),
    )
    return [tuple(r) for r in cur.fetchall()]


def _unpublish(cur) -> None:
    """Only for these tests: forget the releases, so the next publish is a first one again."""
    cur.execute("DELETE FROM salary_release_tables WHERE year = %s", (YEAR,))
    cur.execute("DELETE FROM salary_releases WHERE year = %s", (YEAR,))


def test_a_release_audits_each_answer_it_reads_once(cur):
    now = datetime.now(UTC)
    cur.execute("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (MEMBERS[0],))
    assert statistics.publish(cur, YEAR, now) == 1
    assert _entries(cur, MEMBERS[0]) == []  # restricted: not read, not audited
    assert _entries(cur, MEMBERS[1]) == [
        ("job", "salary-statistics", "salary", "used_in_statistics", "salary_statistics")
    ]

    cur.execute(
        "DELETE FROM salary_answers WHERE year = %s AND member_id = %s", (YEAR, MEMBERS[-1])
    )
    cur.execute("SELECT count(*) FROM salary_statistics_uses WHERE member_id = %s", (MEMBERS[-1],))
    assert cur.fetchone()[0] == 0  # the mark went with its answer
    _unpublish(cur)
    statistics.publish(cur, YEAR, now + timedelta(hours=1))
    assert len(_entries(cur, MEMBERS[1])) == 1  # read again within the year: no second entry

    # a year on, the use is audited again, so the two-year trail never loses it
    _unpublish(cur)
    statistics.publish(cur, YEAR, now + statistics.REAUDIT_AFTER + timedelta(days=1))
    assert len(_entries(cur, MEMBERS[1])) == 2


def test_nothing_done_to_the_answers_republishes_a_release(cur):
    statistics.publish(cur, YEAR, datetime.now(UTC))
    before = _releases(cur)
    cur.execute(
        "UPDATE salary_answers SET base_monthly = base_monthly + 1 "
        "WHERE year = %s AND member_id = %s",
        (YEAR, MEMBERS[2]),
    )
    cur.execute("DELETE FROM salary_answers WHERE year = %s AND member_id = %s", (YEAR, MEMBERS[3]))
    cur.execute("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (MEMBERS[4],))
    assert _releases(cur) == before
    assert statistics.ensure(cur, YEAR, datetime.now(UTC))[0] == 1


def test_the_first_use_after_a_lifted_restriction_is_audited_anew(cur):
    now = datetime.now(UTC)
    statistics.publish(cur, YEAR, now)
    cur.execute("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (MEMBERS[3],))
    _unpublish(cur)
    statistics.publish(cur, YEAR, now + timedelta(hours=1))
    cur.execute("DELETE FROM processing_restrictions WHERE member_id = %s", (MEMBERS[3],))
    _unpublish(cur)
    statistics.publish(cur, YEAR, now + timedelta(hours=2))
    assert len(_entries(cur, MEMBERS[3])) == 2
    assert len(_entries(cur, MEMBERS[4])) == 1
