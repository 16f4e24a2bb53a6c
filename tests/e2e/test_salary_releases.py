"""Salary statistics stay anonymous over time (F6, R9), end to end through the real stack.

A closed round is published once, as a release; a member deleting an answer, an erasure and a
restriction afterwards leave every table exactly as it was. A correction by the survey manager
is a new release, refused while comparing it with an earlier one would single out 1..4 persons.
An intruder holding every table of every release (tests/support/attacker.py) can neither pin a
hidden count nor prove a `too_few` group non-empty, for this round and for the demo data.
"""

from datetime import UTC, datetime

import pytest
from lederappen.salary import vocabulary as v

from infra.local import demo_data
from tests.conftest import eventually
from tests.support import attacker

pytestmark = pytest.mark.stack
YEAR = 2001
ACTIVE = [
    m["member_id"]
    for m in demo_data.generate_members(400)[200:260]
    if m["membership"]["status"] == "active"
]
DELETER, ERASED, RESTRICTED, READER = ACTIVE[:4]
STAFF = "lonnsanalytiker"
OFFICER = "personvern"
#: The profile of a batch of invalid answers the survey manager removes in the correction; the
#: three members who leave the round answered in the same group.
BATCH = ("senior", "private", "B", "11")


def _insert(db_exec, member, level, sector, nace, county, base):
    db_exec(
        "INSERT INTO salary_answers (year, member_id, base_monthly, position_level, sector, "
        "nace, county) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (YEAR, member, base, level, sector, nace, county),
    )


@pytest.fixture(scope="module")
def round_(db_exec):
    db_exec(
        "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, questions) "
        "VALUES (%s, 'Test', 'Test', %s, %s, '{}')",
        (YEAR, datetime(YEAR, 9, 1, tzinfo=UTC), datetime(YEAR, 11, 1, tzinfo=UTC)),
    )
    for i in range(60):
        _insert(db_exec, f"93{i:04d}", "middle", "private", "C", "03", 48_000 + 431 * i)
    for i in range(30):
        _insert(db_exec, f"92{i:04d}", "senior", "private", "K", "03", 70_000 + 977 * i)
    for i in range(20):
        _insert(db_exec, f"91{i:04d}", *BATCH, 75_000 + 613 * i)
    for i in range(10):
        _insert(db_exec, f"90{i:04d}", *BATCH, 150_000 + 50 * i)  # the invalid batch
    for i, member in enumerate((DELETER, ERASED, RESTRICTED)):
        _insert(db_exec, member, *BATCH, 80_000 + 1_000 * i)
    yield
    db_exec("DELETE FROM processing_restrictions WHERE member_id = %s", (RESTRICTED,))
    db_exec("DELETE FROM salary_release_tables WHERE year = %s", (YEAR,))
    db_exec("DELETE FROM salary_releases WHERE year = %s", (YEAR,))
    db_exec("DELETE FROM salary_answers WHERE year = %s", (YEAR,))
    db_exec("DELETE FROM salary_rounds WHERE year = %s", (YEAR,))


def every_table(api, token, year) -> dict[str, dict]:
    out = {}
    for dims in v.TABLES:
        resp = api.get(
            f"/v1/salary/statistics?year={year}&dimensions={','.join(dims)}", token=token(READER)
        )
        assert resp.status == 200, resp.text
        out[v.table_key(dims)] = resp.json()
    return out


def _cells(tables: dict[str, dict]) -> dict[str, list[dict]]:
    return {key: body["cells"] for key, body in tables.items()}


def _privacy_request(api, token, member, kind):
    resp = api.post(
        "/v1/privacy/requests",
        token=token(member),
        json_body={"kind": kind, "reason": "Test av lønnsstatistikken."},
    )
    assert resp.status in (200, 201), resp.text
    rid = resp.json()["id"]
    assert api.post(f"/v1/admin/privacy-requests/{rid}/approve", token=token(OFFICER)).status == 200
    eventually(
        lambda: (
            api.get(f"/v1/admin/privacy-requests/{rid}", token=token(OFFICER)).json()["status"]
            == "done"
        ),
        timeout=90,
    )


