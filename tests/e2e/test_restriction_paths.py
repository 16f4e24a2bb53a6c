"""Restriction of processing (R3, GDPR Art. 18) end to end, path by path.

The member asks, the privacy officer approves, the privacy-jobs worker restricts, all through
the running stack. While the restriction stands the member's data is kept (and still shown to
them) but no processing path uses it: salary statistics, personalisation of the feed,
optional messages (broadcasts, interest and marketing messages), and pushes retried after
the member became restricted or withdrew consent. Messages the member needs about their own
affairs still reach them. Once lifted, the data is used again. (Matching is proven in
test_mentor_matching, the newsletter in test_erasure.)
"""

import json
import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
from lederappen.notifications import inbox
from lederappen.preferences.service import NOTIFICATION_CATEGORIES
from lederappen.salary.vocabulary import COUNTIES

from infra.local import demo_data, fire
from tests.conftest import eventually
from tests.support.firestore import emulator_client

pytestmark = pytest.mark.stack

_DEMO = [
    m for m in demo_data.generate_members(400)[60:100] if m["membership"]["status"] == "active"
]
MEMBERS = [m["member_id"] for m in _DEMO]
OFFICER = "personvern"
EDITOR = "redaktor"


# -- the privacy officer's decision, carried out by the privacy-jobs worker --------------------


def _decided(api, token, member, kind):
    resp = api.post("/v1/privacy/requests", token=token(member), json_body={"kind": kind})
    assert resp.status in (200, 201), resp.text
    request_id = resp.json()["id"]
    approved = api.post(f"/v1/admin/privacy-requests/{request_id}/approve", token=token(OFFICER))
    assert approved.status == 200, approved.text
    eventually(
        lambda: (
            api.get(f"/v1/admin/privacy-requests/{request_id}", token=token(OFFICER)).json()[
                "status"
            ]
            == "done"
        ),
        timeout=60,
    )


def restrict(api, token, db_exec, member):
    _decided(api, token, member, "restriction")
    assert db_exec("SELECT 1 FROM processing_restrictions WHERE member_id = %s", (member,))
    assert api.get("/v1/profile", token=token(member)).json()["processing_restricted"] is True


def lift(api, token, db_exec, member):
    _decided(api, token, member, "lift_restriction")
    assert not db_exec("SELECT 1 FROM processing_restrictions WHERE member_id = %s", (member,))


@pytest.fixture()
def unrestricted(db_exec):
    """Members a test restricts are unrestricted again afterwards, whatever happened."""
    members: list[str] = []
    yield members
    for member in members:
        db_exec("DELETE FROM processing_restrictions WHERE member_id = %s", (member,))


# -- the member's own choices ------------------------------------------------------------------


def consent(api, tok, purpose, action="give"):
    terms = {t["purpose"]: t for t in api.get("/v1/consent-terms").json()["terms"]}[purpose]
    resp = api.post(
        "/v1/consents",
        token=tok,
        json_body={
            "purpose": purpose,
            "action": action,
            "terms_version": terms["version"],
            "text_hash": terms["text_hash"] if action == "give" else None,
            "app_version": "3.2.1",
        },
    )
    assert resp.status in (200, 201), resp.text


def prefer(api, tok, **body):
    current = api.get("/v1/preferences", token=tok)
    resp = api.put(
        "/v1/preferences", token=tok, headers={"If-Match": current.headers["ETag"]}, json_body=body
    )
    assert resp.status == 200, resp.text


# -- 1. salary statistics --------------------------------------------------------------------

YEAR = 2003  # a closed round of this module's own (test_salary uses 2004..2006)


@pytest.fixture()
def salary_round(db_exec):
    """A closed round: the member and 4 others are executives (exactly the minimum group of
    5), 40 are middle managers."""
    member = MEMBERS[0]
    db_exec(
        "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, questions) "
        "VALUES (%s, 'Test', 'Test', %s, %s, %s)",
        (
            YEAR,
            datetime(YEAR, 9, 1, tzinfo=UTC),
            datetime(YEAR, 11, 1, tzinfo=UTC),
            ["people_managed", "years_experience", "age_band", "weekly_hours"],
        ),
    )
    rows = [(member, "executive", 90_000)]
    rows += [(f"95{YEAR}{i:03d}", "executive", 86_000 + 1_000 * i) for i in range(4)]
    rows += [(f"94{YEAR}{i:03d}", "middle", 50_000 + 500 * i) for i in range(40)]
    for who, level, base in rows:
        db_exec(
            "INSERT INTO salary_answers (year, member_id, base_monthly, position_level, "
            "sector, nace, county, people_managed, experience_years, age_band, weekly_hours) "
            "VALUES (%s, %s, %s, %s, 'private', 'C', '03', 10, 10, '40_49', 37.5)",
            (YEAR, who, base, level),
        )
    yield member
    db_exec("DELETE FROM salary_release_tables WHERE year = %s", (YEAR,))
    db_exec("DELETE FROM salary_releases WHERE year = %s", (YEAR,))
    db_exec("DELETE FROM salary_answers WHERE year = %s", (YEAR,))
    db_exec("DELETE FROM salary_rounds WHERE year = %s", (YEAR,))


