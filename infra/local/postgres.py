"""A private PostgreSQL cluster for the local stack and the tests.

Production uses Cloud SQL for PostgreSQL 15; locally the project runs its own cluster from
the machine's PostgreSQL server binaries (Debian's `postgresql` package, found through
`pg_config --bindir` or /usr/lib/postgresql/*/bin; the `pgserver` wheel's embedded binaries
when it is installed and nothing else is). Nothing system-wide is touched: the cluster lives
in `<state_dir>/postgres/` (data, unix socket, generated password file), listens on
127.0.0.1 at the port the stack chose, and is started as a child process so the stack
controls its life.

`initdb` and the server refuse to run as root. When this runs as root (the normal case on
these machines) both run as the unprivileged `postgres` user, or as a system user
`lederappen-pg` created once when `postgres` does not exist; the cluster directory is chowned
to that user, and where the state dir lies under a private directory (pytest's and mkdtemp's
temp dirs are 0700) the search bit for others (o+x, never read) is added to the directories
above it so that user can reach its data. As an ordinary user they run as that user.

Authentication is `scram-sha-256` everywhere. The superuser password and the app role's
password are generated once per state dir by the caller (see stack.py) and passed in. The
app role `lederappen` owns the database `lederappen` and its schema: it is the migrator (like
production's db-migrator user), runs the migrations and applies infra/grants.py. Functions
never connect as it: each connects as its own login role (`login_roles()`, named like its
Cloud SQL IAM user), holding only the grants its manifest entry lists, as in production.

    cluster = Cluster(state_dir / "postgres", port, superuser_password, app_password)
    cluster.init()                       # initdb, only when the data dir is new
    proc = cluster.spawn(log_file)       # the postmaster, in its own session
    cluster.wait_ready(timeout=20, proc=proc)
    cluster.bootstrap()                  # app role + database, idempotent
    cluster.login_roles({"fn-meta@p.iam": pw})  # one login role per function, idempotent
    ...
    cluster.stop(proc)                   # pg_ctl stop -m fast, then signals if needed
"""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

APP_ROLE = "lederappen"
APP_DATABASE = "lederappen"
SUPERUSER = "postgres"
#: Unprivileged system user created when running as root and `postgres` does not exist.
FALLBACK_OS_USER = "lederappen-pg"
#: Longest unix socket path the kernel accepts (sun_path is 108 bytes incl. the NUL).
_MAX_SOCKET_PATH = 107

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Install them with "
    "`apt-get install postgresql` (Debian/Ubuntu), or `pip install pgserver` for an embedded "
    "server."
)


class PostgresError(RuntimeError):
    """The private cluster cannot be prepared, started or reached; the message says why."""


