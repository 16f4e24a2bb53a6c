"""The pool against the real database: a connection killed by the server is replaced."""

import base64

import pytest
from lederappen.core import config, db
from lederappen.core.problems import DependencyUnavailable

pytestmark = pytest.mark.stack


@pytest.fixture()
def pool(stack):
    settings = config.load(("db",), stack.env)
    p = db.Pool(lambda: db.connect(settings), size=2, acquire_timeout=2)
    yield p
    p.close()


def test_a_connection_terminated_by_the_server_is_replaced_transparently(pool, db_exec):
    pid = db.read(
        lambda cur: cur.execute("SELECT pg_backend_pid()") or cur.fetchone()[0], use_pool=pool
    )
    db_exec("SELECT pg_terminate_backend(%s)", (pid,))
    new_pid = db.read(
        lambda cur: cur.execute("SELECT pg_backend_pid()") or cur.fetchone()[0], use_pool=pool
    )
    assert new_pid != pid and pool.opened == 2


def test_a_transaction_commits_and_a_failed_one_leaves_nothing(pool, db_exec):
    def insert(cur):
        cur.execute("INSERT INTO processing_restrictions (member_id) VALUES (%s)", ("tx-test-1",))

    def insert_then_fail(cur):
        cur.execute("INSERT INTO processing_restrictions (member_id) VALUES (%s)", ("tx-test-2",))
        raise ValueError("rule broken after the write")

    try:
        db.transaction(insert, use_pool=pool)
        with pytest.raises(ValueError):
            db.transaction(insert_then_fail, use_pool=pool)
        rows = db_exec(
            "SELECT member_id FROM processing_restrictions WHERE member_id LIKE 'tx-test-%%'"
        )
        assert [tuple(r) for r in rows] == [("tx-test-1",)]
    finally:
        db_exec("DELETE FROM processing_restrictions WHERE member_id LIKE 'tx-test-%%'")


def test_statement_timeout_is_enforced_by_the_server(stack):
    settings = config.load(("db",), {**stack.env, "DB_STATEMENT_TIMEOUT_MS": "200"})
    p = db.Pool(lambda: db.connect(settings), size=1, acquire_timeout=2)
    try:
        import pg8000.exceptions

        with pytest.raises(pg8000.exceptions.DatabaseError):
            db.read(lambda cur: cur.execute("SELECT pg_sleep(2)"), use_pool=p)
    finally:
        p.close()


def test_unreachable_database_is_dependency_unavailable():
    settings = config.load(
        ("db",),
        {
            "GOOGLE_CLOUD_PROJECT": "p",
            "PSEUDONYM_KEY": base64.b64encode(b"k" * 32).decode(),
            "DB_NAME": "x",
            "DB_USER": "app",
            "DB_PASSWORD": "pw",
            "DB_HOST": "127.0.0.1",
            "DB_PORT": "1",
            "DB_CONNECT_TIMEOUT_SECONDS": "0.5",
        },
    )
    with pytest.raises(DependencyUnavailable):
        db.connect(settings)
