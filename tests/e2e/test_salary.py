"""Salary survey end to end (F6): rounds, the member's own answer, statistics with disclosure
control, where the member stands, and erasure leaving no trace in published figures."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from infra.local import demo_data, fire
from tests.support.salary_answer import ANSWER

pytestmark = pytest.mark.stack
MEMBERS = [m["member_id"] for m in demo_data.generate_members(300)[140:170]]
STAFF = "lonnsanalytiker"

OPEN_YEAR = 2006  # created by the survey manager in this module, open now
CLOSED_YEAR = 2005  # arranged directly: a closed round with crafted answers
OLDER_YEAR = 2004  # a second closed round, for trends


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _insert_answers(db_exec, year, rows):
    for member, level, county, nace, base in rows:
        db_exec(
            "INSERT INTO salary_answers (year, member_id, base_monthly, position_level, sector, "
            "nace, county, people_managed, experience_years, age_band, weekly_hours) "
            "VALUES (%s, %s, %s, %s, 'private', %s, %s, 10, 10, '40_49', 37.5)",
            (year, member, base, level, nace, county),
        )


def _crafted(year: int, me: str):
    """52 middle managers (50 in Oslo, 2 in Finnmark) and 40 senior managers (30 in Oslo, 10 in
    Rogaland)."""
    rows = [
        (f"99{year}{i:03d}", "middle", "03", "C" if i % 2 else "F", 50_000 + 500 * i)
        for i in range(49)
    ]
    rows.append((me, "middle", "03", "C", 61_000))
    rows += [(f"98{year}{i:03d}", "middle", "56", "C", 70_000 + i) for i in range(2)]
    rows += [(f"97{year}{i:03d}", "senior", "03", "K", 80_000 + 1_000 * i) for i in range(30)]
    rows += [(f"96{year}{i:03d}", "senior", "11", "B", 85_000 + 1_000 * i) for i in range(10)]
    return rows


@pytest.fixture(scope="module")
def rounds(api, token, db_exec):
    now = datetime.now(UTC)
    for year in (OLDER_YEAR, CLOSED_YEAR):
        db_exec(
            "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, questions) "
            "VALUES (%s, 'Test', 'Test', %s, %s, %s)",
            (
                year,
                datetime(year, 9, 1, tzinfo=UTC),
                datetime(year, 11, 1, tzinfo=UTC),
                ["people_managed", "years_experience", "age_band", "weekly_hours"],
            ),
        )
        _insert_answers(db_exec, year, _crafted(year, MEMBERS[0]))
    resp = api.post(
        "/v1/admin/salary-rounds",
        token=token(STAFF),
        json_body={
            "year": OPEN_YEAR,
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
        headers={"Idempotency-Key": "create-round-2006"},
    )
    assert resp.status == 201, resp.text
    yield
    for year in (OPEN_YEAR, CLOSED_YEAR, OLDER_YEAR):
        db_exec("DELETE FROM salary_release_tables WHERE year = %s", (year,))
        db_exec("DELETE FROM salary_releases WHERE year = %s", (year,))
        db_exec("DELETE FROM salary_answers WHERE year = %s", (year,))
        db_exec("DELETE FROM salary_rounds WHERE year = %s", (year,))


def _answer(db_exec, year, member):
    return db_exec(
        "SELECT base_monthly FROM salary_answers WHERE year = %s AND member_id = %s", (year, member)
    )


def test_a_member_answers_reads_changes_and_deletes_in_an_open_round(api, token, db_exec, rounds):
    tok = token(MEMBERS[1])
    rnd = api.get(f"/v1/salary/rounds/{OPEN_YEAR}", token=tok).json()
    assert rnd["status"] == "open" and rnd["answered"] is False
    assert "frivillig" in rnd["notice"]["nb"]
    assert {q["id"] for q in rnd["questionnaire"]} >= {"base_monthly_salary", "gender"}
    path = f"/v1/salary/rounds/{OPEN_YEAR}/answer"
    assert api.get(path, token=tok).status == 404

    created = api.put(path, token=tok, json_body=ANSWER)
    assert created.status == 201 and created.headers["ETag"] == '"1"'
    assert created.json()["total_annual_pay"] == 64_500 * 12 + 40_000
    changed = api.put(
        path,
        token=tok,
        headers={"If-Match": '"1"'},
        json_body={**ANSWER, "base_monthly_salary": 66_000},
    )
    assert changed.status == 200 and changed.json()["version"] == 2
    assert api.put(path, token=tok, headers={"If-Match": '"1"'}, json_body=ANSWER).status == 412
    assert api.get(path, token=tok).json()["base_monthly_salary"] == 66_000
    assert _answer(db_exec, OPEN_YEAR, MEMBERS[1]) == [(66_000,)]
    listed = api.get("/v1/salary/rounds", token=tok).json()["items"]
    assert next(r for r in listed if r["year"] == OPEN_YEAR)["answered"] is True

    assert api.delete(path, token=tok).status == 204
    assert _answer(db_exec, OPEN_YEAR, MEMBERS[1]) == []
    assert api.get(path, token=tok).status == 404


def test_another_members_answer_cannot_be_reached(api, token, rounds):
    api.put(f"/v1/salary/rounds/{OPEN_YEAR}/answer", token=token(MEMBERS[2]), json_body=ANSWER)
    other = api.get(f"/v1/salary/rounds/{OPEN_YEAR}/answer", token=token(MEMBERS[3]))
    assert other.status == 404
    assert api.get(f"/v1/salary/rounds/{OPEN_YEAR}/answer", token=token(STAFF)).status in (401, 403)


@pytest.mark.parametrize(
    "change, field, code",
    [
        ({"base_monthly_salary": None}, "base_monthly_salary", "required"),
        ({"base_monthly_salary": -5}, "base_monthly_salary", "range"),
        ({"annual_bonus": -1}, "annual_bonus", "range"),
        ({"nace": "Z"}, "nace", "enum"),
        ({"county": "01"}, "county", "enum"),
        ({"years_experience": 30, "age_band": "under_30"}, "years_experience", "inconsistent"),
        ({"weekly_hours": 37.3}, "weekly_hours", "step"),
        ({"other_annual_pay": 1000}, "other_annual_pay", "not_asked"),
        ({"notice_acknowledged": False}, "notice_acknowledged", "required"),
        ({"salary": 1}, "salary", "unknown_field"),
    ],
)
def test_invalid_answers_name_the_field_and_change_nothing(
    api, token, db_exec, rounds, change, field, code
):
    body = {**ANSWER, **change}
    resp = api.put(f"/v1/salary/rounds/{OPEN_YEAR}/answer", token=token(MEMBERS[4]), json_body=body)
    assert resp.status == 422, resp.text
    errors = resp.json()["errors"]
    assert any(e["field"] == field and e["code"] == code for e in errors), errors
    assert _answer(db_exec, OPEN_YEAR, MEMBERS[4]) == []


def test_bonus_without_salary_is_named(api, token, rounds):
    body = {**ANSWER, "base_monthly_salary": None}
    resp = api.put(
        f"/v1/salary/rounds/{OPEN_YEAR}/answer",
        token=token(MEMBERS[4]),
        json_body=body,
        headers={"Accept-Language": "en"},
    )
    error = resp.json()["errors"][0]
    assert error["field"] == "base_monthly_salary" and "Bonus" in error["message"]


def test_answers_outside_an_open_round_are_409_but_can_be_read_and_deleted(
    api, token, db_exec, rounds
):
    tok = token(MEMBERS[0])
    path = f"/v1/salary/rounds/{CLOSED_YEAR}/answer"
    resp = api.put(path, token=tok, json_body=ANSWER)
    assert resp.status == 409 and resp.json()["round_status"] == "closed"
    assert api.get(path, token=tok).json()["base_monthly_salary"] == 61_000
    assert api.put("/v1/salary/rounds/2099/answer", token=tok, json_body=ANSWER).status == 404


def test_statistics_publish_safe_cells_and_suppress_small_ones_with_a_reason(api, token, rounds):
    resp = api.get(
        f"/v1/salary/statistics?year={CLOSED_YEAR}&dimensions=county,position_level",
        token=token(MEMBERS[5]),
    )
    assert resp.status == 200, resp.text
    body = resp.json()
    assert body["dimensions"] == ["position_level", "county"]
    cells = {(c["group"]["position_level"], c["group"]["county"]): c for c in body["cells"]}
    assert len(cells) == 4 * 15
    assert cells[("senior", "03")]["published"]
    assert cells[("senior", "03")]["persons"] == {"min": 21, "max": 49}  # 30, told as a band
    assert cells[("middle", "56")] == {
        "group": {"position_level": "middle", "county": "56"},
        "published": False,
        "persons": None,
        "reason": "too_few",
    }
    # 52 middle managers minus the 50 in Oslo would reveal the 2 in Finnmark: Oslo is hidden too
    assert cells[("middle", "03")]["published"] is False
    assert cells[("middle", "03")]["reason"] == "protects_other_cells"
    # county 56 (2 people) would follow from the whole minus Oslo minus Rogaland: Rogaland is
    # hidden, and so is every cell inside it
    assert cells[("senior", "11")]["reason"] == "protects_other_cells"
    assert cells[("executive", "03")]["reason"] == "too_few"  # empty looks like small
    assert body["reasons"]["protects_other_cells"]["nb"]

    whole = api.get(f"/v1/salary/statistics?year={CLOSED_YEAR}", token=token(MEMBERS[5])).json()
    cell = whole["cells"][0]
    assert cell["persons"] == {"min": 50, "max": 99} and whole["release"] == 1
    assert cell["base_monthly_salary"]["median"] % 1000 == 0
    assert cell["total_annual_pay"]["p90"] % 10_000 == 0

    filtered = api.get(
        f"/v1/salary/statistics?year={CLOSED_YEAR}&dimensions=position_level&position_level=senior",
        token=token(MEMBERS[5]),
    ).json()["cells"]
    assert [c["group"] for c in filtered] == [{"position_level": "senior"}]
    figures = filtered[0]["base_monthly_salary"]
    assert filtered[0]["persons"] == {"min": 21, "max": 49}
    assert figures["p10"] is not None and figures["median"] % 1000 == 0


@pytest.mark.parametrize(
    "query, status, field",
    [
        ("dimensions=nace,county", 422, "dimensions"),
        ("dimensions=position_level,sector,nace", 422, "dimensions"),
        ("dimensions=salary", 422, "dimensions"),
        ("dimensions=position_level&position_level=boss", 422, "position_level"),
        ("dimensions=sector&county=03", 422, "county"),
        ("year=1999", 422, "year"),
        ("year=2099", 404, None),
        (f"year={OPEN_YEAR}", 409, None),
    ],
)
def test_statistics_bad_queries(api, token, rounds, query, status, field):
    resp = api.get(f"/v1/salary/statistics?{query}", token=token(MEMBERS[5]))
    assert resp.status == status, resp.text
    if field:
        assert resp.json()["errors"][0]["field"] == field
    if field == "dimensions":
        assert "position_level,nace" in resp.json()["allowed_dimensions"]


def test_where_the_member_stands_uses_the_finest_publishable_group(api, token, rounds):
    resp = api.get(f"/v1/salary/rounds/{CLOSED_YEAR}/position", token=token(MEMBERS[0]))
    body = resp.json()
    assert resp.status == 200 and body["available"] is True, body
    assert body["group"] == {"position_level": "middle", "nace": "C"}
    assert body["persons"] == {"min": 21, "max": 49} and body["release"] == 1
    base = body["base_monthly_salary"]
    assert base["your_value"] == 61_000 and base["band"] in (
        "median_p75",
        "p25_median",
        "at_median",
    )
    assert base["band_label"]["en"]

    small = api.get(
        f"/v1/salary/rounds/{CLOSED_YEAR}/position?dimensions=position_level,county",
        token=token(MEMBERS[0]),
    ).json()
    assert small["available"] is False and small["reason"] == "too_few"


def test_the_open_round_answer_is_compared_with_the_latest_published_round(api, token, rounds):
    tok = token(MEMBERS[6])
    api.put(f"/v1/salary/rounds/{OPEN_YEAR}/answer", token=tok, json_body=ANSWER)
    body = api.get(f"/v1/salary/rounds/{OPEN_YEAR}/position", token=tok).json()
    assert body["year"] == OPEN_YEAR and body["statistics_year"] == CLOSED_YEAR


def _senior_older(api, token) -> dict:
    return api.get(
        f"/v1/salary/statistics?year={OLDER_YEAR}&dimensions=position_level&position_level=senior",
        token=token(MEMBERS[5]),
    ).json()["cells"][0]


def test_a_restricted_member_is_not_compared_and_the_release_does_not_change(
    api, token, db_exec, rounds
):
    member = MEMBERS[7]
    before = _senior_older(api, token)  # releases the round (40 senior managers)
    _insert_answers(db_exec, OLDER_YEAR, [(member, "senior", "03", "K", 200_000)])
    db_exec("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (member,))
    try:
        assert _senior_older(api, token) == before
        resp = api.get(f"/v1/salary/rounds/{OLDER_YEAR}/position", token=token(member))
        assert resp.status == 409 and resp.json()["restricted"] is True
    finally:
        db_exec("DELETE FROM processing_restrictions WHERE member_id = %s", (member,))
        db_exec("DELETE FROM salary_answers WHERE member_id = %s", (member,))


def test_a_deleted_answer_goes_but_the_release_that_counted_it_stays(api, token, db_exec, rounds):
    member = MEMBERS[0]  # answered both closed rounds
    url = f"/v1/salary/statistics?year={OLDER_YEAR}&dimensions=position_level"
    before = api.get(url, token=token(MEMBERS[5])).json()
    assert api.delete(f"/v1/salary/rounds/{OLDER_YEAR}/answer", token=token(member)).status == 204
    assert _answer(db_exec, OLDER_YEAR, member) == []
    # a table that changed now would show exactly this one person's difference
    assert api.get(url, token=token(MEMBERS[5])).json() == before
    assert db_exec("SELECT count(*) FROM salary_releases WHERE year = %s", (OLDER_YEAR,)) == [(1,)]


def test_trend_follows_one_group_across_closed_rounds(api, token, rounds):
    resp = api.get(
        "/v1/salary/statistics/trend?dimensions=position_level&position_level=senior",
        token=token(MEMBERS[5]),
    )
    points = {p["year"]: p for p in resp.json()["points"]}
    assert points[OLDER_YEAR]["persons"] == points[CLOSED_YEAR]["persons"] == {"min": 21, "max": 49}
    assert points[OLDER_YEAR]["release"] == points[CLOSED_YEAR]["release"] == 1
    assert OPEN_YEAR not in points
    missing = api.get(
        "/v1/salary/statistics/trend?dimensions=position_level", token=token(MEMBERS[5])
    )
    assert missing.status == 422 and missing.json()["errors"][0]["field"] == "position_level"


def test_dimensions_lists_the_published_tables(api, token):
    body = api.get("/v1/salary/statistics/dimensions", token=token(MEMBERS[5])).json()
    assert ["position_level", "nace"] in body["tables"] and [] in body["tables"]
    assert ["nace", "county"] not in body["tables"]


def test_the_scheduled_job_releases_each_closed_round_once(stack, db_exec, rounds):
    state = stack.state()
    target = fire.job_target(state, "salary-statistics")
    tok = fire.fetch_job_token(state, target["job_audience"])
    status, body = fire.send(fire.build_request(state, "salary-statistics", tok))
    assert status == 200
    assert OLDER_YEAR not in json.loads(body)["computed"]  # released when first read above
    status, body = fire.send(fire.build_request(state, "salary-statistics", tok))
    assert json.loads(body)["computed"] == []
    assert db_exec(
        "SELECT year, count(*) FROM salary_releases WHERE year IN (%s, %s) "
        "GROUP BY year ORDER BY year",
        (OLDER_YEAR, CLOSED_YEAR),
    ) == [(OLDER_YEAR, 1), (CLOSED_YEAR, 1)]


def test_survey_manager_runs_rounds_but_never_sees_answers(api, token, rounds):
    tok = token(STAFF)
    items = api.get("/v1/admin/salary-rounds", token=tok).json()["items"]
    closed = next(r for r in items if r["year"] == CLOSED_YEAR)
    assert closed["answers"] == 92 and closed["status"] == "closed"
    assert "members" not in json.dumps(items)

    again = api.post(
        "/v1/admin/salary-rounds",
        token=tok,
        json_body={
            "year": OPEN_YEAR,
            "title": {"nb": "x", "en": "x"},
            "opens_at": "2030-01-01T00:00:00Z",
            "closes_at": "2030-02-01T00:00:00Z",
            "questions": [],
        },
    )
    assert again.status == 409
    bad = api.post(
        "/v1/admin/salary-rounds",
        token=tok,
        json_body={
            "year": 2007,
            "title": {"nb": "x", "en": "x"},
            "opens_at": "2030-02-01T00:00:00Z",
            "closes_at": "2030-01-01T00:00:00Z",
            "questions": ["gender", "shoe_size"],
        },
    )
    assert bad.status == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"closes_at", "questions[1]"}

    path = f"/v1/admin/salary-rounds/{OPEN_YEAR}"
    assert api.patch(path, token=tok, json_body={"questions": []}).status == 428
    version = next(r for r in items if r["year"] == OPEN_YEAR)["version"]
    busy = api.patch(
        path, token=tok, headers={"If-Match": f'"{version}"'}, json_body={"questions": []}
    )
    assert busy.status == 409  # questions change only before a round opens
    later = _iso(datetime.now(UTC) + timedelta(days=40))
    moved = api.patch(
        path, token=tok, headers={"If-Match": f'"{version}"'}, json_body={"closes_at": later}
    )
    assert moved.status == 200 and moved.json()["version"] == version + 1
    final = api.patch(
        f"/v1/admin/salary-rounds/{CLOSED_YEAR}",
        token=tok,
        headers={"If-Match": '"1"'},
        json_body={"closes_at": later},
    )
    assert final.status == 409
    assert api.get("/v1/admin/salary-rounds", token=token(MEMBERS[5])).status == 403