def find_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres; raises PostgresError with a hint."""

    def usable(d: Path) -> bool:
        return all(os.access(d / b, os.X_OK) for b in ("initdb", "pg_ctl", "postgres"))

    candidates: list[Path] = []
    if shutil.which("pg_config"):
        try:
            out = subprocess.run(
                ["pg_config", "--bindir"], check=False, capture_output=True, text=True, timeout=5
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
        except (OSError, subprocess.TimeoutExpired):
            pass

    def version_key(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit())

    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True)
    candidates += [Path(p) for p in debian]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidates.append(Path(loc) / "pginstall" / "bin")
    for d in candidates:
        if usable(d):
            return d
    raise PostgresError(INSTALL_HINT)


@dataclass(frozen=True)
class OsUser:
    """Who the cluster's processes run as; `None` uid means "as this process"."""

    name: str
    uid: int | None
    gid: int | None

    def popen_kwargs(self) -> dict:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def cluster_user() -> OsUser:
    """The unprivileged OS user for initdb and the server (creates one if needed as root)."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return OsUser(me.pw_name, None, None)
    for name in ("postgres", FALLBACK_OS_USER):
        try:
            entry = pwd.getpwnam(name)
            return OsUser(name, entry.pw_uid, entry.pw_gid)
        except KeyError:
            continue
    try:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                FALLBACK_OS_USER,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise PostgresError(
            f"running as root and no unprivileged user for PostgreSQL exists; creating "
            f"{FALLBACK_OS_USER!r} with useradd failed: {exc}"
        ) from exc
    entry = pwd.getpwnam(FALLBACK_OS_USER)
    return OsUser(FALLBACK_OS_USER, entry.pw_uid, entry.pw_gid)


def _ensure_traversable(path: Path, user: OsUser) -> None:
    """Lets `user` reach `path`: adds the execute (search) bit for others where it lacks it.

    Only the search bit is added, never read: directory listings stay private. Needed when
    the state dir lies under a private temp dir (pytest's tmp dirs are mode 0700).
    """
    if user.uid is None:
        return
    groups = {g for g in os.getgrouplist(user.name, user.gid)}
    for d in [path, *path.parents]:
        st = d.stat()
        if st.st_uid == user.uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            os.chmod(d, st.st_mode | stat.S_IXOTH)


class Cluster:
    """One private cluster in `root` (data/, run/ for the socket, pwfile while initialising)."""

    def __init__(
        self,
        root: Path,
        port: int,
        superuser_password: str,
        app_password: str,
        host: str = "127.0.0.1",
    ):
        self.root = Path(root).resolve()
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "run"
        self.port = port
        self.host = host
        self.superuser_password = superuser_password
        self.app_password = app_password
        self.bindir = find_bindir()
        self.user = cluster_user()

    # -- setup ------------------------------------------------------------------------------

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def _own(self, path: Path) -> None:
        if self.user.uid is not None:
            os.chown(path, self.user.uid, self.user.gid)

    def init(self) -> bool:
        """Creates the cluster when the data dir is new; returns True if it ran initdb."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._own(self.root)
        os.chmod(self.root, 0o700)
        _ensure_traversable(self.root, self.user)
        self.socket_dir.mkdir(exist_ok=True)
        self._own(self.socket_dir)
        if self.initialised:
            return False
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise PostgresError(
                f"{self.data_dir} is not empty but holds no cluster (no PG_VERSION); "
                "remove it to start over"
            )
        pwfile = self.root / "initdb.pw"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(self.superuser_password + "\n")
        self._own(pwfile)
        try:
            result = subprocess.run(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    f"--pwfile={pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                ],
                cwd=self.root,
                check=False,
                capture_output=True,
                text=True,
                timeout=120,
                **self.user.popen_kwargs(),
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise PostgresError(
                "initdb failed:\n" + "\n".join((result.stdout + result.stderr).splitlines()[-15:])
            )
        return True

    # -- run --------------------------------------------------------------------------------

    def server_argv(self) -> list[str]:
        socket_path = self.socket_dir / f".s.PGSQL.{self.port}"
        socket_dirs = str(self.socket_dir) if len(str(socket_path)) <= _MAX_SOCKET_PATH else ""
        return [
            str(self.bindir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-c",
            f"listen_addresses={self.host}",
            "-c",
            f"unix_socket_directories={socket_dirs}",
            # A laptop database: commits need not wait for the disk (no corruption risk).
            "-c",
            "synchronous_commit=off",
            "-c",
            "max_connections=100",
            # Who ran a refused statement shows in the log (per-function roles).
            "-c",
            "log_line_prefix=%m [%p] %u ",
        ]

    def spawn(self, log: IO) -> subprocess.Popen:
        """Starts the postmaster as a child in its own session, logging to `log`."""
        return subprocess.Popen(
            self.server_argv(),
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self.user.popen_kwargs(),
        )

    def connect(
        self,
        user: str | None = None,
        database: str | None = None,
        timeout: float = 5.0,
        password: str | None = None,
    ):
        import pg8000.dbapi

        user = user or APP_ROLE
        return pg8000.dbapi.connect(
            user=user,
            password=password
            or (self.superuser_password if user == SUPERUSER else self.app_password),
            host=self.host,
            port=self.port,
            database=database or (SUPERUSER if user == SUPERUSER else APP_DATABASE),
            timeout=timeout,
            application_name="lederappen-local-stack",
        )

    def wait_ready(self, timeout: float, proc: subprocess.Popen | None = None) -> None:
        """Polls until the superuser can run `SELECT 1`; raises PostgresError on timeout/exit."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise PostgresError(f"postgres exited with code {proc.returncode}")
            try:
                conn = self.connect(SUPERUSER, timeout=2)
                try:
                    cur = conn.cursor()
                    cur.execute("SELECT 1")
                    cur.fetchall()
                    return
                finally:
                    conn.close()
            except Exception as exc:  # not accepting yet, or starting up (57P03)  # noqa: BLE001
                last = exc
            time.sleep(0.05)
        raise PostgresError(f"postgres did not accept connections within {timeout:.0f}s: {last}")

    def bootstrap(self) -> None:
        """Creates (or re-passwords) the app role and creates its database; idempotent."""
        conn = self.connect(SUPERUSER)
        try:
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,))
            verb = "ALTER" if cur.fetchall() else "CREATE"
            # Identifiers and the password cannot be bound parameters in DDL; the role name
            # is a constant and the password is generated hex (no quotes possible).
            assert self.app_password.isalnum()
            cur.execute(f"{verb} ROLE {APP_ROLE} LOGIN PASSWORD '{self.app_password}'")
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (APP_DATABASE,))
            if not cur.fetchall():
                cur.execute(f"CREATE DATABASE {APP_DATABASE} OWNER {APP_ROLE} ENCODING 'UTF8'")
            cur.execute(f"ALTER DATABASE {APP_DATABASE} OWNER TO {APP_ROLE}")
        finally:
            conn.close()

    def login_roles(self, roles: dict[str, str]) -> None:
        """Creates (or re-passwords) plain login roles, name -> password; idempotent.

        They get no privilege here: infra/grants.py grants each exactly its manifest entry's
        table privileges, as it does for the IAM users in Cloud SQL."""
        conn = self.connect(SUPERUSER)
        try:
            conn.autocommit = True
            cur = conn.cursor()
            cur.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(roles),))
            existing = {r[0] for r in cur.fetchall()}
            for name, password in roles.items():
                # DDL takes no bound parameters: names are quoted, passwords are hex.
                assert password.isalnum() and '"' not in name
                verb = "ALTER" if name in existing else "CREATE"
                cur.execute(
                    f'{verb} ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                    f"PASSWORD '{password}'"
                )
        finally:
            conn.close()

    def stop(self, proc: subprocess.Popen | None, timeout: float = 10.0) -> None:
        """Fast shutdown with `pg_ctl stop -m fast`; signals the process group if that fails."""
        alive = proc is not None and proc.poll() is None
        if proc is not None and not alive:
            return
        if self.initialised:
            try:
                subprocess.run(
                    [
                        str(self.bindir / "pg_ctl"),
                        "stop",
                        "-D",
                        str(self.data_dir),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        str(int(timeout)),
                    ],
                    cwd=self.root,
                    check=False,
                    capture_output=True,
                    text=True,
                    timeout=timeout + 5,
                    **self.user.popen_kwargs(),
                )
            except (OSError, subprocess.SubprocessError):
                pass
        if proc is None:
            return
        try:
            proc.wait(timeout=2)
            return
        except subprocess.TimeoutExpired:
            pass
        for sig, wait in ((signal.SIGINT, 5), (signal.SIGKILL, 5)):  # SIGINT = fast shutdown
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue
