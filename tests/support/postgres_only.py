"""PostgreSQL alone, migrated: a private cluster for tests that need a database but not the
emulators, stand-ins or function processes (tests/sql and tests/inprocess). About two seconds
to start, once per session."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import migrate
from infra.local import postgres
from infra.local.stack import free_ports


@pytest.fixture(scope="session")
def sql_cluster() -> Iterator[postgres.Cluster]:
    root = Path(tempfile.mkdtemp(prefix="lederappen-sql-"))
    cluster = postgres.Cluster(root, free_ports(1)[0], secrets.token_hex(16), secrets.token_hex(16))
    log = open(root / "postgres.log", "wb")  # noqa: SIM115 (closed below)
    proc = None
    try:
        cluster.init()
        proc = cluster.spawn(log)
        cluster.wait_ready(60, proc)
        cluster.bootstrap()
        conn = cluster.connect(postgres.APP_ROLE)
        try:
            migrate.migrate(conn)
        finally:
            conn.close()
        yield cluster
    finally:
        if proc is not None:
            cluster.stop(proc)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def cur(sql_cluster: postgres.Cluster) -> Iterator[Any]:
    """A cursor in a transaction that is rolled back after the test."""
    conn = sql_cluster.connect(postgres.APP_ROLE)
    try:
        yield conn.cursor()
    finally:
        conn.rollback()
        conn.close()
