"""The FCM HTTP v1 transport (F9) against the real FCM stand-in, served in-process.

The stand-in (`infra.local.fcm_standin.build_app()`) runs on a free port of 127.0.0.1 in a
background thread of its own; `/_control/tokens` and `/_control/faults` make chosen tokens or
all requests fail, slow or throttle. No local stack is needed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
import time
import urllib.request
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiohttp import web

from infra.local import aioserve, fcm_standin
from lederappen.core import log
from lederappen.notifications import fcm
from lederappen.notifications.fcm import Outcome, Sender

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "lederappen-local"


class Standin:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.sock = aioserve.bind_socket("127.0.0.1", 0)
        self.base = aioserve.base_url(*self.sock.getsockname()[:2])
        self.runner = web.AppRunner(fcm_standin.build_app(), access_log=None,
                                    shutdown_timeout=0.2)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self._run(self._start())

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _start(self) -> None:
        await self.runner.setup()
        await web.SockSite(self.runner, self.sock).start()

    def stop(self) -> None:
        self._run(self.runner.cleanup())
        self._run(self._cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    @staticmethod
    async def _cancel_the_rest() -> None:  # handlers still in an injected delay
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def control(self, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     method="GET" if body is None else "POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def behave(self, token: str, behaviour: str, times: int | None = None,
               retry_after: int = 1) -> None:
        self.control("/_control/tokens", {"token": token, "behaviour": behaviour,
                                          "times": times, "retry_after": retry_after})

    def fault(self, **rule) -> None:
        self.control("/_control/faults", rule)

    def delivered(self, token: str) -> list[dict]:
        return self.control(f"/_control/messages?token={token}")

    def stats(self) -> dict:
        return self.control("/_control/stats")


@pytest.fixture(scope="module")
def standin():
    s = Standin()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _clean(standin):
    standin.control("/_control/reset", {})
    yield


@pytest.fixture
def make_sender(standin):
    made: list[Sender] = []

    def make(**options) -> Sender:
        endpoint = options.pop("endpoint", standin.base)
        s = Sender(endpoint, PROJECT, **options)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def msg(token: str, **extra) -> dict:
    return {"token": token, "notification": {"title": "Hei", "body": "Nytt kurs"},
            "data": {"kind": "course"}, **extra}


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
        [msg(tokens[k].format(i)) for i, k in enumerate(order)])
    expected = {"ok": Outcome("sent", 200, None, 1, None),
                "dead": Outcome("unregistered", 404, "UNREGISTERED", 1, None),
                "gone": Outcome("unregistered", 404, "UNREGISTERED", 1, None),
                "bad": Outcome("invalid_token", 400, "INVALID_ARGUMENT", 1, None)}
    assert outcomes == [expected[k] for k in order]


def test_a_non_token_400_fails_without_a_retry(standin, make_sender):
    before = standin.stats()["by_status"].get("400", 0)
    (outcome,) = make_sender().send_all([msg("big-1", data={"blob": "x" * 5000})])
    assert outcome == Outcome("failed", 400, "INVALID_ARGUMENT", 1, None)
    assert standin.stats()["by_status"].get("400", 0) == before + 1


def test_sender_id_mismatch_is_an_invalid_token_and_a_404_must_say_unregistered(
        standin, make_sender):
    standin.fault(status=403, count=1)
    assert make_sender().send_all([msg("other-sender")]) == [
        Outcome("invalid_token", 403, "SENDER_ID_MISMATCH", 1, None)]
    # A wrong URL answers 404 without UNREGISTERED: that must not prune the device.
    wrong = make_sender(endpoint=standin.base + "/not-fcm")
    (outcome,) = wrong.send_all([msg("kept")])
    assert outcome.status == "failed" and outcome.http_status == 404 and outcome.attempts == 1


def test_unencodable_message_fails_alone(make_sender):
    outcomes = make_sender().send_all([msg("a"), {"token": "b", "data": {"x": object()}}])
    assert [o.status for o in outcomes] == ["sent", "failed"]
    assert outcomes[1].attempts == 0


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
    t0 = time.monotonic()
    (outcome,) = make_sender(deadline_seconds=2.5, max_attempts=10).send_all([msg("down-1")])
    elapsed = time.monotonic() - t0
    assert outcome == Outcome("retryable", 503, "UNAVAILABLE", 3, 1.0)
    assert elapsed < 2.5


def test_max_attempts_bounds_the_retries(standin, make_sender):
    standin.behave("down-2", "unavailable", retry_after=0)
    (outcome,) = make_sender(max_attempts=2).send_all([msg("down-2")])
    assert outcome == Outcome("retryable", 503, "UNAVAILABLE", 2, 0.0)


def test_an_internal_error_then_ok_is_sent(standin, make_sender):
    standin.behave("flaky-1", "internal", times=1)
    (outcome,) = make_sender().send_all([msg("flaky-1")])
    assert outcome == Outcome("sent", 200, None, 2, None)
    assert len(standin.delivered("flaky-1")) == 1


def test_timeouts_and_connection_errors_are_retried_then_retryable(standin, make_sender):
    standin.fault(delay_ms=600, count=2)
    t0 = time.monotonic()
    (outcome,) = make_sender(request_timeout=0.2, max_attempts=2).send_all([msg("slow-1")])
    assert outcome == Outcome("retryable", None, None, 2, None)
    assert time.monotonic() - t0 < 1.5
    # The deadline cuts a request short, whatever its own timeout.
    standin.fault(delay_ms=3000, count=1)
    t0 = time.monotonic()
    (outcome,) = make_sender(deadline_seconds=0.5).send_all([msg("slow-2")])
    assert outcome.status == "retryable" and outcome.http_status is None
    assert time.monotonic() - t0 < 1.0
    # Nothing listens: connection refused.
    closed = aioserve.bind_socket("127.0.0.1", 0)
    port = closed.getsockname()[1]
    closed.close()
    (outcome,) = make_sender(endpoint=f"http://127.0.0.1:{port}", max_attempts=2).send_all(
        [msg("nowhere")])
    assert outcome == Outcome("retryable", None, None, 2, None)


def test_a_401_refreshes_the_token_once(standin, make_sender):
    calls = []

    def rotating() -> str:
        calls.append(1)
        return "" if len(calls) == 1 else "fresh"  # the stand-in rejects an empty bearer

    assert make_sender(token_source=rotating).send_all([msg("auth-1"), msg("auth-2")]) == [
        Outcome("sent", 200, None, 2, None)] * 2
    assert len(calls) == 2  # one refresh for both messages
    (outcome,) = make_sender(token_source=lambda: "").send_all([msg("auth-3")])
    assert outcome == Outcome("failed", 401, "UNAUTHENTICATED", 2, None)


def test_no_access_token_makes_every_message_retryable(make_sender):
    def broken() -> str:
        raise RuntimeError("metadata server down")

    outcomes = make_sender(token_source=broken).send_all([msg("a"), msg("b")])
    assert [o.status for o in outcomes] == ["retryable", "retryable"]


# -- concurrency and threads ------------------------------------------------------------


def test_concurrency_is_bounded(standin, make_sender):
    standin.fault(delay_ms=200)
    t0 = time.monotonic()
    outcomes = make_sender(concurrency=4).send_all([msg(f"c4-{i}") for i in range(12)])
    bounded = time.monotonic() - t0
    t0 = time.monotonic()
    make_sender(concurrency=12).send_all([msg(f"c12-{i}") for i in range(12)])
    wide = time.monotonic() - t0
    assert all(o.status == "sent" for o in outcomes)
    assert 0.58 <= bounded < 1.2  # three rounds of four
    assert wide < 0.45  # one round of twelve


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
            "unregistered" if i % (t + 2) == 0 else "sent" for i in range(120)]


# -- logs, tokens, settings -------------------------------------------------------------


def test_no_token_or_payload_reaches_the_logs(standin, make_sender, capsys, caplog):
    log.configure(b"k" * 32)
    caplog.set_level(logging.DEBUG)
    secret = "tok-SECRET-4711"
    standin.behave(secret + "-bad", "invalid")
    standin.behave(secret + "-down", "unavailable", times=1, retry_after=0)
    batch = [msg(secret), msg("dead-" + secret), msg(secret + "-bad"), msg(secret + "-down"),
             msg(secret + "-big", data={"blob": "PAYLOAD-SECRET" * 400})]
    outcomes = make_sender(token_source=lambda: "bearer-SECRET").send_all(batch)
    assert [o.status for o in outcomes] == ["sent", "unregistered", "invalid_token", "sent",
                                            "failed"]
    out, err = capsys.readouterr()
    text = out + err + caplog.text
    for needle in ("SECRET", "Nytt kurs"):
        assert needle not in text
    summary = [json.loads(line) for line in out.splitlines() if "fcm send_all" in line]
    assert summary and summary[-1]["sent"] == 2 and summary[-1]["failed"] == 1
    assert summary[-1]["unregistered"] == 1 and summary[-1]["invalid_token"] == 1
    assert "SECRET" not in repr(outcomes)


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)
    assert fcm.parse_retry_after("7") == 7.0
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert fcm.parse_retry_after(later, now=now.timestamp()) == 30.0
    assert fcm.parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True),
                                 now=now.timestamp()) == 0.0
    assert fcm.parse_retry_after("soon") is None and fcm.parse_retry_after(None) is None


def test_backoff_has_full_jitter_a_cap_and_honours_retry_after():
    for retry in range(1, 10):
        cap = min(10.0, 0.5 * 2 ** (retry - 1))
        assert all(0 <= fcm.backoff(retry) <= cap for _ in range(50))
    assert fcm.backoff(1, retry_after=3.0) == 3.0


def test_token_field_violations_mark_an_invalid_token():
    body = json.dumps({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "x",
                                 "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                              "fieldViolations": [{"field": "message.token"}]}]}})
    assert fcm.classify(400, body.encode()) == ("invalid_token", "INVALID_ARGUMENT")
    assert fcm.classify(400, b"not json") == ("failed", None)
    assert fcm.classify(403, b"{}")[0] == "failed"


def test_one_sender_per_process_and_the_right_token_source():
    local = SimpleNamespace(fcm_endpoint="http://127.0.0.1:1", google_cloud_project="p")
    google = SimpleNamespace(fcm_endpoint="https://fcm.googleapis.com", google_cloud_project="p")
    a = fcm.sender(local)
    try:
        assert fcm.sender(local) is a
        assert a._token_source() == "local-standin"
        assert isinstance(fcm.sender(google)._token_source, fcm.GoogleAccessToken)
        assert a.url == "http://127.0.0.1:1/v1/projects/p/messages:send"
    finally:
        for s in (a, fcm.sender(google)):
            s.close()


def test_importing_the_module_does_not_import_aiohttp():
    code = ("import sys; import lederappen.notifications.fcm as f; "
            "assert 'aiohttp' not in sys.modules, 'aiohttp imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT / "functions", check=True,
                   timeout=30)


def test_google_access_token_is_refreshed_only_when_near_expiry_or_rejected(monkeypatch):
    class Credentials:
        def __init__(self) -> None:
            self.token, self.expiry, self.refreshes = None, None, 0

        @property
        def valid(self) -> bool:
            return self.token is not None

        def refresh(self, request) -> None:
            self.refreshes += 1
            self.token = f"access-{self.refreshes}"
            self.expiry = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(hours=1)

    creds = Credentials()
    asked = []

    def default(scopes=None):
        asked.append(scopes)
        return creds, "p"

    monkeypatch.setattr("google.auth.default", default)
    source = fcm.GoogleAccessToken()
    assert source() == "access-1" and source() == "access-1"
    assert asked == [["https://www.googleapis.com/auth/firebase.messaging"]]
    creds.expiry = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=100)
    assert source() == "access-2"  # within five minutes of expiry
    source.invalidate()
    assert source() == "access-3" and source() == "access-3"
