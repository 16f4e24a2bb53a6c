"""The figures the staff console shows before acting, end to end against the local stack:
the audience's size before a message is sent (F9) and a salary round's answers over time (F6).

The audience's size is proved against what actually happens: the count is taken, the message
is sent through the real fan-out and delivery, and the message's own figures must say the
same number were eligible. Small counts are never told exactly, and counting leaves no trace
in any member's audit trail and changes nothing.
"""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import eventually
from tests.e2e.test_messages import give, prefer
from tests.support.register import add_active_members

pytestmark = pytest.mark.stack

#: Members of this module's own, added to the register stand-in (ids 18xxxxx, like the
#: browser tests' 19xxxxx), all active and living in Oslo.
MEMBERS = [f"18{n:05d}" for n in range(1, 15)]
TOPIC = "project_management"  # an interest no other test gives anyone
EDITOR = "redaktor"
SURVEY = "lonnsanalytiker"
COUNT = "/v1/admin/message-audience"
YEAR = 2091  # a round of this module's own
OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture(scope="module", autouse=True)
def registered(stack):
    add_active_members(stack, MEMBERS, "Telling", county="Oslo")


def count(api, token, category="news", **audience) -> dict:
    resp = api.post(
        COUNT, token=token(EDITOR), json_body={"category": category, "audience": audience}
    )
    assert resp.status == 200, resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    return resp.json()


