"""Fixtures shared by the integration and e2e tests.

One local stack (PostgreSQL, emulators, stand-ins, every function, the gateway) is started
for the whole test run, on free ports in a temporary directory, exactly as `make run` starts
it, so the tests exercise the same wiring a developer uses. Unit tests do not touch it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import urllib3

from infra.local import stack as stack_mod
from tests.support import examples as _examples  # noqa: F401  (loads the hypothesis profile)
from tests.support import openapi
from tests.support.postgres_only import cur, sql_cluster  # noqa: F401 (fixtures)
from tests.support.tokens import Minter, load_key

#: Tight timeouts so fault tests finish quickly; production defaults are in config.SETTINGS.
TEST_ENV = {
    "LEDERNE_API_TIMEOUT_SECONDS": "1",
    "DB_CONNECT_TIMEOUT_SECONDS": "2",
    "LOG_LEVEL": "INFO",
}


@pytest.fixture(scope="session")
def stack():
    state_dir = Path(tempfile.mkdtemp(prefix="lederappen-test-"))
    # 400 register members: each e2e file works on its own slice of demo_data.generate_members
    # (the first 300 are the demo register's; the rest give later features their own).
    s = stack_mod.Stack(state_dir, port_base=None, extra_env=TEST_ENV, register_members=400)
    try:
        s.start()
    except Exception:
        s.stop()
        raise
    yield s
    s.stop()
    if os.environ.get("KEEP_TEST_STACK"):
        print(f"\ntest stack state and logs kept in {state_dir}")
    else:
        shutil.rmtree(state_dir, ignore_errors=True)


@dataclass
class Response:
    status: int
    headers: urllib3.HTTPHeaderDict
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.data)


class Client:
    """The app's view: HTTP to one base URL; every answer is checked against the OpenAPI doc."""

    def __init__(self, base: str, check_openapi: bool = True):
        self.base = base.rstrip("/")
        self.http = urllib3.PoolManager(timeout=urllib3.Timeout(total=15), retries=False)
        self.check_openapi = check_openapi

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body=None,
        body: bytes | None = None,
        headers: dict | None = None,
    ) -> Response:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            h.setdefault("Content-Type", "application/json")
        r = self.http.request(method, self.base + path, body=body, headers=h)
        resp = Response(r.status, r.headers, r.data)
        if self.check_openapi:
            openapi.check(method, path, resp.status, r.headers.get("Content-Type", ""), r.data)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture(scope="session")
def api(stack) -> Client:
    return Client(stack.urls["gateway"])


@pytest.fixture(scope="session")
def token(stack):
    """token(username) -> a fresh ID token from the lederne.no stand-in (member id or staff)."""
    cache: dict[str, str] = {}

    def get(username: str) -> str:
        if username not in cache:
            cache[username] = stack_mod.fetch_token(stack.urls["lederne"], username)
        return cache[username]

    return get


@pytest.fixture(scope="session")
def issuer_minter(stack) -> Minter:
    """Signs tokens with the stand-in issuer's real key, for the bad-token cases."""
    return Minter(load_key(stack.key_file), stack.urls["lederne"], stack.env["OIDC_AUDIENCE"])


class LederneControl:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.http = urllib3.PoolManager()

    def fault(self, **spec) -> None:
        r = self.http.request("POST", self.base + "/_control/faults", json=spec)
        assert r.status == 204, r.data

    def reset(self) -> None:
        r = self.http.request("POST", self.base + "/_control/reset")
        assert r.status == 204, r.data

    def requests(self) -> list[dict]:
        return json.loads(self.http.request("GET", self.base + "/_control/requests").data)


@pytest.fixture()
def lederne(stack):
    control = LederneControl(stack.urls["lederne"])
    yield control
    control.reset()


@pytest.fixture(scope="session")
def db_exec(stack):
    """Runs one SQL statement as the app role (for arranging test data)."""

    def run(sql: str, params: tuple = ()):
        conn = stack.cluster.connect()
        try:
            cur = conn.cursor()
            cur.execute(sql, params)
            rows = [tuple(r) for r in cur.fetchall()] if cur.description else None
            conn.commit()
            return rows
        finally:
            conn.close()

    return run


@pytest.fixture(scope="module")
def pseudonyms(stack):
    """Configures pseudonymisation with the stack's key, as every function's entry does (audit
    entries are written by pseudonym); returns `log.pseudonym`. Per test module: the key is a
    module global that tests building functions in process (create_app) set to their own."""
    import base64

    from lederappen.core import log

    log.configure(base64.b64decode(stack.env["PSEUDONYM_KEY"]))
    return log.pseudonym


@pytest.fixture()
def rolled_back(stack, pseudonyms):
    """A cursor as the app role in a transaction that is rolled back: nothing the test does
    is ever committed."""
    conn = stack.cluster.connect()
    yield conn.cursor()
    conn.rollback()
    conn.close()


class PubsubTool:
    """Publish raw messages to the emulator and read dead letters, as staff tooling would."""

    def __init__(self, stack):
        from infra.local import emulators

        self.project = emulators.PROJECT
        self.pub, self.sub = emulators.clients(stack.urls["pubsub"])

    def publish(self, topic: str, data: bytes, **attributes) -> str:
        return self.pub.publish(
            topic=f"projects/{self.project}/topics/{topic}",
            messages=[{"data": data, "attributes": attributes}],
        ).message_ids[0]

    def pull_dead_letters(self, dead_letter_topic: str, wait: float = 20.0) -> list:
        import time as _time

        name = f"projects/{self.project}/subscriptions/{dead_letter_topic}-inspect"
        deadline = _time.monotonic() + wait
        while _time.monotonic() < deadline:
            resp = self.sub.pull(subscription=name, max_messages=10, return_immediately=True)
            if resp.received_messages:
                self.sub.acknowledge(
                    subscription=name, ack_ids=[m.ack_id for m in resp.received_messages]
                )
                return [m.message for m in resp.received_messages]
            _time.sleep(0.2)
        return []


@pytest.fixture(scope="session")
def pubsub(stack) -> PubsubTool:
    return PubsubTool(stack)


def eventually(check, timeout: float = 15.0, interval: float = 0.1):
    """Polls `check()` until it returns something truthy; fails with its last value."""
    import time as _time

    deadline = _time.monotonic() + timeout
    value = None
    while _time.monotonic() < deadline:
        value = check()
        if value:
            return value
        _time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {value!r})")


def pytest_collection_modifyitems(config, items):
    """The fuzz runs (marker `fuzz`) go last: their staff operations change shared state."""
    items.sort(key=lambda item: item.get_closest_marker("fuzz") is not None)
