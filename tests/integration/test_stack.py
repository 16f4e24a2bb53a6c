"""The local stack (infra/local): start, ports, PostgreSQL, Pub/Sub wiring, gateway, stop.

One stack is started for the whole module (free ports, temporary state dir) and stopped at
the end; the last test stops it itself to prove nothing is left behind, then restarts it on
the same state dir to prove the database persists. Pub/Sub is checked with a synthetic
pubsub-kind function (the manifest has none yet), served by a real functions-framework
process with `--signature-type cloudevent`, exactly as the stack serves pubsub functions.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jwt
import pg8000.dbapi
import pytest
from lederappen.core import config
from lederappen.core import manifest as manifest_mod

from infra import grants, migrate
from infra.local import emulators, fire, gateway
from infra.local.demo_data import DEMO_MEMBER_ID
from infra.local.stack import (
    PortInUse,
    Stack,
    StackError,
    fn_component,
    free_ports,
    http_status,
    port_is_free,
    read_state,
    tcp_accepts,
    terminate_groups,
)

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


# -- helpers ----------------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, pgid, state) for every process, from /proc (psutil is not a dependency)."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0].decode())
    return table


def _live_in_groups(pgids: set[int]) -> list[int]:
    return [pid for pid, (_, pgid, st) in _proc_table().items() if pgid in pgids and st not in "ZX"]


def _live_children() -> set[int]:
    me = os.getpid()
    return {pid for pid, (ppid, _, st) in _proc_table().items() if ppid == me and st not in "ZX"}


def _wait_for(predicate, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def _pubsub_function(name="test-orders", max_attempts=5) -> manifest_mod.Function:
    return manifest_mod.Function(
        name=name,
        entry_point=name.replace("-", "_"),
        kind="pubsub",
        description="test",
        uses=("pubsub",),
        topic=f"{name}-topic",
        dead_letter_topic=f"{name}-dead-letter",
        max_delivery_attempts=max_attempts,
        ack_deadline_seconds=10,
    )


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("stack"))
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture
def stack(module_stack):
    """The module's stack, started again if a test stopped it (tests may run in any order)."""
    if not module_stack.running:
        module_stack.start()
    return module_stack


# -- start, ports, state ----------------------------------------------------------------------


def test_stack_starts_every_component_on_its_own_free_port_and_records_it(stack):
    names = ["postgres", "pubsub", "firestore", "lederne", "fcm", "gateway"] + [
        fn_component(f.name) for f in manifest_mod.load().functions
    ]
    assert sorted(stack.components) == sorted(names)
    ports = [c.port for c in stack.components.values()]
    assert len(set(ports)) == len(ports)
    for name, comp in stack.components.items():
        assert comp.proc.poll() is None, f"{name} is not running"
        assert tcp_accepts(comp.port), f"{name} does not accept on {comp.port}"
        assert comp.log == stack.state_dir / "logs" / f"{name}.log" and comp.log.exists()
    state = read_state(stack.state_dir)
    assert state["status"] == "running"
    assert state["components"]["gateway"]["pid"] == stack.components["gateway"].proc.pid
    assert state["urls"]["gateway"] == stack.urls["gateway"]
    # how long it took is recorded (a figure, not a timed assertion: it depends on the load)
    assert state["startup_seconds"] == stack.startup_seconds is not None


def test_state_file_names_secret_files_but_holds_no_secret(stack):
    text = (stack.state_dir / "stack.json").read_text()
    for key in ("DB_PASSWORD", "PSEUDONYM_KEY", "LEDERNE_API_KEY"):
        assert stack.env[key] not in text
    secrets_file = stack.state_dir / "secrets.json"
    assert str(secrets_file) in text
    assert secrets_file.stat().st_mode & 0o077 == 0


def test_every_function_gets_every_setting_it_uses(stack):
    for fn in stack.functions:
        env = stack.function_env(fn.name)
        settings = config.load(fn.uses, environ=env)  # raises ConfigError naming what is missing
        assert env["FUNCTION_TARGET"] == fn.entry_point
        assert env["JOB_OIDC_AUDIENCE"] == stack.function_url(fn.name) + "/"
        assert env["GOOGLE_CLOUD_PROJECT"] == "lederappen-local"
        assert "CLOUD_SQL_INSTANCE" not in env
        if "db" in fn.uses:  # its own role, never the migrator's password
            assert settings.db_user == f"{grants.account_id(fn.name)}@lederappen-local.iam"
            assert settings.db_port == stack.ports["postgres"]
            assert env["DB_PASSWORD"] != stack.env["DB_PASSWORD"]
        else:
            assert "DB_PASSWORD" not in env
    assert len(base64.b64decode(stack.env["PSEUDONYM_KEY"])) == 32