def test_a_release_never_changes_when_answers_leave_and_corrections_are_audited(
    api, token, db_exec, round_
):
    before = every_table(api, token, YEAR)  # the first reader publishes release 1
    assert {body["release"] for body in before.values()} == {1}
    assert attacker.attack(_cells(before)) == []

    # one member deletes their answer, another is erased, a third is restricted
    assert api.delete(f"/v1/salary/rounds/{YEAR}/answer", token=token(DELETER)).status == 204
    _privacy_request(api, token, ERASED, "erasure")
    _privacy_request(api, token, RESTRICTED, "restriction")
    assert db_exec(
        "SELECT count(*) FROM salary_answers WHERE year = %s AND member_id IN (%s, %s)",
        (YEAR, DELETER, ERASED),
    ) == [(0,)]
    assert every_table(api, token, YEAR) == before

    # a correction now would differ from release 1 by those three persons: refused
    staff = token(STAFF)
    path = f"/v1/admin/salary-rounds/{YEAR}/releases"
    reason = {"reason": {"nb": "Ti ugyldige svar fjernet.", "en": "Ten invalid answers removed."}}
    refused = api.post(path, token=staff, json_body=reason)
    assert refused.status == 409, refused.text
    problem = refused.json()
    assert problem["compared_with"] == 1 and problem["cells"] > 0 and "" in problem["tables"]
    assert every_table(api, token, YEAR) == before
    assert db_exec("SELECT count(*) FROM salary_releases WHERE year = %s", (YEAR,)) == [(1,)]

    # with the invalid batch gone too, every affected cell differs by 13: published
    db_exec("DELETE FROM salary_answers WHERE year = %s AND member_id LIKE '90%%'", (YEAR,))
    made = api.post(path, token=staff, json_body=reason, headers={"Idempotency-Key": "corr-2001"})
    assert made.status == 201, made.text
    assert made.json()["release"] == 2 and made.json()["kind"] == "correction"
    again = api.post(path, token=staff, json_body=reason, headers={"Idempotency-Key": "corr-2001"})
    assert again.status == 201 and again.json()["release"] == 2  # the same request, once
    after = every_table(api, token, YEAR)
    assert {body["release"] for body in after.values()} == {2}
    assert db_exec(
        "SELECT (cell_counts->>'')::int FROM salary_releases WHERE year = %s AND release = 2",
        (YEAR,),
    ) == [(110,)]
    assert attacker.attack(_cells(after)) == []

    # members read the latest; every release stays readable for the audit
    listed = api.get(path, token=staff).json()["items"]
    assert [(r["release"], r["kind"]) for r in listed] == [(1, "first"), (2, "correction")]
    assert listed[1]["reason"]["en"] == "Ten invalid answers removed."
    for dims in (("position_level",), ("position_level", "county")):
        key = v.table_key(dims)
        old = api.get(f"{path}/1/statistics?dimensions={key}", token=staff)
        assert old.status == 200 and old.json()["cells"] == before[key]["cells"]
    assert api.get(f"{path}/3/statistics", token=staff).status == 404
    assert api.get(path, token=token(READER)).status == 403


def test_a_correction_of_an_open_or_unpublished_round_is_refused(api, token, db_exec, round_):
    staff = token(STAFF)
    reason = {"reason": {"nb": "Ugyldige svar fjernet.", "en": "Invalid answers removed."}}
    assert (
        api.post("/v1/admin/salary-rounds/2099/releases", token=staff, json_body=reason).status
        == 404
    )
    short = api.post(
        f"/v1/admin/salary-rounds/{YEAR}/releases",
        token=staff,
        json_body={"reason": {"nb": "x", "en": "y"}},
    )
    assert short.status == 422


def test_no_demo_round_release_can_be_solved_for(api, token, db_exec):
    """Every closed round of the demo data, every table as the API serves it."""
    years = [
        y
        for (y,) in db_exec(
            "SELECT year FROM salary_rounds WHERE closes_at <= now() AND year > 2010 ORDER BY year"
        )
    ]
    assert years, "the test stack seeds demo rounds"
    for year in years:
        findings = attacker.attack(_cells(every_table(api, token, year)))
        assert [str(f) for f in findings] == [], year
