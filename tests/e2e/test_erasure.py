"""Privacy requests end to end (R3, R5): a member asks, the privacy officer decides, a Pub/Sub
deletion job carries it out, and afterwards no store holds a trace of the member."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from infra.local import demo_data
from tests.conftest import eventually
from tests.support.firestore import emulator_client
from tests.support.traces import (
    QueuedMessages,
    device_registration,
    fill_every_store,
    forget_scan,
    give_data,
    traces,
)
from tests.support.traces import consent as _consent

pytestmark = pytest.mark.stack
MEMBERS = [
    m["member_id"]
    for m in demo_data.generate_members(400)[380:400]
    if m["membership"]["status"] == "active"
]
OFFICER = "personvern"
EDITOR = "redaktor"


@pytest.fixture(scope="module")
def fs(stack):
    return emulator_client(stack)


def request(api, token, member, kind, reason=None):
    body = {"kind": kind, **({"reason": reason} if reason else {})}
    resp = api.post("/v1/privacy/requests", token=token(member), json_body=body)
    assert resp.status in (200, 201), resp.text
    return resp.json()


def staff_view(api, token, request_id):
    resp = api.get(f"/v1/admin/privacy-requests/{request_id}", token=token(OFFICER))
    assert resp.status == 200
    return resp.json()


def test_the_privacy_officer_runs_an_erasure_and_nothing_remains(
    api, token, db_exec, fs, lederne, pubsub
):
    member = MEMBERS[0]
    give_data(api, token, member)
    assert traces(db_exec, fs, member)  # the scan does see the member before
    r = request(api, token, member, "erasure", reason="Jeg vil bli glemt.")
    assert r["status"] == "received"
    again = request(api, token, member, "erasure")
    assert again["id"] == r["id"]  # one request in progress, not two

    listed = api.get("/v1/admin/privacy-requests?status=received", token=token(OFFICER)).json()
    mine = [x for x in listed["items"] if x["id"] == r["id"]]
    assert mine and mine[0]["member_id"] == member
    approved = api.post(f"/v1/admin/privacy-requests/{r['id']}/approve", token=token(OFFICER))
    assert approved.status == 200 and approved.json()["status"] in ("queued", "running", "done")

    done = eventually(
        lambda: _when_status(staff_view(api, token, r["id"]), "done"),
        timeout=60,
    )
    assert done["member_id"] is None and done["reason"] is None
    receipt = done["receipt"]
    assert {"salary", "mentoring", "preferences", "device", "messages"} <= set(
        receipt["categories"]
    )
    assert receipt["counts"]["member_preferences"] == 1
    assert receipt["counts"]["devices"] == 1 and receipt["counts"]["inbox_items"] >= 1
    # the receipt holds nothing personal
    assert member not in json.dumps(done)

    assert traces(db_exec, fs, member) == []
    assert any(
        q["method"] == "DELETE" and "/newsletter/subscribers/" in q["path"] and member in q["path"]
        for q in lederne.requests()
    )

    # the same job delivered three more times has one effect
    for _ in range(3):
        pubsub.publish("privacy-jobs", json.dumps({"request_ids": [r["id"]]}).encode())
    eventually(lambda: staff_view(api, token, r["id"])["status"] == "done")
    assert staff_view(api, token, r["id"])["finished_at"] == done["finished_at"]
    assert traces(db_exec, fs, member) == []


def test_a_message_already_on_its_way_does_not_write_an_erased_member_back(
    api, token, db_exec, fs, pubsub
):
    member = MEMBERS[1]
    give_data(api, token, member)
    message_id = db_exec("SELECT id::text FROM messages WHERE member_id = %s", (member,))[0][0]
    r = request(api, token, member, "erasure")
    api.post(f"/v1/admin/privacy-requests/{r['id']}/approve", token=token(OFFICER))
    eventually(lambda: staff_view(api, token, r["id"])["status"] == "done", timeout=60)
    # a broadcast batch created before the erasure, still in Pub/Sub, names the member
    other = api.post(
        "/v1/admin/messages",
        token=token(EDITOR),
        json_body={
            "category": "news",
            "title": {"nb": "Til alle", "en": "To all"},
            "body": {"nb": "Tekst.", "en": "Text."},
            "audience": {"kind": "member", "member_id": MEMBERS[2]},
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    ).json()
    db_exec(
        "UPDATE messages SET created_at = now() - interval '1 hour' WHERE id = %s", (other["id"],)
    )
    pubsub.publish(
        "message-delivery",
        json.dumps({"message_id": other["id"], "batch": 99, "member_ids": [member]}).encode(),
    )
    pubsub.publish(
        "message-fanout", json.dumps({"message_id": message_id, "step": 0, "cursor": None}).encode()
    )
    eventually(lambda: not db_exec("SELECT 1 FROM outbox WHERE published_at IS NULL"), timeout=30)
    import time

    time.sleep(3)
    assert traces(db_exec, fs, member) == []


def test_a_county_message_made_before_an_erasure_neither_chooses_nor_audits_the_member(
    api, token, stack, db_exec, pseudonyms
):
    """The register still lists a member who asked to be erased, so a county message made
    before the erasure and fanned out after it would choose them again: the fan-out leaves
    out members erased since the message was made, before it audits or batches anyone."""
    from lederappen.core.vocabulary import COUNTIES

    from infra.local import fire

    [record] = [m for m in demo_data.generate_members(400) if m["member_id"] == MEMBERS[11]]
    county = next(k for k, v in COUNTIES.items() if v["nb"] == record["address"]["county"])
    member = record["member_id"]
    sent = api.post(
        "/v1/admin/messages",
        token=token(EDITOR),
        json_body={
            "category": "news",
            "title": {"nb": "Til fylket", "en": "To the county"},
            "body": {"nb": "Tekst.", "en": "Text."},
            "audience": {"kind": "county", "value": county},
            "send_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert sent.status == 201, sent.text
    message_id = sent.json()["id"]
    r = request(api, token, member, "erasure")
    api.post(f"/v1/admin/privacy-requests/{r['id']}/approve", token=token(OFFICER))
    eventually(lambda: staff_view(api, token, r["id"])["status"] == "done", timeout=60)
    # the hour passes; the relay releases the message
    db_exec(
        "UPDATE outbox SET not_before = now() - interval '1 second' "
        "WHERE id = (SELECT outbox_id FROM messages WHERE id = %s)",
        (message_id,),
    )
    state = stack.state()
    tok = fire.fetch_job_token(state, fire.job_target(state, "outbox-relay")["job_audience"])
    assert fire.send(fire.build_request(state, "outbox-relay", tok))[0] == 200
    eventually(
        lambda: db_exec("SELECT status FROM messages WHERE id = %s", (message_id,))[0][0] == "sent",
        timeout=60,
    )
    chosen = db_exec(
        "SELECT count(*) FROM audit_events WHERE action = 'chosen_as_recipient_by_county' "
        "AND at >= (SELECT created_at FROM messages WHERE id = %s)",
        (message_id,),
    )[0][0]
    assert chosen > 0  # the county's other members were chosen and audited
    assert (
        db_exec(
            "SELECT actor_kind, actor, category, action, at FROM audit_events "
            "WHERE member_pseudonym = %s",
            (pseudonyms(member),),
        )
        == []
    )
    assert not db_exec(
        "SELECT 1 FROM message_batches WHERE message_id = %s AND %s = ANY(member_ids)",
        (message_id, member),
    )


def test_a_member_who_registers_again_after_erasure_starts_empty(api, token, db_exec):
    member = MEMBERS[0]  # erased in the first test
    tok = token(member)
    assert api.get("/v1/mentoring/engagement", token=tok).json()["mentee"] is None
    assert api.get("/v1/privacy/requests", token=tok).json()["items"] == []
    assert api.get("/v1/devices", token=tok).json()["items"] == []


def test_restriction_is_applied_and_lifted_by_jobs(api, token, db_exec):
    member = MEMBERS[3]
    r = request(api, token, member, "restriction", reason="Jeg bestrider opplysningene.")
    api.post(f"/v1/admin/privacy-requests/{r['id']}/approve", token=token(OFFICER))
    eventually(lambda: staff_view(api, token, r["id"])["status"] == "done", timeout=60)
    assert db_exec(
        "SELECT request_ref::text FROM processing_restrictions WHERE member_id = %s", (member,)
    ) == [(r["id"],)]
    assert api.get("/v1/profile", token=token(member)).json()["processing_restricted"] is True
    lift = request(api, token, member, "lift_restriction")
    api.post(f"/v1/admin/privacy-requests/{lift['id']}/approve", token=token(OFFICER))
    eventually(lambda: staff_view(api, token, lift["id"])["status"] == "done", timeout=60)
    assert db_exec("SELECT 1 FROM processing_restrictions WHERE member_id = %s", (member,)) == []
    mine = api.get("/v1/privacy/requests", token=token(member)).json()["items"]
    assert [x["status"] for x in mine] == ["done", "done"]
    # staff reads were audited, pseudonymised
    assert (
        db_exec(
            "SELECT count(*) FROM audit_events WHERE actor_kind = 'staff' "
            "AND category = 'privacy_rights'"
        )[0][0]
        >= 1
    )
    assert (
        db_exec("SELECT count(*) FROM audit_events WHERE member_pseudonym = %s", (member,))[0][0]
        == 0
    )


def test_a_rejection_needs_a_reason_and_the_member_sees_it(api, token, db_exec):
    member = MEMBERS[4]
    r = request(api, token, member, "erasure")
    path = f"/v1/admin/privacy-requests/{r['id']}/reject"
    assert api.post(path, token=token(OFFICER), json_body={"reason": ""}).status == 422
    assert api.post(path, token=token(OFFICER), json_body={}).status == 422
    assert staff_view(api, token, r["id"])["status"] == "received"
    resp = api.post(
        path,
        token=token(OFFICER),
        json_body={"reason": "Vi må beholde opplysningene mens saken pågår."},
    )
    assert resp.status == 200 and resp.json()["status"] == "rejected"
    assert (
        api.post(f"/v1/admin/privacy-requests/{r['id']}/approve", token=token(OFFICER)).status
        == 409
    )
    mine = api.get("/v1/privacy/requests", token=token(member)).json()["items"][0]
    assert mine["status"] == "rejected" and mine["rejection_reason"].startswith("Vi må")
    assert (
        db_exec(
            "SELECT count(*) FROM outbox WHERE topic = 'privacy-jobs' AND member_id = %s", (member,)
        )[0][0]
        == 0
    )


def test_only_the_privacy_officer_decides(api, token):
    member = MEMBERS[5]
    r = request(api, token, member, "restriction")
    for who in (member, EDITOR):
        assert api.get("/v1/admin/privacy-requests", token=token(who)).status == 403
        assert (
            api.post(f"/v1/admin/privacy-requests/{r['id']}/approve", token=token(who)).status
            == 403
        )
    assert (
        api.post(f"/v1/admin/privacy-requests/{uuid.uuid4()}/approve", token=token(OFFICER)).status
        == 404
    )
    assert (
        api.post("/v1/admin/privacy-requests/not-a-uuid/approve", token=token(OFFICER)).status
        == 404
    )
    bad = api.post("/v1/privacy/requests", token=token(member), json_body={"kind": "everything"})
    assert bad.status == 422


def test_a_member_deletes_their_voluntary_data_at_once(api, token, db_exec):
    member = MEMBERS[6]
    tok = token(member)
    current = api.get("/v1/preferences", token=tok)
    api.put(
        "/v1/preferences",
        token=tok,
        headers={"If-Match": current.headers["ETag"]},
        json_body={"interests": ["hse"]},
    )
    api.put(
        "/v1/mentoring/engagement/mentor",
        token=tok,
        headers={"If-Match": '"0"'},
        json_body={
            "notice_acknowledged": True,
            "topics": ["hse"],
            "formats": ["digital"],
            "languages": ["nb"],
            "capacity": 1,
        },
    )
    resp = api.delete("/v1/privacy/voluntary-data", token=tok)
    assert resp.status == 200
    assert resp.json()["deleted"] == {
        "salary_answers": 0,
        "member_preferences": 1,
        "mentor_engagements": 1,
    }
    for table in ("member_preferences", "mentor_engagements", "salary_answers"):
        assert db_exec(f"SELECT count(*) FROM {table} WHERE member_id = %s", (member,))[0][0] == 0
    # consents are the proof of what was agreed, not voluntary data: they stay
    assert (
        api.delete("/v1/privacy/voluntary-data", token=tok).json()["deleted"]["member_preferences"]
        == 0
    )


def test_a_restriction_takes_the_member_off_the_newsletter_until_lifted(api, token, lederne):
    member = MEMBERS[7]
    tok = token(member)

    def subscribed():
        state = lederne.http.request("GET", lederne.base + "/_control/newsletter").json()
        return (state.get(member) or {}).get("subscribed")

    _consent(api, tok, "newsletter")
    eventually(lambda: subscribed() is True, timeout=30)
    r = request(api, token, member, "restriction")
    api.post(f"/v1/admin/privacy-requests/{r['id']}/approve", token=token(OFFICER))
    eventually(lambda: staff_view(api, token, r["id"])["status"] == "done", timeout=60)
    eventually(lambda: subscribed() is False, timeout=30)
    lift = request(api, token, member, "lift_restriction")
    api.post(f"/v1/admin/privacy-requests/{lift['id']}/approve", token=token(OFFICER))
    eventually(lambda: subscribed() is True, timeout=60)


def needles_of(stack, pseudonyms, member, installation_id) -> dict[str, str]:
    """What would link a store back to the member: the number, the pseudonym (audit trail,
    tombstone, logs) and the device's id (the keyed hash of the installation id)."""
    import base64

    from lederappen.devices.service import device_id

    key = base64.b64decode(stack.env["INSTALLATION_ID_KEY"])
    return {
        "member number": member,
        "pseudonym": pseudonyms(member),
        "installation hash": device_id(key, installation_id),
    }


