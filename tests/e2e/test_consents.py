"""Consents end to end: the ledger proves what was accepted, withdrawal and changed terms stop
processing at once, newsletter choices reach the newsletter system exactly once in effect."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from infra.local import demo_data
from tests.conftest import eventually

pytestmark = pytest.mark.stack
MEMBERS = [m["member_id"] for m in demo_data.generate_members(300)[100:130]]


def _terms(api, purpose):
    terms = {t["purpose"]: t for t in api.get("/v1/consent-terms").json()["terms"]}
    return terms[purpose]


def _give(api, tok, purpose_, **kw):
    t = _terms(api, purpose_)
    body = {
        "purpose": purpose_,
        "action": "give",
        "terms_version": t["version"],
        "text_hash": t["text_hash"],
        "app_version": "3.2.1",
    }
    body.update(kw)
    return api.post("/v1/consents", token=tok, json_body=body)


def _state(api, tok, purpose):
    return {c["purpose"]: c for c in api.get("/v1/consents", token=tok).json()["consents"]}[purpose]


def _ledger(db_exec, member):
    return db_exec(
        "SELECT purpose, action, terms_version, text_hash FROM consent_events "
        "WHERE member_id = %s ORDER BY id",
        (member,),
    )


def test_new_member_has_given_no_consent(api, token):
    states = api.get("/v1/consents", token=token(MEMBERS[0])).json()["consents"]
    assert {s["purpose"] for s in states} == {
        "newsletter",
        "marketing",
        "personalisation",
        "mentor_contact_sharing",
    }
    assert all(s["status"] == "never" and not s["covered"] for s in states)


def test_the_ledger_proves_which_text_was_accepted(api, token, db_exec):
    member = MEMBERS[1]
    resp = _give(api, token(member), "personalisation", app_version="3.2.1")
    assert resp.status == 201 and resp.json()["covered"] is True
    ((purpose, action, version, digest),) = _ledger(db_exec, member)
    shown = api.get(f"/v1/consent-terms/personalisation/{version}").json()
    recomputed = hashlib.sha256(
        "\x1f".join(
            (shown["title"]["nb"], shown["title"]["en"], shown["text"]["nb"], shown["text"]["en"])
        ).encode()
    ).hexdigest()
    assert (purpose, action) == ("personalisation", "given") and digest == recomputed
    history = api.get("/v1/consents/history", token=token(member)).json()["items"]
    assert history[0]["text_hash"] == digest and history[0]["app_version"] == "3.2.1"
    assert history[0]["locale"] == "nb" and history[0]["channel"] == "app"


def test_repeating_a_consent_adds_no_ledger_entry(api, token, db_exec):
    member, tok = MEMBERS[2], token(MEMBERS[2])
    assert _give(api, tok, "marketing").status == 201
    assert _give(api, tok, "marketing").status == 200
    assert len(_ledger(db_exec, member)) == 1


def test_a_retried_request_with_its_idempotency_key_has_one_effect(api, token, db_exec):
    member, tok = MEMBERS[3], token(MEMBERS[3])
    t = _terms(api, "personalisation")
    body = {
        "purpose": "personalisation",
        "action": "give",
        "terms_version": t["version"],
        "text_hash": t["text_hash"],
    }
    key = str(uuid.uuid4())
    first = api.post("/v1/consents", token=tok, json_body=body, headers={"Idempotency-Key": key})
    # the member withdraws in between; the retry of the old request must not give again
    api.post("/v1/consents", token=tok, json_body={**body, "action": "withdraw", "text_hash": None})
    retry = api.post("/v1/consents", token=tok, json_body=body, headers={"Idempotency-Key": key})
    assert first.status == retry.status == 201 and retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert [r[1] for r in _ledger(db_exec, member)] == ["given", "withdrawn"]
    other = api.post(
        "/v1/consents",
        token=tok,
        json_body={**body, "purpose": "marketing"},
        headers={"Idempotency-Key": key},
    )
    assert other.status == 422


@pytest.mark.parametrize(
    "change, status",
    [
        ({"terms_version": 99}, 404),
        ({"text_hash": "0" * 64}, 409),
        ({"purpose": "spam"}, 422),
        ({"surprise": 1}, 422),
        ({"action": "maybe"}, 422),
        ({"text_hash": "not-a-hash"}, 422),
    ],
)
def test_bad_consent_requests_change_nothing(api, token, db_exec, change, status):
    member = MEMBERS[4]
    resp = _give(api, token(member), "newsletter", **change)
    assert resp.status == status, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert _ledger(db_exec, member) == []


def test_giving_needs_the_text_hash(api, token, db_exec):
    resp = _give(api, token(MEMBERS[4]), "newsletter", text_hash=None)
    assert resp.status == 409 and _ledger(db_exec, MEMBERS[4]) == []


def test_withdrawal_stops_personalisation_at_once(api, token):
    tok = token(MEMBERS[5])
    _give(api, tok, "personalisation")
    assert api.get("/v1/preferences", token=tok).json()["personalisation_active"] is True
    t = _terms(api, "personalisation")
    resp = api.post(
        "/v1/consents",
        token=tok,
        json_body={
            "purpose": "personalisation",
            "action": "withdraw",
            "terms_version": t["version"],
        },
    )
    assert resp.status == 201 and resp.json()["covered"] is False
    assert api.get("/v1/preferences", token=tok).json()["personalisation_active"] is False


def test_restriction_overrides_consent(api, token, db_exec):
    member, tok = MEMBERS[6], token(MEMBERS[6])
    _give(api, tok, "personalisation")
    db_exec("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (member,))
    try:
        assert api.get("/v1/preferences", token=tok).json()["personalisation_active"] is False
    finally:
        db_exec("DELETE FROM processing_restrictions WHERE member_id = %s", (member,))


def _publish(api, staff_token, purpose, material, effective_from=None):
    when = effective_from or datetime.now(UTC)
    suffix = uuid.uuid4().hex[:6]
    return api.post(
        "/v1/admin/consent-terms",
        token=staff_token,
        json_body={
            "purpose": purpose,
            "material": material,
            "effective_from": when.isoformat().replace("+00:00", "Z"),
            "title": {"nb": f"Tilbud {suffix}", "en": f"Offers {suffix}"},
            "text": {"nb": f"Ny tekst {suffix}", "en": f"New text {suffix}"},
            "changes": {"nb": "Vi har endret teksten.", "en": "We changed the text."},
        },
    )


def _make_effective(db_exec, purpose, version):
    """Time passes: the notice period of this version is over."""
    db_exec(
        "UPDATE consent_terms SET effective_from = now() - interval '1 second' "
        "WHERE purpose = %s AND version = %s",
        (purpose, version),
    )


def test_a_material_change_is_told_first_and_applies_only_after_the_notice_period(
    api, token, db_exec, stack
):
    """R8: "Alle endringer vil iverksettes først når de har blitt kommunisert." Publishing a
    material change gives it an effective date TERMS_NOTICE_DAYS ahead, tells every member
    whose consent it affects (inbox, neutral push), and the old consent keeps counting until
    that date, not after unless renewed."""
    tok, officer = token(MEMBERS[7]), token("personvern")
    ahead = token(MEMBERS[12])
    assert _give(api, tok, "marketing").status == 201
    assert _give(api, ahead, "marketing").status == 201
    before = _terms(api, "marketing")["version"]
    now = datetime.now(UTC)
    # too soon: the notice period is 30 days (core/config.py TERMS_NOTICE_DAYS)
    early = _publish(api, officer, "marketing", True, now + timedelta(days=29))
    assert early.status == 422 and early.json()["errors"][0]["field"] == "effective_from"
    resp = api.post(
        "/v1/admin/consent-terms",
        token=officer,
        json_body={
            "purpose": "marketing",
            "material": True,
            "title": {"nb": "Tilbud fra Lederne", "en": "Offers from Lederne"},
            "text": {"nb": f"Ny tekst {uuid.uuid4().hex[:6]}", "en": "New text"},
            "changes": {"nb": "Vi sender også SMS.", "en": "We also send text messages."},
        },
    )
    assert resp.status == 201, resp.text
    published = resp.json()
    version = published["version"]
    assert version == before + 1 and published["notified"] >= 2
    effective = datetime.fromisoformat(published["effective_from"])
    assert effective >= now + timedelta(days=30) - timedelta(minutes=1)
    # the terms in force are still the old ones, and so is the consent
    assert _terms(api, "marketing")["version"] == before
    state = _state(api, tok, "marketing")
    assert state["covered"] is True and state["needs_reconsent"] is False
    pending = state["pending_change"]
    assert pending["version"] == version and pending["material"] is True
    assert pending["changes"]["en"] == "We also send text messages."
    assert pending["consent_again_by"] == published["effective_from"]

    # told in the inbox, with a neutral push, as a message needed even while restricted
    def notice(t):
        items = api.get("/v1/inbox", token=t).json()["items"]
        return [i for i in items if i["deep_link"] == "lederappen://consents/marketing"]

    [item] = eventually(lambda: notice(tok), timeout=30)
    assert "Tilbud fra Lederne" in item["title"]["nb"] and item["sensitive"] is True
    assert "SMS" in item["body"]["nb"] and "text messages" in item["body"]["en"]
    # exactly the members whose latest marketing choice is "given" were told
    told = {
        r[0]
        for r in db_exec(
            "SELECT member_id FROM messages WHERE concerns = 'terms' AND created_at >= %s", (now,)
        )
    }
    giving = {
        r[0]
        for r in db_exec(
            "SELECT member_id FROM (SELECT DISTINCT ON (member_id) member_id, action FROM "
            "consent_events WHERE purpose = 'marketing' ORDER BY member_id, id DESC) l "
            "WHERE action = 'given'"
        )
    }
    assert told == giving and {MEMBERS[7], MEMBERS[12]} <= told
    assert published["notified"] == len(giving)
    # one member renews ahead, to the version to come
    renew = api.post(
        "/v1/consents",
        token=ahead,
        json_body={
            "purpose": "marketing",
            "action": "give",
            "terms_version": version,
            "text_hash": pending["text_hash"],
            "app_version": "3.2.1",
        },
    )
    assert renew.status == 201, renew.text
    assert _state(api, ahead, "marketing")["pending_change"]["consent_again_by"] is None
    # the date comes: the old consent stops counting, the renewed one counts
    _make_effective(db_exec, "marketing", version)
    state = _state(api, tok, "marketing")
    assert state["needs_reconsent"] is True and state["covered"] is False
    assert _state(api, ahead, "marketing")["covered"] is True
    old = api.post(
        "/v1/consents",
        token=tok,
        json_body={
            "purpose": "marketing",
            "action": "give",
            "terms_version": before,
            "text_hash": "a" * 64,
        },
    )
    assert old.status == 409  # accepting a version that is not the current one
    assert _give(api, tok, "marketing").status == 201
    assert _state(api, tok, "marketing")["covered"] is True


def test_a_non_material_change_is_listed_publicly_for_lederne_no(api, token):
    officer = token("personvern")
    resp = _publish(api, officer, "newsletter", material=False)
    assert resp.status == 201
    listed = api.get("/v1/consent-terms/changes?purpose=newsletter")
    assert listed.status == 200 and listed.headers["Cache-Control"].startswith("public")
    first = listed.json()["items"][0]
    assert first["version"] == resp.json()["version"] and first["material"] is False
    assert first["changes"]["nb"] == "Vi har endret teksten." and first["published_at"]
    assert all(not i["material"] for i in api.get("/v1/consent-terms/changes").json()["items"])
    assert api.get("/v1/consent-terms/changes?purpose=nothing").status == 422


def test_a_non_material_change_needs_no_new_consent(api, token):
    tok, officer = token(MEMBERS[8]), token("personvern")
    assert _give(api, tok, "marketing").status == 201
    assert _publish(api, officer, "marketing", material=False).status == 201
    state = _state(api, tok, "marketing")
    assert state["covered"] is True and state["needs_reconsent"] is False


def test_withdrawing_is_allowed_from_an_app_showing_older_terms(api, token, db_exec):
    tok, officer = token(MEMBERS[20]), token("personvern")
    assert _give(api, tok, "marketing").status == 201
    old = _terms(api, "marketing")["version"]
    assert _publish(api, officer, "marketing", material=False).status == 201
    resp = api.post(
        "/v1/consents",
        token=tok,
        json_body={"purpose": "marketing", "action": "withdraw", "terms_version": old},
    )
    assert resp.status in (200, 201), resp.text
    assert _state(api, tok, "marketing")["covered"] is False
    assert [r[1] for r in _ledger(db_exec, MEMBERS[20])][-1] == "withdrawn"


def test_future_terms_apply_only_from_their_date(api, token):
    officer = token("personvern")
    before = _terms(api, "mentor_contact_sharing")["version"]
    resp = _publish(
        api,
        officer,
        "mentor_contact_sharing",
        material=True,
        effective_from=datetime.now(UTC) + timedelta(days=31),
    )
    assert resp.status == 201
    assert _terms(api, "mentor_contact_sharing")["version"] == before


def test_only_the_privacy_officer_publishes_terms(api, token):
    assert _publish(api, token(MEMBERS[9]), "marketing", material=False).status == 403
    assert _publish(api, token("redaktor"), "marketing", material=False).status == 403
    past = datetime.now(UTC) - timedelta(days=1)
    assert _publish(api, token("personvern"), "marketing", False, past).status == 422


def _newsletter(lederne, member):
    return lederne.http.request("GET", lederne.base + "/_control/newsletter").json().get(member)


def test_newsletter_consent_reaches_the_newsletter_system_and_is_confirmed(api, token, lederne):
    member, tok = MEMBERS[10], token(MEMBERS[10])
    assert _give(api, tok, "newsletter").status == 201
    sync = api.get("/v1/consents", token=tok).json()["newsletter_sync"]
    assert sync["subscribed"] is True
    eventually(lambda: api.get("/v1/consents", token=tok).json()["newsletter_sync"]["confirmed"])
    assert _newsletter(lederne, member)["subscribed"] is True
    t = _terms(api, "newsletter")
    api.post(
        "/v1/consents",
        token=tok,
        json_body={"purpose": "newsletter", "action": "withdraw", "terms_version": t["version"]},
    )
    eventually(lambda: _newsletter(lederne, member)["subscribed"] is False)


def test_a_newsletter_message_delivered_twice_changes_nothing(api, token, lederne, pubsub, db_exec):
    member, tok = MEMBERS[11], token(MEMBERS[11])
    assert _give(api, tok, "newsletter").status == 201
    eventually(lambda: api.get("/v1/consents", token=tok).json()["newsletter_sync"]["confirmed"])
    (payload,) = db_exec("SELECT payload FROM outbox WHERE member_id = %s", (member,))[0]
    payload = payload if isinstance(payload, dict) else json.loads(payload)
    before = _newsletter(lederne, member)
    pubsub.publish("newsletter-sync", json.dumps(payload).encode())
    claims = lambda: db_exec(
        "SELECT count(*) FROM processed_events WHERE event_key = %s", (payload["event_id"],)
    )[0][0]
    eventually(
        lambda: (
            len(
                [
                    r
                    for r in lederne.requests()
                    if r["path"] == f"/api/newsletter/subscribers/{member}"
                ]
            )
            >= 2
        )
    )
    assert claims() == 1
    assert _newsletter(lederne, member) == before


def test_a_malformed_newsletter_message_goes_to_the_dead_letter_topic_at_once(pubsub):
    pubsub.publish("newsletter-sync", b"{not json", test="malformed")
    letters = pubsub.pull_dead_letters("newsletter-sync-dead-letter", wait=10)
    assert letters and letters[0].attributes["dead_letter_reason"] == "malformed"
    assert letters[0].attributes["source_function"] == "newsletter-sync"
