"""Pub/Sub pushes cannot be forged into effects (F3, F9, S1), played as an attacker would.

Each Pub/Sub function is posted to directly over HTTP, bypassing IAM and the push relay, as
one misconfigured invoker binding would allow:

* without a valid push token (none, expired, another audience, another service account, an
  unverified e-mail, a forged signature, a member's token): 401/403 problem+json that echoes
  nothing, and no effect, although the same push with a valid token has one;
* with a valid token but a forged body: the handler takes the truth from the database, so a
  delivery names only a batch the fan-out formed, a newsletter event only re-sends what the
  consent ledger says, a fan-out step runs only as it was queued (never early, never one
  that was not queued), and a privacy job does only what an approved request says;
* replayed: no second effect;
* an envelope that cannot be decoded is acknowledged and dead-lettered at once with its reason.
"""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
import urllib3

from infra.local import demo_data
from infra.local.stack import PROJECT, push_account_email
from tests.conftest import eventually
from tests.support.tokens import jwk_thumbprint, load_key, new_key

pytestmark = pytest.mark.stack

_DEMO = demo_data.generate_members(300)
A, B, C, D = (_DEMO[i]["member_id"] for i in (2, 3, 4, 6))  # active members no test uses
EDITOR = "redaktor"
PUBSUB_FUNCTIONS = ("newsletter-sync", "message-fanout", "message-delivery", "privacy-worker")
SECRET = "Bearer not-a-token-but-a-secret-value"
HTTP = urllib3.PoolManager(timeout=urllib3.Timeout(total=30), retries=False)


# -- pushes --------------------------------------------------------------------------------


