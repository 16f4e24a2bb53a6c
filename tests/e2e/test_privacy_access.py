"""Access (R1), portability (R6) and the processing record (Art. 30), end to end.

Two members get data in many stores through the real API (salary answer, preferences,
consents, mentor engagement, a device) and through the real writers (an inbox item, a mentor
proposal between them, audit entries); then each reads everything stored about them through
the gateway. Every section is labelled from the data map, the export holds only what the
member gave, the HTML page escapes what the member typed, and neither member ever sees the
other's data. Uses only demo members 320..339.
"""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from lederappen.core import datamap
from lederappen.notifications import inbox

from infra.local import demo_data
from tests.conftest import eventually
from tests.support.firestore import emulator_client

pytestmark = pytest.mark.stack
MEMBERS = [
    m["member_id"]
    for m in demo_data.generate_members(400)[320:340]
    if m["membership"]["status"] == "active"
]
EVIL = '<script>alert("lederappen")</script> & <b>fet</b>'
A_MARK, B_MARK = "presentasjon-A-7f3e", "presentasjon-B-91c2"
STAFF = "personvern"


def _pseudonym(stack, member_id: str) -> str:
    """core.log.pseudonym with the stack's key."""
    key = base64.b64decode(stack.env["PSEUDONYM_KEY"])
    return "m_" + hmac.new(key, member_id.encode(), hashlib.sha256).hexdigest()[:20]


def _terms(api, purpose):
    return {t["purpose"]: t for t in api.get("/v1/consent-terms").json()["terms"]}[purpose]