def _fire_statistics_job(stack) -> list[int]:
    state = stack.state()
    target = fire.job_target(state, "salary-statistics")
    tok = fire.fetch_job_token(state, target["job_audience"])
    status, body = fire.send(fire.build_request(state, "salary-statistics", tok), timeout=120)
    assert status == 200, body
    return json.loads(body)["computed"]


def _by_level(api, token) -> dict[str, dict]:
    resp = api.get(
        f"/v1/salary/statistics?year={YEAR}&dimensions=position_level", token=token(MEMBERS[7])
    )
    assert resp.status == 200, resp.text
    return {c["group"]["position_level"]: c for c in resp.json()["cells"]}


def _whole(db_exec) -> int:
    """The exact persons of the release's whole round, as kept for auditing corrections (the
    API tells only a band)."""
    return db_exec(
        "SELECT (cell_counts->>'')::int FROM salary_releases WHERE year = %s "
        "ORDER BY release DESC LIMIT 1",
        (YEAR,),
    )[0][0]


def _releases(db_exec) -> int:
    return db_exec("SELECT count(*) FROM salary_releases WHERE year = %s", (YEAR,))[0][0]


def test_statistics_leave_out_a_member_restricted_before_the_release_and_never_republish(
    api, token, db_exec, stack, salary_round, unrestricted
):
    member = salary_round
    tok = token(member)
    unrestricted.append(member)
    restrict(api, token, db_exec, member)
    assert YEAR in _fire_statistics_job(stack)
    # four executives left: below the minimum group size, so that cell is withheld
    assert _by_level(api, token)["executive"] == {
        "group": {"position_level": "executive"},
        "published": False,
        "persons": None,
        "reason": "too_few",
    }
    assert _whole(db_exec) == 44
    position = api.get(f"/v1/salary/rounds/{YEAR}/position", token=tok)
    assert position.status == 409 and position.json()["restricted"] is True
    # the answer is kept, and the member still sees it
    assert (
        api.get(f"/v1/salary/rounds/{YEAR}/answer", token=tok).json()["base_monthly_salary"]
        == 90_000
    )

    before = _by_level(api, token)
    lift(api, token, db_exec, member)
    # the release is final: lifting the restriction does not republish it with the answer
    assert YEAR not in _fire_statistics_job(stack)
    assert _by_level(api, token) == before and _releases(db_exec) == 1
    position = api.get(f"/v1/salary/rounds/{YEAR}/position", token=tok).json()
    assert position["available"] is True and position["group"] == {}  # executives: too few


def test_a_restriction_after_the_release_stops_the_comparison_but_changes_no_figure(
    api, token, db_exec, stack, salary_round, unrestricted
):
    member = salary_round
    tok = token(member)
    assert YEAR in _fire_statistics_job(stack)
    before = _by_level(api, token)
    assert before["executive"]["published"] is True
    assert before["executive"]["persons"] == {"min": 5, "max": 8}
    assert _whole(db_exec) == 45
    unrestricted.append(member)
    restrict(api, token, db_exec, member)
    assert YEAR not in _fire_statistics_job(stack)
    assert _by_level(api, token) == before and _releases(db_exec) == 1
    position = api.get(f"/v1/salary/rounds/{YEAR}/position", token=tok)
    assert position.status == 409 and position.json()["restricted"] is True


# -- 2. personalisation ------------------------------------------------------------------------

INTERESTS = ["pension", "economy"]


def _feed(api, tok, kind="content") -> dict:
    resp = api.get(f"/v1/feed/{kind}?limit=100", token=tok)
    assert resp.status == 200, resp.text
    return resp.json()


def _sections(doc) -> dict:
    return {s["store"]: s for s in doc["sections"]}


