"""Device registration and the in-app inbox (F9), through the gateway as the app calls them.

Registrations are kept (in PostgreSQL) under a keyed hash of the installation id, one token
belongs to one installation, and a member sees and changes only their own devices and inbox items. Inbox
items are arranged with the sender's own writer (`notifications.inbox.deliver`) against the
same Firestore emulator the functions use.
"""

import uuid

import pytest
from lederappen.notifications import devices as sender_devices
from lederappen.notifications import inbox

from infra.local import demo_data
from tests.support.firestore import emulator_client

pytestmark = pytest.mark.stack
MEMBERS = [m["member_id"] for m in demo_data.generate_members(300)[170:190]]


@pytest.fixture(scope="module")
def fs(stack):
    return emulator_client(stack)


@pytest.fixture(scope="module")
def devices_of(stack):
    """The sender's lookup (notifications.devices.devices_of) on the stack's database."""

    def run(members):
        conn = stack.cluster.connect()
        try:
            return sender_devices.devices_of(conn.cursor(), members)
        finally:
            conn.rollback()
            conn.close()

    return run


def fcm_token(tag: str = "") -> str:
    """Shaped like an FCM registration token (~160 characters)."""
    return f"{uuid.uuid4().hex[:22]}:APA91b{tag}{uuid.uuid4().hex * 4}"[:163]


def registration(**overrides) -> dict:
    body = {
        "fcm_token": fcm_token(),
        "platform": "android",
        "app_version": "3.2.1",
        "locale": "nb",
        "installation_id": str(uuid.uuid4()),
    }
    body.update(overrides)
    return body


def message(message_id: str | None = None, **overrides) -> dict:
    msg = {
        "message_id": message_id or f"msg-{uuid.uuid4().hex[:12]}",
        "category": "news",
        "title": {"nb": "Nytt fra Lederne", "en": "News from Lederne"},
        "body": {"nb": "Les mer i appen.", "en": "Read more in the app."},
        "deep_link": "lederappen://news/42",
        "sensitive": False,
    }
    msg.update(overrides)
    return msg


# -- devices ----------------------------------------------------------------------------------


def test_register_stores_the_device_under_a_keyed_hash_never_the_installation_id(
    api, token, db_exec
):
    body = registration()
    resp = api.post("/v1/devices", token=token(MEMBERS[0]), json_body=body)
    assert resp.status == 201
    device = resp.json()
    assert device["platform"] == "android" and device["locale"] == "nb"
    assert device["app_version"] == "3.2.1" and device["created_at"] == device["last_seen_at"]
    assert "fcm_token" not in device and device["id"] != body["installation_id"]
    [stored] = db_exec("SELECT * FROM devices WHERE id = %s", (device["id"],))
    assert stored[1] == MEMBERS[0] and stored[2] == body["fcm_token"]
    assert body["installation_id"] not in str(stored)


def test_refresh_replaces_the_token_and_answers_200(api, token):
    tok = token(MEMBERS[1])
    first = registration()
    created = api.post("/v1/devices", token=tok, json_body=first).json()
    fresh = fcm_token("fresh")
    resp = api.post(
        "/v1/devices",
        token=tok,
        json_body={**first, "fcm_token": fresh, "app_version": "3.3.0", "locale": "en"},
    )
    assert resp.status == 200
    device = resp.json()
    assert device["id"] == created["id"] and device["created_at"] == created["created_at"]
    assert device["app_version"] == "3.3.0" and device["locale"] == "en"
    assert device["last_seen_at"] >= created["last_seen_at"]
    listed = api.get("/v1/devices", token=tok).json()["items"]
    assert [d["id"] for d in listed] == [created["id"]]


def test_refreshed_token_replaces_the_old_one_for_the_sender(api, token, devices_of):
    tok = token(MEMBERS[2])
    first = registration()
    api.post("/v1/devices", token=tok, json_body=first)
    fresh = fcm_token("fresh")
    api.post("/v1/devices", token=tok, json_body={**first, "fcm_token": fresh})
    regs = devices_of([MEMBERS[2]])
    assert [r.fcm_token for r in regs] == [fresh]


def test_an_installation_registered_by_another_member_moves_to_them(api, token, devices_of):
    body = registration()
    old = api.post("/v1/devices", token=token(MEMBERS[3]), json_body=body).json()
    resp = api.post("/v1/devices", token=token(MEMBERS[4]), json_body=body)
    assert resp.status == 201 and resp.json()["id"] == old["id"]
    assert api.get("/v1/devices", token=token(MEMBERS[3])).json()["items"] == []
    assert [d["id"] for d in api.get("/v1/devices", token=token(MEMBERS[4])).json()["items"]] == [
        old["id"]
    ]
    assert {r.member_id for r in devices_of(MEMBERS[3:5])} == {MEMBERS[4]}


