"""Every table that holds a member key is declared in the data map, so none escapes
export, erasure and retention; and every declared table exists."""

import pytest

from lederappen.core import datamap

pytestmark = pytest.mark.stack


def test_every_table_with_a_member_key_is_declared(db_exec):
    rows = db_exec(
        "SELECT DISTINCT table_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = ANY(%s)",
        (list(datamap.MEMBER_KEY_COLUMNS),),
    )
    holding = {r[0] for r in rows}
    undeclared = holding - set(datamap.sql_tables()) - datamap.NOT_MEMBER_DATA
    assert not undeclared, f"tables with member data missing from the data map: {undeclared}"


def test_every_declared_sql_store_exists_with_its_member_key(db_exec):
    for name, store in datamap.sql_tables().items():
        for key in store.member_keys:
            rows = db_exec(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s AND column_name = %s", (name, key))
            assert rows, f"data map declares {name}.{key}, which does not exist"


def test_every_member_key_column_of_a_declared_table_is_declared(db_exec):
    """A table about two members (a mentoring pair) must name both keys, or erasing one of
    them would leave the row behind."""
    rows = db_exec(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = ANY(%s)",
        (list(datamap.MEMBER_KEY_COLUMNS),))
    tables = datamap.sql_tables()
    missing = [(t, c) for t, c in rows if t in tables and c not in tables[t].member_keys]
    assert not missing, f"member key columns not declared in the data map: {missing}"


def test_every_store_states_purpose_basis_and_retention_in_both_languages():
    for store in datamap.STORES:
        assert store.legal_basis
        for text in (store.purpose, store.retention):
            assert text.get("nb") and text.get("en")


def test_no_table_stores_profile_fields(db_exec):
    forbidden = ("name", "given_name", "family_name", "email", "phone", "address", "street",
                 "postal_code", "national_id", "fodselsnummer", "birth_date", "employer",
                 "position", "password")
    rows = db_exec(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = ANY(%s)", (list(forbidden),))
    stored = [r for r in rows if r[0] not in datamap.NOT_MEMBER_DATA]
    assert stored == [], f"profile fields must never be stored: {stored}"