class Pusher:
    """Posts push envelopes straight to a function, with tokens signed as the local Google."""

    def __init__(self, stack):
        self.stack = stack
        self.key = load_key(f"{stack.key_file}.google")

    def token(self, fn: str, *, key=None, **overrides) -> str:
        now = int(time.time())
        email = push_account_email(fn)
        claims = {
            "iss": self.stack.env["JOB_OIDC_ISSUER"],
            "aud": self.stack.function_env(fn)["JOB_OIDC_AUDIENCE"],
            "azp": "1" * 21,
            "email": email,
            "email_verified": True,
            "sub": "1" * 21,
            "iat": now,
            "exp": now + 600,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(
            claims, key or self.key, algorithm="RS256", headers={"kid": jwk_thumbprint(self.key)}
        )

    @staticmethod
    def envelope(payload, message_id: str | None = None, **attributes) -> bytes:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return json.dumps(
            {
                "message": {
                    "data": base64.b64encode(data).decode(),
                    "messageId": message_id or uuid.uuid4().hex,
                    "attributes": attributes,
                },
                "subscription": f"projects/{PROJECT}/subscriptions/x",
            }
        ).encode()

    def post(self, fn: str, body: bytes, authorization: str | None = "valid"):
        headers = {"Content-Type": "application/json"}
        if authorization == "valid":
            headers["Authorization"] = f"Bearer {self.token(fn)}"
        elif authorization is not None:
            headers["Authorization"] = authorization
        return HTTP.request("POST", self.stack.function_url(fn) + "/", body=body, headers=headers)


@pytest.fixture(scope="module")
def pusher(stack) -> Pusher:
    return Pusher(stack)


def bad_authorizations(pusher: Pusher, fn: str, member_token: str) -> dict[str, str | None]:
    other = "privacy-worker" if fn != "privacy-worker" else "newsletter-sync"
    now = int(time.time())
    return {
        "none": None,
        "not-a-bearer": SECRET,
        "expired": "Bearer " + pusher.token(fn, iat=now - 7200, exp=now - 3600),
        "another-audience": "Bearer "
        + pusher.token(fn, aud=pusher.stack.function_env(other)["JOB_OIDC_AUDIENCE"]),
        "another-push-account": "Bearer " + pusher.token(fn, email=push_account_email(other)),
        "the-scheduler": "Bearer " + pusher.token(fn, email=pusher.stack.env["JOB_INVOKER_EMAILS"]),
        "unverified-email": "Bearer " + pusher.token(fn, email_verified=False),
        "forged-signature": "Bearer " + pusher.token(fn, key=new_key()),
        "exp-not-a-number": "Bearer " + pusher.token(fn, exp=str(now + 600)),
        "a-member-token": "Bearer " + member_token,
    }


def assert_refused(resp, token_sent: str | None) -> None:
    assert resp.status in (401, 403), resp.data
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    problem = json.loads(resp.data)
    assert problem["status"] == resp.status and problem["type"].startswith("https://")
    if token_sent:
        assert token_sent.split(" ", 1)[-1].encode() not in resp.data


# -- the world each function acts on ---------------------------------------------------------


def _terms(api, purpose):
    return {t["purpose"]: t for t in api.get("/v1/consent-terms").json()["terms"]}[purpose]


def _consent(api, tok, action: str) -> None:
    t = _terms(api, "newsletter")
    body = {
        "purpose": "newsletter",
        "action": action,
        "terms_version": t["version"],
        "text_hash": t["text_hash"],
        "app_version": "3.2.1",
    }
    assert api.post("/v1/consents", token=tok, json_body=body).status in (200, 201)


def _newsletter(lederne, member):
    return lederne.http.request("GET", lederne.base + "/_control/newsletter").json().get(member)


def _newsletter_calls(lederne, member) -> int:
    return len(
        [r for r in lederne.requests() if r["path"] == f"/api/newsletter/subscribers/{member}"]
    )


def _send_direct(api, token, member: str, **extra) -> str:
    body = {
        "category": "news",
        "title": {"nb": "Til deg", "en": "For you"},
        "body": {"nb": "Bare til deg.", "en": "Only for you."},
        "audience": {"kind": "member", "member_id": member},
        **extra,
    }
    resp = api.post(
        "/v1/admin/messages",
        token=token(EDITOR),
        json_body=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert resp.status == 201, resp.text
    return resp.json()["id"]


def _recipients(db_exec, message_id: str) -> list[str]:
    return sorted(
        r[0]
        for r in db_exec(
            "SELECT member_id FROM message_recipients WHERE message_id = %s", (message_id,)
        )
    )


def _inbox_ids(api, token, member) -> set[str]:
    items = api.get("/v1/inbox", token=token(member)).json()["items"]
    return {i.get("message_id") or i["id"] for i in items}


@pytest.fixture(scope="module")
def delivered(api, token, db_exec):
    """A direct message to A, delivered: its one batch holds A and nobody else."""
    message_id = _send_direct(api, token, A)
    eventually(lambda: _recipients(db_exec, message_id) == [A], timeout=30)
    assert db_exec(
        "SELECT batch, member_ids FROM message_batches WHERE message_id = %s", (message_id,)
    ) == [(0, [A])]
    return message_id


@pytest.fixture(scope="module")
def subscribed(api, token, lederne_module):
    """C subscribed to the newsletter, confirmed by the newsletter system."""
    tok = token(C)
    _consent(api, tok, "give")
    eventually(lambda: api.get("/v1/consents", token=tok).json()["newsletter_sync"]["confirmed"])
    assert _newsletter(lederne_module, C)["subscribed"] is True
    return tok


@pytest.fixture(scope="module")
def lederne_module(stack):
    from tests.conftest import LederneControl

    return LederneControl(stack.urls["lederne"])


# -- 1. no valid token: refused, nothing happens ----------------------------------------------


def _effectful_push(fn, api, token, db_exec, delivered):
    """(body, has_effect) for `fn`: a push that changes something when accepted."""
    if fn == "newsletter-sync":
        event = str(uuid.uuid4())
        body = Pusher.envelope(
            {
                "event_id": event,
                "member_id": C,
                "subscribed": True,
                "terms_version": 1,
                "occurred_at": "2026-01-01T00:00:00Z",
            }
        )
        return (
            body,
            lambda: (
                db_exec(
                    "SELECT count(*) FROM processed_events WHERE consumer = "
                    "'newsletter-sync' AND event_key = %s",
                    (event,),
                )[0][0]
                == 1
            ),
        )
    if fn == "message-fanout":
        # a scheduled message whose time has come (its outbox row is due) but which the relay
        # has not released yet: an accepted push starts its fan-out
        later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        due = _send_direct(api, token, D, send_at=later)
        db_exec(
            "UPDATE outbox SET not_before = now() - interval '1 second' "
            "WHERE id = (SELECT outbox_id FROM messages WHERE id = %s)",
            (due,),
        )
        body = Pusher.envelope({"message_id": due, "step": 0})
        return (
            body,
            lambda: db_exec("SELECT status FROM messages WHERE id = %s", (due,))[0][0] == "sent",
        )
    if fn == "message-delivery":
        # as if the batch had not been delivered yet: an accepted push delivers it again
        db_exec("DELETE FROM message_recipients WHERE message_id = %s", (delivered,))
        body = Pusher.envelope({"message_id": delivered, "batch": 0})
        return body, lambda: _recipients(db_exec, delivered) == [A]
    resp = api.post("/v1/privacy/requests", token=token(D), json_body={"kind": "restriction"})
    assert resp.status in (200, 201), resp.text
    request_id = resp.json()["id"]
    # approved, as the privacy officer's decision would leave it (its own push not sent)
    db_exec(
        "UPDATE privacy_requests SET status = 'queued', decided_by = 'test', "
        "decided_at = now() WHERE id = %s",
        (request_id,),
    )
    body = Pusher.envelope({"request_ids": [request_id]})
    return (
        body,
        lambda: (
            db_exec("SELECT status FROM privacy_requests WHERE id = %s", (request_id,))[0][0]
            == "done"
        ),
    )


@pytest.mark.parametrize("fn", PUBSUB_FUNCTIONS)
def test_a_push_without_a_valid_token_is_refused_and_has_no_effect(
    fn, pusher, api, token, db_exec, delivered, subscribed
):
    body, has_effect = _effectful_push(fn, api, token, db_exec, delivered)
    for case, authorization in bad_authorizations(pusher, fn, token(A)).items():
        resp = pusher.post(fn, body, authorization)
        assert_refused(resp, authorization)
        assert resp.status == (
            403 if case in ("another-push-account", "the-scheduler", "unverified-email") else 401
        ), case
    time.sleep(0.5)
    assert not has_effect(), f"{fn}: a refused push had an effect"
    # The same push with the token Pub/Sub would send has its effect: the refusals mattered.
    assert pusher.post(fn, body).status == 204
    eventually(has_effect, timeout=20)
    if fn == "privacy-worker":  # D was restricted by the accepted job: lift it again
        db_exec("DELETE FROM processing_restrictions WHERE member_id = %s", (D,))


# -- 2. a valid token, a forged body: at most what the database says ---------------------------


def test_a_forged_delivery_cannot_put_a_message_in_another_members_inbox(
    pusher, api, token, db_exec, delivered
):
    before_a = _inbox_ids(api, token, A)
    assert delivered in before_a and delivered not in _inbox_ids(api, token, B)
    # The attack of the issue: A's message, listing B. Not a delivery payload any more.
    forged = pusher.post(
        "message-delivery",
        Pusher.envelope({"message_id": delivered, "batch": 0, "member_ids": [B]}),
    )
    assert forged.status == 204  # acknowledged and dead-lettered, never retried
    # A batch the fan-out never formed, and the real batch again: nothing new for anyone.
    for batch in (1, 7, 0):
        assert (
            pusher.post(
                "message-delivery", Pusher.envelope({"message_id": delivered, "batch": batch})
            ).status
            == 204
        )
    time.sleep(1)
    assert _recipients(db_exec, delivered) == [A]
    assert delivered not in _inbox_ids(api, token, B)
    assert _inbox_ids(api, token, A) == before_a


def test_a_forged_newsletter_event_cannot_unsubscribe_a_member_whose_consent_is_given(
    pusher, api, lederne_module, subscribed
):
    lederne = lederne_module
    calls = _newsletter_calls(lederne, C)
    forged = {
        "event_id": str(uuid.uuid4()),
        "member_id": C,
        "subscribed": False,
        "terms_version": 1,
        "occurred_at": "2099-01-01T00:00:00Z",
    }
    assert pusher.post("newsletter-sync", Pusher.envelope(forged)).status == 204
    eventually(lambda: _newsletter_calls(lederne, C) > calls)
    assert _newsletter(lederne, C)["subscribed"] is True  # the ledger says given
    # ... and its far-future time did not freeze the member's state there: a real withdrawal
    # still reaches the newsletter system.
    _consent(api, subscribed, "withdraw")
    eventually(lambda: _newsletter(lederne, C)["subscribed"] is False, timeout=20)
    # Now forged the other way: a "subscribed" event cannot subscribe a member who withdrew.
    forged.update(event_id=str(uuid.uuid4()), subscribed=True)
    calls = _newsletter_calls(lederne, C)
    assert pusher.post("newsletter-sync", Pusher.envelope(forged)).status == 204
    eventually(lambda: _newsletter_calls(lederne, C) > calls)
    assert _newsletter(lederne, C)["subscribed"] is False


def test_a_forged_fan_out_step_cannot_send_a_scheduled_message_early_or_resend_one(
    pusher, api, token, db_exec, delivered
):
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7 * 86400))
    scheduled = _send_direct(api, token, B, send_at=later)
    for payload in (
        {"message_id": scheduled, "step": 0},
        {"message_id": delivered, "step": 0},
        {"message_id": delivered, "step": 3, "cursor": B},
    ):
        assert pusher.post("message-fanout", Pusher.envelope(payload)).status == 204
    time.sleep(1)
    assert db_exec("SELECT status FROM messages WHERE id = %s", (scheduled,)) == [("scheduled",)]
    assert db_exec("SELECT count(*) FROM message_batches WHERE message_id = %s", (scheduled,)) == [
        (0,)
    ]
    assert db_exec(
        "SELECT batch, member_ids FROM message_batches WHERE message_id = %s", (delivered,)
    ) == [(0, [A])]
    assert _recipients(db_exec, scheduled) == [] and _recipients(db_exec, delivered) == [A]
    # a step that was never queued claims nothing, so it cannot stand in for a real one
    assert db_exec(
        "SELECT count(*) FROM processed_events WHERE consumer = 'message-fanout' "
        "AND event_key IN (%s, %s)",
        (f"{delivered}:3", f"{scheduled}:0"),
    ) == [(0,)]
    assert api.post(f"/v1/admin/messages/{scheduled}/cancel", token=token(EDITOR)).status == 200


