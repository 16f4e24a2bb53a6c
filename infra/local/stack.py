"""The whole backend on localhost with one command, and the same stack for the test suite.

    python -m infra.local.stack up [--port-base 8080] [--state-dir .local] [--only meta,profile]
    python -m infra.local.stack status [--state-dir .local]
    python -m infra.local.stack token <member_id | staff username> [--state-dir .local]
    python -m infra.local.stack down [--state-dir .local]   # after a crashed `up` only

`up` starts, with parallelism where dependencies allow:

1. a private PostgreSQL cluster (postgres.py; `initdb` only the first time, data kept in the
   state dir so the dev database persists), then the role/database bootstrap, the SQL
   migrations (infra.migrate, as the migrator role `lederappen`, owner of the schema), one
   login role per function named like its Cloud SQL IAM user (`fn-<name>@lederappen-local.iam`)
   and the grants plan of infra/grants.py, exactly as a deploy applies it; each function
   connects as its own role, so a query on a table it was not granted fails here as in
   production;
2. the Pub/Sub and Firestore emulators (emulators.py), the lederne.no stand-in
   (infra.local.lederne_standin: OIDC issuer, member register, Google-style job tokens) and
   the FCM stand-in (infra.local.fcm_standin), all started together with PostgreSQL;
3. every function in functions/manifest.json (or the `--only` subset), each as its own
   functions-framework process on its own port, configured only by environment variables
   (exactly the variables functions/lederappen/core/config.py declares), and the gateway
   (gateway.py) that routes the public `/v1/...` routes like production's load balancer;
4. the Pub/Sub topics and subscriptions the manifest implies (emulators.setup_pubsub).

It prints where everything listens and a ready-to-paste request, then waits; Ctrl-C or
SIGTERM stops everything (each child in its own process group: SIGTERM, up to 5 s, then
SIGKILL; PostgreSQL with `pg_ctl stop -m fast`) and exits 0.

Ports, from a base B (default 8080; with no base, as in the tests, free ports are picked):

    B        gateway                  B+90  PostgreSQL
    B+1..89  functions, manifest      B+91  Pub/Sub emulator
             order (stable with       B+92  Firestore emulator
             --only)                  B+93  lederne.no stand-in (OIDC issuer)
                                      B+94  FCM stand-in

so a stack uses B..B+99 and stacks whose bases differ by 100 or more coexist. Every port is
checked before anything starts; a busy one stops the command with one line naming it.

State dir layout: `secrets.json` (0600: generated once, kept: pseudonym key, installation id
key, lederne API key, database passwords), `stack.json` (ports, URLs, pids, log and key paths;
no secrets; read by `fire.py`, `status`, `token` and humans), `logs/<component>.log`,
`postgres/` (the cluster), `lederne/signing-key.pem` (+ `.google`), `gateway-routes.json`.

Library use (the test suite's session fixture):

    with Stack(tmp_dir, extra_env={"LEDERNE_API_TIMEOUT_SECONDS": "1"}) as stack:
        stack.urls["gateway"], stack.urls["lederne"]     # base URLs (emulators: host:port)
        stack.env["DB_PORT"], stack.function_env("meta")  # common / one function's environment
        stack.function_url("meta"), stack.cluster.connect(), stack.key_file, stack.read_logs()
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import datetime as dt
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import emulators, gateway, postgres

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = ROOT / "functions"
if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS_DIR))

from typing import Self

from lederappen.core import manifest as manifest_mod

PROJECT = "lederappen-local"
AUDIENCE = "lederappen"
#: The staff console's client id at the lederne.no stand-in (authorization code flow + PKCE).
CONSOLE_CLIENT_ID = "lederappen-staff-console"
SCHEDULER_EMAIL = "scheduler@lederappen-local.iam.gserviceaccount.com"
#: Prefix of a Pub/Sub function's push identity (terraform/manifest.tf, account_prefixes.push).
PUSH_ACCOUNT_PREFIX = "psh-"
DEFAULT_PORT_BASE = 8080
DEFAULT_STATE_DIR = ROOT / ".local"
HOST = "127.0.0.1"
#: Port offsets from the base; functions take FUNCTION_OFFSET + their manifest index.
OFFSETS = {"gateway": 0, "postgres": 90, "pubsub": 91, "firestore": 92, "lederne": 93, "fcm": 94}
FUNCTION_OFFSET = 1
MAX_FUNCTIONS = 89
#: The stand-ins, by module name (written and owned elsewhere; called, never imported).
STANDIN_MODULES = {"lederne": "infra.local.lederne_standin", "fcm": "infra.local.fcm_standin"}
#: Readiness timeouts (seconds), bounded so a broken component fails the start quickly.
TIMEOUTS = {
    "postgres": 30,
    "pubsub": 60,
    "firestore": 60,
    "lederne": 30,
    "fcm": 30,
    "function": 45,
    "gateway": 20,
}
STOP_GRACE_SECONDS = 5.0
#: Environment passed through from the caller to children; nothing else leaks in (a stray
#: CLOUD_SQL_INSTANCE or GOOGLE_APPLICATION_CREDENTIALS in a shell must not change the stack).
PASSTHROUGH_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "VIRTUAL_ENV",
    "JAVA_HOME",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
)


class StackError(RuntimeError):
    """The stack cannot start (or a command cannot run); the message says what to do."""


class PortInUse(StackError):
    """A port the stack needs is taken; nothing was started."""


def push_account_email(function_name: str) -> str:
    """The service account a Pub/Sub function's push subscription signs its OIDC token as
    (Terraform: google_service_account.push; the same id rules as infra/grants.py)."""
    from infra import grants

    account = grants.account_id(function_name, PUSH_ACCOUNT_PREFIX)
    return f"{account}@{PROJECT}.iam.gserviceaccount.com"


def function_db_role(function_name: str) -> str:
    """The function's database role: named like its Cloud SQL IAM user in production."""
    from infra import grants

    return grants.iam_db_user(function_name, PROJECT)


