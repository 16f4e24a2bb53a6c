"""Editors' messages end to end (F9): from the editor API through Pub/Sub (fan-out, delivery)
to the members' inboxes (a direct message in Firestore, a message to many stored once and
listed from message_recipients) and their devices at the FCM stand-in.

Every Pub/Sub push in this module is delivered twice at the same moment (the gateway's push
relay), and still each member gets one inbox item and each device one push.
"""

import base64
import json
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from lederappen.core import log
from lederappen.notifications import inbox

from infra.local import demo_data
from tests.conftest import eventually
from tests.support.firestore import emulator_client

pytestmark = pytest.mark.stack

_DEMO = demo_data.generate_members(300)
ACTIVE = [
    m["member_id"] for m in _DEMO[190:260] if (m.get("membership") or {}).get("status") == "active"
]
TOPIC = "hse"
EDITOR = "redaktor"


def _http(method: str, url: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


@pytest.fixture(scope="module", autouse=True)
def duplicate_pushes(stack):
    """Every Pub/Sub push delivered twice, concurrently, for this whole module."""
    url = stack.urls["gateway"] + "/_control/push-duplicates"
    before = _http("POST", url, {"enabled": True})["copies"]
    yield
    after = _http("POST", url, {"enabled": False})
    assert after["copies"] > before  # the fan-out steps and delivery batches came twice


@pytest.fixture(scope="module")
def fs(stack):
    return emulator_client(stack)


class Fcm:
    def __init__(self, base: str):
        self.base = base

    def token_behaviour(self, token: str, behaviour: str, **kw) -> None:
        _http(
            "POST", self.base + "/_control/tokens", {"token": token, "behaviour": behaviour, **kw}
        )

    def messages(self, token: str) -> list[dict]:
        return _http("GET", self.base + "/_control/messages?token=" + urllib.request.quote(token))


@pytest.fixture(scope="module")
def fcm(stack):
    return Fcm(stack.urls["fcm"])


def fcm_token() -> str:
    return f"{uuid.uuid4().hex[:22]}:APA91b{uuid.uuid4().hex * 4}"[:163]


def register(api, tok, token_value=None, locale="nb") -> str:
    token_value = token_value or fcm_token()
    resp = api.post(
        "/v1/devices",
        token=tok,
        json_body={
            "fcm_token": token_value,
            "platform": "android",
            "app_version": "3.2.1",
            "locale": locale,
            "installation_id": str(uuid.uuid4()),
        },
    )
    assert resp.status in (200, 201), resp.text
    return token_value


def give(api, tok, purpose):
    terms = {t["purpose"]: t for t in api.get("/v1/consent-terms").json()["terms"]}[purpose]
    resp = api.post(
        "/v1/consents",
        token=tok,
        json_body={
            "purpose": purpose,
            "action": "give",
            "terms_version": terms["version"],
            "text_hash": terms["text_hash"],
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


def draft(**overrides) -> dict:
    body = {
        "category": "news",
        "title": {"nb": "Nytt om HMS", "en": "News on HSE"},
        "body": {
            "nb": "Nye regler for verneombud fra 1. januar. Les mer i appen.",
            "en": "New rules for safety representatives from 1 January.",
        },
        "deep_link": "lederappen://content/hse-2027",
        "audience": {"kind": "interest", "value": TOPIC},
    }
    body.update(overrides)
    return body


def send(api, token, **overrides) -> dict:
    resp = api.post(
        "/v1/admin/messages",
        token=token(EDITOR),
        json_body=draft(**overrides),
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert resp.status == 201, resp.text
    return resp.json()


def inbox_items(api, token, member, message_id) -> list[dict]:
    """The member's inbox items of this message, as the inbox function lists them."""
    resp = api.get("/v1/inbox?limit=100", token=token(member))
    assert resp.status == 200, resp.text
    return [i for i in resp.json()["items"] if i["message_id"] == message_id]


def figures(api, token, message_id) -> dict:
    return api.get(f"/v1/admin/messages/{message_id}", token=token(EDITOR)).json()["figures"]


def settled(api, token, message_id, processed: int):
    """Waits until the fan-out is done and `processed` members are through."""

    def check():
        view = api.get(f"/v1/admin/messages/{message_id}", token=token(EDITOR)).json()
        f = view["figures"]
        return (
            view
            if (
                view["status"] == "sent"
                and f["processed"] >= processed
                and f["push"]["pending"] == 0
            )
            else None
        )

    return eventually(check, timeout=40)


@pytest.fixture(scope="module")
def group(api, token, fcm):
    """Members interested in TOPIC, each set up differently."""
    m = ACTIVE
    members = {
        "two_devices": m[0],
        "one_device_en": m[1],
        "no_device": m[2],
        "dead_token": m[3],
        "no_consent": m[4],
        "news_off": m[5],
        "restricted": m[6],
        "ended": m[7],
        "push_off": m[8],
    }
    tokens: dict[str, list[str]] = {}
    for role, member in members.items():
        tok = token(member)
        if role != "no_consent":
            give(api, tok, "personalisation")
        categories = ["course_reminders", "survey_invitations"] if role == "news_off" else None
        channels = ["inbox"] if role == "push_off" else None
        prefer(
            api,
            tok,
            interests=[TOPIC],
            notification_categories=categories,
            notification_channels=channels,
        )
        if role == "two_devices":
            tokens[role] = [register(api, tok), register(api, tok)]
        elif role == "one_device_en":
            tokens[role] = [register(api, tok, locale="en")]
        elif role == "dead_token":
            tokens[role] = [register(api, tok, token_value="dead-" + fcm_token()[5:])]
        elif role != "no_device":
            tokens[role] = [register(api, tok)]
    return members, tokens


def _chosen_by_interest(db_exec, stack, member: str) -> int:
    """Audit entries saying the fan-out used the member's interests to choose recipients."""
    log.configure(base64.b64decode(stack.env["PSEUDONYM_KEY"]))
    return db_exec(
        "SELECT count(*) FROM audit_events WHERE member_pseudonym = %s AND "
        "actor_kind = 'job' AND actor = 'message-fanout' AND category = 'preferences' "
        "AND action = 'chosen_as_recipient_by_interest' "
        "AND purpose = 'member_communication'",
        (log.pseudonym(member),),
    )[0][0]


def test_an_interest_message_reaches_each_member_and_device_once(
    api, token, fcm, fs, group, db_exec, lederne, stack
):
    members, tokens = group
    audited_before = {role: _chosen_by_interest(db_exec, stack, m) for role, m in members.items()}
    db_exec(
        "INSERT INTO processing_restrictions (member_id) VALUES (%s) ON CONFLICT DO NOTHING",
        (members["restricted"],),
    )
    lederne_end = f"{lederne.base}/_control/members/{members['ended']}/end"
    _http("POST", lederne_end, {})
    sent = send(api, token)
    assert sent["status"] == "sending" or sent["status"] in ("scheduled", "sent")
    assert sent["audience"] == {"kind": "interest", "value": TOPIC}
    view = settled(api, token, sent["id"], processed=len(members))
    f = view["figures"]

    delivered = ("two_devices", "one_device_en", "no_device", "dead_token", "push_off")
    for role in delivered:
        # stored once: in the member's inbox from message_recipients, not copied to Firestore
        (item,) = inbox_items(api, token, members[role], sent["id"])
        assert item["title"]["nb"] == "Nytt om HMS" and item["read_at"] is None, role
        assert item["id"] == inbox.broadcast_item_id(sent["id"])
        assert (
            not fs.collection("inbox_items")
            .document(inbox.item_id(sent["id"], members[role]))
            .get()
            .exists
        ), role
    for role in ("no_consent", "news_off", "restricted"):
        assert inbox_items(api, token, members[role], sent["id"]) == [], role

    for token_value in tokens["two_devices"] + tokens["one_device_en"]:
        got = [m for m in fcm.messages(token_value) if m["data"]["message_id"] == sent["id"]]
        assert len(got) == 1, token_value[:8]
        assert got[0]["android"]["notification"]["visibility"] == "PRIVATE"
    (en,) = [
        m for m in fcm.messages(tokens["one_device_en"][0]) if m["data"]["message_id"] == sent["id"]
    ]
    assert en["notification"]["title"] == "News on HSE"
    for role in ("no_consent", "news_off", "restricted", "ended", "push_off"):
        for token_value in tokens.get(role, []):
            assert not [
                m for m in fcm.messages(token_value) if m["data"]["message_id"] == sent["id"]
            ], role

    # The dead token was pruned: its registration is gone.
    regs = api.get("/v1/devices", token=token(members["dead_token"])).json()["items"]
    assert regs == []
    assert f["push"]["pruned"] >= 1 and f["push"]["failed"] == 0
    assert f["skipped"]["no_consent"] >= 1 and f["skipped"]["category_off"] >= 1
    assert f["skipped"]["restricted"] >= 1 and f["skipped"]["not_member"] >= 1
    assert f["eligible"] >= len(delivered) and f["inbox"] >= len(delivered)
    rows = db_exec(
        "SELECT count(*) FROM push_deliveries WHERE message_id = %s AND state = 'sent'",
        (sent["id"],),
    )
    assert f["push"]["sent"] == rows[0][0] >= 3

    # S2: the fan-out audited its use of the interests once per member (the steps came twice),
    # and only where the member's personalisation consent allowed that use
    for role, member in members.items():
        expected = 0 if role in ("no_consent", "restricted") else 1
        assert _chosen_by_interest(db_exec, stack, member) - audited_before[role] == expected, role


def test_opened_counts_inbox_reads(api, token, group):
    members, _ = group
    sent = send(
        api,
        token,
        audience={"kind": "member", "member_id": members["no_device"]},
        category="mentor_updates",
        sensitive=True,
    )
    settled(api, token, sent["id"], processed=1)
    tok = token(members["no_device"])
    items = api.get("/v1/inbox", token=tok).json()["items"]
    (item,) = [i for i in items if i["message_id"] == sent["id"]]
    assert api.post(f"/v1/inbox/{item['id']}/read", token=tok).status == 204
    assert eventually(lambda: figures(api, token, sent["id"])["opened"] == 1)


def test_a_message_to_many_is_read_and_deleted_in_each_members_own_inbox(
    api, token, fcm, group, db_exec
):
    """Stored once: the member's item is their message_recipients row; reading and deleting it
    changes that row alone, another member's item is not theirs to touch, and the push points
    to the one item id every recipient shares."""
    members, tokens = group
    reader, other = members["two_devices"], members["one_device_en"]
    sent = send(api, token, title={"nb": "Til mange", "en": "To many"})
    settled(api, token, sent["id"], processed=1)
    assert eventually(lambda: len(inbox_items(api, token, reader, sent["id"])) == 1, timeout=30)
    assert eventually(lambda: len(inbox_items(api, token, other, sent["id"])) == 1, timeout=30)
    (item,) = inbox_items(api, token, reader, sent["id"])
    pushed = [
        m for m in fcm.messages(tokens["two_devices"][0]) if m["data"]["message_id"] == sent["id"]
    ]
    assert pushed and pushed[0]["data"]["inbox_item"] == item["id"]
    unread = api.get("/v1/inbox", token=token(reader)).json()["unread_count"]

    assert api.post(f"/v1/inbox/{item['id']}/read", token=token(reader)).status == 204
    assert api.post(f"/v1/inbox/{item['id']}/read", token=token(reader)).status == 204
    (read,) = inbox_items(api, token, reader, sent["id"])
    assert read["read_at"] is not None
    assert api.get("/v1/inbox", token=token(reader)).json()["unread_count"] == unread - 1
    assert inbox_items(api, token, other, sent["id"])[0]["read_at"] is None
    assert figures(api, token, sent["id"])["opened"] == 1

    # not a member's who never got it: 404, and their delete changes nothing
    outsider = ACTIVE[30]
    assert api.post(f"/v1/inbox/{item['id']}/read", token=token(outsider)).status == 404
    assert api.delete(f"/v1/inbox/{item['id']}", token=token(outsider)).status == 404

    assert api.delete(f"/v1/inbox/{item['id']}", token=token(reader)).status == 204
    assert api.delete(f"/v1/inbox/{item['id']}", token=token(reader)).status == 404
    assert inbox_items(api, token, reader, sent["id"]) == []
    assert len(inbox_items(api, token, other, sent["id"])) == 1
    (row,) = db_exec(
        "SELECT read_at IS NOT NULL, hidden_at IS NOT NULL FROM message_recipients "
        "WHERE message_id = %s AND member_id = %s",
        (sent["id"], reader),
    )
    assert row == (True, True)  # kept, hidden: a redelivered batch does not bring it back
    assert figures(api, token, sent["id"])["opened"] == 0  # deleted items are not counted


def test_a_sensitive_push_shows_only_a_neutral_text_and_the_inbox_reference(api, token, fcm, group):
    members, tokens = group
    member = members["one_device_en"]
    sent = send(
        api,
        token,
        audience={"kind": "member", "member_id": member},
        sensitive=True,
        title={"nb": "Lønnsforhandling", "en": "Salary negotiation"},
    )
    settled(api, token, sent["id"], processed=1)
    (push,) = [
        m for m in fcm.messages(tokens["one_device_en"][0]) if m["data"]["message_id"] == sent["id"]
    ]
    assert push["notification"] == {
        "title": "Lederne",
        "body": "You have a new message in Lederappen.",
    }
    assert push["data"]["inbox_item"] == inbox.item_id(sent["id"], member)
    assert push["data"]["link"] == "lederappen://inbox/" + push["data"]["inbox_item"]
    assert "Salary" not in json.dumps(push) and "Nye regler" not in json.dumps(push)


def test_marketing_reaches_only_members_who_consented(api, token, fcm, fs):
    consenting, category_only, consent_only = ACTIVE[10], ACTIVE[11], ACTIVE[12]
    marketing_on = ["course_reminders", "news", "marketing"]
    give(api, token(consenting), "marketing")
    prefer(api, token(consenting), notification_categories=marketing_on)
    prefer(api, token(category_only), notification_categories=marketing_on)
    give(api, token(consent_only), "marketing")
    devices = {m: register(api, token(m)) for m in (consenting, category_only, consent_only)}
    sent = send(
        api,
        token,
        category="marketing",
        audience={"kind": "all"},
        title={"nb": "Rabatt på kurs", "en": "Course discount"},
    )
    view = settled(api, token, sent["id"], processed=1)
    assert eventually(
        lambda: figures(api, token, sent["id"])["processed"] >= view["figures"]["audience"],
        timeout=30,
    )
    got = {
        m: [x for x in fcm.messages(t) if x["data"]["message_id"] == sent["id"]]
        for m, t in devices.items()
    }
    assert len(got[consenting]) == 1 and got[category_only] == [] and got[consent_only] == []
    assert len(inbox_items(api, token, consenting, sent["id"])) == 1
    assert inbox_items(api, token, category_only, sent["id"]) == []
    f = figures(api, token, sent["id"])
    assert f["eligible"] >= 1 and f["skipped"]["no_consent"] >= 1
    assert f["skipped"]["category_off"] >= 1


def test_quota_and_server_errors_are_retried_until_the_push_goes(api, token, fcm, group):
    members, tokens = group
    token_value = tokens["two_devices"][0]
    fcm.token_behaviour(token_value, "quota", times=2, retry_after=1)
    sent = send(api, token, audience={"kind": "member", "member_id": members["two_devices"]})
    settled(api, token, sent["id"], processed=1)
    got = [m for m in fcm.messages(token_value) if m["data"]["message_id"] == sent["id"]]
    assert len(got) == 1
    assert figures(api, token, sent["id"])["push"] == {
        "sent": 2,
        "failed": 0,
        "pruned": 0,
        "pending": 0,
    }


def test_a_token_taken_over_by_another_member_never_gets_the_first_members_messages(
    api, token, fcm
):
    """Member A's phone is now B's: B registers A's FCM token. A direct message to A then
    reaches no device (A has none left), and one to B reaches it."""
    a, b = ACTIVE[40], ACTIVE[41]
    shared = register(api, token(a))
    register(api, token(b), token_value=shared)
    assert api.get("/v1/devices", token=token(a)).json()["items"] == []
    to_a = send(api, token, audience={"kind": "member", "member_id": a})
    settled(api, token, to_a["id"], processed=1)
    to_b = send(api, token, audience={"kind": "member", "member_id": b})
    settled(api, token, to_b["id"], processed=1)
    got = {m["data"]["message_id"] for m in fcm.messages(shared)}
    assert to_b["id"] in got and to_a["id"] not in got
    assert figures(api, token, to_a["id"])["push"]["sent"] == 0


def test_a_scheduled_message_can_be_cancelled_until_it_goes(api, token, db_exec):
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    sent = send(api, token, send_at=later)
    assert sent["status"] == "scheduled"
    queued = db_exec(
        "SELECT count(*) FROM outbox o JOIN messages m ON m.outbox_id = o.id "
        "WHERE m.id = %s AND o.published_at IS NULL",
        (sent["id"],),
    )
    assert queued[0][0] == 1
    resp = api.post(f"/v1/admin/messages/{sent['id']}/cancel", token=token(EDITOR))
    assert resp.status == 200 and resp.json()["status"] == "cancelled"
    assert (
        db_exec(
            "SELECT count(*) FROM outbox o JOIN messages m ON m.outbox_id = o.id WHERE m.id = %s",
            (sent["id"],),
        )[0][0]
        == 0
    )
    again = api.post(f"/v1/admin/messages/{sent['id']}/cancel", token=token(EDITOR))
    assert again.status == 200 and again.json()["status"] == "cancelled"
    listed = api.get("/v1/admin/messages?limit=5", token=token(EDITOR)).json()["items"]
    assert any(m["id"] == sent["id"] and m["status"] == "cancelled" for m in listed)


def test_a_scheduled_message_goes_out_when_the_relay_finds_it_due(
    api, token, stack, group, db_exec, fs
):
    from infra.local import fire

    members, _ = group
    member = members["no_device"]
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    sent = send(api, token, audience={"kind": "member", "member_id": member}, send_at=soon)
    state = stack.state()
    tok = fire.fetch_job_token(state, fire.job_target(state, "outbox-relay")["job_audience"])
    assert fire.send(fire.build_request(state, "outbox-relay", tok))[0] == 200
    assert (
        api.get(f"/v1/admin/messages/{sent['id']}", token=token(EDITOR)).json()["status"]
        == "scheduled"
    )  # not due yet
    db_exec(
        "UPDATE outbox SET not_before = now() - interval '1 second' "
        "WHERE id = (SELECT outbox_id FROM messages WHERE id = %s)",
        (sent["id"],),
    )
    assert fire.send(fire.build_request(state, "outbox-relay", tok))[0] == 200
    settled(api, token, sent["id"], processed=1)
    assert fs.collection("inbox_items").document(inbox.item_id(sent["id"], member)).get().exists


def test_a_message_that_went_out_cannot_be_cancelled(api, token, group):
    members, _ = group
    sent = send(api, token, audience={"kind": "member", "member_id": members["no_device"]})
    settled(api, token, sent["id"], processed=1)
    resp = api.post(f"/v1/admin/messages/{sent['id']}/cancel", token=token(EDITOR))
    assert resp.status == 409
    assert resp.json()["type"].endswith("/conflict")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"category": "gossip"}, "category"),
        ({"audience": {"kind": "everyone"}}, "audience.kind"),
        ({"audience": {"kind": "county", "value": "99"}}, "audience.value"),
        ({"audience": {"kind": "interest", "value": "knitting"}}, "audience.value"),
        ({"audience": {"kind": "member"}}, "audience.member_id"),
        ({"audience": {"kind": "member", "member_id": "does-not-exist"}}, "audience.member_id"),
        ({"send_at": "2020-01-01T00:00:00Z"}, "send_at"),
        ({"title": {"nb": "x" * 121, "en": "x"}}, "title.nb"),
        ({"deep_link": "https://evil.example/phish"}, "deep_link"),
    ],
)
def test_bad_messages_are_refused_with_the_field_and_nothing_is_stored(
    api, token, db_exec, change, field
):
    before = db_exec("SELECT count(*) FROM messages")[0][0]
    resp = api.post("/v1/admin/messages", token=token(EDITOR), json_body=draft(**change))
    assert resp.status == 422, resp.text
    assert field in [e["field"] for e in resp.json()["errors"]]
    assert db_exec("SELECT count(*) FROM messages")[0][0] == before


def test_only_editors_send_and_see_messages(api, token):
    member = token(ACTIVE[0])
    assert api.post("/v1/admin/messages", token=member, json_body=draft()).status == 403
    assert api.get("/v1/admin/messages", token=token("lonnsanalytiker")).status == 403
    assert api.get(f"/v1/admin/messages/{uuid.uuid4()}", token=token(EDITOR)).status == 404


def test_a_malformed_delivery_batch_goes_to_the_dead_letter_topic(pubsub):
    pubsub.publish("message-delivery", b'{"message_id": 42}')
    letters = pubsub.pull_dead_letters("message-delivery-dead-letter")
    assert letters and letters[0].attributes["dead_letter_reason"] == "malformed"