def test_a_forged_privacy_job_does_nothing_a_request_was_not_approved_for(
    pusher, api, token, db_exec
):
    resp = api.post("/v1/privacy/requests", token=token(B), json_body={"kind": "erasure"})
    assert resp.status in (200, 201), resp.text
    request_id = resp.json()["id"]
    for payload in ({"request_ids": [request_id]}, {"request_ids": [str(uuid.uuid4())]}):
        assert pusher.post("privacy-worker", Pusher.envelope(payload)).status == 204
    assert db_exec(
        "SELECT status, member_id FROM privacy_requests WHERE id = %s", (request_id,)
    ) == [("received", B)]
    assert db_exec("SELECT count(*) FROM processing_restrictions WHERE member_id = %s", (B,)) == [
        (0,)
    ]


# -- 3. replayed: no second effect ------------------------------------------------------------


def test_a_replayed_push_has_no_second_effect(
    pusher, api, token, db_exec, delivered, lederne_module, subscribed
):
    direct = _send_direct(api, token, B)
    eventually(lambda: _recipients(db_exec, direct) == [B], timeout=30)
    inbox_before = _inbox_ids(api, token, B)
    body = Pusher.envelope({"message_id": direct, "batch": 0}, message_id="replayed-1")
    for _ in range(3):
        assert pusher.post("message-delivery", body).status == 204
    assert _recipients(db_exec, direct) == [B] and _inbox_ids(api, token, B) == inbox_before
    event = str(uuid.uuid4())
    body = Pusher.envelope(
        {
            "event_id": event,
            "member_id": C,
            "subscribed": False,
            "terms_version": 1,
            "occurred_at": "2026-01-01T00:00:00Z",
        }
    )
    for _ in range(3):
        assert pusher.post("newsletter-sync", body).status == 204
    assert db_exec("SELECT count(*) FROM processed_events WHERE event_key = %s", (event,)) == [(1,)]
    assert db_exec(
        "SELECT count(*) FROM audit_events WHERE actor = 'newsletter-sync' AND "
        "at > now() - interval '1 minute' AND member_pseudonym IS NOT NULL"
    ) >= [(1,)]