def fn_component(name: str) -> str:
    """Component (and log file) name of a function: `fn-<name>`, never clashing with infra."""
    return f"fn-{name}"


@dataclass
class Component:
    name: str
    port: int
    url: str
    log: Path
    proc: subprocess.Popen | None = None
    ready_seconds: float | None = None
    extra: dict = field(default_factory=dict)


# -- small helpers ----------------------------------------------------------------------------


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when a server could listen on host:port now (SO_REUSEADDR, like the servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int, host: str = HOST) -> list[int]:
    """`count` distinct ports that are free right now (held open together while chosen)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


#: urllib without proxies: everything the stack talks to is on 127.0.0.1, and a developer's
#: HTTP(S)_PROXY must not route local calls elsewhere.
LOCAL_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def tcp_accepts(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def http_status(
    url: str,
    timeout: float = 1.0,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict | None = None,
) -> tuple[int, dict, bytes] | None:
    """(status, headers, body) of one request, any status; None when nothing answered."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with LOCAL_HTTP.open(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
    except (urllib.error.URLError, OSError, ValueError):
        return None


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 16384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group `pgid`."""
    if not os.path.isdir("/proc"):
        try:
            os.killpg(pgid, 0)
            return [pgid]
        except (ProcessLookupError, PermissionError):
            return []
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            found.append(int(entry.name))
    return found


def terminate_groups(procs: list[subprocess.Popen], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM each child's process group, wait up to `grace` s for all, SIGKILL what's left."""
    groups = []
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            groups.append(proc)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    pending = list(groups)
    while pending and time.monotonic() < deadline:
        for proc in list(pending):
            proc.poll()  # reap our direct child
            if not _group_members(proc.pid):
                pending.remove(proc)
        if pending:
            time.sleep(0.05)
    for proc in pending:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for proc in groups:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    deadline = time.monotonic() + 5
    while any(_group_members(p.pid) for p in pending) and time.monotonic() < deadline:
        time.sleep(0.05)


def _load_or_create_secrets(path: Path) -> dict:
    if path.is_file():
        data = json.loads(path.read_text(encoding="utf-8"))
    else:
        data = {}
    wanted = {
        "pseudonym_key": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "installation_id_key": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "lederne_api_key": lambda: secrets.token_hex(24),
        "postgres_superuser_password": lambda: secrets.token_hex(24),
        "postgres_app_password": lambda: secrets.token_hex(24),
        "console_session_key": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        # each function role's password is derived from this (function_db_password)
        "postgres_function_key": lambda: secrets.token_hex(24),
    }
    changed = False
    for key, make in wanted.items():
        if not data.get(key):
            data[key] = make()
            changed = True
    if changed:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
    return data


# -- the stack --------------------------------------------------------------------------------


