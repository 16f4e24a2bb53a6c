"""The connection pool: bounded, reconnects after a dropped connection, never double-commits."""

import threading

import pg8000.exceptions
import pytest
from lederappen.core import db
from lederappen.core.problems import DependencyUnavailable


class FakeConn:
    def __init__(self, log, fail_on=None):
        self.log, self.fail_on, self.closed = log, fail_on, False

    def cursor(self):
        return self

    def execute(self, sql, params=()):
        self.log.append(sql)
        if self.fail_on == sql:
            raise pg8000.exceptions.InterfaceError("network error")

    def fetchall(self):
        return [(1,)]

    def fetchone(self):
        return (1,)

    def commit(self):
        self.log.append("COMMIT")
        if self.fail_on == "COMMIT":
            raise pg8000.exceptions.InterfaceError("connection lost during commit")

    def rollback(self):
        self.log.append("ROLLBACK")

    def close(self):
        self.closed = True


def test_pool_reuses_connections_and_never_exceeds_its_size():
    made = []

    def factory():
        made.append(FakeConn([]))
        return made[-1]

    pool = db.Pool(factory, size=2, acquire_timeout=0.2)
    for _ in range(5):
        with pool.connection():
            pass
    assert len(made) == 1
    with (
        pool.connection(),
        pool.connection(),
        pytest.raises(DependencyUnavailable),
        pool.connection(),
    ):
        pass


def test_a_dropped_connection_is_discarded_and_the_unit_of_work_retried_once():
    log = []
    conns = [FakeConn(log, fail_on="SELECT broken"), FakeConn(log)]
    pool = db.Pool(lambda: conns.pop(0), size=1, acquire_timeout=0.2)
    calls = []

    def work(cur):
        calls.append(1)
        cur.execute("SELECT broken" if len(calls) == 1 else "SELECT ok")
        return "done"

    assert db.transaction(work, use_pool=pool) == "done"
    assert len(calls) == 2 and pool.opened == 2
    assert log.count("COMMIT") == 1


def test_a_connection_lost_during_commit_is_not_retried():
    log = []
    pool = db.Pool(lambda: FakeConn(log, fail_on="COMMIT"), size=1, acquire_timeout=0.2)
    calls = []

    def work(cur):
        calls.append(1)
        cur.execute("INSERT something")

    with pytest.raises(DependencyUnavailable):
        db.transaction(work, use_pool=pool)
    assert len(calls) == 1


def test_statement_errors_roll_back_and_propagate_without_retry():
    log = []
    pool = db.Pool(lambda: FakeConn(log), size=1, acquire_timeout=0.2)

    def work(cur):
        raise ValueError("a rule broke")

    with pytest.raises(ValueError):
        db.transaction(work, use_pool=pool)
    assert log == ["ROLLBACK"] and pool.opened == 1


def test_database_unreachable_at_connect_is_dependency_unavailable():
    def factory():
        raise DependencyUnavailable("database")

    pool = db.Pool(factory, size=1, acquire_timeout=0.2)
    with pytest.raises(DependencyUnavailable):
        db.transaction(lambda cur: None, use_pool=pool)
    # the slot was released: the next attempt is not blocked by the failed one
    with pytest.raises(DependencyUnavailable):
        db.transaction(lambda cur: None, use_pool=pool)


def test_idle_connection_is_pinged_and_replaced_when_dead(monkeypatch):
    log = []
    first = FakeConn(log, fail_on="SELECT 1")
    conns = [first, FakeConn(log)]
    pool = db.Pool(lambda: conns.pop(0), size=1, acquire_timeout=0.2)
    with pool.connection():
        pass
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", -1)
    with pool.connection() as conn:
        assert conn is not first
    assert first.closed


def test_pool_is_thread_safe_under_contention():
    pool = db.Pool(lambda: FakeConn([]), size=3, acquire_timeout=5)
    in_use, peak, lock = [0], [0], threading.Lock()

    def worker():
        for _ in range(50):
            with pool.connection():
                with lock:
                    in_use[0] += 1
                    peak[0] = max(peak[0], in_use[0])
                with lock:
                    in_use[0] -= 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] <= 3 and pool.opened <= 3


class AutocommitConn(FakeConn):
    autocommit = False

    def execute(self, sql, params=()):
        self.log.append(("autocommit" if self.autocommit else "tx", sql))
        if self.fail_on == sql:
            raise pg8000.exceptions.InterfaceError("network error")


def test_reads_run_in_autocommit_without_begin_or_commit():
    log = []
    pool = db.Pool(lambda: AutocommitConn(log), size=1, acquire_timeout=0.2)
    assert db.read(lambda cur: cur.execute("SELECT 1") or "row", use_pool=pool) == "row"
    assert log == [("autocommit", "SELECT 1")]
    with pool.connection() as conn:
        assert conn.autocommit is False  # handed back ready for transactions


def test_a_read_on_a_dropped_connection_is_retried_on_a_new_one():
    log = []
    conns = [AutocommitConn(log, fail_on="SELECT 1"), AutocommitConn(log)]
    pool = db.Pool(lambda: conns.pop(0), size=1, acquire_timeout=0.2)
    calls = []

    def work(cur):
        calls.append(1)
        cur.execute("SELECT 1" if len(calls) == 1 else "SELECT 2")
        return len(calls)

    assert db.read(work, use_pool=pool) == 2 and pool.opened == 2