def test_a_forged_or_replayed_terms_notice_tells_nobody_twice(pusher, api, token, db_exec):
    """The event names a version; who is told, and whether at all, is the database's."""

    def told(since):
        return db_exec(
            "SELECT count(*) FROM messages WHERE concerns = 'terms' AND created_at >= %s",
            (since,),
        )[0][0]

    start = db_exec("SELECT now()")[0][0]
    # A version that is not material, one that does not exist, a purpose that does not:
    # acknowledged, nobody told. Without a push token: refused.
    for payload in (
        {"purpose": "newsletter", "version": 1},
        {"purpose": "newsletter", "version": 9999},
        {"purpose": "nothing", "version": 1},
    ):
        assert pusher.post("terms-notice", Pusher.envelope(payload)).status == 204
        assert_refused(pusher.post("terms-notice", Pusher.envelope(payload), None), None)
    time.sleep(0.5)
    assert told(start) == 0
    # A real material change is told once, to the members whose consent it affects (A among
    # them) ...
    _consent(api, token(A), "give")
    suffix = uuid.uuid4().hex[:6]
    resp = api.post(
        "/v1/admin/consent-terms",
        token=token("personvern"),
        json_body={
            "purpose": "newsletter",
            "material": True,
            "title": {"nb": f"Nyhetsbrev {suffix}", "en": f"Newsletter {suffix}"},
            "text": {"nb": f"Ny tekst {suffix}", "en": f"New text {suffix}"},
            "changes": {"nb": "Oftere.", "en": "More often."},
        },
    )
    assert resp.status == 201, resp.text
    published = resp.json()
    eventually(lambda: told(start) == published["notified"] > 0, timeout=30)
    [(notified_at,)] = db_exec(
        "SELECT notified_at FROM consent_terms WHERE purpose = 'newsletter' AND version = %s",
        (published["version"],),
    )
    # ... and its event replayed, with new message ids as a replay from the dead letters
    # would have, tells nobody again.
    payload = {"purpose": "newsletter", "version": published["version"]}
    for _ in range(3):
        assert pusher.post("terms-notice", Pusher.envelope(payload)).status == 204
    time.sleep(0.5)
    assert told(start) == published["notified"]
    assert db_exec(
        "SELECT notified_at FROM consent_terms WHERE purpose = 'newsletter' AND version = %s",
        (published["version"],),
    ) == [(notified_at,)]
    _consent(api, token(A), "withdraw")