class Stack:
    """Starts and stops the local stack; see the module docstring for what and where."""

    def __init__(
        self,
        state_dir: Path | str,
        port_base: int | None = None,
        functions: list[str] | None = None,
        extra_env: dict | None = None,
        register_members: int | None = None,
    ):
        self.state_dir = Path(state_dir).resolve()
        #: How many demo members the lederne.no stand-in's register holds (None: its default).
        self.register_members = register_members
        self.port_base = port_base
        self.extra_env = {k: str(v) for k, v in (extra_env or {}).items()}
        self.manifest = manifest_mod.load()
        all_fns = list(self.manifest.functions)
        if len(all_fns) > MAX_FUNCTIONS:
            raise StackError(f"the port layout has room for {MAX_FUNCTIONS} functions")
        if functions is not None:
            unknown = sorted(set(functions) - {f.name for f in all_fns})
            if unknown:
                raise StackError(
                    f"unknown function(s) {', '.join(unknown)}; the manifest has "
                    + ", ".join(f.name for f in all_fns)
                )
        self.functions = [f for f in all_fns if functions is None or f.name in functions]
        self._index = {f.name: i for i, f in enumerate(all_fns)}
        self.log_dir = self.state_dir / "logs"
        #: The lederne stand-in's signing key (PKCS8 PEM; `<key_file>.google` signs job tokens).
        self.key_file = self.state_dir / "lederne" / "signing-key.pem"
        self.ports: dict[str, int] = {}
        self.urls: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.components: dict[str, Component] = {}
        self.startup_seconds: float | None = None
        self.pubsub: emulators.PubsubSetup | None = None
        self.cluster: postgres.Cluster | None = None
        self._secrets: dict = {}
        self._lock = threading.Lock()
        self._running = False
        self._logs: list = []

    # -- public API ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def read_logs(self, components: list[str] | None = None) -> str:
        """The text of the components' log files (all by default), e.g. to assert on them."""
        parts = []
        for name in components or list(self.components):
            try:
                log = self.components[name].log
                parts.append(log.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                pass
        return "\n".join(parts)

    def function_url(self, name: str) -> str:
        """Base URL of one function's own server (bypassing the gateway)."""
        return self.urls[fn_component(name)]

    def function_env(self, name: str) -> dict[str, str]:
        """The complete environment of one function's process (common env + its own)."""
        fn = self.manifest.by_name(name)
        port = self.ports[fn_component(name)]
        env = dict(self.env)
        env.update(
            {
                "JOB_OIDC_AUDIENCE": f"http://{HOST}:{port}/",
                "FUNCTION_TARGET": fn.entry_point,
            }
        )
        # Each function signs in to the database as its own role, with only its grants; the
        # migrator's (owner's) password never reaches a function.
        if "db" in fn.uses:
            env["DB_USER"] = function_db_role(fn.name)
            env["DB_PASSWORD"] = self.function_db_password(fn.name)
        else:
            env.pop("DB_USER", None)
            env.pop("DB_PASSWORD", None)
        if fn.kind == "pubsub":
            # Only its push subscription's identity may deliver to it (checked in code).
            env["JOB_INVOKER_EMAILS"] = push_account_email(fn.name)
        if fn.kind == "pubsub" and fn.limits.get("max_instances", 1) > 1:
            # In Google Cloud a busy subscription scales its function out to several
            # instances; locally, several worker processes behind one port (functions-
            # framework's gunicorn) play them, so concurrent and duplicate deliveries really
            # run in parallel and a CPU-bound sender is not held to one core.
            env["WORKERS"] = str(min(fn.limits["max_instances"], os.cpu_count() or 1, 4))
        env.update(self.extra_env)
        return env

    def function_db_password(self, name: str) -> str:
        """The password of a function's database role (derived from a generated secret)."""
        import hashlib
        import hmac

        key = self._secrets["postgres_function_key"].encode()
        return hmac.new(key, function_db_role(name).encode(), hashlib.sha256).hexdigest()[:40]

    def connect_as_function(self, name: str):
        """A database connection as the function's own role (what the function gets)."""
        return self.cluster.connect(
            function_db_role(name), password=self.function_db_password(name)
        )

    def start(self) -> Stack:
        """Brings everything up; on any failure stops what it started and raises StackError."""
        if self._running:
            return self
        started = time.monotonic()
        self.components, self.pubsub, self.startup_seconds = {}, None, None
        self._plan_ports()
        self._check_prerequisites()
        self._check_ports()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(exist_ok=True)
        self._check_not_running_elsewhere()
        self._secrets = _load_or_create_secrets(self.state_dir / "secrets.json")
        self._build_env()
        atexit.register(self.stop)
        self._running = True
        try:
            self._start_all()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = round(time.monotonic() - started, 2)
        self._write_state("running")
        return self

    def stop(self) -> None:
        """Stops every child and PostgreSQL; idempotent, safe from atexit and signal handlers."""
        with self._lock:
            if not self._running:
                return
            self._running = False
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        procs = [
            c.proc
            for name, c in reversed(self.components.items())
            if c.proc is not None and name != "postgres"
        ]
        # Children first (all at once, so their grace periods overlap), then the database.
        terminate_groups(procs)
        pg = self.components.get("postgres")
        if self.cluster is not None:
            self.cluster.stop(pg.proc if pg else None)
        for fh in self._logs:
            try:
                fh.close()
            except OSError:
                pass
        self._logs.clear()
        if (self.state_dir / "stack.json").exists():
            self._write_state("stopped")

    def stop_postgres(self) -> None:
        """Stops only the database (fault tests: the database going away mid-run)."""
        pg = self.components["postgres"]
        self.cluster.stop(pg.proc)
        pg.proc = None

    def start_postgres(self, timeout: float = 15.0) -> None:
        """Starts the database again on the same port and data directory."""
        pg = self.components["postgres"]
        if pg.proc is not None and pg.proc.poll() is None:
            return
        pg.proc = self.cluster.spawn(self._open_log("postgres-restart"))
        self.cluster.wait_ready(timeout, pg.proc)

    # -- planning and checks ------------------------------------------------------------------

    def _plan_ports(self) -> None:
        names = list(OFFSETS) + [fn_component(f.name) for f in self.functions]
        if self.port_base is None:
            self.ports = dict(zip(names, free_ports(len(names))))
        else:
            b = self.port_base
            if not 1024 <= b <= 65535 - 100:
                raise StackError(f"--port-base {b} must be between 1024 and {65535 - 100}")
            self.ports = {n: b + o for n, o in OFFSETS.items()}
            for f in self.functions:
                self.ports[fn_component(f.name)] = b + FUNCTION_OFFSET + self._index[f.name]
        for name, port in self.ports.items():
            if name in ("postgres", "pubsub", "firestore"):
                self.urls[name] = f"{HOST}:{port}"
            else:
                self.urls[name] = f"http://{HOST}:{port}"

    def _check_ports(self) -> None:
        order = (
            ["gateway"]
            + [fn_component(f.name) for f in self.functions]
            + [n for n in OFFSETS if n != "gateway"]
        )
        for name in order:
            port = self.ports[name]
            if not port_is_free(port):
                raise PortInUse(
                    f"port {port} ({name}) is already in use — is another stack running? "
                    "Stop it or pass --port-base"
                )

    def _check_prerequisites(self) -> None:
        """Everything the stack needs must exist before anything starts."""
        try:
            postgres.find_bindir()
            emulators.pubsub_command(0)
            emulators.firestore_command(0)
        except (postgres.PostgresError, emulators.EmulatorError) as exc:
            raise StackError(str(exc)) from None
        for module in STANDIN_MODULES.values():
            if importlib.util.find_spec(module) is None:
                raise StackError(f"the stand-in module {module} is missing (infra/local/)")

    def _check_not_running_elsewhere(self) -> None:
        state = read_state(self.state_dir)
        if not state or state.get("status") == "stopped":
            return
        pid = state.get("orchestrator_pid")
        if pid and pid != os.getpid() and _same_process(pid, state.get("orchestrator_started")):
            raise StackError(
                f"a stack from {self.state_dir} is already running (pid {pid}); stop it first"
            )
        leftovers = [
            c["pid"]
            for c in state.get("components", {}).values()
            if c.get("pid") and _same_process(c["pid"], c.get("started"))
        ]
        if leftovers:
            raise StackError(
                f"processes of an earlier stack from {self.state_dir} are still running (pids "
                f"{', '.join(map(str, leftovers))}); run: python -m infra.local.stack down "
                f"--state-dir {self.state_dir}"
            )

    def _build_env(self) -> None:
        lederne = self.urls["lederne"]
        s = self._secrets
        self.env = {
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "PSEUDONYM_KEY": s["pseudonym_key"],
            "INSTALLATION_ID_KEY": s["installation_id_key"],
            "LOG_LEVEL": "INFO",
            "DB_HOST": HOST,
            "DB_PORT": str(self.ports["postgres"]),
            "DB_NAME": postgres.APP_DATABASE,
            "DB_USER": postgres.APP_ROLE,
            "DB_PASSWORD": s["postgres_app_password"],
            "OIDC_ISSUER": lederne,
            "OIDC_AUDIENCE": AUDIENCE,
            "OIDC_JWKS_URL": f"{lederne}/oauth2/jwks",
            "JOB_OIDC_ISSUER": f"{lederne}/google",
            "JOB_OIDC_JWKS_URL": f"{lederne}/google/jwks",
            "JOB_INVOKER_EMAILS": SCHEDULER_EMAIL,
            "LEDERNE_API_URL": lederne,
            "LEDERNE_API_KEY": s["lederne_api_key"],
            "PUBSUB_EMULATOR_HOST": self.urls["pubsub"],
            "FIRESTORE_EMULATOR_HOST": self.urls["firestore"],
            "FCM_ENDPOINT": self.urls["fcm"],
            "CONSOLE_OIDC_ISSUER": lederne,
            "CONSOLE_OIDC_CLIENT_ID": CONSOLE_CLIENT_ID,
            "CONSOLE_BASE_URL": self.urls["gateway"],
            "CONSOLE_SESSION_KEY": s["console_session_key"],
        }
        self.env.update(self.extra_env)

    # -- starting -----------------------------------------------------------------------------

    def _base_env(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _open_log(self, name: str):
        fh = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed by stop())
        self._logs.append(fh)
        return fh

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Component:
        comp = self.components[name]
        comp.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._open_log(name),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return comp

    def _component(self, name: str) -> Component:
        comp = Component(name, self.ports[name], self.urls[name], self.log_dir / f"{name}.log")
        self.components[name] = comp
        return comp

    def _start_all(self) -> None:
        t0 = time.monotonic()
        py = sys.executable
        base = self._base_env()

        # 1. Everything without dependencies, at once: PostgreSQL, emulators, stand-ins.
        comp = self._component("postgres")
        try:
            self.cluster = postgres.Cluster(
                self.state_dir / "postgres",
                self.ports["postgres"],
                self._secrets["postgres_superuser_password"],
                self._secrets["postgres_app_password"],
            )
            self.cluster.init()
        except postgres.PostgresError as exc:
            raise StackError(f"postgres: {exc}") from None
        comp.proc = self.cluster.spawn(self._open_log("postgres"))

        for name, make in (
            ("pubsub", emulators.pubsub_command),
            ("firestore", emulators.firestore_command),
        ):
            argv, extra = make(self.ports[name])
            self._component(name)
            self._spawn(name, argv, {**base, **extra})

        self.key_file.parent.mkdir(exist_ok=True)
        self._component("lederne")
        self._spawn(
            "lederne",
            [
                py,
                "-m",
                STANDIN_MODULES["lederne"],
                "--host",
                HOST,
                "--port",
                str(self.ports["lederne"]),
                "--key-file",
                str(self.key_file),
                "--api-key",
                self._secrets["lederne_api_key"],
                "--audience",
                AUDIENCE,
                "--issuer",
                self.urls["lederne"],
                "--console-client-id",
                CONSOLE_CLIENT_ID,
                "--redirect-uri",
                self.urls["gateway"] + "/staff/callback",
                *(["--members", str(self.register_members)] if self.register_members else []),
            ],
            {**base, "PYTHONPATH": str(ROOT)},
        )
        self._component("fcm")
        self._spawn(
            "fcm",
            [py, "-m", STANDIN_MODULES["fcm"], "--host", HOST, "--port", str(self.ports["fcm"])],
            {**base, "PYTHONPATH": str(ROOT)},
        )
        self._write_state("starting")

        # 2. The database: ready, role and database, migrations (while the rest boots).
        self._wait({"postgres": self._postgres_ready}, t0)
        try:
            self.cluster.bootstrap()
            self._migrate()
            self._grant()
            self._seed()
        except Exception as exc:
            raise StackError(
                f"postgres: bootstrap, migrations or demo data failed: {exc}\n"
                f"--- last lines of {comp.log} ---\n{log_tail(comp.log)}"
            ) from exc

        # 3. The functions and the gateway (their dependencies are up or coming up).
        for fn in self.functions:
            name = fn_component(fn.name)
            self._component(name)
            argv = [
                py,
                "-m",
                "functions_framework",
                "--source",
                str(FUNCTIONS_DIR / "main.py"),
                "--target",
                fn.entry_point,
                "--host",
                HOST,
                "--port",
                str(self.ports[name]),
            ]
            self._spawn(
                name, argv, {**base, "PYTHONPATH": str(FUNCTIONS_DIR), **self.function_env(fn.name)}
            )
        routes = gateway.build_routes(
            self.functions, {f.name: self.urls[fn_component(f.name)] for f in self.functions}
        )
        routes_file = self.state_dir / "gateway-routes.json"
        routes_file.write_text(gateway.routes_to_json(routes), encoding="utf-8")
        push_file = self.state_dir / "gateway-push-targets.json"
        # The relay signs each push as the function's push service account, for its audience
        # (what the function's JOB_OIDC_AUDIENCE and JOB_INVOKER_EMAILS expect).
        push_file.write_text(
            json.dumps(
                {
                    f.name: {
                        "url": self.urls[fn_component(f.name)],
                        "audience": self.function_env(f.name)["JOB_OIDC_AUDIENCE"],
                        "email": push_account_email(f.name),
                    }
                    for f in self.functions
                    if f.kind == "pubsub"
                }
            ),
            encoding="utf-8",
        )
        self._component("gateway")
        self._spawn(
            "gateway",
            [
                py,
                "-m",
                "infra.local.gateway",
                "--host",
                HOST,
                "--port",
                str(self.ports["gateway"]),
                "--routes-file",
                str(routes_file),
                "--push-targets-file",
                str(push_file),
                "--push-key-file",
                f"{self.key_file}.google",
                "--push-issuer",
                self.env["JOB_OIDC_ISSUER"],
            ],
            {**base, "PYTHONPATH": str(ROOT)},
        )
        self._write_state("starting")

        # 4. Wait for the rest; wire Pub/Sub as soon as its emulator answers.
        checks: dict[str, Callable[[], bool]] = {
            "pubsub": lambda: emulators.http_ok(f"http://{self.urls['pubsub']}/"),
            "firestore": lambda: emulators.http_ok(f"http://{self.urls['firestore']}/"),
            "lederne": lambda: (
                (http_status(self.urls["lederne"] + "/.well-known/openid-configuration") or (0,))[0]
                == 200
            ),
            "fcm": lambda: (http_status(self.urls["fcm"] + "/_control/stats") or (0,))[0] == 200,
            "gateway": self._gateway_ready,
        }
        for fn in self.functions:
            checks[fn_component(fn.name)] = self._function_probe(fn)
        self._wait({"pubsub": checks.pop("pubsub")}, t0)
        pubsub_fns = [f for f in self.functions if f.kind == "pubsub"]
        if pubsub_fns:
            try:
                self.pubsub = emulators.setup_pubsub(
                    self.urls["pubsub"],
                    pubsub_fns,
                    # Through the gateway's push relay, which can deliver every push twice.
                    {f.name: f"{self.urls['gateway']}/_push/{f.name}" for f in pubsub_fns},
                    project=PROJECT,
                )
            except Exception as exc:
                raise StackError(
                    f"pubsub: creating topics and subscriptions failed: {exc}"
                ) from exc
        self._wait(checks, t0)

    def _migrate(self) -> None:
        from infra import migrate

        conn = self.cluster.connect(postgres.APP_ROLE)
        try:
            migrate.migrate(conn)
        finally:
            conn.close()

    def _grant(self) -> None:
        """One login role per db-using function of the manifest, then the production grants
        plan (infra/grants.py) applied by the migrator: each role holds exactly the table
        privileges its manifest entry lists."""
        from infra import grants

        db_functions = [f for f in self.manifest.functions if "db" in f.uses]
        self.cluster.login_roles(
            {function_db_role(f.name): self.function_db_password(f.name) for f in db_functions}
        )
        conn = self.cluster.connect(postgres.APP_ROLE)
        try:
            conn.autocommit = True  # grants.apply controls its transaction
            result = grants.apply(conn, PROJECT, self.manifest.functions)
        finally:
            conn.close()
        if result.missing_users:
            raise StackError(f"database roles missing after creation: {result.missing_users}")

    def _seed(self) -> None:
        """The demo members' salary survey: four closed rounds and this year's open one (once)."""
        import datetime as dt

        from infra.local import demo_data, salary_demo

        conn = self.cluster.connect(postgres.APP_ROLE)
        try:
            salary_demo.seed_demo(conn, demo_data.generate_members(), dt.date.today())
        finally:
            conn.close()

    def _postgres_ready(self) -> bool:
        try:
            self.cluster.wait_ready(timeout=0.5)
            return True
        except postgres.PostgresError:
            return False

    def _function_probe(self, fn) -> Callable[[], bool]:
        port = self.ports[fn_component(fn.name)]
        first = fn.routes[0] if fn.routes else None
        if (
            fn.kind == "http"
            and first is not None
            and first.auth == "public"
            and first.method == "GET"
            and "{" not in first.path
        ):
            url = f"http://{HOST}:{port}{first.path}"

            def probe() -> bool:
                answer = http_status(url, timeout=2)
                return answer is not None and answer[0] < 500

            return probe
        return lambda: tcp_accepts(port)

    def _gateway_ready(self) -> bool:
        answer = http_status(self.urls["gateway"] + "/", timeout=1)
        return answer is not None and answer[0] == 404

    def _wait(self, checks: dict[str, Callable[[], bool]], t0: float) -> None:
        """Polls every check until all pass; fails fast when a process exits or time runs out.

        Each component has its own limit (TIMEOUTS), counted from the start of this wait.
        """
        pending = dict(checks)
        start = time.monotonic()
        while pending:
            for name in list(pending):
                comp = self.components[name]
                if comp.proc is not None and comp.proc.poll() is not None:
                    raise StackError(
                        f"{name} exited with code {comp.proc.returncode} while starting\n"
                        f"--- last lines of {comp.log} ---\n{log_tail(comp.log)}"
                    )
                if pending[name]():
                    comp.ready_seconds = round(time.monotonic() - t0, 2)
                    del pending[name]
            if not pending:
                return
            elapsed = time.monotonic() - start
            for name in pending:
                limit = TIMEOUTS["function" if name.startswith("fn-") else name]
                if elapsed > limit:
                    comp = self.components[name]
                    raise StackError(
                        f"{name} was not ready within {limit:.0f}s\n"
                        f"--- last lines of {comp.log} ---\n{log_tail(comp.log)}"
                    )
            time.sleep(0.05)

    # -- state --------------------------------------------------------------------------------

    def state(self, status: str = "running") -> dict:
        """What stack.json holds: no secret values, only where they are."""
        comps = {}
        for name, c in self.components.items():
            comps[name] = {
                "port": c.port,
                "url": c.url,
                "log": str(c.log),
                "pid": c.proc.pid if c.proc is not None and status != "stopped" else None,
                "started": (
                    _start_ticks(c.proc.pid) if c.proc is not None and status != "stopped" else None
                ),
                "ready_seconds": c.ready_seconds,
            }
        functions = {}
        for fn in self.functions:
            name = fn_component(fn.name)
            functions[fn.name] = {
                "component": name,
                "kind": fn.kind,
                "entry_point": fn.entry_point,
                "port": self.ports[name],
                "url": self.urls[name],
                "job_audience": f"http://{HOST}:{self.ports[name]}/",
                "db_user": function_db_role(fn.name) if "db" in fn.uses else None,
                "push_invoker_email": (
                    push_account_email(fn.name) if fn.kind == "pubsub" else None
                ),
                "schedule": fn.schedule,
                "topic": fn.topic,
                "routes": [{"method": r.method, "path": r.path, "auth": r.auth} for r in fn.routes],
            }
        return {
            "status": status,
            "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "orchestrator_pid": os.getpid(),
            "orchestrator_started": _start_ticks(os.getpid()),
            "state_dir": str(self.state_dir),
            "port_base": self.port_base,
            "startup_seconds": self.startup_seconds,
            "project": PROJECT,
            "urls": dict(self.urls),
            "components": comps,
            "functions": functions,
            "database": {
                "host": HOST,
                "port": self.ports["postgres"],
                "name": postgres.APP_DATABASE,
                "migrator": postgres.APP_ROLE,
            },
            "job_invoker_email": SCHEDULER_EMAIL,
            "audience": AUDIENCE,
            "files": {
                "secrets": str(self.state_dir / "secrets.json"),
                "lederne_signing_key": str(self.state_dir / "lederne" / "signing-key.pem"),
                "google_signing_key": str(self.state_dir / "lederne" / "signing-key.pem.google"),
                "gateway_routes": str(self.state_dir / "gateway-routes.json"),
                "logs": str(self.log_dir),
            },
            "pubsub": None
            if self.pubsub is None
            else {
                "topics": self.pubsub.topics,
                "push_subscriptions": self.pubsub.push_subscriptions,
                "inspect_subscriptions": self.pubsub.inspect_subscriptions,
            },
        }

    def _write_state(self, status: str) -> None:
        path = self.state_dir / "stack.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.state(status), indent=2), encoding="utf-8")
        os.replace(tmp, path)


def _start_ticks(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot): tells a recorded pid from a reused one."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return int(fh.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _same_process(pid: int, started: int | None) -> bool:
    """True when `pid` is alive and (where /proc tells) is the process that was recorded."""
    if not _pid_alive(pid):
        return False
    now = _start_ticks(pid)
    return started is None or now is None or now == started


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_state(state_dir: Path) -> dict | None:
    try:
        return json.loads((Path(state_dir) / "stack.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def fetch_token(lederne_url: str, username: str, timeout: float = 5.0) -> str:
    """An ID token from the lederne stand-in's password grant (demo password "demo")."""
    data = urllib.parse.urlencode(
        {
            "grant_type": "password",
            "username": username,
            "password": "demo",
            "client_id": AUDIENCE,
        }
    ).encode()
    answer = http_status(
        lederne_url.rstrip("/") + "/oauth2/token",
        timeout=timeout,
        method="POST",
        data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    if answer is None:
        raise StackError(f"the lederne stand-in at {lederne_url} does not answer; is the stack up?")
    status, _, body = answer
    if status != 200:
        raise StackError(f"the token endpoint answered {status}: {body.decode('utf-8', 'replace')}")
    return json.loads(body)["id_token"]


# -- CLI --------------------------------------------------------------------------------------


def _rel(path: str | Path) -> str:
    """`path` relative to the working directory when it lies inside it, else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _listing(stack: Stack) -> str:
    rows = [("COMPONENT", "LISTENS ON", "LOG")]
    order = (
        ["gateway"]
        + [fn_component(f.name) for f in stack.functions]
        + ["postgres", "pubsub", "firestore", "lederne", "fcm"]
    )
    labels = {
        "postgres": "postgres",
        "pubsub": "pubsub emulator",
        "firestore": "firestore emulator",
        "lederne": "lederne stand-in",
        "fcm": "fcm stand-in",
        "gateway": "gateway (public /v1 and /staff routes)",
    }
    for name in order:
        c = stack.components[name]
        label = labels.get(name) or f"function {name[3:]}"
        where = c.url
        if name == "postgres":
            where = (
                f"{c.url} db={postgres.APP_DATABASE} migrator={postgres.APP_ROLE}, "
                "functions as fn-<name>@lederappen-local.iam"
            )
        rows.append((label, where, _rel(c.log)))
    return _table(rows)


def _cmd_up(args) -> int:
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    stop_requested = threading.Event()

    def on_signal(signum, frame):
        if stop_requested.is_set():
            return
        stop_requested.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        stack = Stack(Path(args.state_dir), port_base=args.port_base, functions=only)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        print(f"starting the local stack (state in {_rel(stack.state_dir)}) ...", flush=True)
        try:
            stack.start()
        except PortInUse as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except StackError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        from infra.local.demo_data import DEMO_MEMBER_ID

        print(f"\nlederappen local stack is up in {stack.startup_seconds:.1f} s\n")
        print(_listing(stack))
        gw = stack.urls["gateway"]
        state_arg = (
            ""
            if Path(args.state_dir).resolve() == DEFAULT_STATE_DIR
            else (f" --state-dir {args.state_dir}")
        )
        served = {r.path for f in stack.functions for r in f.routes}
        if "/v1/profile" in served:
            try:
                token = fetch_token(stack.urls["lederne"], DEMO_MEMBER_ID)
                print(
                    f"\nTry it as the demo member {DEMO_MEMBER_ID} (token valid for about an "
                    "hour):\n"
                )
                print(f'  curl -s -H "Authorization: Bearer {token}" {gw}/v1/profile')
            except StackError as exc:
                print(f"\n(could not fetch a demo token: {exc})")
        if "/v1/health" in served:
            print(f"\n  curl -s {gw}/v1/health")
        if "/staff/home" in served:
            from infra.local.demo_data import STAFF

            print(
                f"\nThe staff console: {gw}/staff/home   (sign in at the lederne.no stand-in "
                "by picking a demo user; no passwords)"
            )
            for s in STAFF:
                roles = ", ".join(r for r in s["roles"] if r != "staff")
                print(f"  {s['username']:<18} {roles}")
        print(
            f"\nA fresh token: python -m infra.local.stack token {DEMO_MEMBER_ID}{state_arg}"
            "   (or a staff username: personvern, redaktor, medlemsservice, lonnsanalytiker,"
            " driftsvakt, mentorkoordinator)"
        )
        scheduled = [f.name for f in stack.functions if f.kind == "scheduled"]
        if scheduled:
            print(
                "Fire a scheduled function as Cloud Scheduler would: python -m infra.local.fire "
                f"<{'|'.join(scheduled)}>{state_arg}"
            )
        else:
            print(
                "Fire a scheduled function: python -m infra.local.fire <function-name>"
                f"{state_arg}   (the manifest has no scheduled function yet)"
            )
        print(
            f"Ports, URLs, pids: {_rel(stack.state_dir)}/stack.json (no secrets); the generated "
            "keys and passwords: secrets.json next to it."
        )
        print("\nCtrl-C stops everything.", flush=True)
        while True:
            dead = [
                n
                for n, c in stack.components.items()
                if c.proc is not None and c.proc.poll() is not None
            ]
            if dead:
                name = dead[0]
                c = stack.components[name]
                print(
                    f"\nerror: {name} exited with code {c.proc.returncode}; stopping.\n"
                    f"--- last lines of {_rel(c.log)} ---\n{log_tail(c.log)}",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if stack.running:
            print("\nstopping ...", flush=True)
            stack.stop()
            print("stopped.", flush=True)


def _cmd_status(args) -> int:
    state = read_state(Path(args.state_dir))
    if not state:
        print(f"no stack state in {args.state_dir} (never started here)")
        return 3
    rows = [("COMPONENT", "LISTENS ON", "PID", "STATE")]
    all_up = True
    for name, c in state["components"].items():
        port = c["port"]
        alive = bool(c.get("pid")) and _same_process(c["pid"], c.get("started"))
        up = alive and tcp_accepts(port)
        all_up &= up
        rows.append((name, c["url"], str(c.get("pid") or "-"), "up" if up else "down"))
    print(f"stack in {state['state_dir']}: {state['status']} (updated {state['updated_at']})")
    print(_table(rows))
    return 0 if state["status"] == "running" and all_up else 1


def running_state(state_dir: str | Path) -> dict | None:
    """`stack.json` of a running stack; else None, having said so on stderr."""
    state = read_state(Path(state_dir))
    if not state or state.get("status") != "running":
        print(
            f"error: no running stack in {state_dir}; start one with: "
            "python -m infra.local.stack up",
            file=sys.stderr,
        )
        return None
    return state


def _cmd_token(args) -> int:
    state = running_state(args.state_dir)
    if state is None:
        return 1
    try:
        print(fetch_token(state["urls"]["lederne"], args.who))
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _cmd_down(args) -> int:
    """Stops a stack whose `up` is gone (killed) or asks a live `up` to stop."""
    state_dir = Path(args.state_dir).resolve()
    state = read_state(state_dir)
    if not state:
        print(f"no stack state in {state_dir}")
        return 0
    pid = state.get("orchestrator_pid")
    if (
        pid
        and pid != os.getpid()
        and state.get("status") != "stopped"
        and _same_process(pid, state.get("orchestrator_started"))
    ):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    for name, c in state.get("components", {}).items():
        if name == "postgres" or not c.get("pid") or not _same_process(c["pid"], c.get("started")):
            continue  # never signal a group whose leader is not the process we started
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(c["pid"], sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            while _group_members(c["pid"]) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not _group_members(c["pid"]):
                break
    if (state_dir / "postgres" / "data" / "postmaster.pid").exists():
        secrets_ = _load_or_create_secrets(state_dir / "secrets.json")
        cluster = postgres.Cluster(
            state_dir / "postgres",
            state["database"]["port"],
            secrets_["postgres_superuser_password"],
            secrets_["postgres_app_password"],
        )
        cluster.stop(None)
    state["status"] = "stopped"
    state["updated_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    for c in state.get("components", {}).values():
        c["pid"] = None
    (state_dir / "stack.json").write_text(json.dumps(state, indent=2), encoding="utf-8")
    print("stopped.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.stack", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the whole stack and wait (Ctrl-C stops it)")
    up.add_argument(
        "--port-base",
        type=int,
        default=DEFAULT_PORT_BASE,
        help=f"gateway port; the rest derive from it (default {DEFAULT_PORT_BASE})",
    )
    up.add_argument("--only", help="comma-separated function names to serve (default: all)")
    status = sub.add_parser("status", help="what runs where, and whether it answers")
    token = sub.add_parser("token", help="print a fresh ID token from the running stack")
    token.add_argument("who", help="member id (e.g. 1000001) or staff username (e.g. personvern)")
    down = sub.add_parser("down", help="stop a stack whose `up` was killed")
    for p in (up, status, token, down):
        p.add_argument(
            "--state-dir",
            default=str(DEFAULT_STATE_DIR),
            help="where data, logs and stack.json live (default .local)",
        )
    args = parser.parse_args(argv)
    return {"up": _cmd_up, "status": _cmd_status, "token": _cmd_token, "down": _cmd_down}[
        args.command
    ](args)


if __name__ == "__main__":
    raise SystemExit(main())