#: The one place an erased member may still be found (the data map's `erasure_tombstones`):
#: their pseudonym for 30 days, so a message already on its way is dropped.
TOMBSTONE = ["sql:erasure_tombstones.member_pseudonym:pseudonym:1"]


def test_forget_proof_after_an_approved_request_only_the_tombstone_remains(
    stack, api, token, db_exec, fs, pseudonyms
):
    """The adversary's scan: every column of every table cast to text, every Firestore
    document, every message still queued in Pub/Sub, for the member number, the pseudonym
    and the installation-id hash, after a member used every store and was erased."""
    member, mentor, mentee = MEMBERS[8], MEMBERS[9], MEMBERS[10]
    partners = [pseudonyms(mentor), pseudonyms(mentee)]
    try:
        _forget_proof(stack, api, token, db_exec, fs, pseudonyms, member, mentor, mentee)
    finally:  # the suite's other tests count these entries globally: the partners' go now
        db_exec("DELETE FROM audit_events WHERE member_pseudonym = ANY(%s)", (partners,))


def _forget_proof(stack, api, token, db_exec, fs, pseudonyms, member, mentor, mentee):
    from lederappen.core import datamap

    filled = fill_every_store(api, token, db_exec, member, mentor, mentee)
    needles = needles_of(stack, pseudonyms, member, filled["installation_id"])
    queued = QueuedMessages(stack)
    before = forget_scan(db_exec, fs, queued, needles)
    for place in (
        "sql:audit_events.actor:pseudonym",
        "sql:salary_answers.member_id",
        "sql:mentorships.mentee_id",
        "sql:mentorships.mentor_id",
        "sql:mentorship_feedback.member_id",
        "sql:devices.member_id",
        "sql:devices.id:installation hash",
    ):
        assert any(f.startswith(place) for f in before), (place, before)
    assert any(":installation hash" in f for f in before)
    queued.start()  # from here on, every message published is kept for the scan
    try:
        r = request(api, token, member, "erasure")
        assert (
            api.post(f"/v1/admin/privacy-requests/{r['id']}/approve", token=token(OFFICER)).status
            == 200
        )
        eventually(lambda: staff_view(api, token, r["id"])["status"] == "done", timeout=90)
        eventually(
            lambda: not db_exec("SELECT 1 FROM outbox WHERE published_at IS NULL"), timeout=30
        )
        found = forget_scan(db_exec, fs, queued, needles)
    finally:
        queued.stop()
    assert found == TOMBSTONE
    # what the member did to the partners stays for them, with a neutral actor
    partners = [pseudonyms(mentor), pseudonyms(mentee)]
    kept = db_exec(
        "SELECT DISTINCT member_pseudonym FROM audit_events WHERE actor = %s "
        "AND action = 'shown_to_mentoring_partner'",
        (datamap.ERASED_ACTOR,),
    )
    assert {k for (k,) in kept} >= set(partners)
    receipt = staff_view(api, token, r["id"])["receipt"]
    assert receipt["counts"]["audit_events.actor"] >= 2
    assert member not in json.dumps(receipt) and pseudonyms(member) not in json.dumps(receipt)
    # and a partner asking who saw their data finds the entry, naming nobody
    seen = api.get("/v1/privacy/access?store=audit_events", token=token(mentor)).json()
    entries = [
        e for e in seen["sections"][0]["items"] if e["action"] == "shown_to_mentoring_partner"
    ]
    assert entries and all(e["actor_kind"] == "member" and e["actor"] is None for e in entries)


