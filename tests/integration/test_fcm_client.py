"""The FCM sender (F9): firebase-admin's async send against the real FCM stand-in.

The stand-in (`infra.local.fcm_standin.build_app()`, as strict as FCM) runs on a free port of
127.0.0.1 in a background thread of its own (tests/support/fcm.py); `/_control/tokens` and
`/_control/faults` make chosen tokens or all requests fail, slow or throttle. No local stack
is needed.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from firebase_admin import exceptions, messaging
from lederappen.core import log
from lederappen.notifications import fcm
from lederappen.notifications.fcm import Outcome, Sender

from infra.local import aioserve
from tests.support.fcm import PROJECT, Standin

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def standin():
    s = Standin()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _clean(standin):
    standin.control("/_control/reset", {})
    yield


@pytest.fixture(params=["aiohttp", "streams", "sdk"])
def transport(request) -> str:
    """Every behaviour holds for both transports: the hand-written one (aiohttp, posting the
    SDK's encoding) and the SDK's own (send_each_async over httpx)."""
    return request.param


@pytest.fixture
def make_sender(standin, transport):
    made: list[Sender] = []

    def make(**options) -> Sender:
        options.setdefault("transport", transport)
        endpoint = options.pop("endpoint", standin.base)
        source = options.pop("token_source", None)
        if source is not None:
            options["credential"] = fcm.static_credential(source)
        s = Sender(endpoint, PROJECT, **options)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def msg(token: str, **extra) -> messaging.Message:
    fields = {
        "notification": messaging.Notification(title="Hei", body="Nytt kurs"),
        "data": {"kind": "course"},
        **extra,
    }
    return messaging.Message(token=token, **fields)


def warm(sender: Sender) -> Sender:
    """Makes the sender's SDK app and first connection, so timings measure sends only."""
    assert sender.send_all([msg("warm-up")])[0].status == "sent"
    return sender


# -- outcomes ---------------------------------------------------------------------------


def test_all_messages_are_sent_once_each_with_the_message_as_given(standin, make_sender):
    outcomes = make_sender().send_all([msg(f"ok-{i}", data={"n": str(i)}) for i in range(50)])
    assert outcomes == [Outcome("sent", 200, None, 1, None)] * 50
    (delivered,) = standin.delivered("ok-7")
    assert delivered["data"] == {"n": "7"} and delivered["notification"]["title"] == "Hei"
    assert standin.stats()["delivered"] == 50


def test_dead_unregistered_and_invalid_tokens_and_the_order_of_outcomes(standin, make_sender):
    standin.behave("gone-1", "unregistered")
    standin.behave("bad-1", "invalid")
    kinds = ["ok", "dead", "gone", "bad"]
    tokens = {"ok": "fine-{}", "dead": "dead-{}", "gone": "gone-1", "bad": "bad-1"}
    order = [kinds[(i * 7) % 4] for i in range(200)]
    outcomes = make_sender(concurrency=16).send_all(
        [msg(tokens[k].format(i)) for i, k in enumerate(order)]
    )
    expected = {
        "ok": Outcome("sent", 200, None, 1, None),
        "dead": Outcome("unregistered", 404, "UNREGISTERED", 1, None),
        "gone": Outcome("unregistered", 404, "UNREGISTERED", 1, None),
        "bad": Outcome("invalid_token", 400, "INVALID_ARGUMENT", 1, None),
    }
    assert outcomes == [expected[k] for k in order]


def test_a_non_token_400_fails_without_a_retry(standin, make_sender):
    before = standin.stats()["by_status"].get("400", 0)
    (outcome,) = make_sender().send_all([msg("big-1", data={"blob": "x" * 5000})])
    assert outcome == Outcome("failed", 400, "INVALID_ARGUMENT", 1, None)
    assert standin.stats()["by_status"].get("400", 0) == before + 1


def test_sender_id_mismatch_is_an_invalid_token_and_a_404_must_say_unregistered(
    standin, make_sender
):
    standin.fault(status=403, count=1)
    assert make_sender().send_all([msg("other-sender")]) == [
        Outcome("invalid_token", 403, "SENDER_ID_MISMATCH", 1, None)
    ]
    # A wrong URL answers 404 without UNREGISTERED: that must not prune the device.
    wrong = make_sender(endpoint=standin.base + "/not-fcm")
    (outcome,) = wrong.send_all([msg("kept")])
    assert outcome.status == "failed" and outcome.http_status == 404 and outcome.attempts == 1


def test_a_message_the_sdk_refuses_to_build_fails_alone_unsent(standin, make_sender):
    bad = [
        messaging.Message(token="b", data={"x": object()}),
        messaging.Message(token="c", android=messaging.AndroidConfig(ttl="abc")),
        messaging.Message(token="d", topic="news"),
    ]
    outcomes = make_sender().send_all([msg("a"), *bad])
    assert outcomes[0].status == "sent"
    assert outcomes[1:] == [Outcome("failed", None, "INVALID_MESSAGE", 0, None)] * 3
    assert standin.stats()["received"] == 1


def test_pushes_encoded_once_per_variant_reach_the_strict_stand_in_as_given(standin):
    """push.Pushes' bodies (the SDK's encoding of a variant, the token put in per device),
    sent by the aiohttp transport, pass the strict stand-in and say what the SDK would; a
    dead token among them is still read through the SDK's typed exceptions."""
    from lederappen.notifications import push
    from lederappen.notifications.message import parse

    m = parse(
        {
            "message_id": "6f1c2a4e-9b1d-4a57-8d0e-1f2a3b4c5d6e",
            "category": "news",
            "title": {"nb": "Nytt", "en": "News"},
            "body": {"nb": "Les mer.", "en": "Read more."},
        }
    )
    pushes = push.Pushes(m)
    tokens = [f"ok-{i}" for i in range(20)] + ["dead-1"]
    s = Sender(standin.base, PROJECT, transport="streams")
    try:
        outcomes = s.send_all(
            [pushes.request(t, "en" if i % 2 else "nb", None) for i, t in enumerate(tokens)]
        )
    finally:
        s.close()
    assert [o.status for o in outcomes] == ["sent"] * 20 + ["unregistered"]
    (got,) = standin.delivered("ok-3")
    got.pop("received_at", None)
    assert got == push.encoded(push.fcm_message(m, "ok-3", "en", None))
    assert standin.delivered("ok-4")[0]["notification"]["title"] == "Nytt"


# -- retries ----------------------------------------------------------------------------


def test_quota_is_retried_after_retry_after_and_pauses_every_send(standin, make_sender):
    s = make_sender()
    standin.behave("quota-1", "quota", times=2, retry_after=1)
    result: list[Outcome] = []
    t0 = time.monotonic()
    thread = threading.Thread(target=lambda: result.extend(s.send_all([msg("quota-1")])))
    thread.start()
    while standin.stats()["by_status"].get("429", 0) < 1:
        time.sleep(0.01)
    time.sleep(0.1)  # the SDK reads the answer and raises QuotaExceededError
    # Another send of the same Sender waits for the project's quota to come back.
    t1 = time.monotonic()
    assert s.send_all([msg("bystander")])[0].status == "sent"
    waited = time.monotonic() - t1
    thread.join()
    elapsed = time.monotonic() - t0
    assert result == [Outcome("sent", 200, None, 3, 1.0)]
    assert elapsed >= 2.0 - 0.05  # two 429s, each with Retry-After: 1
    assert waited >= 0.5


def test_unavailable_forever_is_retryable_within_the_deadline(standin, make_sender):
    standin.behave("down-1", "unavailable", retry_after=1)
    s = warm(make_sender(deadline_seconds=2.5, max_attempts=10))
    t0 = time.monotonic()
    (outcome,) = s.send_all([msg("down-1")])
    elapsed = time.monotonic() - t0
    # the SDK retries a 503 itself (0 s, 1 s, 2 s, ...); the deadline cuts that short
    assert outcome.status == "retryable" and outcome.attempts >= 1
    assert standin.stats()["by_status"]["503"] >= 2
    assert elapsed < 3.0


def test_max_attempts_bounds_the_retries(standin, make_sender):
    standin.behave("busy-2", "quota", retry_after=0)
    (outcome,) = make_sender(max_attempts=2).send_all([msg("busy-2")])
    assert outcome == Outcome("retryable", 429, "QUOTA_EXCEEDED", 2, 0.0)
    assert standin.stats()["by_status"]["429"] == 2


def test_an_internal_error_then_ok_is_sent(standin, make_sender):
    standin.behave("flaky-1", "internal", times=1)
    s = make_sender()
    (outcome,) = s.send_all([msg("flaky-1")])
    if s.transport == "sdk":  # the SDK retries a 500 itself, within one send
        assert outcome == Outcome("sent", 200, None, 1, None)
    else:
        assert outcome == Outcome("sent", 200, None, 2, None)
    assert standin.stats()["by_status"] == {"500": 1, "200": 1}
    assert len(standin.delivered("flaky-1")) == 1


def test_timeouts_and_connection_errors_are_retried_then_retryable(standin, make_sender):
    s = warm(make_sender(request_timeout=0.2, max_attempts=2))
    standin.fault(delay_ms=600, count=2)
    t0 = time.monotonic()
    (outcome,) = s.send_all([msg("slow-1")])
    assert outcome == Outcome("retryable", None, None, 2, None)
    assert time.monotonic() - t0 < 1.5
    # The deadline cuts a request short, whatever its own timeout.
    s = warm(make_sender(deadline_seconds=0.5))
    standin.fault(delay_ms=3000, count=1)
    t0 = time.monotonic()
    (outcome,) = s.send_all([msg("slow-2")])
    assert outcome.status == "retryable" and outcome.http_status is None
    assert time.monotonic() - t0 < 1.0
    # Nothing listens: connection refused.
    closed = aioserve.bind_socket("127.0.0.1", 0)
    port = closed.getsockname()[1]
    closed.close()
    (outcome,) = make_sender(endpoint=f"http://127.0.0.1:{port}", max_attempts=2).send_all(
        [msg("nowhere")]
    )
    assert outcome == Outcome("retryable", None, None, 2, None)


def test_a_401_refreshes_the_access_token_and_sends_again(standin, make_sender):
    calls = []

    def rotating() -> str:
        calls.append(1)
        return f"access-{len(calls)}"

    s = warm(make_sender(token_source=rotating))
    assert len(calls) == 1
    standin.fault(status=401, count=1)  # FCM no longer takes the current access token
    assert s.send_all([msg("auth-1")]) == [Outcome("sent", 200, None, 1, None)]
    assert len(calls) == 2 and standin.stats()["by_status"]["401"] == 1
    standin.fault(status=401)  # nor any other: one refresh (two in the SDK), then give up
    (outcome,) = s.send_all([msg("auth-2")])
    assert outcome == Outcome("failed", 401, "THIRD_PARTY_AUTH_ERROR", 1, None)
    assert len(calls) == (4 if s.transport == "sdk" else 3)


def test_no_access_token_makes_every_message_retryable(make_sender):
    def broken() -> str:
        raise RuntimeError("metadata server down")

    outcomes = make_sender(token_source=broken).send_all([msg("a"), msg("b")])
    assert [o.status for o in outcomes] == ["retryable", "retryable"]


# -- concurrency and threads ------------------------------------------------------------


def test_concurrency_is_bounded(standin, make_sender):
    narrow, wide_sender = warm(make_sender(concurrency=4)), warm(make_sender(concurrency=12))
    standin.fault(delay_ms=200)
    t0 = time.monotonic()
    outcomes = narrow.send_all([msg(f"c4-{i}") for i in range(12)])
    bounded = time.monotonic() - t0
    t0 = time.monotonic()
    wide_sender.send_all([msg(f"c12-{i}") for i in range(12)])
    wide = time.monotonic() - t0
    assert all(o.status == "sent" for o in outcomes)
    assert 0.58 <= bounded < 1.5  # three rounds of four
    assert wide < 0.55  # one round of twelve (the machine is shared: slack)


def test_send_all_from_several_threads_at_once(standin, make_sender):
    s = make_sender(concurrency=8)
    results: dict[int, list[Outcome]] = {}

    def run(t: int) -> None:
        batch = [msg(f"dead-{t}-{i}" if i % (t + 2) == 0 else f"t{t}-{i}") for i in range(120)]
        results[t] = s.send_all(batch)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(4):
        assert [o.status for o in results[t]] == [
            "unregistered" if i % (t + 2) == 0 else "sent" for i in range(120)
        ]


# -- logs, tokens, settings -------------------------------------------------------------


def test_no_token_or_payload_reaches_the_logs(standin, make_sender, capsys, caplog):
    log.configure(b"k" * 32)
    caplog.set_level(logging.DEBUG)
    secret = "tok-SECRET-4711"
    standin.behave(secret + "-bad", "invalid")
    standin.behave(secret + "-down", "unavailable", times=1, retry_after=0)
    batch = [
        msg(secret),
        msg("dead-" + secret),
        msg(secret + "-bad"),
        msg(secret + "-down"),
        msg(secret + "-big", data={"blob": "PAYLOAD-SECRET" * 400}),
    ]
    outcomes = make_sender(token_source=lambda: "bearer-SECRET").send_all(batch)
    assert [o.status for o in outcomes] == [
        "sent",
        "unregistered",
        "invalid_token",
        "sent",
        "failed",
    ]
    out, err = capsys.readouterr()
    text = out + err + caplog.text
    for needle in ("SECRET", "Nytt kurs"):
        assert needle not in text
    summary = [json.loads(line) for line in out.splitlines() if "fcm send_all" in line]
    assert summary and summary[-1]["sent"] == 2 and summary[-1]["failed"] == 1
    assert summary[-1]["unregistered"] == 1 and summary[-1]["invalid_token"] == 1
    assert "SECRET" not in repr(outcomes)


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert fcm.parse_retry_after("7") == 7.0
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert fcm.parse_retry_after(later, now=now.timestamp()) == 30.0
    assert (
        fcm.parse_retry_after(
            format_datetime(now - timedelta(seconds=5), usegmt=True), now=now.timestamp()
        )
        == 0.0
    )
    assert fcm.parse_retry_after("soon") is None and fcm.parse_retry_after(None) is None


def test_backoff_has_full_jitter_a_cap_and_honours_retry_after():
    for retry in range(1, 10):
        cap = min(10.0, 0.5 * 2 ** (retry - 1))
        assert all(0 <= fcm.backoff(retry) <= cap for _ in range(50))
    assert fcm.backoff(1, retry_after=3.0) == 3.0


def _answer(status: int, body: bytes, headers=None) -> httpx.Response:
    return httpx.Response(
        status, content=body, headers=headers, request=httpx.Request("POST", "http://127.0.0.1/x")
    )


def test_errors_are_classified_by_the_sdks_types_and_field_violations_not_text():
    about = json.dumps(
        {
            "error": {
                "code": 400,
                "status": "INVALID_ARGUMENT",
                "message": "x",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": "message.token"}],
                    }
                ],
            }
        }
    )
    bad_token = exceptions.InvalidArgumentError("x", http_response=_answer(400, about.encode()))
    assert fcm.classify(bad_token)[:3] == ("invalid_token", "INVALID_ARGUMENT", 400)
    other = about.replace("message.token", "message.data")
    # the text alone proves nothing: only FCM's field violation marks the token
    text = exceptions.InvalidArgumentError(
        "The registration token is not a valid FCM registration token",
        http_response=_answer(400, other.encode()),
    )
    assert fcm.classify(text)[0] == "failed"
    assert (
        fcm.classify(exceptions.InvalidArgumentError("x", http_response=_answer(400, b"not json")))[
            0
        ]
        == "failed"
    )
    quota = messaging.QuotaExceededError(
        "x", http_response=_answer(429, b"{}", {"Retry-After": "3"})
    )
    assert fcm.classify(quota) == ("retry", "QUOTA_EXCEEDED", 429, 3.0)
    assert (
        fcm.classify(exceptions.PermissionDeniedError("x", http_response=_answer(403, b"{}")))[0]
        == "failed"
    )
    assert fcm.classify(exceptions.UnavailableError("down"))[:3] == ("retry", None, None)


