"""Cloud SQL for PostgreSQL access: one connection factory and a small bounded pool.

`connect()` decides from configuration alone: with CLOUD_SQL_INSTANCE set it goes through the
Cloud SQL Python connector (pg8000 driver, IAM database authentication, lazy refresh, which
suits serverless instances whose CPU is throttled between requests); otherwise pg8000 connects
directly to DB_HOST:DB_PORT (the private local cluster). Either way the caller gets a pg8000
DB-API connection, so the rest of the code has one path.

The pool is created lazily per instance, never at import, holds at most DB_POOL_SIZE
connections, pings a connection that sat idle for a while before handing it out, and drops a
connection that failed at the network level. `transaction()` retries its unit of work once
on a fresh connection when the connection broke before the commit was sent; if the commit
itself was lost, it raises DependencyUnavailable rather than guessing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from . import config
from .problems import DependencyUnavailable

if TYPE_CHECKING:  # pragma: no cover
    import pg8000.dbapi

log = logging.getLogger(__name__)
T = TypeVar("T")

#: One row as pg8000 returns it (a list of column values, in the SELECT's order).
Row = list[Any]


def one(cur: Cursor) -> Row:
    """The row a statement always returns (an aggregate, INSERT ... RETURNING, a row already
    locked), checked: a missing one is a bug, not an empty answer."""
    row = cur.fetchone()
    if row is None:
        raise RuntimeError("the statement returned no row")
    return row


class Cursor(Protocol):
    """The part of a DB-API cursor (pg8000.dbapi.Cursor) the features use: what every
    `work(cur)` given to `transaction` and `read` receives."""

    rowcount: int

    @property
    def description(self) -> Any: ...

    def execute(self, operation: str, args: Any = ..., stream: Any = ...) -> Any: ...

    def executemany(self, operation: str, param_sets: Any) -> Any: ...

    def fetchone(self) -> Row | None: ...

    def fetchall(self) -> Any: ...

    def fetchmany(self, num: int | None = ...) -> Any: ...


#: `column = ANY(...)` of the texts in one JSON array parameter (`json.dumps(list)`): for
#: "these members" in a set-based statement. One JSON text, not a text[] parameter: pg8000
#: encodes an array parameter in Python (~3 us an element). And ANY of an array, not
#: `IN (SELECT json_array_elements_text(...))`: the planner takes a set-returning function
#: for 100 rows and hashes it against a scan of the whole table (devices: 44 ms a batch of
#: 1,000 at 200,000 rows), where the array is looked up in the index (4 ms).
IN_JSON_LIST = "= ANY(ARRAY(SELECT json_array_elements_text(%s::json)))"


#: A connection idle longer than this is pinged before use (serverless instances sleep).
PING_AFTER_IDLE_SECONDS = 30.0
#: SQLSTATE classes that mean the connection (not the statement) is gone.
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")

_connector = None
_connector_lock = threading.Lock()


def _cloud_sql_connector():
    global _connector
    with _connector_lock:
        if _connector is None:
            from google.cloud.sql.connector import Connector, RefreshStrategy

            _connector = Connector(refresh_strategy=RefreshStrategy.LAZY)
        return _connector


def connect(settings: config.Settings) -> pg8000.dbapi.Connection:
    """Opens one connection as configured; raises DependencyUnavailable when it cannot."""
    startup = {"statement_timeout": str(settings.db_statement_timeout_ms)}
    try:
        if settings.cloud_sql_instance:
            return _cloud_sql_connector().connect(
                settings.cloud_sql_instance,
                "pg8000",
                user=settings.db_user,
                db=settings.db_name,
                enable_iam_auth=True,
                ip_type=settings.db_ip_type.lower(),
                timeout=int(max(1, settings.db_connect_timeout_seconds)),
                startup_params=startup,
                application_name="lederappen",
            )
        import pg8000.dbapi

        return pg8000.dbapi.connect(
            user=settings.db_user,
            password=settings.db_password,
            host=settings.db_host,
            port=settings.db_port,
            database=settings.db_name,
            timeout=settings.db_connect_timeout_seconds,
            startup_params=startup,
            application_name="lederappen",
        )
    except Exception as exc:
        if _is_connection_error(exc) or isinstance(exc, (OSError, TimeoutError)):
            log.warning("database connect failed", extra={"fields": {"error": type(exc).__name__}})
            raise DependencyUnavailable("database") from exc
        raise


def _is_connection_error(exc: BaseException) -> bool:
    """True when `exc` means the connection is unusable (not that a statement was wrong)."""
    import pg8000.exceptions as pgx

    if isinstance(exc, (OSError, TimeoutError, EOFError)):
        return True
    if isinstance(exc, pgx.InterfaceError):
        return True
    if isinstance(exc, pgx.DatabaseError) and exc.args and isinstance(exc.args[0], dict):
        code = exc.args[0].get("C", "")
        return code.startswith(_CONNECTION_SQLSTATES)
    return False


class _Slot:
    __slots__ = ("conn", "last_used")

    def __init__(self, conn):
        self.conn = conn
        self.last_used = time.monotonic()


class Pool:
    """At most `size` connections per instance, handed out one request at a time."""

    def __init__(self, factory: Callable[[], Any], size: int, acquire_timeout: float):
        self._factory = factory
        self._idle: deque[_Slot] = deque()
        self._slots = threading.BoundedSemaphore(size)
        self._acquire_timeout = acquire_timeout
        self._lock = threading.Lock()
        self.opened = 0  # connections opened over the pool's life (tests, metrics)

    @contextmanager
    def connection(self) -> Iterator[Any]:
        if not self._slots.acquire(timeout=self._acquire_timeout):
            raise DependencyUnavailable("database")
        slot = None
        try:
            slot = self._checkout()
            yield slot.conn
        except BaseException as exc:
            if slot is not None and _is_connection_error(exc):
                self._discard(slot)
                slot = None
            raise
        finally:
            if slot is not None:
                slot.last_used = time.monotonic()
                with self._lock:
                    self._idle.append(slot)
            self._slots.release()

    def _checkout(self) -> _Slot:
        while True:
            with self._lock:
                slot = self._idle.pop() if self._idle else None
            if slot is None:
                self.opened += 1
                return _Slot(self._factory())
            if time.monotonic() - slot.last_used < PING_AFTER_IDLE_SECONDS:
                return slot
            try:
                cur = slot.conn.cursor()
                cur.execute("SELECT 1")
                cur.fetchall()
                slot.conn.rollback()
                return slot
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                self._discard(slot)

    @staticmethod
    def _discard(slot: _Slot) -> None:
        with contextlib.suppress(Exception):
            slot.conn.close()

    def close(self) -> None:
        with self._lock:
            while self._idle:
                self._discard(self._idle.pop())


_pool: Pool | None = None
_pool_lock = threading.Lock()


def pool() -> Pool:
    """The instance's pool, created on first use from the `db` settings."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                settings = config.get(("db",))
                _pool = Pool(
                    lambda: connect(settings),
                    size=settings.db_pool_size,
                    acquire_timeout=settings.db_connect_timeout_seconds,
                )
    return _pool