# -- 4. undecodable pushes: acknowledged and dead-lettered at once, nothing echoed ---------------


def _dead_letters(pubsub, topic: str, wait: float = 15.0) -> list:
    name = f"projects/{pubsub.project}/subscriptions/{topic}-inspect"
    found, deadline = [], time.monotonic() + wait
    while time.monotonic() < deadline:
        resp = pubsub.sub.pull(subscription=name, max_messages=50, return_immediately=True)
        if resp.received_messages:
            pubsub.sub.acknowledge(
                subscription=name, ack_ids=[m.ack_id for m in resp.received_messages]
            )
            found += [m.message for m in resp.received_messages]
        elif found:
            return found
        time.sleep(0.2)
    return found


def test_an_undecodable_push_is_dead_lettered_at_once_with_its_reason(pusher, pubsub):
    marker = uuid.uuid4().hex
    good_data = base64.b64encode(b'{"request_ids": []}').decode()
    cases = {
        "not-json": b"{this is not json " + marker.encode(),
        "no-message": json.dumps({"subscription": marker}).encode(),
        "no-message-id": json.dumps(
            {"message": {"data": good_data, "attributes": {"test": marker}}}
        ).encode(),
        "no-data": json.dumps(
            {"message": {"messageId": marker + "-nd", "attributes": {"test": marker}}}
        ).encode(),
        "bad-base64": json.dumps(
            {
                "message": {
                    "data": "***not base64***",
                    "messageId": marker + "-b64",
                    "attributes": {"test": marker},
                }
            }
        ).encode(),
    }
    # a JSON string that is not UTF-8: msgspec raises a decode error of its own for it, which
    # must not become a 500 (and a redelivery every few seconds until the dead letter)
    not_utf8 = b'{"message": "\x80' + marker.encode() + b'"}'
    for reason, body in [*cases.items(), ("not-json", not_utf8)]:
        resp = pusher.post("privacy-worker", body)
        assert resp.status == 204, (reason, resp.status, resp.data)
    letters = _dead_letters(pubsub, "privacy-jobs-dead-letter")
    reasons = [
        m.attributes["dead_letter_reason"]
        for m in letters
        if m.attributes.get("source_function") == "privacy-worker"
    ]
    for reason in cases:
        assert f"malformed: {reason}" in reasons, (reason, reasons)
    assert reasons.count("malformed: not-json") >= 2, reasons
    ours = {m.attributes.get("source_message_id"): m for m in letters}
    assert ours[marker + "-b64"].attributes["test"] == marker


