"""Grants each function's database user exactly the table privileges its manifest entry lists.

    python -m infra.grants --project P            # apply the difference
    python -m infra.grants --project P --dry-run  # print the SQL, change nothing

Least privilege in the database (privacy policy section 6, S1): every Cloud Function signs in
to Cloud SQL as its own IAM database user, `<account-id>@<project>.iam` (its service account's
e-mail without `.gserviceaccount.com`; Terraform creates the users), and may touch only the
tables, and only with the privileges, that `db_privileges` in functions/manifest.json names.

Terraform cannot run SQL without a network path to the instance, so a deploy runs
`python -m infra.migrate` and then this command (terraform/README.md). It reads the current
table and sequence privileges of every function user (any role named `fn-...@<project>.iam`),
compares them with the manifest, and issues only the REVOKEs and GRANTs that differ, in one
transaction: a privilege the manifest no longer lists is revoked, a function that left the
manifest loses everything, and running it twice changes nothing the second time. A function
that may INSERT into a table also gets USAGE on the sequences that table owns (serial columns).

It connects like infra/migrate.py (the `db` settings: Cloud SQL connector when
CLOUD_SQL_INSTANCE is set, pg8000 directly otherwise), as the schema owner (db-migrator).
The planning is a pure function, `plan()`, unit tested in tests/unit/test_grants.py.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))

from lederappen.core import config, db
from lederappen.core import manifest as manifest_mod

#: Service account id prefix of function runtime accounts (terraform/manifest.tf, account_prefixes).
FUNCTION_ACCOUNT_PREFIX = "fn-"
#: Longest service account id Google accepts.
MAX_ACCOUNT_ID = 30
#: Table privileges the manifest may name, and the one privilege granted on sequences.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
SEQUENCE_PRIVILEGE = "USAGE"
SCHEMA = "public"
LOCK_KEY = 7_461_236_002  # pg_advisory_xact_lock key reserved for grants (migrate uses ...001)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


class GrantError(RuntimeError):
    """Raised when the manifest names a table that does not exist, or a grant fails to apply."""


def account_id(name: str, prefix: str = FUNCTION_ACCOUNT_PREFIX) -> str:
    """The service account id Terraform gives a function (terraform/manifest.tf, account_ids).

    `<prefix><name>` when it fits in 30 characters; otherwise the name is cut and a 6-digit
    SHA-256 suffix keeps two long names apart.
    """
    candidate = f"{prefix}{name}"
    if len(candidate) <= MAX_ACCOUNT_ID:
        return candidate
    keep = MAX_ACCOUNT_ID - len(prefix) - 7
    return f"{prefix}{name[:keep]}-{hashlib.sha256(name.encode('utf-8')).hexdigest()[:6]}"


def iam_db_user(function_name: str, project: str) -> str:
    """The Cloud SQL IAM user of a function's service account (e-mail minus .gserviceaccount.com)."""
    return f"{account_id(function_name)}@{project}.iam"


def managed_user_pattern(project: str) -> str:
    """SQL LIKE pattern matching every function user of the project (and nothing else)."""
    return f"{FUNCTION_ACCOUNT_PREFIX}%@{project}.iam"


@dataclass(frozen=True)
class DbState:
    """What the database holds now, as read by `read_state()`.

    `privileges`: user -> object -> privileges, for function users only (tables and sequences
    in the schema). `users`: roles that exist. `schema_users`: function users holding an
    explicit USAGE on the schema. `tables`: table names. `sequences`: table -> sequences it
    owns (serial or identity columns).
    """

    privileges: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)
    users: frozenset[str] = frozenset()
    schema_users: frozenset[str] = frozenset()
    tables: frozenset[str] = frozenset()
    sequences: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    statements: tuple[str, ...]
    #: Function users the manifest needs but the database does not have yet (Terraform creates
    #: them; run this again after `terraform apply`).
    missing_users: tuple[str, ...] = ()


def quote_ident(name: str) -> str:
    """A PostgreSQL quoted identifier (IAM user names contain '@', '.' and '-')."""
    return '"' + name.replace('"', '""') + '"'