def test_a_busy_port_is_reported_clearly_and_nothing_is_started(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        before = _live_children()
        state_dir = tmp_path / "busy"
        with pytest.raises(PortInUse) as err:
            Stack(state_dir, port_base=port).start()
        assert str(err.value) == (
            f"port {port} (gateway) is already in use — is another stack running? "
            "Stop it or pass --port-base"
        )
        assert _live_children() == before
        assert not state_dir.exists()

        cli = subprocess.run(
            [
                PY,
                "-m",
                "infra.local.stack",
                "up",
                "--port-base",
                str(port),
                "--state-dir",
                str(state_dir),
            ],
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert cli.returncode == 2
        assert cli.stderr.strip().splitlines() == [f"error: {err.value}"]
        assert not state_dir.exists()
    finally:
        holder.close()


def test_a_component_that_fails_to_start_stops_everything_and_shows_its_log(tmp_path):
    before = _live_children()
    broken = Stack(tmp_path / "broken", functions=["meta"], extra_env={"LOG_LEVEL": "LOUD"})
    with pytest.raises(StackError) as err:
        broken.start()
    message = str(err.value)
    assert message.startswith("fn-meta exited with code")
    assert "LOG_LEVEL must be one of" in message  # the function's own log lines
    assert not broken.running
    assert _wait_for(lambda: _live_children() <= before, 10)
    assert _live_in_groups({c.proc.pid for c in broken.components.values() if c.proc}) == []


# -- PostgreSQL -------------------------------------------------------------------------------


def test_postgres_accepts_the_app_role_and_migrations_are_applied(stack):
    env = stack.env
    conn = pg8000.dbapi.connect(
        user=env["DB_USER"],
        password=env["DB_PASSWORD"],
        host=env["DB_HOST"],
        port=int(env["DB_PORT"]),
        database=env["DB_NAME"],
        timeout=5,
    )
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT current_user, current_database(), (SELECT count(*) FROM schema_migrations)"
        )
        user, database, applied = cur.fetchone()
    finally:
        conn.close()
    assert (user, database) == ("lederappen", "lederappen")
    assert applied == len(migrate.discover()) > 0
    with pytest.raises(pg8000.dbapi.DatabaseError):  # scram: a wrong password is refused
        pg8000.dbapi.connect(
            user="lederappen",
            password="wrong",
            host=env["DB_HOST"],
            port=int(env["DB_PORT"]),
            database="lederappen",
            timeout=5,
        )


def test_postgres_runs_unprivileged_from_the_state_dir(stack):
    pid = stack.components["postgres"].proc.pid
    uid = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("Uid:")
    )
    assert uid != 0
    assert (stack.state_dir / "postgres" / "data" / "PG_VERSION").is_file()


# -- Pub/Sub ----------------------------------------------------------------------------------

PROBE_SOURCE = """
import json, os
import functions_framework

@functions_framework.cloud_event
def probe(event):
    data = __import__("base64").b64decode(event.data["message"]["data"]).decode()
    with open(os.environ["PROBE_LOG"], "a") as fh:
        fh.write(json.dumps({"data": data, "type": event["type"],
                             "subscription": event.data.get("subscription")}) + "\\n")
    if data == "fail":
        raise RuntimeError("this message always fails")
"""


