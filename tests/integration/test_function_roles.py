"""Least privilege, proven by the database itself (S1).

Each function signs in to PostgreSQL as its own role, created by the local stack from the same
grants plan production applies (infra/grants.py, from the manifest's `db_privileges`); the
migrations run as a separate migrator role that owns the schema. Here every function role
tries every privilege on every table: what its manifest entry grants works, everything else
is refused by PostgreSQL with `permission denied` (SQLSTATE 42501), not by our code.
"""

from __future__ import annotations

import pg8000.dbapi
import pytest
from lederappen.core import manifest as manifest_mod

from infra import grants
from infra.local import postgres
from infra.local.stack import PROJECT, function_db_role

pytestmark = pytest.mark.stack

MANIFEST = manifest_mod.load()
DB_FUNCTIONS = [f for f in MANIFEST.functions if "db" in f.uses]
PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")


@pytest.fixture(scope="module")
def tables(stack) -> dict[str, str]:
    """Every table of the schema -> one column that may be named in INSERT and UPDATE (not
    generated, not an identity ALWAYS column)."""
    conn = stack.cluster.connect()
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT c.relname, min(a.attname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "AND a.attgenerated = '' AND a.attidentity <> 'a' "
            "WHERE c.relkind IN ('r', 'p') GROUP BY c.relname"
        )
        return dict(cur.fetchall())
    finally:
        conn.close()


def _statement(privilege: str, table: str, column: str) -> str:
    """A statement that needs exactly `privilege` on `table` and changes nothing."""
    t, c = grants.quote_ident(table), grants.quote_ident(column)
    return {
        "SELECT": f"SELECT 1 FROM public.{t} LIMIT 0",
        "INSERT": f"INSERT INTO public.{t} ({c}) SELECT NULL WHERE false",
        "UPDATE": f"UPDATE public.{t} SET {c} = NULL WHERE false",
        "DELETE": f"DELETE FROM public.{t} WHERE false",
    }[privilege]


def _sqlstate(exc: Exception) -> str | None:
    detail = exc.args[0] if exc.args else None
    return detail.get("C") if isinstance(detail, dict) else None


def _try(cur, sql: str) -> str | None:
    """None when the statement ran; else its SQLSTATE."""
    try:
        cur.execute(sql)
        if cur.description:
            cur.fetchall()
        return None
    except pg8000.dbapi.DatabaseError as exc:
        return _sqlstate(exc) or "unknown"


@pytest.mark.parametrize("fn", DB_FUNCTIONS, ids=lambda f: f.name)
def test_a_function_role_may_do_exactly_what_its_manifest_entry_grants(stack, tables, fn):
    conn = stack.connect_as_function(fn.name)
    conn.autocommit = True
    try:
        cur = conn.cursor()
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == grants.iam_db_user(fn.name, PROJECT)
        refused, wrongly_allowed, wrongly_refused = 0, [], []
        for table, column in sorted(tables.items()):
            granted = set(fn.db_privileges.get(table, ()))
            for privilege in PRIVILEGES:
                outcome = _try(cur, _statement(privilege, table, column))
                if privilege in granted:
                    if outcome is not None:
                        wrongly_refused.append((privilege, table, outcome))
                elif outcome == "42501":  # insufficient_privilege: refused by PostgreSQL
                    refused += 1
                else:
                    wrongly_allowed.append((privilege, table, outcome))
        assert not wrongly_allowed, f"{fn.name} may do what its manifest does not grant"
        assert not wrongly_refused, f"{fn.name} is refused what its manifest grants"
        assert refused >= len(tables) * len(PRIVILEGES) - 4 * len(fn.db_privileges)
    finally:
        conn.close()


@pytest.mark.parametrize("fn", DB_FUNCTIONS, ids=lambda f: f.name)
def test_a_function_role_cannot_change_the_schema_or_become_the_migrator(stack, fn):
    conn = stack.connect_as_function(fn.name)
    conn.autocommit = True
    try:
        cur = conn.cursor()
        assert _try(cur, "CREATE TABLE public.stolen (x int)") == "42501"
        assert _try(cur, "ALTER TABLE public.salary_answers ADD COLUMN x int") == "42501"
        assert _try(cur, f"SET ROLE {postgres.APP_ROLE}") == "42501"
        cur.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        )
        assert cur.fetchone() == [False, False, False, False]
    finally:
        conn.close()


def test_the_salary_admin_cannot_read_the_answers_nor_the_survey_the_audit_trail(stack):
    conn = stack.connect_as_function("salary-admin")
    conn.autocommit = True
    try:
        cur = conn.cursor()
        for table in ("salary_answers", "audit_events", "consent_events", "message_batches"):
            assert _try(cur, f"SELECT count(*) FROM {table}") == "42501", table
        cur.execute("SELECT count(*) FROM salary_answer_counts")  # what it is granted works
        assert cur.fetchone()[0] >= 0
    finally:
        conn.close()


def test_the_schema_is_owned_by_the_migrator_and_no_function_role_owns_anything(stack):
    conn = stack.cluster.connect()
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public' "
            "WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'i')"
        )
        assert [r[0] for r in cur.fetchall()] == [postgres.APP_ROLE]
        cur.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s ORDER BY 1",
            (grants.managed_user_pattern(PROJECT),),
        )
        assert [r[0] for r in cur.fetchall()] == sorted(
            function_db_role(f.name) for f in DB_FUNCTIONS
        )
        # Applying the plan again changes nothing: the stack applied exactly production's plan.
        conn.autocommit = True
        assert grants.apply(conn, PROJECT, MANIFEST.functions, dry_run=True).statements == ()
    finally:
        conn.close()


def test_every_function_process_signs_in_as_its_own_role(stack, api):
    assert api.get("/v1/health").status == 200  # meta: SELECT 1 as its own role
    conn = stack.cluster.connect(postgres.SUPERUSER, database=postgres.APP_DATABASE)
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = %s "
            "AND backend_type = 'client backend'",
            (postgres.APP_DATABASE,),
        )
        users = {r[0] for r in cur.fetchall()}
    finally:
        conn.close()
    assert function_db_role("meta") in users
    assert users <= {function_db_role(f.name) for f in DB_FUNCTIONS} | {
        postgres.APP_ROLE,
        postgres.SUPERUSER,
    }
    for fn in DB_FUNCTIONS:
        env = stack.function_env(fn.name)
        assert env["DB_USER"] == function_db_role(fn.name)
        assert env["DB_PASSWORD"] != stack.env["DB_PASSWORD"]
