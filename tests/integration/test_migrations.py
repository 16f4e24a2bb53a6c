"""Migrations: apply to an empty database, apply again with no effect, refuse edited history."""

import uuid
from dataclasses import replace

import pytest

from infra import migrate
from infra.local import postgres

pytestmark = pytest.mark.stack


@pytest.fixture()
def empty_db(stack):
    name = "mig_" + uuid.uuid4().hex[:10]
    admin = stack.cluster.connect(user=postgres.SUPERUSER)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    conn = stack.cluster.connect(user=postgres.SUPERUSER, database=name)
    yield conn
    conn.close()
    admin.cursor().execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()


def _tables(conn):
    cur = conn.cursor()
    cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
    return {r[0] for r in cur.fetchall()}


def test_migrations_apply_to_an_empty_database_and_again_change_nothing(empty_db):
    applied = migrate.migrate(empty_db)
    assert [m.version for m in applied] == [m.version for m in migrate.discover()]
    tables = _tables(empty_db)
    assert {"schema_migrations", "processing_restrictions"} <= tables
    assert migrate.migrate(empty_db) == []
    assert _tables(empty_db) == tables


def test_an_applied_migration_that_was_edited_is_refused(empty_db):
    migrations = migrate.discover()
    migrate.migrate(empty_db, migrations)
    edited = [replace(migrations[0], sql=migrations[0].sql + "\n-- edited")] + migrations[1:]
    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        migrate.migrate(empty_db, edited)


def test_a_failing_migration_leaves_nothing_behind(empty_db):
    migrations = migrate.discover()
    bad = migrate.Migration(
        migrations[-1].version + 1,
        "broken",
        "CREATE TABLE half_done (x int); SELECT * FROM no_such_table;",
    )
    with pytest.raises(migrate.MigrationError, match="broken"):
        migrate.migrate(empty_db, migrations + [bad])
    assert "half_done" not in _tables(empty_db)
    cur = empty_db.cursor()
    cur.execute("SELECT max(version) FROM schema_migrations")
    assert cur.fetchone()[0] == migrations[-1].version


def test_the_stack_database_is_migrated(db_exec):
    rows = db_exec("SELECT count(*) FROM schema_migrations")
    assert rows[0][0] == len(migrate.discover())