def test_error_pages_are_problem_json_and_echo_no_header_or_body(pusher, stack):
    for fn in ("message-delivery", "meta"):
        base = stack.function_url(fn)
        for method, path in (("GET", "/favicon.ico"), ("GET", "/"), ("PUT", "/x")):
            resp = HTTP.request(
                method,
                base + path,
                body=b"secret-body-value",
                headers={"Authorization": SECRET, "X-Private": "secret-header"},
            )
            assert resp.status in (401, 404, 405), (fn, method, path, resp.status)
            assert resp.headers["Content-Type"].startswith("application/problem+json")
            for leaked in (b"not-a-token", b"secret-body-value", b"secret-header"):
                assert leaked not in resp.data, (fn, path, resp.data)


# -- 5. token edge cases and oversized headers -----------------------------------------------


@pytest.mark.parametrize(
    "claim, value", [("exp", "9999999999"), ("nbf", "0"), ("iat", True), ("exp", [9999999999])]
)
def test_a_member_or_staff_token_whose_time_is_not_a_number_is_refused(
    api, issuer_minter, claim, value
):
    for who, roles, path in (
        ("1000021", ("member",), "/v1/consents"),
        ("redaktor", ("staff", "editor"), "/v1/admin/messages"),
    ):
        bad = issuer_minter.token(who, roles=roles, **{claim: value})
        resp = api.get(path, token=bad)
        assert resp.status == 401 and resp.headers["Content-Type"].startswith(
            "application/problem+json"
        )


def test_headers_too_large_get_431_problem_json_from_the_gateway(stack, api):
    url = stack.urls["gateway"] + "/v1/health"
    ok = HTTP.request("GET", url, headers={f"X-Padding-{i}": "a" * 4000 for i in range(3)})
    assert ok.status == 200
    for headers in (
        {"X-Padding": "a" * 9000},
        {"X-Padding": "a" * 20000},
        {f"X-Padding-{i}": "b" * 1000 for i in range(30)},
    ):
        resp = HTTP.request("GET", url, headers=headers)
        assert resp.status == 431
        assert resp.headers["Content-Type"].startswith("application/problem+json")
        assert json.loads(resp.data)["status"] == 431 and b"aaaa" not in resp.data