def send_and_settle(api, token, category: str, audience: dict) -> dict:
    resp = api.post(
        "/v1/admin/messages",
        token=token(EDITOR),
        json_body={
            "category": category,
            "title": {"nb": "Prosjektledelse", "en": "Project management"},
            "body": {"nb": "Nytt kurs i prosjektledelse.", "en": "A new course."},
            "audience": audience,
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert resp.status == 201, resp.text
    message_id = resp.json()["id"]

    def done():
        view = api.get(f"/v1/admin/messages/{message_id}", token=token(EDITOR)).json()
        f = view["figures"]
        settled = view["status"] == "sent" and f["processed"] == f["audience"]
        return f if settled and f["push"]["pending"] == 0 else None

    return eventually(done, timeout=60)


def _audit_rows(db_exec) -> int:
    return db_exec("SELECT count(*) FROM audit_events")[0][0]


@pytest.fixture(scope="module")
def interested(api, token, db_exec):
    """Nine members interested in TOPIC: six who would get news about it, one without
    personalisation consent, one restricted, one with news switched off."""
    chosen = MEMBERS[:9]
    for i, member in enumerate(chosen):
        tok = token(member)
        if i != 6:
            give(api, tok, "personalisation")
        prefer(
            api,
            tok,
            interests=[TOPIC],
            notification_categories=["course_reminders"] if i == 8 else None,
        )
    db_exec(
        "INSERT INTO processing_restrictions (member_id) VALUES (%s) ON CONFLICT DO NOTHING",
        (chosen[7],),
    )
    yield chosen
    db_exec("DELETE FROM processing_restrictions WHERE member_id = ANY(%s)", (chosen,))


def test_the_audience_size_is_what_the_message_then_reaches(api, token, db_exec, interested):
    audited = _audit_rows(db_exec)
    messages = db_exec("SELECT count(*) FROM messages")[0][0]
    before = count(api, token, kind="interest", value=TOPIC)
    assert before["audience"] == {"kind": "interest", "value": TOPIC}
    assert before["category"] == "news"
    assert before["recipients"] is not None and before["recipients"] >= 6
    assert before["fewer_than"] is None
    # counting chose no one and sent nothing: no audit entry, no message, no outbox row
    assert _audit_rows(db_exec) == audited
    assert db_exec("SELECT count(*) FROM messages")[0][0] == messages

    figures = send_and_settle(api, token, "news", {"kind": "interest", "value": TOPIC})
    assert figures["eligible"] == before["recipients"]
    assert figures["skipped"]["no_consent"] >= 1
    assert figures["skipped"]["restricted"] >= 1
    assert figures["skipped"]["category_off"] >= 1


def test_a_small_audience_is_told_only_as_fewer_than_five(api, token, db_exec, interested):
    # Nobody interested in TOPIC gave marketing consent: the count is small (0..4), and it
    # says only that; sending shows the same few.
    small = count(api, token, "marketing", kind="interest", value=TOPIC)
    assert small["recipients"] is None and small["fewer_than"] == 5
    figures = send_and_settle(api, token, "marketing", {"kind": "interest", "value": TOPIC})
    assert figures["eligible"] < 5

    # Restricting members one by one takes them out of the count at once, down to the band.
    recipients = count(api, token, kind="interest", value=TOPIC)["recipients"]
    restricted = interested[:2]
    db_exec(
        "INSERT INTO processing_restrictions (member_id) SELECT unnest(%s::text[]) "
        "ON CONFLICT DO NOTHING",
        (restricted,),
    )
    try:
        after = count(api, token, kind="interest", value=TOPIC)
        if recipients - 2 >= 5:
            assert after["recipients"] == recipients - 2
        else:
            assert after == {**after, "recipients": None, "fewer_than": 5}
    finally:
        db_exec("DELETE FROM processing_restrictions WHERE member_id = ANY(%s)", (restricted,))


def test_a_county_and_everyone_are_counted_from_the_register(api, token, db_exec):
    everyone = count(api, token, kind="all")["recipients"]
    oslo = count(api, token, kind="county", value="03")["recipients"]
    assert everyone > oslo > 0
    # a restriction of one member of Oslo takes exactly them out of both counts
    member = MEMBERS[13]
    db_exec(
        "INSERT INTO processing_restrictions (member_id) VALUES (%s) ON CONFLICT DO NOTHING",
        (member,),
    )
    try:
        assert count(api, token, kind="county", value="03")["recipients"] == oslo - 1
        assert count(api, token, kind="all")["recipients"] == everyone - 1
    finally:
        db_exec("DELETE FROM processing_restrictions WHERE member_id = %s", (member,))
    assert count(api, token, kind="county", value="03")["recipients"] == oslo


@pytest.mark.parametrize(
    "body, field",
    [
        ({"category": "gossip", "audience": {"kind": "all"}}, "category"),
        ({"category": "news", "audience": {"kind": "everyone"}}, "audience.kind"),
        (
            {"category": "news", "audience": {"kind": "member", "member_id": MEMBERS[0]}},
            "audience.kind",
        ),
        ({"category": "news", "audience": {"kind": "county", "value": "99"}}, "audience.value"),
        (
            {"category": "news", "audience": {"kind": "interest", "value": "knitting"}},
            "audience.value",
        ),
        ({"category": "news", "audience": {"kind": "interest"}}, "audience.value"),
        ({"category": "news", "audience": {"kind": "all", "value": "03"}}, "audience.value"),
        ({"category": "news", "audience": {"kind": "all", "member_id": "1"}}, "audience.member_id"),
        ({"category": "news", "audience": {"kind": "all"}, "title": "x"}, "title"),
        ({"audience": {"kind": "all"}}, "category"),
    ],
)
def test_bad_counts_are_refused_naming_the_field(api, token, db_exec, body, field):
    audited = _audit_rows(db_exec)
    resp = api.post(COUNT, token=token(EDITOR), json_body=body)
    assert resp.status == 422, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    assert field in [e["field"] for e in resp.json()["errors"]]
    assert _audit_rows(db_exec) == audited  # a refused member number is not even looked up


def test_only_editors_count_an_audience(api, token):
    body = {"category": "news", "audience": {"kind": "all"}}
    assert api.post(COUNT, token=token(MEMBERS[0]), json_body=body).status == 403
    assert api.post(COUNT, token=token(SURVEY), json_body=body).status == 403
    assert api.post(COUNT, json_body=body).status == 401
    form = api.post(
        COUNT,
        token=token(EDITOR),
        body=b"category=news",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status == 415


# -- answers over time ----------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


ANSWER = {
    "notice_acknowledged": True,
    "base_monthly_salary": 64_500,
    "position_level": "middle",
    "sector": "private",
    "nace": "C",
    "county": "03",
}


@pytest.fixture(scope="module")
def survey(api, token, db_exec):
    """A round that opened two days ago, answered by four members today; one answer is
    moved to the opening day, as if given then."""
    now = datetime.now(UTC)
    resp = api.post(
        "/v1/admin/salary-rounds",
        token=token(SURVEY),
        json_body={
            "year": YEAR,
            "title": {"nb": "Prøverunde", "en": "Trial round"},
            "opens_at": _iso(now - timedelta(days=2)),
            "closes_at": _iso(now + timedelta(days=20)),
            "questions": [],
        },
        headers={"Idempotency-Key": f"create-round-{YEAR}-{uuid.uuid4()}"},
    )
    assert resp.status == 201, resp.text
    answering = MEMBERS[9:13]
    for member in answering:
        put = api.put(f"/v1/salary/rounds/{YEAR}/answer", token=token(member), json_body=ANSWER)
        assert put.status == 201, put.text
    db_exec(
        "UPDATE salary_answers SET created_at = %s WHERE year = %s AND member_id = %s",
        (now - timedelta(days=2) + timedelta(minutes=1), YEAR, answering[0]),
    )
    yield now, answering
    db_exec("DELETE FROM salary_answers WHERE year = %s", (YEAR,))
    db_exec("DELETE FROM salary_rounds WHERE year = %s", (YEAR,))


def test_answers_over_time_count_each_day_since_the_round_opened(api, token, survey):
    now, answering = survey
    resp = api.get(f"/v1/admin/salary-rounds/{YEAR}/answer-counts", token=token(SURVEY))
    assert resp.status == 200, resp.text
    got = resp.json()
    first = (now - timedelta(days=2)).astimezone(OSLO).date()
    today = now.astimezone(OSLO).date()
    assert [d["date"] for d in got["days"]] == [
        (first + timedelta(days=i)).isoformat() for i in range((today - first).days + 1)
    ]
    assert got["days"][0]["answers"] == 1
    assert got["days"][-1]["answers"] == 3
    assert [d["cumulative"] for d in got["days"]][-1] == got["total"] == 4
    assert got["status"] == "open" and got["time_zone"] == "Europe/Oslo"
    listed = api.get("/v1/admin/salary-rounds", token=token(SURVEY)).json()["items"]
    assert next(r for r in listed if r["year"] == YEAR)["answers"] == got["total"]
    # counts only: no member key, no answer, no time of one answer
    text = resp.text
    assert not any(m in text for m in answering)
    assert "64500" not in text and "created_at" not in text

    # a member deleting their answer leaves its day
    tok = token(answering[1])
    assert api.delete(f"/v1/salary/rounds/{YEAR}/answer", token=tok).status == 204
    again = api.get(f"/v1/admin/salary-rounds/{YEAR}/answer-counts", token=token(SURVEY)).json()
    assert again["days"][-1]["answers"] == 2 and again["total"] == 3


def test_an_upcoming_round_has_no_days_an_unknown_one_is_404_and_a_bad_year_422(
    api, token, db_exec
):
    now = datetime.now(UTC)
    db_exec(
        "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, questions) "
        "VALUES (2092, 'Snart', 'Soon', %s, %s, '{}')",
        (now + timedelta(days=3), now + timedelta(days=30)),
    )
    try:
        got = api.get("/v1/admin/salary-rounds/2092/answer-counts", token=token(SURVEY))
        assert got.status == 200 and got.json()["days"] == [] and got.json()["total"] == 0
        assert got.json()["status"] == "upcoming"
    finally:
        db_exec("DELETE FROM salary_rounds WHERE year = 2092")
    for year, status in (("2095", 404), ("1999", 422), ("abc", 422), ("99999999999", 422)):
        resp = api.get(f"/v1/admin/salary-rounds/{year}/answer-counts", token=token(SURVEY))
        assert resp.status == status, year
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        if status == 422:
            assert [e["field"] for e in resp.json()["errors"]] == ["year"]


def test_only_the_survey_manager_sees_answers_over_time(api, token, survey):
    path = f"/v1/admin/salary-rounds/{YEAR}/answer-counts"
    assert api.get(path, token=token(MEMBERS[0])).status == 403
    assert api.get(path, token=token(EDITOR)).status == 403
    assert api.get(path).status == 401