def test_a_token_belongs_to_one_installation(api, token, devices_of):
    shared = fcm_token("shared")
    first = api.post(
        "/v1/devices", token=token(MEMBERS[5]), json_body=registration(fcm_token=shared)
    ).json()
    second = api.post(
        "/v1/devices",
        token=token(MEMBERS[5]),
        json_body=registration(fcm_token=shared, platform="ios"),
    ).json()
    assert first["id"] != second["id"]
    listed = api.get("/v1/devices", token=token(MEMBERS[5])).json()["items"]
    assert [d["id"] for d in listed] == [second["id"]]
    assert [r.device_id for r in devices_of([MEMBERS[5]])] == [second["id"]]


def test_list_shows_every_device_of_the_member_without_tokens(api, token):
    tok = token(MEMBERS[6])
    ids = {
        api.post("/v1/devices", token=tok, json_body=registration(platform=p)).json()["id"]
        for p in ("ios", "android")
    }
    resp = api.get("/v1/devices", token=tok)
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    items = resp.json()["items"]
    assert {d["id"] for d in items} == ids
    assert all(
        set(d) == {"id", "platform", "app_version", "locale", "created_at", "last_seen_at"}
        for d in items
    )
    assert "APA91b" not in resp.text


def test_unregister_at_logout_removes_the_device(api, token, db_exec):
    tok = token(MEMBERS[7])
    device = api.post("/v1/devices", token=tok, json_body=registration()).json()
    assert api.delete(f"/v1/devices/{device['id']}", token=tok).status == 204
    assert api.get("/v1/devices", token=tok).json()["items"] == []
    assert db_exec("SELECT 1 FROM devices WHERE id = %s", (device["id"],)) == []
    assert api.delete(f"/v1/devices/{device['id']}", token=tok).status == 404


def test_another_members_device_is_not_found_and_stays(api, token):
    device = api.post("/v1/devices", token=token(MEMBERS[8]), json_body=registration()).json()
    resp = api.delete(f"/v1/devices/{device['id']}", token=token(MEMBERS[9]))
    assert resp.status == 404 and resp.json()["type"].endswith("/not-found")
    assert [d["id"] for d in api.get("/v1/devices", token=token(MEMBERS[8])).json()["items"]] == [
        device["id"]
    ]
    assert api.delete("/v1/devices/not-a-device-id", token=token(MEMBERS[9])).status == 404