def _give(api, tok, purpose):
    t = _terms(api, purpose)
    resp = api.post(
        "/v1/consents",
        token=tok,
        json_body={
            "purpose": purpose,
            "action": "give",
            "terms_version": t["version"],
            "text_hash": t["text_hash"],
            "app_version": "3.2.1",
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert resp.status == 201, resp.text


def _engage(api, tok, presentation, topics):
    resp = api.put(
        "/v1/mentoring/engagement/mentor",
        token=tok,
        headers={"If-Match": '"0"'},
        json_body={
            "notice_acknowledged": True,
            "topics": topics,
            "industry": "C",
            "county": "03",
            "position_level": "senior",
            "years_as_manager": 11,
            "formats": ["digital"],
            "languages": ["nb"],
            "capacity": 2,
            "presentation": presentation,
        },
    )
    assert resp.status == 201, resp.text


def _answer_salary(api, tok, base):
    rounds = api.get("/v1/salary/rounds", token=tok).json()["items"]
    year = max(r["year"] for r in rounds if r["status"] == "open")
    resp = api.put(
        f"/v1/salary/rounds/{year}/answer",
        token=tok,
        json_body={
            "notice_acknowledged": True,
            "base_monthly_salary": base,
            "position_level": "middle",
            "sector": "private",
            "nace": "C",
            "county": "03",
        },
    )
    assert resp.status == 201, resp.text
    return year


def _register_device(api, tok):
    token = f"{uuid.uuid4().hex[:22]}:APA91b{uuid.uuid4().hex * 4}"[:163]
    resp = api.post(
        "/v1/devices",
        token=tok,
        json_body={
            "fcm_token": token,
            "platform": "ios",
            "app_version": "3.2.1",
            "locale": "nb",
            "installation_id": str(uuid.uuid4()),
        },
    )
    assert resp.status == 201, resp.text
    return token


@pytest.fixture(scope="module")
def arranged(api, token, db_exec, stack):
    a, b = MEMBERS[0], MEMBERS[1]
    ta, tb = token(a), token(b)
    fs = emulator_client(stack)
    out = {"a": a, "b": b}
    # through the API, as the app would
    assert (
        api.put(
            "/v1/preferences",
            token=ta,
            headers={"If-Match": '"0"'},
            json_body={
                "language": "en",
                "notification_categories": ["news", "course_reminders"],
                "notification_channels": ["push", "inbox"],
                "interests": ["leadership", "labour_law"],
            },
        ).status
        == 200
    )
    assert (
        api.put(
            "/v1/preferences",
            token=tb,
            headers={"If-Match": '"0"'},
            json_body={"interests": ["hse"]},
        ).status
        == 200
    )
    _give(api, ta, "personalisation")
    _give(api, ta, "newsletter")
    # sending the choice to the newsletter system is audited (a job entry): wait for it
    eventually(lambda: api.get("/v1/consents", token=ta).json()["newsletter_sync"]["confirmed"])
    _give(api, tb, "marketing")
    _engage(api, ta, f"{A_MARK} {EVIL}", ["leadership", "hse"])
    _engage(api, tb, B_MARK, ["hse"])
    out["year"] = _answer_salary(api, ta, 61_500)
    _answer_salary(api, tb, 83_250)
    out["fcm_a"] = _register_device(api, ta)
    out["fcm_b"] = _register_device(api, tb)
    # through the writers the sending pipeline and the matcher use
    for n, member in enumerate((a, a, b)):
        inbox.deliver(
            fs,
            member,
            {
                "message_id": f"privacy-e2e-{uuid.uuid4().hex[:10]}",
                "category": "news",
                "title": {"nb": f"Nyhet {n}", "en": f"News {n}"},
                "body": {"nb": "Les mer.", "en": "Read more."},
                "deep_link": None,
                "sensitive": False,
            },
        )
    now = datetime.now(UTC)
    round_id = db_exec(
        "INSERT INTO mentor_rounds (trigger, started_by, started_at) "
        "VALUES ('staff', 'privacy-e2e', %s) RETURNING id",
        (now,),
    )[0][0]
    out["proposal"] = str(uuid.uuid4())
    db_exec(
        "INSERT INTO mentor_proposals (id, round_id, mentee_id, mentor_id, score, parts, "
        "reasons, shared_topics, mentor_answer, mentor_answered_at, created_at, expires_at) "
        "VALUES (%s, %s, %s, %s, 0.8, '{\"topics\": 0.5}', %s, %s, 'declined', %s, %s, %s)",
        (
            out["proposal"],
            round_id,
            a,
            b,
            ["shared_topics"],
            ["hse"],
            now,
            now,
            now + timedelta(days=14),
        ),
    )
    for actor_kind, actor in (("staff", "staff-0001"), ("member", _pseudonym(stack, b))):
        db_exec(
            "INSERT INTO audit_events (at, member_pseudonym, actor_kind, actor, category, "
            "action, purpose) VALUES (%s, %s, %s, %s, 'mentoring', 'read', 'privacy e2e')",
            (now, _pseudonym(stack, a), actor_kind, actor),
        )
    yield out
    db_exec("DELETE FROM mentor_proposals WHERE id = %s", (out["proposal"],))
    db_exec("DELETE FROM mentor_rounds WHERE id = %s", (round_id,))
    db_exec("DELETE FROM audit_events WHERE purpose = 'privacy e2e'")
    for member, tok in ((a, ta), (b, tb)):
        api.delete("/v1/mentoring/engagement/mentor", token=tok)
        db_exec("DELETE FROM salary_answers WHERE member_id = %s", (member,))


def _sections(body):
    return {s["store"]: s for s in body["sections"]}


def test_access_shows_every_store_of_the_data_map_labelled(api, token, arranged):
    resp = api.get("/v1/privacy/access", token=token(arranged["a"]))
    assert resp.status == 200, resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.json()
    assert body["member_id"] == arranged["a"]
    assert [s["store"] for s in body["sections"]] == ["member_register"] + [
        s.name for s in (*datamap.STORES, *datamap.views())
    ]
    for s in body["sections"]:
        for key in ("source", "title", "purpose", "retention"):
            assert s[key]["nb"] and s[key]["en"], (s["store"], key)
        assert s["legal_basis"] and s["category"] and s["fields"]
        for item in s["items"]:
            assert set(item) == {f["name"] for f in s["fields"]}, s["store"]
    kinds = {s["store"]: s["kind"] for s in body["sections"]}
    assert kinds["member_register"] == "register" and kinds["salary_answers"] == "sql"
    assert kinds["inbox_items"] == "firestore" and kinds["message-delivery"] == "pubsub"


def test_access_shows_what_the_member_gave_through_the_app(api, token, arranged):
    sec = _sections(api.get("/v1/privacy/access", token=token(arranged["a"])).json())
    profile = sec["member_register"]["items"][0]
    assert profile["member_id"] == arranged["a"] and "national_id" not in profile
    salary = sec["salary_answers"]["items"]
    assert [(s["year"], s["base_monthly_salary"]) for s in salary] == [(arranged["year"], 61_500)]
    assert salary[0]["total_annual_pay"] == 61_500 * 12  # derived values are shown in access
    prefs = sec["member_preferences"]["items"][0]
    assert prefs["interests"] == ["leadership", "labour_law"] and prefs["language"] == "en"
    consents = {(c["purpose"], c["action"]) for c in sec["consent_events"]["items"]}
    assert consents == {("personalisation", "given"), ("newsletter", "given")}
    assert sec["newsletter_sync"]["items"][0]["subscribed"] is True
    assert [o["topic"] for o in sec["outbox"]["items"]] == ["newsletter-sync"]
    assert sec["idempotency_keys"]["total"] == 2  # the two consent POSTs
    [engagement] = sec["mentor_engagements"]["items"]
    assert engagement["role"] == "mentor" and engagement["presentation"].startswith(A_MARK)
    [device] = sec["devices"]["items"]
    assert device["platform"] == "ios" and device["locale"] == "nb"
    assert set(device) == {"id", "platform", "app_version", "locale", "created_at", "last_seen_at"}
    assert "device_index" not in sec
    assert sec["inbox_items"]["total"] == 2
    assert {i["title"]["nb"] for i in sec["inbox_items"]["items"]} == {"Nyhet 0", "Nyhet 1"}
    assert sec["member_register"]["items"][0]["processing_restricted"] is False


def test_a_pair_row_shows_the_callers_role_and_hides_the_others_answer(api, token, arranged):
    a_view = _sections(api.get("/v1/privacy/access", token=token(arranged["a"])).json())
    [mine] = a_view["mentor_proposals"]["items"]
    assert mine["id"] == arranged["proposal"] and mine["your_role"] == "mentee"
    assert mine["mentor_answer"] == "answered"  # the mentor's "no" is theirs to tell
    b_view = _sections(api.get("/v1/privacy/access", token=token(arranged["b"])).json())
    [theirs] = b_view["mentor_proposals"]["items"]
    assert theirs["your_role"] == "mentor" and theirs["mentor_answer"] == "declined"


def test_the_audit_trail_shows_staff_by_name_and_another_member_by_kind_only(
    api, token, arranged, stack
):
    resp = api.get("/v1/privacy/access", token=token(arranged["a"]))
    entries = _sections(resp.json())["audit_events"]["items"]
    assert {(e["actor_kind"], e["actor"]) for e in entries} == {
        ("staff", "staff-0001"),
        ("member", None),
        ("job", "newsletter-sync"),
    }
    assert _pseudonym(stack, arranged["b"]) not in resp.text
    assert _pseudonym(stack, arranged["a"]) not in resp.text


def test_access_shows_what_the_member_did_to_another_and_batches_naming_them(
    api, token, arranged, stack, db_exec
):
    """R1 covers rows that name the member outside their own member key: the audit entry
    recording that B saw A's data (B is its actor), and a queued delivery batch naming B
    among others; neither shows A, A's pseudonym or the other members of the batch."""
    b, a = arranged["b"], arranged["a"]
    outsider = MEMBERS[5]
    row = db_exec(
        "INSERT INTO outbox (topic, member_id, payload) VALUES ('message-delivery', "
        "NULL, %s) RETURNING id",
        (json.dumps({"message_id": "access-e2e-msg", "batch": 7, "member_ids": [outsider, b]}),),
    )
    try:
        resp = api.get("/v1/privacy/access", token=token(b))
        assert resp.status == 200, resp.text
        sec = _sections(resp.json())
        [seen] = sec["audit_events_actor"]["items"]
        assert (seen["category"], seen["action"], seen["purpose"]) == (
            "mentoring",
            "read",
            "privacy e2e",
        )
        assert seen["meaning"]["category"]["nb"] and seen["meaning"]["action"]["en"] == "Read"
        assert sec["audit_events_actor"]["title"]["en"].startswith("Audit trail: data about")
        # (delivery batches of messages to all members name B too: this test's is the one)
        [queued] = [
            i for i in sec["outbox_payload"]["items"] if i["message_id"] == "access-e2e-msg"
        ]
        assert queued["topic"] == "message-delivery" and queued["message_id"] == "access-e2e-msg"
        assert queued["published_at"] is None
        for hidden in (a, _pseudonym(stack, a), outsider, _pseudonym(stack, b)):
            assert hidden not in resp.text
        # A never sees the entry as one of their own actions, and pages of it work on their own
        mine = _sections(api.get("/v1/privacy/access", token=token(a)).json())
        assert mine["audit_events_actor"]["items"] == []
        assert all(i["message_id"] != "access-e2e-msg" for i in mine["outbox_payload"]["items"])
        one = api.get("/v1/privacy/access?store=audit_events_actor&limit=1", token=token(b))
        assert one.status == 200 and one.json()["sections"][0]["total"] == 1
    finally:
        db_exec("DELETE FROM outbox WHERE id = %s", (row[0][0],))


def test_another_members_data_never_appears(api, token, arranged, stack):
    for me, other, mark, fcm in (
        (arranged["a"], arranged["b"], B_MARK, arranged["fcm_b"]),
        (arranged["b"], arranged["a"], A_MARK, arranged["fcm_a"]),
    ):
        tok = token(me)
        for path in ("/v1/privacy/access", "/v1/privacy/export", "/v1/privacy/export.html"):
            text = api.get(path, token=tok).text
            assert other not in text, f"{path}: the other member's number"
            assert mark not in text and fcm not in text and arranged["fcm_a"] not in text
            assert "83250" not in text or me == arranged["b"]


def test_messages_in_transit_are_described_not_listed(api, token, arranged):
    sec = _sections(api.get("/v1/privacy/access", token=token(arranged["a"])).json())
    for topic in datamap.pubsub_topics():
        assert sec[topic]["items"] == [] and sec[topic]["total"] is None
        assert "Pub/Sub" in sec[topic]["note"]["en"]


def test_a_long_store_pages_on_with_its_cursor(api, token, arranged):
    tok = token(arranged["a"])
    for store, total in (("consent_events", 2), ("inbox_items", 2), ("audit_events", 3)):
        first = api.get(f"/v1/privacy/access?limit=1&store={store}", token=tok).json()
        [sec] = first["sections"]
        assert sec["store"] == store and sec["total"] == total and sec["truncated"] is True
        second = api.get(
            f"/v1/privacy/access?limit=1&store={store}&cursor={sec['next_cursor']}", token=tok
        ).json()["sections"][0]
        assert second["total"] == total and (second["next_cursor"] is None) == (total == 2)
        assert second["items"] and second["items"] != sec["items"]
    whole = _sections(api.get("/v1/privacy/access?limit=1", token=tok).json())
    assert whole["consent_events"]["next_cursor"] and whole["member_register"]["items"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("store=consent_events&cursor=bm9wZQ", "cursor"),
        ("cursor=abc", "store"),
        ("store=nope", "store"),
        ("store=message-delivery", "store"),
        ("limit=0", "limit"),
    ],
)
def test_bad_paging_is_422_naming_the_field(api, token, arranged, query, field):
    resp = api.get(f"/v1/privacy/access?{query}", token=token(arranged["a"]))
    assert resp.status == 422
    assert [e["field"] for e in resp.json()["errors"]] == [field]


def test_a_cursor_of_another_store_is_refused(api, token, arranged):
    tok = token(arranged["a"])
    sec = api.get("/v1/privacy/access?limit=1&store=consent_events", token=tok).json()
    cursor = sec["sections"][0]["next_cursor"]
    assert api.get(f"/v1/privacy/access?store=outbox&cursor={cursor}", token=tok).status == 422


def test_export_holds_only_what_the_member_provided(api, token, arranged):
    resp = api.get("/v1/privacy/export", token=token(arranged["a"]))
    assert resp.status == 200, resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="lederappen-')
    doc = resp.json()
    assert doc["format"] == "no.lederne.lederappen.member-export" and doc["format_version"] == 1
    assert doc["schema"].endswith("#/components/schemas/PrivacyExport")
    provided = [s.name for s in datamap.STORES if s.provided_by_member]
    assert [s["store"] for s in doc["sections"]] == provided
    sec = {s["store"]: s for s in doc["sections"]}
    for s in doc["sections"]:
        for item in s["items"]:
            assert set(item) == {f["name"] for f in s["fields"]}
    assert sec["salary_answers"]["items"][0]["base_monthly_salary"] == 61_500
    assert "total_annual_pay" not in sec["salary_answers"]["items"][0]  # derived: not given
    assert sec["mentor_engagements"]["items"][0]["presentation"] == f"{A_MARK} {EVIL}"
    assert sec["member_preferences"]["items"][0]["interests"] == ["leadership", "labour_law"]
    assert {c["purpose"] for c in sec["consent_events"]["items"]} == {
        "personalisation",
        "newsletter",
    }
    text = resp.text
    for never in ("inbox_items", "devices", "audit_events", "Nyhet 0", "mentor_proposals"):
        assert never not in text


@pytest.mark.parametrize(
    "lang, heading, filename",
    [
        ("nb", "Dine opplysninger fra Lederappen", "lederappen-eksport-"),
        ("en", "Your data from Lederappen", "lederappen-export-"),
    ],
)
def test_export_page_is_readable_html_with_everything_escaped(
    api, token, arranged, lang, heading, filename
):
    resp = api.get(
        "/v1/privacy/export.html", token=token(arranged["a"]), headers={"Accept-Language": lang}
    )
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-store"
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="{filename}') and disposition.endswith(
        '.html"'
    )
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    page = resp.text
    assert page.startswith("<!DOCTYPE html>") and f'<html lang="{lang}">' in page
    assert f"<h1>{heading}</h1>" in page
    assert "<script" not in page and "<b>fet</b>" not in page
    assert "&lt;script&gt;alert(&quot;lederappen&quot;)&lt;/script&gt; &amp; &lt;b&gt;fet" in page
    assert datamap.by_name("salary_answers").title[lang] in page and "61500" in page


