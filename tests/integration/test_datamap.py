"""Every table that holds a member key is declared in the data map, so none escapes
export, erasure and retention; and every declared table exists."""

from datetime import UTC

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
                "AND table_name = %s AND column_name = %s",
                (name, key),
            )
            assert rows, f"data map declares {name}.{key}, which does not exist"


def test_every_member_key_column_of_a_declared_table_is_declared(db_exec):
    """A table about two members (a mentoring pair) must name both keys, or erasing one of
    them would leave the row behind."""
    rows = db_exec(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = ANY(%s)",
        (list(datamap.MEMBER_KEY_COLUMNS),),
    )
    tables = datamap.sql_tables()
    missing = [(t, c) for t, c in rows if t in tables and c not in tables[t].member_keys]
    assert not missing, f"member key columns not declared in the data map: {missing}"


#: Column types that can carry a member key inside a larger value.
_CARRIER_TYPES = ("json", "jsonb", "ARRAY", "bytea")
#: Column names that suggest a member key, a pseudonym or a person.
_SUGGESTIVE = r"(member|actor|owner|pseudonym|subject|_by$|recipient|cursor|^body$|^payload$)"


def test_every_column_that_can_name_a_member_is_accounted_for(db_exec):
    """Derived from the live schema, not from the data map: every JSON, array or bytes column,
    and every column whose name suggests a member, is a store's member key, a declared
    reference (actor, payload, copy), or listed with the reason it holds no member."""
    rows = db_exec(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
        "AND (c.data_type = ANY(%s) OR c.column_name ~ %s)",
        (list(_CARRIER_TYPES), _SUGGESTIVE),
    )
    candidates = {(t, c) for t, c in rows if t not in datamap.NOT_MEMBER_DATA}
    assert ("audit_events", "actor") in candidates and ("outbox", "payload") in candidates
    accounted = datamap.accounted_columns()
    missing = sorted(candidates - set(accounted))
    assert not missing, f"columns that can name a member, not in the data map: {missing}"
    stale = sorted(
        set(accounted)
        - candidates
        - {(s.name, k) for s in datamap.sql_tables().values() for k in s.member_keys}
    )
    assert not stale, f"the data map accounts for columns that do not exist: {stale}"


def test_every_reference_match_and_key_listing_is_valid_sql(stack):
    conn = stack.cluster.connect()
    try:
        cur = conn.cursor()
        for store in datamap.sql_tables().values():
            for r in store.references:
                assert r.erase in datamap.REFERENCE_ERASE and r.shape in datamap.REFERENCE_SHAPES
                assert r.key_form in datamap.KEY_FORMS
                if r.erase != "with_row" or r.export_columns:
                    assert r.match, f"{store.name}.{r.column}: how is the member found?"
                if r.match:
                    sql, n = r.match_sql
                    cur.execute(
                        f"SELECT count(*) FROM {datamap.quote_ident(store.name)} WHERE {sql}",
                        tuple(["x"] * n),
                    )
                if r.keys:
                    cur.execute(f"SELECT {r.keys} FROM {datamap.quote_ident(store.name)}")
        conn.rollback()
    finally:
        conn.close()


def test_every_store_states_purpose_basis_and_retention_in_both_languages():
    for store in datamap.STORES:
        assert store.legal_basis
        for text in (store.purpose, store.retention):
            assert text.get("nb") and text.get("en")


def test_no_table_stores_profile_fields(db_exec):
    forbidden = (
        "name",
        "given_name",
        "family_name",
        "email",
        "phone",
        "address",
        "street",
        "postal_code",
        "national_id",
        "fodselsnummer",
        "birth_date",
        "employer",
        "position",
        "password",
    )
    rows = db_exec(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = ANY(%s)",
        (list(forbidden),),
    )
    stored = [r for r in rows if r[0] not in datamap.NOT_MEMBER_DATA]
    assert stored == [], f"profile fields must never be stored: {stored}"


