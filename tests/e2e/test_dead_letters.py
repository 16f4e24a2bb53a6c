"""Dead letters end to end: a message newsletter-sync cannot process reaches the operations
staff's list with its reason and source, is inspected without revealing whom it is about, and
is replayed to its topic (with an effect) or discarded; nobody else may look."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from infra.local import demo_data
from tests.conftest import eventually

pytestmark = pytest.mark.stack

OPS = "driftsvakt"
BASE = "/v1/admin/dead-letters"
TOPIC = "newsletter-sync"
DEAD_LETTER_TOPIC = "newsletter-sync-dead-letter"
MEMBERS = [m["member_id"] for m in demo_data.generate_members(300)[280:290]]


def _all(api, tok, **query) -> list[dict]:
    """Every stored dead letter (the first page drains the -inspect subscriptions)."""
    items, cursor = [], None
    while True:
        q = dict(query, limit="100", **({"cursor": cursor} if cursor else {}))
        resp = api.get(BASE + "?" + "&".join(f"{k}={v}" for k, v in q.items()), token=tok)
        assert resp.status == 200, resp.text
        body = resp.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


def _wait_for(api, tok, predicate, timeout=20.0) -> dict:
    return eventually(lambda: next((i for i in _all(api, tok) if predicate(i)), None), timeout)


def _marked(marker):
    return lambda item: item["attributes"].get("test") == marker


@pytest.fixture(scope="module")
def ops(token):
    return token(OPS)


@pytest.fixture(scope="module")
def malformed(api, ops, pubsub):
    """A message naming members that newsletter-sync cannot decode: dead-lettered at once."""
    marker = uuid.uuid4().hex
    payload = {
        "member_id": MEMBERS[0],
        "member_ids": [MEMBERS[1], MEMBERS[2]],
        "subscribed": "yes",
        "note": "wrong shape",
    }
    data = json.dumps(payload).encode()
    pubsub.publish(TOPIC, data, test=marker)
    item = _wait_for(api, ops, _marked(marker))
    return item, data, marker


def test_a_malformed_message_is_listed_with_its_reason_and_source_but_not_whom_it_names(
    api, ops, malformed
):
    item, data, _ = malformed
    assert item["reason"] == "malformed" and item["source_function"] == "newsletter-sync"
    assert item["topic"] == TOPIC and item["subscription"] == f"{DEAD_LETTER_TOPIC}-inspect"
    assert item["state"] == "open" and item["replay_count"] == 0 and item["replayed_at"] is None
    assert item["payload_bytes"] == len(data) and item["member_count"] == 3
    assert item["attributes"]["dead_letter_reason"] == "malformed"
    assert item["attributes"]["source_function"] == "newsletter-sync"
    assert item["attributes"]["source_message_id"]
    assert "member_ids" not in item and "payload" not in item
    listing = api.get(BASE, token=ops).text
    assert not any(m in listing for m in MEMBERS[:3])


def test_inspecting_shows_the_payload_shape_with_member_keys_redacted(api, ops, malformed, db_exec):
    item, _, _ = malformed
    resp = api.get(f"{BASE}/{item['id']}", token=ops)
    assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
    detail = resp.json()
    assert detail["payload_format"] == "json"
    assert detail["payload"] == {
        "member_id": "<redacted>",
        "member_ids": "<redacted: 2>",
        "subscribed": "yes",
        "note": "wrong shape",
    }
    assert not any(m in resp.text for m in MEMBERS[:3])
    stable = (
        "id",
        "source_function",
        "topic",
        "reason",
        "message_id",
        "attributes",
        "received_at",
        "payload_bytes",
        "member_count",
    )
    assert {k: detail[k] for k in stable} == {k: item[k] for k in stable}
    # ... while erasure can find the row by any member it names
    for member in MEMBERS[:3]:
        rows = db_exec("SELECT id FROM dead_letters WHERE %s = ANY(member_ids)", (member,))
        assert (item["id"],) in rows


def test_bytes_that_are_not_json_are_never_shown(api, ops, pubsub):
    marker = uuid.uuid4().hex
    pubsub.publish(TOPIC, b"{not json " + MEMBERS[3].encode(), test=marker)
    item = _wait_for(api, ops, _marked(marker))
    assert item["reason"] == "malformed" and item["member_count"] == 0
    resp = api.get(f"{BASE}/{item['id']}", token=ops)
    assert resp.json()["payload_format"] == "not_json" and resp.json()["payload"] is None
    assert MEMBERS[3] not in resp.text


def test_a_replayed_message_that_fails_again_comes_back_naming_what_it_replays(api, ops, malformed):
    item, _, marker = malformed
    resp = api.post(f"{BASE}/{item['id']}/replay", token=ops)
    assert resp.status == 200, resp.text
    replayed = resp.json()
    assert replayed["state"] == "replayed" and replayed["replay_count"] == item["replay_count"] + 1
    assert replayed["replayed_at"]
    back = _wait_for(api, ops, lambda i: i["attributes"].get("replay_of") == str(item["id"]))
    assert back["id"] > item["id"] and back["reason"] == "malformed"
    assert back["attributes"]["test"] == marker and back["state"] == "open"


def _newsletter(lederne, member):
    return lederne.http.request("GET", lederne.base + "/_control/newsletter").json().get(member)


def test_a_message_that_ran_out_of_attempts_is_replayed_once_the_cause_is_fixed(
    api, ops, pubsub, db_exec, lederne
):
    """The consents function recorded a newsletter choice, but its message ran out of delivery
    attempts (the newsletter system was down) and Pub/Sub moved it to the dead-letter topic,
    with its own attributes and none of ours. The newsletter system is back: staff replay it."""
    member, event_id = MEMBERS[4], str(uuid.uuid4())
    terms = {t["purpose"]: t for t in api.get("/v1/consent-terms").json()["terms"]}["newsletter"]
    version = terms["version"]
    now = datetime.now(UTC)
    # what the consents function writes in one transaction: the ledger entry and the sync row
    # (the handler subscribes only while the consent covers it)
    db_exec(
        "INSERT INTO consent_events (member_id, purpose, terms_version, text_hash, action, "
        "locale, channel, app_version, occurred_at) VALUES (%s, 'newsletter', %s, %s, "
        "'given', 'nb', 'app', '3.2.1', %s)",
        (member, version, terms["text_hash"], now),
    )
    db_exec(
        "INSERT INTO newsletter_sync (member_id, event_id, subscribed, terms_version, "
        "requested_at) VALUES (%s, %s, true, %s, %s)",
        (member, event_id, version, now),
    )
    payload = {
        "event_id": event_id,
        "member_id": member,
        "subscribed": True,
        "terms_version": version,
        "occurred_at": now.isoformat().replace("+00:00", "Z"),
    }
    marker = uuid.uuid4().hex
    pubsub.publish(
        DEAD_LETTER_TOPIC,
        json.dumps(payload).encode(),
        test=marker,
        CloudPubSubDeadLetterSourceSubscription="projects/lederappen-local/"
        "subscriptions/newsletter-sync",
        CloudPubSubDeadLetterSourceDeliveryCount="10",
    )
    item = _wait_for(api, ops, _marked(marker))
    assert item["reason"] == "delivery-attempts-exhausted"
    assert item["source_function"] == "newsletter-sync" and item["member_count"] == 1
    assert _newsletter(lederne, member) is None

    key = str(uuid.uuid4())
    first = api.post(f"{BASE}/{item['id']}/replay", token=ops, headers={"Idempotency-Key": key})
    assert first.status == 200, first.text
    assert first.json()["replay_count"] == 1 and first.json()["state"] == "replayed"

    # the effect: the newsletter system has the choice, and the confirmation is recorded
    eventually(lambda: (_newsletter(lederne, member) or {}).get("event_id") == event_id)
    assert _newsletter(lederne, member)["subscribed"] is True
    eventually(
        lambda: (
            db_exec("SELECT confirmed_at FROM newsletter_sync WHERE member_id = %s", (member,))[0][
                0
            ]
            is not None
        )
    )

    # a retry with the same key publishes nothing more
    retry = api.post(f"{BASE}/{item['id']}/replay", token=ops, headers={"Idempotency-Key": key})
    assert retry.status == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert db_exec("SELECT replay_count FROM dead_letters WHERE id = %s", (item["id"],)) == [(1,)]
    other = api.post(f"{BASE}/{item['id'] + 1}/replay", token=ops, headers={"Idempotency-Key": key})
    assert other.status == 422  # the key belongs to another request

    detail = api.get(f"{BASE}/{item['id']}", token=ops).json()
    assert detail["payload"]["member_id"] == "<redacted>"
    assert detail["payload"]["event_id"] == event_id
    assert "replay_of" not in detail["attributes"]


def test_a_discarded_message_cannot_be_replayed(api, ops, pubsub):
    marker = uuid.uuid4().hex
    pubsub.publish(TOPIC, b"[]", test=marker)
    item = _wait_for(api, ops, _marked(marker))
    first = api.post(f"{BASE}/{item['id']}/discard", token=ops)
    assert first.status == 200 and first.json()["state"] == "discarded"
    again = api.post(f"{BASE}/{item['id']}/discard", token=ops)
    assert again.status == 200 and again.json()["discarded_at"] == first.json()["discarded_at"]
    resp = api.post(f"{BASE}/{item['id']}/replay", token=ops)
    assert resp.status == 409 and resp.headers["Content-Type"] == "application/problem+json"
    assert resp.json()["type"].endswith("/conflict")
    assert any(i["id"] == item["id"] for i in _all(api, ops, state="discarded"))
    assert not any(i["id"] == item["id"] for i in _all(api, ops, state="open"))
    assert all(i["state"] == "open" for i in _all(api, ops, state="open"))
    assert all(
        i["source_function"] == "newsletter-sync"
        for i in _all(api, ops, source_function="newsletter-sync")
    )


def test_the_list_pages_with_a_cursor_newest_first(api, ops, pubsub):
    for _ in range(2):
        pubsub.publish(TOPIC, b"{", test=uuid.uuid4().hex)
    eventually(lambda: len(_all(api, ops)) >= 3)
    first = api.get(f"{BASE}?limit=2", token=ops).json()
    assert len(first["items"]) == 2 and first["next_cursor"] and first["drained"] is not None
    second = api.get(f"{BASE}?limit=2&cursor={first['next_cursor']}", token=ops).json()
    assert second["drained"] is None
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "query", ["state=stuck", "source_function=outbox-relay", "limit=0", "cursor=!!"]
)
def test_bad_filters_are_422(api, ops, query):
    resp = api.get(f"{BASE}?{query}", token=ops)
    assert resp.status == 422 and resp.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["999999999", "0", "abc", "12345678901234567890123"])
def test_an_unknown_dead_letter_is_404(api, ops, path):
    assert api.get(f"{BASE}/{path}", token=ops).status == 404
    assert api.post(f"{BASE}/{path}/replay", token=ops).status == 404
    assert api.post(f"{BASE}/{path}/discard", token=ops).status == 404


@pytest.mark.parametrize(
    "who", [MEMBERS[5], "personvern", "redaktor", "medlemsservice", "lonnsanalytiker"]
)
def test_only_operations_staff_see_or_touch_dead_letters(api, token, who):
    tok = token(who)
    assert api.get(BASE, token=tok).status == 403
    assert api.get(f"{BASE}/1", token=tok).status == 403
    assert api.post(f"{BASE}/1/replay", token=tok).status == 403
    assert api.post(f"{BASE}/1/discard", token=tok).status == 403


def test_without_a_token_it_is_401(api):
    resp = api.get(BASE)
    assert resp.status == 401 and resp.headers["Content-Type"] == "application/problem+json"