def test_a_restricted_member_gets_the_unpersonalised_feed_and_keeps_their_interests(
    api, token, db_exec, unrestricted
):
    member, plain = MEMBERS[1], MEMBERS[2]  # plain: no consent, no preferences
    tok = token(member)
    consent(api, tok, "personalisation")
    prefer(api, tok, interests=INTERESTS)
    neutral = {
        k: [i["id"] for i in _feed(api, token(plain), k)["items"]]
        for k in ("courses", "content", "benefits")
    }
    before = _feed(api, tok)
    assert before["personalised"] is True and before["items"][0]["matched_topics"]
    assert [i["id"] for i in before["items"]] != neutral["content"]

    unrestricted.append(member)
    restrict(api, token, db_exec, member)
    for kind in ("courses", "content", "benefits"):
        during = _feed(api, tok, kind)
        assert during["personalised"] is False, kind
        assert [i["id"] for i in during["items"]] == neutral[kind], kind
        assert all("matched_topics" not in i for i in during["items"])
    # kept, and shown to the member: in the preferences, in access and in the export
    prefs = api.get("/v1/preferences", token=tok).json()
    assert prefs["interests"] == INTERESTS and prefs["personalisation_active"] is False
    access = _sections(api.get("/v1/privacy/access", token=tok).json())
    assert access["member_preferences"]["items"][0]["interests"] == INTERESTS
    export = _sections(api.get("/v1/privacy/export", token=tok).json())
    assert export["member_preferences"]["items"][0]["interests"] == INTERESTS

    lift(api, token, db_exec, member)
    after = _feed(api, tok)
    assert after["personalised"] is True
    assert [i["id"] for i in after["items"]] == [i["id"] for i in before["items"]]
    assert api.get("/v1/preferences", token=tok).json()["personalisation_active"] is True


# -- 3. notifications ----------------------------------------------------------------------------


