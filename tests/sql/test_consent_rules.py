"""The consent rules that live in SQL (consents/store.py, core/restriction.py, migration 0003):
the ledger's latest row decides, a restriction overrides every consent, and a terms version is
numbered by the database, on a real PostgreSQL cursor in a rolled-back transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lederappen.consents import service, store

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _choose(cur: Any, member: str, action: str, purpose: str = "personalisation") -> None:
    terms, _ = store.terms_in_force(cur, NOW)[purpose]
    store.append_choice(cur, member, purpose, terms, action, "nb", "app", "3.2.1", NOW)


def test_the_latest_choice_decides(cur: Any) -> None:
    _choose(cur, "sql-a", "given")
    _choose(cur, "sql-a", "withdrawn")
    _choose(cur, "sql-b", "withdrawn")
    _choose(cur, "sql-b", "given")
    assert store.latest_choices(cur, "sql-a")["personalisation"].action == "withdrawn"
    covered = service.covered_members(cur, ["sql-a", "sql-b", "sql-c"], "personalisation", NOW)
    assert covered == {"sql-b"}


def test_a_restriction_overrides_every_consent(cur: Any) -> None:
    from lederappen.core import restriction

    _choose(cur, "sql-d", "given")
    assert service.covers(cur, "sql-d", "personalisation", NOW)
    restriction.restrict(cur, "sql-d", NOW, None)
    assert not service.covers(cur, "sql-d", "personalisation", NOW)
    restriction.lift(cur, "sql-d")
    assert service.covers(cur, "sql-d", "personalisation", NOW)


def test_the_database_numbers_terms_versions_and_a_material_change_is_told_once(cur: Any) -> None:
    before = store.terms_in_force(cur, NOW)["marketing"][0].version
    text = {"nb": "Ny tekst", "en": "New text"}
    version = store.insert_terms(
        cur, "marketing", text, text, {"nb": "x", "en": "x"}, "h" * 64, True, NOW, NOW
    )
    assert version is not None and version > before
    due = store.notice_due(cur, "marketing", version)
    assert due is not None and due.version == version
    store.mark_notified(cur, due, 3, NOW)
    assert store.notice_due(cur, "marketing", version) is None  # told: never again
    assert store.notice_due(cur, "marketing", 1) is None  # a first version is no change