@pytest.fixture
def cloudevent_function(tmp_path):
    """A functions-framework process serving a CloudEvent function, like a pubsub function."""
    source = tmp_path / "probe.py"
    source.write_text(textwrap.dedent(PROBE_SOURCE))
    received = tmp_path / "received.jsonl"
    port = free_ports(1)[0]
    proc = subprocess.Popen(
        [
            PY,
            "-m",
            "functions_framework",
            "--source",
            str(source),
            "--target",
            "probe",
            "--signature-type",
            "cloudevent",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**os.environ, "PROBE_LOG": str(received)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert _wait_for(lambda: tcp_accepts(port), 20), "probe function did not start"

        def deliveries() -> list[dict]:
            if not received.exists():
                return []
            return [json.loads(line) for line in received.read_text().splitlines()]

        yield f"http://127.0.0.1:{port}/", deliveries
    finally:
        terminate_groups([proc])


def test_push_subscription_delivers_and_a_failing_message_lands_on_the_dead_letter_topic(
    stack, cloudevent_function
):
    endpoint, deliveries = cloudevent_function
    fn = _pubsub_function()
    host = stack.env["PUBSUB_EMULATOR_HOST"]
    setup = emulators.setup_pubsub(host, [fn], {fn.name: endpoint})
    again = emulators.setup_pubsub(host, [fn], {fn.name: endpoint})  # idempotent
    assert again == setup
    project = "projects/lederappen-local"
    assert setup.topics == [
        f"{project}/topics/{fn.topic}",
        f"{project}/topics/{fn.dead_letter_topic}",
    ]
    assert setup.inspect_subscriptions == [
        f"{project}/subscriptions/{fn.dead_letter_topic}-inspect"
    ]

    pub, sub = emulators.clients(host)
    try:
        push = sub.get_subscription(subscription=f"{project}/subscriptions/{fn.name}")
        assert push.topic == setup.topics[0]
        assert push.push_config.push_endpoint == endpoint
        assert push.ack_deadline_seconds == fn.ack_deadline_seconds
        assert push.dead_letter_policy.dead_letter_topic == setup.topics[1]
        assert push.dead_letter_policy.max_delivery_attempts == fn.max_delivery_attempts
        assert push.retry_policy.minimum_backoff.seconds == 1
        assert push.retry_policy.maximum_backoff.seconds == 10
        inspect = sub.get_subscription(subscription=setup.inspect_subscriptions[0])
        assert inspect.topic == setup.topics[1] and not inspect.push_config.push_endpoint

        pub.publish(topic=setup.topics[0], messages=[{"data": b"hello"}, {"data": b"fail"}])

        delivered = _wait_for(lambda: [d for d in deliveries() if d["data"] == "hello"], 15)
        assert delivered, "the push subscription did not deliver to the local endpoint"
        assert delivered[0]["type"] == "google.cloud.pubsub.topic.v1.messagePublished"

        dead = []
        deadline = time.monotonic() + 40
        while not dead and time.monotonic() < deadline:
            answer = sub.pull(
                request={"subscription": setup.inspect_subscriptions[0], "max_messages": 10},
                timeout=5,
            )
            dead = list(answer.received_messages)
            if not dead:
                time.sleep(0.2)
        assert [m.message.data for m in dead] == [b"fail"], "nothing reached the dead-letter topic"
        sub.acknowledge(
            subscription=setup.inspect_subscriptions[0], ack_ids=[m.ack_id for m in dead]
        )
        attempts = [d for d in deliveries() if d["data"] == "fail"]
        assert len(attempts) >= fn.max_delivery_attempts
        # The good message was acknowledged by the 2xx answer: delivered once, not retried.
        assert len([d for d in deliveries() if d["data"] == "hello"]) == 1
    finally:
        pub.transport.close()
        sub.transport.close()


# -- gateway ----------------------------------------------------------------------------------


def test_gateway_routes_manifest_routes_to_the_function_serving_them(stack):
    gw = stack.urls["gateway"]
    status, headers, body = http_status(gw + "/v1/health", timeout=5)
    assert status == 200 and json.loads(body)["checks"]["database"] == "ok"
    # /v1/profile is served by the profile function: its own 401 problem, not the gateway's 404.
    status, headers, body = http_status(
        gw + "/v1/profile", timeout=5, headers={"Accept-Language": "en"}
    )
    assert status == 401 and headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["type"] == "https://api.lederne.no/problems/unauthenticated"


def test_gateway_answers_404_problem_json_for_unknown_paths_and_job_routes(stack):
    for path in ("/v1/nope", "/jobs/anything", "/", "/v1/health/extra"):
        status, headers, body = http_status(stack.urls["gateway"] + path, timeout=5)
        assert status == 404, path
        assert headers["Content-Type"] == "application/problem+json"
        assert json.loads(body) == {
            "type": "https://api.lederne.no/problems/not-found",
            "title": "Not found",
            "status": 404,
        }


def test_gateway_routes_only_public_routes_of_http_and_scheduled_functions():
    Route = manifest_mod.Route
    fns = [
        manifest_mod.Function(
            "things",
            "things",
            "http",
            "",
            ("oidc",),
            routes=(
                Route("GET", "/v1/things/{id}", "member"),
                Route("POST", "/v1/things", "member"),
            ),
        ),
        manifest_mod.Function(
            "nightly",
            "nightly",
            "scheduled",
            "",
            ("job_oidc",),
            routes=(Route("POST", "/jobs/nightly", "job"),),
            schedule="0 3 * * *",
        ),
        _pubsub_function("events"),
    ]
    targets = {
        "things": "http://127.0.0.1:1",
        "nightly": "http://127.0.0.1:2",
        "events": "http://127.0.0.1:3",
    }
    routes = gateway.build_routes(fns, targets)
    assert [(r.method, r.path, r.target) for r in routes] == [
        ("GET", "/v1/things/{id}", "http://127.0.0.1:1"),
        ("POST", "/v1/things", "http://127.0.0.1:1"),
    ]
    router = gateway.Router(gateway.routes_from_json(gateway.routes_to_json(routes)))
    assert router.target("GET", "/v1/things/abc-1") == "http://127.0.0.1:1"
    assert router.target("DELETE", "/v1/things/abc-1") == "http://127.0.0.1:1"  # function says 405
    assert router.target("GET", "/v1/things/a/b") is None
    assert router.target("POST", "/jobs/nightly") is None


def test_gateway_passes_method_path_query_headers_and_body_through_and_streams_back():
    from aiohttp import ClientSession, web
    from yarl import URL

    async def scenario():
        async def echo(request: web.Request):
            body = await request.read()
            return web.json_response(
                {
                    "method": request.method,
                    "path_qs": request.rel_url.raw_path_qs,
                    "headers": dict(request.headers),
                    "body": body.decode(),
                },
                status=201,
                headers={"ETag": '"v7"', "X-Upstream": "yes"},
            )

        upstream = web.Application()
        upstream.router.add_route("*", "/{tail:.*}", echo)
        up_runner = web.AppRunner(upstream)
        await up_runner.setup()
        up_site = web.TCPSite(up_runner, "127.0.0.1", 0)
        await up_site.start()
        up_port = up_runner.addresses[0][1]
        dead_port = free_ports(1)[0]
        routes = [
            gateway.GatewayRoute("PATCH", "/v1/things/{id}", f"http://127.0.0.1:{up_port}"),
            gateway.GatewayRoute("GET", "/v1/down", f"http://127.0.0.1:{dead_port}"),
        ]
        gw_runner = web.AppRunner(gateway.build_app(routes))
        await gw_runner.setup()
        gw_site = web.TCPSite(gw_runner, "127.0.0.1", 0)
        await gw_site.start()
        gw = f"http://127.0.0.1:{gw_runner.addresses[0][1]}"
        try:
            async with ClientSession() as client:
                async with client.patch(
                    URL(gw + "/v1/things/t-1?fields=a%2Cb&x=%20y", encoded=True),
                    data=b'{"name": "x"}',
                    headers={
                        "Content-Type": "application/json",
                        "If-Match": '"v6"',
                        "Authorization": "Bearer abc",
                    },
                ) as resp:
                    echoed = await resp.json()
                    assert resp.status == 201
                    assert resp.headers["ETag"] == '"v7"' and resp.headers["X-Upstream"] == "yes"
                async with client.get(gw + "/v1/down") as down:
                    down_status, down_type = down.status, down.headers["Content-Type"]
        finally:
            await gw_runner.cleanup()
            await up_runner.cleanup()
        return echoed, down_status, down_type

    echoed, down_status, down_type = asyncio.run(scenario())
    assert echoed["method"] == "PATCH"
    assert echoed["path_qs"] == "/v1/things/t-1?fields=a%2Cb&x=%20y"
    assert echoed["body"] == '{"name": "x"}'
    assert echoed["headers"]["If-Match"] == '"v6"'
    assert echoed["headers"]["Authorization"] == "Bearer abc"
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert echoed["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert (down_status, down_type) == (502, "application/problem+json")


# -- CLI helpers: token, status, fire ---------------------------------------------------------


def test_cli_token_and_status_read_the_running_stack(stack):
    token = subprocess.run(
        [
            PY,
            "-m",
            "infra.local.stack",
            "token",
            DEMO_MEMBER_ID,
            "--state-dir",
            str(stack.state_dir),
        ],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert token.returncode == 0, token.stderr
    claims = jwt.decode(token.stdout.strip(), options={"verify_signature": False})
    assert claims["sub"] == DEMO_MEMBER_ID
    assert claims["iss"] == stack.env["OIDC_ISSUER"] and claims["aud"] == "lederappen"
    status = subprocess.run(
        [PY, "-m", "infra.local.stack", "status", "--state-dir", str(stack.state_dir)],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert status.returncode == 0, status.stdout + status.stderr
    assert "gateway" in status.stdout and " down" not in status.stdout


def test_fire_sends_what_cloud_scheduler_sends_with_a_job_token_from_the_standin(stack):
    state = stack.state()
    state["functions"]["nightly"] = {
        "kind": "scheduled",
        "url": "http://127.0.0.1:9",
        "job_audience": "http://127.0.0.1:9/",
        "routes": [{"method": "POST", "path": "/jobs/nightly", "auth": "job"}],
    }
    token = fire.fetch_job_token(state, "http://127.0.0.1:9/")
    request = fire.build_request(state, "nightly", token)
    assert (request.method, request.url, request.body) == (
        "POST",
        "http://127.0.0.1:9/jobs/nightly",
        None,
    )
    assert request.headers == {
        "Authorization": f"Bearer {token}",
        "User-Agent": "Google-Cloud-Scheduler",
    }
    keys = jwt.PyJWKClient(stack.env["JOB_OIDC_JWKS_URL"])
    claims = jwt.decode(
        token,
        keys.get_signing_key_from_jwt(token).key,
        algorithms=["RS256"],
        audience="http://127.0.0.1:9/",
        issuer=stack.env["JOB_OIDC_ISSUER"],
    )
    assert claims["email"] == stack.env["JOB_INVOKER_EMAILS"]
    with pytest.raises(StackError, match="not a scheduled one"):
        fire.build_request(state, "meta", token)
    with pytest.raises(StackError, match="not served by this stack"):
        fire.build_request(state, "nope", token)


# -- stop (keep last: it stops the module's stack, then starts it again) ----------------------


def test_stop_leaves_no_process_behind_and_a_restart_keeps_the_database(stack):
    conn = stack.cluster.connect()
    try:
        cur = conn.cursor()
        cur.execute("CREATE TABLE IF NOT EXISTS stack_restart_probe (v text)")
        cur.execute("INSERT INTO stack_restart_probe VALUES ('kept')")
        conn.commit()
    finally:
        conn.close()
    groups = {c.proc.pid for c in stack.components.values()}
    ports = [c.port for c in stack.components.values()]
    assert len(_live_in_groups(groups)) > len(groups)  # JVMs, gunicorn workers, backends

    stack.stop()
    assert _live_in_groups(groups) == []
    assert not any(tcp_accepts(p) for p in ports)
    assert read_state(stack.state_dir)["status"] == "stopped"
    stack.stop()  # idempotent

    stack.start()
    assert stack.cluster.initialised
    conn = stack.cluster.connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT v FROM stack_restart_probe")
        assert [tuple(row) for row in cur.fetchall()] == [("kept",)]
    finally:
        conn.close()


def _free_port_block(size: int = 100) -> int:
    """A base port B with B..B+size-1 all free (for `up --port-base`)."""
    for base in range(20000 + (os.getpid() % 300) * 100, 60000, size):
        if all(port_is_free(base + o) for o in range(size)):
            return base
    raise AssertionError("no free block of ports")


def test_cli_up_prints_where_things_listen_and_exits_0_on_sigterm_leaving_nothing(tmp_path):
    base = _free_port_block()
    state_dir = tmp_path / "cli"
    proc = subprocess.Popen(
        [
            PY,
            "-m",
            "infra.local.stack",
            "up",
            "--port-base",
            str(base),
            "--state-dir",
            str(state_dir),
            "--only",
            "profile",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:  # bounded by the stack's own start timeouts too
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C stops everything" in line:
                break
        out = "".join(lines)
        assert "Ctrl-C stops everything" in out, out
        assert f"http://127.0.0.1:{base} " in out  # gateway
        assert f"127.0.0.1:{base + 90} db=lederappen" in out  # postgres
        assert "function profile" in out and "function meta" not in out
        assert 'curl -s -H "Authorization: Bearer ey' in out
        assert f"http://127.0.0.1:{base}/v1/profile" in out
        state = read_state(state_dir)
        assert state["components"]["fn-profile"]["port"] == base + 2  # manifest order, stable
        groups = {c["pid"] for c in state["components"].values()}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert _live_in_groups(groups) == []
        assert read_state(state_dir)["status"] == "stopped"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