def _when_status(view: dict, status: str) -> dict | None:
    """The view once it has reached `status`, for eventually()."""
    return view if view["status"] == status else None


def test_a_sign_in_from_before_the_erasure_writes_nothing_after_it(api, token, db_exec, stack):
    """Adversary: the member's app is still open when their erasure runs, holding a lederne.no
    token that stays valid for up to an hour. Registering its device again, or asking again,
    with that token is refused (401, a problem saying why) and writes nothing; reads still
    answer (nothing of theirs is left to read); a sign-in made after the erasure works."""
    from infra.local import stack as stack_mod

    member = MEMBERS[12]
    old = token(member)

    assert api.post("/v1/devices", token=old, json_body=device_registration()).status == 201
    r = request(api, token, member, "erasure")
    approved = api.post(f"/v1/admin/privacy-requests/{r['id']}/approve", token=token(OFFICER))
    assert approved.status == 200
    eventually(lambda: _when_status(staff_view(api, token, r["id"]), "done"), timeout=60)

    def devices_held() -> int:
        return db_exec("SELECT count(*) FROM devices WHERE member_id = %s", (member,))[0][0]

    assert devices_held() == 0
    refused = api.post("/v1/devices", token=old, json_body=device_registration())
    assert refused.status == 401, refused.text
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    detail = refused.json()["detail"]
    assert "erased" in detail or "slettet" in detail
    again = api.post("/v1/privacy/requests", token=old, json_body={"kind": "restriction"})
    assert again.status == 401
    assert devices_held() == 0
    assert db_exec("SELECT count(*) FROM privacy_requests WHERE member_id = %s", (member,)) == [
        (0,)
    ]
    assert api.get("/v1/devices", token=old).json()["items"] == []

    time.sleep(1.1)  # a token's iat is in whole seconds
    fresh = stack_mod.fetch_token(stack.urls["lederne"], member)
    assert api.post("/v1/devices", token=fresh, json_body=device_registration()).status == 201
    assert devices_held() == 1