@pytest.mark.parametrize(
    "change, field",
    [
        ({"platform": "windows"}, "platform"),
        ({"fcm_token": "x" * 600}, "fcm_token"),
        ({"fcm_token": "has spaces and ünicode " * 3}, "fcm_token"),
        ({"installation_id": None}, "installation_id"),
        ({"locale": "de"}, "locale"),
        ({"app_version": "latest and greatest"}, "app_version"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_registration_is_422_naming_the_field_and_stores_nothing(
    api, token, devices_of, change, field
):
    body = registration()
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    resp = api.post(
        "/v1/devices", token=token(MEMBERS[10]), json_body=body, headers={"Accept-Language": "en"}
    )
    assert resp.status == 422
    assert resp.json()["errors"][0]["field"] == field
    assert devices_of([MEMBERS[10]]) == []


def test_devices_need_a_member_token(api):
    assert api.get("/v1/devices").status == 401
    assert api.post("/v1/devices", json_body=registration()).status == 401


# -- inbox ------------------------------------------------------------------------------------


def test_inbox_lists_newest_first_in_pages_with_the_unread_count(api, token, fs):
    member = MEMBERS[11]
    sent = [message(f"page-{i}-{uuid.uuid4().hex[:8]}") for i in range(5)]
    for msg in sent:
        assert inbox.deliver(fs, member, msg) is True
    tok = token(member)
    first = api.get("/v1/inbox?limit=2", token=tok)
    assert first.status == 200 and first.headers["Cache-Control"] == "no-store"
    page1 = first.json()
    assert page1["unread_count"] == 5 and len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = api.get(f"/v1/inbox?limit=2&cursor={page1['next_cursor']}", token=tok).json()
    page3 = api.get(f"/v1/inbox?limit=2&cursor={page2['next_cursor']}", token=tok).json()
    assert page3["next_cursor"] is None
    seen = [i["message_id"] for p in (page1, page2, page3) for i in p["items"]]
    assert seen == [m["message_id"] for m in reversed(sent)]
    item = page1["items"][0]
    assert item["title"] == sent[-1]["title"] and item["body"] == sent[-1]["body"]
    assert item["deep_link"] == "lederappen://news/42" and item["read_at"] is None
    assert item["category"] == "news" and item["sensitive"] is False


def test_mark_read_is_idempotent_and_lowers_the_unread_count(api, token, fs):
    member = MEMBERS[12]
    for _ in range(2):
        inbox.deliver(fs, member, message())
    tok = token(member)
    item = api.get("/v1/inbox", token=tok).json()["items"][0]
    assert api.post(f"/v1/inbox/{item['id']}/read", token=tok).status == 204
    after = api.get("/v1/inbox", token=tok).json()
    read = next(i for i in after["items"] if i["id"] == item["id"])
    assert read["read_at"] is not None and after["unread_count"] == 1
    assert api.post(f"/v1/inbox/{item['id']}/read", token=tok).status == 204
    again = next(
        i for i in api.get("/v1/inbox", token=tok).json()["items"] if i["id"] == item["id"]
    )
    assert again["read_at"] == read["read_at"]


def test_delete_removes_the_item(api, token, fs):
    member = MEMBERS[13]
    inbox.deliver(fs, member, message())
    tok = token(member)
    item = api.get("/v1/inbox", token=tok).json()["items"][0]
    assert api.delete(f"/v1/inbox/{item['id']}", token=tok).status == 204
    listed = api.get("/v1/inbox", token=tok).json()
    assert listed["items"] == [] and listed["unread_count"] == 0
    assert api.delete(f"/v1/inbox/{item['id']}", token=tok).status == 404


def test_another_members_item_is_not_found_and_untouched(api, token, fs):
    owner, other = MEMBERS[14], MEMBERS[15]
    inbox.deliver(fs, owner, message(sensitive=True, category="mentor_updates"))
    item = api.get("/v1/inbox", token=token(owner)).json()["items"][0]
    for resp in (
        api.post(f"/v1/inbox/{item['id']}/read", token=token(other)),
        api.delete(f"/v1/inbox/{item['id']}", token=token(other)),
    ):
        assert resp.status == 404 and resp.json()["type"].endswith("/not-found")
    assert api.get("/v1/inbox", token=token(other)).json()["items"] == []
    still = api.get("/v1/inbox", token=token(owner)).json()
    assert still["items"][0]["read_at"] is None and still["unread_count"] == 1
    assert still["items"][0]["sensitive"] is True
    assert api.post("/v1/inbox/nope/read", token=token(other)).status == 404


def test_the_same_message_delivered_twice_lands_once(api, token, fs):
    member = MEMBERS[16]
    msg = message("twice-" + uuid.uuid4().hex[:8])
    assert inbox.deliver(fs, member, msg) is True
    assert inbox.deliver(fs, member, msg) is False
    assert inbox.deliver_many(fs, [member, MEMBERS[17]], msg) == 1
    assert inbox.deliver_many(fs, [member, MEMBERS[17]], msg) == 0
    for m in (member, MEMBERS[17]):
        page = api.get("/v1/inbox", token=token(m)).json()
        # only this message's items: other modules may have sent these members a broadcast
        # (the erasure tests run before this module when selected so)
        ids = [i["message_id"] for i in page["items"]]
        assert ids.count(msg["message_id"]) == 1, ids


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "cursor=not-a-cursor", "cursor=WyJ4IiwieSJd"]
)
def test_bad_paging_is_422_naming_the_parameter(api, token, query):
    resp = api.get(f"/v1/inbox?{query}", token=token(MEMBERS[18]))
    assert resp.status == 422
    assert resp.json()["errors"][0]["field"] == query.split("=")[0]


def test_an_empty_inbox(api, token):
    resp = api.get("/v1/inbox", token=token(MEMBERS[19]), headers={"Accept-Language": "en"})
    assert resp.json() == {"items": [], "next_cursor": None, "unread_count": 0}


def test_logs_carry_no_token_installation_id_device_id_or_member_key(api, token, stack, fs):
    member = MEMBERS[0]
    body = registration()
    device = api.post("/v1/devices", token=token(member), json_body=body).json()
    api.delete(f"/v1/devices/{device['id']}", token=token(member))
    inbox.deliver(fs, member, message())
    item = api.get("/v1/inbox", token=token(member)).json()["items"][0]
    api.post(f"/v1/inbox/{item['id']}/read", token=token(member))
    logs = stack.read_logs(["fn-devices", "fn-inbox"])
    assert '"device registered"' in logs and '"member": "m_' in logs
    for secret in (body["fcm_token"], body["installation_id"], device["id"], item["id"], member):
        assert secret not in logs
