"""Applies the versioned SQL migrations in infra/migrations to the configured database.

    python -m infra.migrate            # apply what is pending
    python -m infra.migrate --status   # list applied and pending, change nothing

Files are named NNNN_description.sql and applied in order, each in its own transaction
together with its row in `schema_migrations`, so a failing migration leaves nothing behind.
A session-level advisory lock serialises concurrent runners (two deploys at once). Applied
migrations are checksummed: editing one after it ran is refused, because production would
never see the edit. Running it again with nothing pending changes nothing.

It connects through the same factory as the functions (Cloud SQL connector when
CLOUD_SQL_INSTANCE is set, pg8000 directly otherwise) and reads only the `db` settings.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIGRATIONS_DIR = ROOT / "infra" / "migrations"
sys.path.insert(0, str(ROOT / "functions"))

from lederappen.core import config, db

LOCK_KEY = 7_461_236_001  # pg_advisory_lock key reserved for migrations
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """Raised when migrations are malformed, edited after being applied, or fail to apply."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path.name}: name must be NNNN_description.sql")
        found.append(Migration(int(m.group(1)), m.group(2), path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migrations share a version number")
    # Gaps are allowed: numbers are handed out to parallel branches before they merge (a
    # missing number is applied whenever it arrives: pending means "not applied", not "> max").
    if versions and versions[0] < 1:
        raise MigrationError(f"versions must start at 1 or above, found {versions}")
    return found


def _applied(cur) -> dict[int, tuple[str, str]]:
    cur.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version    integer     PRIMARY KEY,
               name       text        NOT NULL,
               checksum   text        NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now()
           )"""
    )
    cur.execute("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    return {v: (n, c) for v, n, c in cur.fetchall()}


def migrate(
    conn, migrations: list[Migration] | None = None, dry_run: bool = False
) -> list[Migration]:
    """Applies pending migrations on `conn`; returns those applied (or pending, if dry_run)."""
    migrations = discover() if migrations is None else migrations
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        applied = _applied(cur)
        for m in migrations:
            if m.version in applied and applied[m.version][1] != m.checksum:
                raise MigrationError(
                    f"migration {m.version:04d}_{m.name} was changed after it was applied; "
                    "add a new migration instead"
                )
        pending = [m for m in migrations if m.version not in applied]
        if dry_run:
            return pending
        for m in pending:
            cur.execute("BEGIN")
            try:
                cur.execute(m.sql)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                    (m.version, m.name, m.checksum),
                )
                cur.execute("COMMIT")
            except Exception as exc:
                cur.execute("ROLLBACK")
                raise MigrationError(f"migration {m.version:04d}_{m.name} failed: {exc}") from exc
        return pending
    finally:
        cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        conn.autocommit = False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--status", action="store_true", help="list pending migrations only")
    args = parser.parse_args(argv)
    try:
        settings = config.load(("db",), common=False)
    except config.ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    conn = db.connect(settings)
    try:
        done = migrate(conn, dry_run=args.status)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    verb = "pending" if args.status else "applied"
    if done:
        for m in done:
            print(f"{verb}: {m.version:04d}_{m.name}")
    else:
        print("database schema is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