def test_one_sender_per_process_pointed_at_the_stand_in_or_google_with_adc(monkeypatch):
    from firebase_admin import credentials

    monkeypatch.setattr(
        "google.auth.default", lambda scopes=None, **kw: (fcm.static_credential("adc"), "p")
    )

    local = SimpleNamespace(fcm_endpoint="http://127.0.0.1:1", google_cloud_project="p")
    google = SimpleNamespace(fcm_endpoint="https://fcm.googleapis.com", google_cloud_project="p")
    a, g = fcm.sender(local), fcm.sender(google)
    try:
        assert fcm.sender(local) is a
        service = messaging._get_messaging_service(a.app)
        assert service._fcm_url == "http://127.0.0.1:1/v1/projects/p/messages:send"
        assert a.app.credential.get_credential().token is None  # refreshed on first send
        assert isinstance(g.app.credential, credentials.ApplicationDefault)
        assert g.app.project_id == "p"
        assert a.transport == g.transport == "streams"  # FCM_TRANSPORT's default
    finally:
        for s in (a, g):
            s.close()


def test_importing_the_module_does_not_import_the_sdk_or_an_http_client():
    code = (
        "import sys; import lederappen.notifications.fcm as f; "
        "import lederappen.notifications.push as p; "
        "bad = {'aiohttp', 'httpx', 'firebase_admin'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT / "functions", check=True, timeout=30)


def test_the_access_token_is_refreshed_before_sending_only_when_expired(standin, make_sender):
    refreshes = []

    def source() -> str:
        refreshes.append(1)
        return f"access-{len(refreshes)}"

    s = make_sender(token_source=source)
    credential = s.app.credential.get_credential()
    assert s.send_all([msg("a")])[0].status == "sent" and len(refreshes) == 1
    assert s.send_all([msg("b")])[0].status == "sent" and len(refreshes) == 1
    credential.expiry = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=60)
    assert s.send_all([msg("c")])[0].status == "sent" and len(refreshes) == 2  # near expiry