def _object(name: str) -> str:
    if not _IDENT.match(name):
        raise GrantError(f"{name!r} is not a plain lowercase table or sequence name")
    return f"{SCHEMA}.{quote_ident(name)}"


def desired_privileges(
    functions: Iterable[manifest_mod.Function], project: str
) -> dict[str, dict[str, frozenset[str]]]:
    """User -> table -> privileges, from each db-using function's `db_privileges`."""
    out: dict[str, dict[str, frozenset[str]]] = {}
    for fn in functions:
        if "db" not in fn.uses:
            continue
        tables: dict[str, frozenset[str]] = {}
        for table, privileges in fn.db_privileges.items():
            privs = frozenset(p.upper() for p in privileges)
            unknown = privs - set(TABLE_PRIVILEGES)
            if unknown:
                raise GrantError(
                    f"function {fn.name!r}: unknown privileges {sorted(unknown)} on {table}"
                )
            if privs:
                tables[table] = privs
        out[iam_db_user(fn.name, project)] = tables
    return out


def _with_sequences(
    desired: Mapping[str, Mapping[str, frozenset[str]]], sequences: Mapping[str, Iterable[str]]
) -> dict[str, dict[str, frozenset[str]]]:
    """Adds USAGE on the sequences of every table a user may INSERT into."""
    out: dict[str, dict[str, frozenset[str]]] = {}
    for user, tables in desired.items():
        objects = {t: frozenset(p) for t, p in tables.items()}
        for table, privs in tables.items():
            if "INSERT" in privs:
                for seq in sequences.get(table, ()):
                    objects[seq] = frozenset({SEQUENCE_PRIVILEGE})
        out[user] = objects
    return out


def plan(desired: Mapping[str, Mapping[str, frozenset[str]]], state: DbState) -> Plan:
    """The SQL that turns `state` into `desired`, and nothing else.

    Pure: no I/O. Statements come in a stable order (users, then objects, sorted; REVOKE
    before GRANT), so a dry run reads the same every time. Raises GrantError when the manifest
    names a table the database does not have (run the migrations first).
    """
    missing_tables = sorted({t for tables in desired.values() for t in tables} - set(state.tables))
    if missing_tables:
        raise GrantError(
            "the manifest grants on tables the database does not have (run python -m "
            f"infra.migrate first): {', '.join(missing_tables)}"
        )
    wanted = _with_sequences(desired, state.sequences)
    sequence_names = {s for seqs in state.sequences.values() for s in seqs}
    statements: list[str] = []
    missing_users: list[str] = []
    for user in sorted(set(wanted) | set(state.privileges) | set(state.schema_users)):
        if user in wanted and user not in state.users:
            missing_users.append(user)
            continue
        want = wanted.get(user, {})
        have = state.privileges.get(user, {})
        # USAGE on the schema only for a user that may touch something in it; revoked
        # otherwise, so the role of a removed function holds nothing and can be dropped.
        if want and user not in state.schema_users:
            statements.append(f"GRANT USAGE ON SCHEMA {quote_ident(SCHEMA)} TO {quote_ident(user)}")
        if not want and user in state.schema_users:
            statements.append(
                f"REVOKE USAGE ON SCHEMA {quote_ident(SCHEMA)} FROM {quote_ident(user)}"
            )
        for obj in sorted(set(want) | set(have)):
            kind = "SEQUENCE" if obj in sequence_names else "TABLE"
            extra = sorted(set(have.get(obj, ())) - set(want.get(obj, ())))
            lacking = sorted(set(want.get(obj, ())) - set(have.get(obj, ())))
            if extra:
                statements.append(
                    f"REVOKE {', '.join(extra)} ON {kind} {_object(obj)} FROM {quote_ident(user)}"
                )
            if lacking:
                statements.append(
                    f"GRANT {', '.join(lacking)} ON {kind} {_object(obj)} TO {quote_ident(user)}"
                )
    return Plan(tuple(statements), tuple(missing_users))


# --- database I/O (thin; the rules are in plan()) ------------------------------------------------

