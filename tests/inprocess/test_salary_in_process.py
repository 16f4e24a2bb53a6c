"""The salary functions in process (create_app(...).test_client()), each with its own database
role: a survey manager opens a round, a member answers it, another member cannot reach the
answer, and bad input changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local import postgres
from tests.support.salary_answer import ANSWER

YEAR = 2041


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture()
def open_round(function_client: Any, issuer: Any, sql_cluster: postgres.Cluster) -> Any:
    admin = function_client("salary-admin")
    now = datetime.now(UTC)
    staff = issuer.token("staff-1", roles=("staff", "survey_manager"))
    created = admin.post(
        "/v1/admin/salary-rounds",
        json={
            "year": YEAR,
            "title": {"nb": "Lønnsundersøkelsen", "en": "Salary survey"},
            "opens_at": _iso(now - timedelta(days=1)),
            "closes_at": _iso(now + timedelta(days=30)),
            "questions": [
                "annual_bonus",
                "people_managed",
                "years_experience",
                "age_band",
                "gender",
                "weekly_hours",
            ],
        },
        headers={**_bearer(staff), "Idempotency-Key": f"inprocess-{YEAR}"},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    yield function_client("salary")
    conn = sql_cluster.connect(postgres.APP_ROLE)
    try:
        cur = conn.cursor()
        cur.execute("DELETE FROM salary_answers WHERE year = %s", (YEAR,))
        cur.execute("DELETE FROM salary_rounds WHERE year = %s", (YEAR,))
        cur.execute("DELETE FROM idempotency_keys WHERE key = %s", (f"inprocess-{YEAR}",))
        conn.commit()
    finally:
        conn.close()


def test_a_member_answers_and_another_member_cannot_reach_the_answer(
    open_round: Any, issuer: Any
) -> None:
    path = f"/v1/salary/rounds/{YEAR}/answer"
    alice = _bearer(issuer.token("inprocess-alice"))
    created = open_round.put(path, json=ANSWER, headers=alice)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["total_annual_pay"] == 64_500 * 12 + 40_000
    assert open_round.get(path, headers=alice).get_json()["base_monthly_salary"] == 64_500
    bob = _bearer(issuer.token("inprocess-bob"))
    assert open_round.get(path, headers=bob).status_code == 404
    assert open_round.delete(path, headers=bob).status_code == 204  # his own: there is none
    assert open_round.get(path, headers=alice).status_code == 200


def test_bad_input_is_a_problem_naming_the_field_and_stores_nothing(
    open_round: Any, issuer: Any
) -> None:
    path = f"/v1/salary/rounds/{YEAR}/answer"
    carol = _bearer(issuer.token("inprocess-carol"))
    bad = open_round.put(path, json={**ANSWER, "base_monthly_salary": "a lot"}, headers=carol)
    assert bad.status_code == 422
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    assert "base_monthly_salary" in bad.get_data(as_text=True)
    assert open_round.get(path, headers=carol).status_code == 404


def test_a_member_token_gets_no_staff_route(function_client: Any, issuer: Any) -> None:
    admin = function_client("salary-admin")
    member = _bearer(issuer.token("inprocess-dave"))
    assert admin.get("/v1/admin/salary-rounds", headers=member).status_code == 403
    assert admin.get("/v1/admin/salary-rounds").status_code == 401