def _http(method: str, url: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


class Fcm:
    """The FCM stand-in's control API: how a token behaves, what reached it."""

    def __init__(self, base: str):
        self.base = base

    def token_behaviour(self, token: str, behaviour: str, **kw) -> None:
        _http(
            "POST", self.base + "/_control/tokens", {"token": token, "behaviour": behaviour, **kw}
        )

    def pushes(self, token: str, message_id: str) -> list[dict]:
        got = _http("GET", self.base + "/_control/messages?token=" + urllib.request.quote(token))
        return [m for m in got if m["data"]["message_id"] == message_id]


@pytest.fixture(scope="module")
def fcm(stack):
    return Fcm(stack.urls["fcm"])


@pytest.fixture(scope="module")
def fs(stack):
    return emulator_client(stack)


def register(api, tok) -> str:
    value = f"{uuid.uuid4().hex[:22]}:APA91b{uuid.uuid4().hex * 4}"[:163]
    resp = api.post(
        "/v1/devices",
        token=tok,
        json_body={
            "fcm_token": value,
            "platform": "android",
            "app_version": "3.2.1",
            "locale": "nb",
            "installation_id": str(uuid.uuid4()),
        },
    )
    assert resp.status in (200, 201), resp.text
    return value


def send(api, token, audience, category="news", title="Nytt fra Lederne", concerns=None) -> str:
    resp = api.post(
        "/v1/admin/messages",
        token=token(EDITOR),
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json_body={
            "category": category,
            "title": {"nb": title, "en": "News from Lederne"},
            "body": {"nb": "Les mer i appen.", "en": "Read more in the app."},
            "audience": audience,
            **({"concerns": concerns} if concerns else {}),
        },
    )
    assert resp.status == 201, resp.text
    return resp.json()["id"]


def outcome(db_exec, message_id, member) -> str:
    """The member's outcome once the message's delivery is through for them (pushes too)."""

    def check():
        row = db_exec(
            "SELECT outcome FROM message_recipients WHERE message_id = %s AND member_id = %s",
            (message_id, member),
        )
        busy = db_exec(
            "SELECT 1 FROM push_deliveries WHERE message_id = %s AND member_id = %s "
            "AND state IN ('pending', 'sending')",
            (message_id, member),
        )
        return row[0][0] if row and not busy else None

    return eventually(check, timeout=60)


def county_of(member) -> str:
    name = next(m for m in _DEMO if m["member_id"] == member)["address"]["county"]
    return next(number for number, label in COUNTIES.items() if label["nb"] == name)


def test_a_restricted_member_gets_only_the_messages_they_need_until_lifted(
    api, token, db_exec, fcm, fs, unrestricted
):
    member = MEMBERS[3]
    tok = token(member)
    consent(api, tok, "personalisation")
    consent(api, tok, "marketing")
    prefer(
        api,
        tok,
        interests=["sustainability"],
        notification_categories=list(NOTIFICATION_CATEGORIES),
    )
    device = register(api, tok)

    unrestricted.append(member)
    restrict(api, token, db_exec, member)
    optional = {
        "interest": send(api, token, {"kind": "interest", "value": "sustainability"}),
        # marketing, so that members of other modules in the county (none consented) get
        # nothing either: a restricted member is skipped before consent is even looked at
        "county": send(
            api, token, {"kind": "county", "value": county_of(member)}, category="marketing"
        ),
        "marketing to the member": send(
            api, token, {"kind": "member", "member_id": member}, category="marketing"
        ),
        # an editor's message to the member alone is not needed unless it says what for
        "news to the member": send(
            api, token, {"kind": "member", "member_id": member}, title="Nyhet til deg"
        ),
        "their mentorship": send(
            api,
            token,
            {"kind": "member", "member_id": member},
            category="mentor_updates",
            title="Mentoren din",
        ),
    }
    needed = {
        "their membership": send(
            api,
            token,
            {"kind": "member", "member_id": member},
            title="Om medlemskapet ditt",
            concerns="membership",
        ),
        "their request": send(
            api,
            token,
            {"kind": "member", "member_id": member},
            title="Om henvendelsen din",
            concerns="privacy_request",
        ),
        "a change of terms": send(
            api,
            token,
            {"kind": "member", "member_id": member},
            title="Endrede vilkår",
            concerns="terms",
        ),
    }
    for what, message_id in optional.items():
        assert outcome(db_exec, message_id, member) == "restricted", what
        assert (
            not fs.collection("inbox_items")
            .document(inbox.item_id(message_id, member))
            .get()
            .exists
        ), what
        assert fcm.pushes(device, message_id) == [], what
    for what, message_id in needed.items():
        assert outcome(db_exec, message_id, member) == "delivered", what
        assert (
            fs.collection("inbox_items").document(inbox.item_id(message_id, member)).get().exists
        ), what
        assert len(fcm.pushes(device, message_id)) == 1, what
    in_app = {i["message_id"] for i in api.get("/v1/inbox?limit=100", token=tok).json()["items"]}
    assert set(needed.values()) <= in_app and not set(optional.values()) & in_app

    lift(api, token, db_exec, member)
    again = send(api, token, {"kind": "interest", "value": "sustainability"})
    assert outcome(db_exec, again, member) == "delivered"
    assert len(fcm.pushes(device, again)) == 1


def test_a_retried_push_is_withheld_from_a_member_restricted_or_no_longer_consenting_since(
    api, token, db_exec, fcm, pubsub, unrestricted
):
    topic = "digitalisation"
    roles = dict(zip(("restricted", "withdrew", "unchanged"), MEMBERS[4:7]))
    devices = {}
    for role, member in roles.items():
        tok = token(member)
        consent(api, tok, "personalisation")
        consent(api, tok, "marketing")
        prefer(api, tok, interests=[topic], notification_categories=list(NOTIFICATION_CATEGORIES))
        devices[role] = register(api, tok)
        fcm.token_behaviour(devices[role], "unavailable")  # every send fails, retryably
    message_id = send(api, token, {"kind": "interest", "value": topic}, category="marketing")

    def pushes():
        return {
            r[0]: r[1:]
            for r in db_exec(
                "SELECT member_id, state, error_code, attempts, updated_at FROM push_deliveries "
                "WHERE message_id = %s",
                (message_id,),
            )
        }

    # the first attempt found all three eligible; their pushes failed and wait for a retry
    eventually(
        lambda: (
            len(pushes()) == 3
            and all(
                state == "pending" and attempts >= 1 for state, _, attempts, _ in pushes().values()
            )
        ),
        timeout=60,
    )
    consent(api, token(roles["withdrew"]), "marketing", action="withdraw")
    unrestricted.append(roles["restricted"])
    restrict(api, token, db_exec, roles["restricted"])
    since = db_exec("SELECT now()")[0][0]
    # wait for an attempt that ended after the changes: one that took the pushes before them
    # has put them back, and none holds them now
    eventually(
        lambda: all(
            state != "sending" and updated > since for state, _, _, updated in pushes().values()
        ),
        timeout=90,
    )
    for value in devices.values():
        fcm.token_behaviour(value, "ok")
    # a replay of the batch, as staff would from the dead letters, in case Pub/Sub's own
    # attempts are used up
    pubsub.publish(
        "message-delivery",
        json.dumps(
            {"message_id": message_id, "batch": 9_000, "member_ids": list(roles.values())}
        ).encode(),
    )
    eventually(
        lambda: all(state not in ("pending", "sending") for state, _, _, _ in pushes().values()),
        timeout=60,
    )

    final = {role: pushes()[member][:2] for role, member in roles.items()}
    assert final == {
        "restricted": ("failed", "WITHHELD"),
        "withdrew": ("failed", "WITHHELD"),
        "unchanged": ("sent", None),
    }
    assert len(fcm.pushes(devices["unchanged"], message_id)) == 1
    assert fcm.pushes(devices["restricted"], message_id) == []
    assert fcm.pushes(devices["withdrew"], message_id) == []