_PRIVILEGES_SQL = """
SELECT r.rolname, c.relname, a.privilege_type
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = %s
  CROSS JOIN LATERAL aclexplode(c.relacl) a
  JOIN pg_roles r ON r.oid = a.grantee
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND r.rolname LIKE %s
"""
_USERS_SQL = "SELECT rolname FROM pg_roles WHERE rolname LIKE %s"
_SCHEMA_USERS_SQL = """
SELECT r.rolname
  FROM pg_namespace n
  CROSS JOIN LATERAL aclexplode(n.nspacl) a
  JOIN pg_roles r ON r.oid = a.grantee
 WHERE n.nspname = %s AND a.privilege_type = 'USAGE' AND r.rolname LIKE %s
"""
_TABLES_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm')
"""
_SEQUENCES_SQL = """
SELECT t.relname, s.relname
  FROM pg_class s
  JOIN pg_namespace n ON n.oid = s.relnamespace AND n.nspname = %s
  JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
                  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  JOIN pg_class t ON t.oid = d.refobjid
 WHERE s.relkind = 'S'
"""


def read_state(cur, project: str) -> DbState:
    """Reads function users, their privileges, tables and owned sequences from the database."""
    pattern = managed_user_pattern(project)
    privileges: dict[str, dict[str, set[str]]] = {}
    cur.execute(_PRIVILEGES_SQL, (SCHEMA, pattern))
    for user, obj, privilege in cur.fetchall():
        privileges.setdefault(user, {}).setdefault(obj, set()).add(privilege.upper())
    cur.execute(_USERS_SQL, (pattern,))
    users = frozenset(row[0] for row in cur.fetchall())
    cur.execute(_SCHEMA_USERS_SQL, (SCHEMA, pattern))
    schema_users = frozenset(row[0] for row in cur.fetchall())
    cur.execute(_TABLES_SQL, (SCHEMA,))
    tables = frozenset(row[0] for row in cur.fetchall())
    cur.execute(_SEQUENCES_SQL, (SCHEMA,))
    sequences: dict[str, list[str]] = {}
    for table, seq in cur.fetchall():
        sequences.setdefault(table, []).append(seq)
    return DbState(
        privileges={
            u: {o: frozenset(p) for o, p in objs.items()} for u, objs in privileges.items()
        },
        users=users,
        schema_users=schema_users,
        tables=tables,
        sequences={t: tuple(sorted(s)) for t, s in sequences.items()},
    )


def apply(
    conn, project: str, functions: Iterable[manifest_mod.Function], dry_run: bool = False
) -> Plan:
    """Reads the state, plans, and (unless dry_run) executes the plan in one transaction."""
    desired = desired_privileges(functions, project)
    cur = conn.cursor()
    try:
        cur.execute("BEGIN")
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        result = plan(desired, read_state(cur, project))
        if dry_run:
            cur.execute("ROLLBACK")
            return result
        for statement in result.statements:
            cur.execute(statement)
        cur.execute("COMMIT")
        return result
    except GrantError:
        cur.execute("ROLLBACK")
        raise
    except Exception as exc:
        cur.execute("ROLLBACK")
        raise GrantError(f"grants failed, nothing changed: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--project", required=True, help="Google Cloud project id of the environment"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the SQL, change nothing")
    args = parser.parse_args(argv)
    try:
        functions = manifest_mod.load().functions
        settings = config.load(("db",), common=False)
    except (config.ConfigError, manifest_mod.ManifestError) as exc:
        print(exc, file=sys.stderr)
        return 2
    conn = db.connect(settings)
    conn.autocommit = True  # transaction control is explicit in apply()
    try:
        result = apply(conn, args.project, functions, dry_run=args.dry_run)
    except GrantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    for user in result.missing_users:
        print(
            f"warning: database user {user} does not exist yet (terraform apply creates it); "
            "run this again afterwards",
            file=sys.stderr,
        )
    if not result.statements:
        print("grants are up to date")
    for statement in result.statements:
        print(statement + ";")
    if args.dry_run and result.statements:
        print(f"-- dry run: {len(result.statements)} statement(s) not executed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