def reset_pool() -> None:
    """Closes and forgets the instance's pool (tests that change settings)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.close()
        _pool = None


def transaction(work: Callable[[Cursor], T], *, use_pool: Pool | None = None) -> T:
    """Runs `work(cursor)` in one transaction and commits it.

    A connection that breaks before COMMIT is sent is replaced and `work` runs once more
    (nothing was committed, so this is safe). A break during COMMIT is ambiguous and becomes
    DependencyUnavailable: callers make writes idempotent so the client may retry.
    """
    p = use_pool or pool()
    for attempt in (1, 2):
        committing = False
        try:
            with p.connection() as conn:
                cur = conn.cursor()
                try:
                    result = work(cur)
                    committing = True
                    conn.commit()
                    return result
                except BaseException:
                    if not committing:
                        with contextlib.suppress(Exception):
                            conn.rollback()
                    raise
        except DependencyUnavailable:
            raise
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            if committing or attempt == 2:
                raise DependencyUnavailable("database") from exc
            log.warning("database connection lost, retrying once")
    raise AssertionError("unreachable")


def read(work: Callable[[Cursor], T], *, use_pool: Pool | None = None) -> T:
    """Runs read-only `work(cursor)` in autocommit mode: one round trip per statement.

    pg8000 opens every DB-API transaction with a separate BEGIN and closes it with COMMIT,
    two extra round trips that a single SELECT does not need. Reads are safe to retry, so a
    connection that breaks is replaced and `work` runs once more.
    """
    p = use_pool or pool()
    for attempt in (1, 2):
        try:
            with p.connection() as conn:
                conn.autocommit = True
                try:
                    return work(conn.cursor())
                finally:
                    conn.autocommit = False
        except DependencyUnavailable:
            raise
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            if attempt == 2:
                raise DependencyUnavailable("database") from exc
            log.warning("database connection lost, retrying once")
    raise AssertionError("unreachable")


def fetch_one(sql: str, params: tuple = ()) -> tuple | None:
    """The first row of a read-only query, or None."""

    def work(cur: Cursor):
        cur.execute(sql, params)
        return cur.fetchone()

    return read(work)


def fetch_all(sql: str, params: tuple = ()) -> list[tuple]:
    """All rows of a read-only query."""

    def work(cur: Cursor):
        cur.execute(sql, params)
        return cur.fetchall()

    return read(work)