@pytest.mark.parametrize(
    "path", ["/v1/privacy/access", "/v1/privacy/export", "/v1/privacy/export.html"]
)
def test_without_a_member_token_there_is_nothing(api, token, path):
    resp = api.get(path)
    assert resp.status == 401
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert api.get(path, token=token(STAFF)).status == 403


def test_the_processing_record_is_public_and_lists_every_store(api):
    resp = api.get("/v1/privacy/processing-record")
    assert resp.status == 200
    rec = resp.json()
    assert [a["store"] for a in rec["activities"]] == ["member_register"] + [
        s.name for s in datamap.STORES
    ]
    assert rec["data_protection_officer"]["email"] == "personvern@lederne.no"
    assert not any(m in resp.text for m in MEMBERS)
    for lang, title in (
        ("nb", "Protokoll over behandlingsaktiviteter"),
        ("en", "Record of processing activities"),
    ):
        md = api.get("/v1/privacy/processing-record.md", headers={"Accept-Language": lang})
        assert md.status == 200 and md.headers["Content-Type"] == "text/markdown; charset=utf-8"
        assert md.text.startswith(f"# {title}")
        assert all(f"(`{s.name}`)" in md.text for s in datamap.STORES)


def test_access_answers_503_when_the_register_is_down(api, token, arranged, lederne):
    tok = token(arranged["a"])
    lederne.fault(status=500, path_prefix="/api/members")
    try:
        resp = api.get("/v1/privacy/access", token=tok)
    finally:
        lederne.reset()
    assert resp.status == 503 and resp.headers["Retry-After"].isdigit()
    assert json.loads(resp.data)["dependency"] == "member-register"
