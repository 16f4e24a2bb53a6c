"""Each table has one owner: the one feature package (or core) whose code names it in SQL.

Tables are read from the migrations (CREATE TABLE, less DROP TABLE); the SQL is every string
constant in functions/lederappen/ (statements are written as literals). The data map
(core/datamap.py) is the one exception: it declares every store that holds member data, and
erasure, access and retention run from those declarations, so it names other features'
tables by design.

No package names another's table: it calls the owner's store or service, or composes a
condition the owner gives it (core.restriction.unrestricted, preferences.store.join).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = ROOT / "functions" / "lederappen"
EXEMPT = {PACKAGE_ROOT / "core" / "datamap.py"}
SQL_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|USING)\s+(\w+)", re.IGNORECASE)

#: table -> its owner
OWNERS = {
    "member_preferences": "preferences",
    "newsletter_sync": "consents",
    "outbox": "core",
    "processing_restrictions": "core",
}


@lru_cache(maxsize=1)
def migrated_tables() -> frozenset[str]:
    tables: set[str] = set()
    for path in sorted((ROOT / "infra" / "migrations").glob("*.sql")):
        sql = path.read_text()
        tables |= set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", sql, re.IGNORECASE))
        tables -= set(re.findall(r"DROP TABLE (?:IF EXISTS )?(\w+)", sql, re.IGNORECASE))
    return frozenset(tables - {"schema_migrations"})


@lru_cache(maxsize=1)
def table_users() -> dict[str, set[str]]:
    tables = migrated_tables()
    users: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE_ROOT.rglob("*.py"):
        if path in EXEMPT:
            continue
        package = path.relative_to(PACKAGE_ROOT).parts[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for name in SQL_TABLE.findall(node.value):
                    if name in tables:
                        users[name].add(package)
    return users


def owners() -> dict[str, str]:
    """Every table's owner: declared above where several packages name it, else the one."""
    out = {}
    for table, packages in table_users().items():
        out[table] = OWNERS.get(table) or next(iter(packages))
    return out


def test_the_scan_finds_the_tables_and_their_users():
    users = table_users()
    assert {"salary_answers", "consent_events", "messages"} <= set(users)
    assert users["salary_answers"] == {"salary"}


def test_every_migrated_table_is_used_by_some_package():
    unused = migrated_tables() - set(table_users())
    assert not unused, f"tables no code names: {unused}"


def test_each_table_has_one_owner_and_no_new_foreign_use():
    owner = owners()
    foreign = {
        (table, package)
        for table, packages in table_users().items()
        for package in packages
        if package != owner[table]
    }
    assert not foreign, (
        f"SQL outside the owner of its table (call the owner's store): {sorted(foreign)}"
    )


def test_a_declared_owner_names_its_table():
    users = table_users()
    for table, owner in OWNERS.items():
        assert owner in users.get(table, set()), f"{owner} does not name {table}"


@lru_cache(maxsize=1)
def sql_modules() -> dict[str, set[str]]:
    """package -> the modules whose string constants name a table."""
    tables = migrated_tables()
    out: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE_ROOT.rglob("*.py"):
        if path in EXEMPT:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and any(name in tables for name in SQL_TABLE.findall(node.value))
            ):
                out[path.relative_to(PACKAGE_ROOT).parts[0]].add(path.name)
    return out


def test_every_feature_keeps_its_sql_in_store_py():
    """A feature's tables are read and written by its store.py alone (core is the shared
    kernel: each of its modules owns its own table)."""
    strays = {p: sorted(m - {"store.py"}) for p, m in sql_modules().items() if p != "core"}
    assert not any(strays.values()), f"SQL outside store.py: {strays}"
    assert {"consents", "notifications", "privacy", "salary"} <= set(sql_modules())