def test_every_column_the_data_map_shows_or_sorts_by_exists(db_exec):
    """Access and export select these columns by name (a column with its own `sql` is checked
    by running it, below)."""
    for name, store in datamap.sql_tables().items():
        wanted = {c.name for c in store.export_columns if c.sql is None} | set(store.order_by)
        rows = db_exec(
            "SELECT column_name, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = %s",
            (name,),
        )
        columns = dict(rows)
        missing = wanted - set(columns)
        assert not missing, f"{name}: the data map names columns it does not have: {missing}"
        nullable = [k for k in store.order_by if columns[k] == "YES"]
        assert not nullable, f"{name}: sort key columns must be NOT NULL: {nullable}"


def test_every_store_can_be_read_and_paged_as_the_data_map_says(stack):
    """Runs the privacy capability's generic read for every SQL store (first page and a page
    after a cursor) against the real schema: every declared expression is valid SQL."""
    import base64
    from datetime import datetime

    from lederappen.core import log
    from lederappen.privacy import access

    log.configure(base64.b64decode(stack.env["PSEUDONYM_KEY"]))
    samples = {
        "timestamp with time zone": datetime(2030, 1, 1, tzinfo=UTC),
        "uuid": __import__("uuid").UUID(int=2**127),
        "integer": 2**30,
        "bigint": 2**40,
        "text": "\uffff",
    }
    conn = stack.cluster.connect()
    try:
        cur = conn.cursor()
        for name, store in datamap.sql_tables().items():
            page = access.sql_page(cur, store, "1000999", pseudonym=log.pseudonym, limit=3)
            assert page.items == [] and page.total == 0 and page.next_cursor is None
            cur.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = %s",
                (name,),
            )
            types = dict(cur.fetchall())
            after = [samples[types[k]] for k in store.order_by]
            page = access.sql_page(
                cur, store, "1000999", pseudonym=log.pseudonym, limit=3, after=after
            )
            assert page.items == [] and page.total == 0
        conn.rollback()
    finally:
        conn.close()


def test_every_retention_field_is_a_timestamp_column_of_its_table(db_exec):
    """Retention (R7) deletes rows by these columns (the data map's and the technical ones)."""
    from lederappen.privacy import retention

    for rule in retention.rules():
        if rule.kind != "sql":
            continue
        rows = db_exec(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = "
            "'public' AND table_name = %s AND column_name = %s",
            (rule.name, rule.field),
        )
        assert rows, f"retention dates {rule.name} by {rule.field}, which does not exist"
        assert rows[0][0] == "timestamp with time zone", f"{rule.name}.{rule.field}: {rows[0][0]}"


def test_every_retention_statement_is_valid_sql_on_the_real_schema(stack):
    from datetime import datetime

    from lederappen.privacy import retention

    conn = stack.cluster.connect()
    try:
        cur = conn.cursor()
        for rule in retention.rules():
            if rule.kind == "sql":
                sql, params = retention.statement(rule, datetime.now(UTC), 10, ["x"])
                cur.execute("EXPLAIN " + sql, params)
                plan = "\n".join(r[0] for r in cur.fetchall())
                # By ctid: a Tid Scan once the table is large enough for it to pay.
                assert plan.startswith(f"Delete on {rule.name}") and "ctid" in plan, plan
        conn.rollback()
    finally:
        conn.close()


def test_retention_sweeps_a_cascading_child_before_its_parent(db_exec):
    """A row deleted by ON DELETE CASCADE would not be counted in its own store."""
    from lederappen.privacy import retention

    order = [r.name for r in retention.rules() if r.kind == "sql"]
    rows = db_exec(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
        "WHERE c.contype = 'f' AND c.confdeltype = 'c'"
    )
    for child, parent in rows:
        if child in order and parent in order:
            assert order.index(child) < order.index(parent), f"sweep {child} before {parent}"
            assert child in retention.AFTER.get(parent, ()), f"declare {child} in AFTER[{parent}]"
