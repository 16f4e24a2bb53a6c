"""infra/grants.py: each function's database user gets exactly its manifest privileges."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lederappen.core.manifest import Function

from infra import grants
from tests.support.examples import examples

PROJECT = "lederappen-prod"
SA_ID = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")


def fn(name, uses=("db",), **privileges):
    return Function(
        name=name,
        entry_point=name.replace("-", "_"),
        kind="http",
        description="",
        uses=tuple(uses),
        db_privileges={t: tuple(p) for t, p in privileges.items()},
    )


def user(name):
    return grants.iam_db_user(name, PROJECT)


# --- names ------------------------------------------------------------------------------------


def test_a_short_function_name_becomes_fn_dash_name():
    assert grants.account_id("profile") == "fn-profile"
    assert grants.iam_db_user("profile", "p-1") == "fn-profile@p-1.iam"


def test_a_long_function_name_is_cut_to_30_characters_with_a_hash_suffix():
    long_a = "notifications-sender-with-a-very-long-name"
    long_b = "notifications-sender-with-another-long-name"
    a, b = grants.account_id(long_a), grants.account_id(long_b)
    assert len(a) == 30 and len(b) == 30
    assert a.startswith("fn-notifications-sender-") and a != b


@given(
    st.from_regex(r"[a-z][a-z0-9-]{1,40}[a-z0-9]", fullmatch=True),
    st.sampled_from(["fn-", "sch-", "psh-"]),
)
def test_every_manifest_name_gives_a_valid_service_account_id(name, prefix):
    assert SA_ID.match(grants.account_id(name, prefix))


def test_identifiers_are_quoted_and_embedded_quotes_doubled():
    assert grants.quote_ident("fn-a@p.iam") == '"fn-a@p.iam"'
    assert grants.quote_ident('x"y') == '"x""y"'


# --- what the manifest asks for ----------------------------------------------------------------


def test_only_functions_that_use_the_database_get_a_database_user():
    desired = grants.desired_privileges(
        [fn("profile", processing_restrictions=["SELECT"]), fn("sender", uses=("fcm",))], PROJECT
    )
    assert desired == {user("profile"): {"processing_restrictions": frozenset({"SELECT"})}}


def test_a_function_with_empty_db_privileges_gets_a_user_but_no_table():
    assert grants.desired_privileges([fn("meta")], PROJECT) == {user("meta"): {}}


def test_unknown_privileges_are_refused():
    with pytest.raises(grants.GrantError, match="TRUNCATE"):
        grants.desired_privileges([fn("x-fn", t=["TRUNCATE"])], PROJECT)


# --- planning ----------------------------------------------------------------------------------


def state(
    privileges=None,
    users=None,
    schema_users=(),
    tables=("processing_restrictions",),
    sequences=None,
):
    privileges = privileges or {}
    return grants.DbState(
        privileges={
            u: {o: frozenset(p) for o, p in objs.items()} for u, objs in privileges.items()
        },
        users=frozenset(users if users is not None else privileges),
        schema_users=frozenset(schema_users),
        tables=frozenset(tables),
        sequences=sequences or {},
    )


def test_a_new_user_gets_schema_usage_and_its_table_privileges():
    desired = {user("profile"): {"processing_restrictions": frozenset({"SELECT"})}}
    out = grants.plan(desired, state(users=[user("profile")]))
    assert out.statements == (
        f'GRANT USAGE ON SCHEMA "public" TO "{user("profile")}"',
        f'GRANT SELECT ON TABLE public."processing_restrictions" TO "{user("profile")}"',
    )


def test_a_privilege_the_manifest_no_longer_lists_is_revoked_and_the_rest_kept():
    desired = {user("profile"): {"processing_restrictions": frozenset({"SELECT"})}}
    current = state(
        {user("profile"): {"processing_restrictions": {"SELECT", "DELETE", "TRUNCATE"}}},
        schema_users=[user("profile")],
    )
    assert grants.plan(desired, current).statements == (
        f'REVOKE DELETE, TRUNCATE ON TABLE public."processing_restrictions" FROM "{user("profile")}"',
    )


def test_a_function_that_left_the_manifest_loses_everything_so_its_role_can_be_dropped():
    gone = user("old-feature")
    current = state({gone: {"processing_restrictions": {"SELECT"}}}, schema_users=[gone])
    assert grants.plan({}, current).statements == (
        f'REVOKE USAGE ON SCHEMA "public" FROM "{gone}"',
        f'REVOKE SELECT ON TABLE public."processing_restrictions" FROM "{gone}"',
    )


def test_nothing_is_granted_to_a_user_terraform_has_not_created_yet():
    desired = {user("new-feature"): {"processing_restrictions": frozenset({"SELECT"})}}
    out = grants.plan(desired, state(users=[]))
    assert out.statements == ()
    assert out.missing_users == (user("new-feature"),)


def test_a_grant_on_a_table_the_migrations_have_not_created_is_refused():
    desired = {user("profile"): {"salaries": frozenset({"SELECT"})}}
    with pytest.raises(grants.GrantError, match="infra.migrate.*salaries"):
        grants.plan(desired, state(users=[user("profile")]))


def test_insert_brings_usage_on_the_tables_own_sequences_and_loses_it_with_insert():
    seqs = {"inbox": ("inbox_id_seq",)}
    u = user("inbox-fn")
    desired = {u: {"inbox": frozenset({"SELECT", "INSERT"})}}
    out = grants.plan(desired, state(users=[u], schema_users=[u], tables=["inbox"], sequences=seqs))
    assert f'GRANT USAGE ON SEQUENCE public."inbox_id_seq" TO "{u}"' in out.statements
    current = state(
        {u: {"inbox": {"SELECT", "INSERT"}, "inbox_id_seq": {"USAGE"}}},
        schema_users=[u],
        tables=["inbox"],
        sequences=seqs,
    )
    out = grants.plan({u: {"inbox": frozenset({"SELECT"})}}, current)
    assert out.statements == (
        f'REVOKE INSERT ON TABLE public."inbox" FROM "{u}"',
        f'REVOKE USAGE ON SEQUENCE public."inbox_id_seq" FROM "{u}"',
    )


def test_table_names_that_are_not_plain_identifiers_are_refused():
    desired = {user("profile"): {'x"; DROP TABLE y; --': frozenset({"SELECT"})}}
    with pytest.raises(grants.GrantError, match="plain lowercase"):
        grants.plan(desired, state(users=[user("profile")], tables=['x"; DROP TABLE y; --']))


# --- property: the plan turns any state into the manifest's, and then into nothing -----------

_STATEMENT = re.compile(
    r'^(GRANT|REVOKE) (.+?) ON (SCHEMA|TABLE|SEQUENCE) (?:public\.)?"([^"]+)" (?:TO|FROM) "([^"]+)"$'
)


def simulate(current: grants.DbState, statements) -> grants.DbState:
    """Applies GRANT/REVOKE statements to a model of the database."""
    privileges = {u: {o: set(p) for o, p in objs.items()} for u, objs in current.privileges.items()}
    schema_users = set(current.schema_users)
    for sql in statements:
        verb, privs, kind, obj, who = _STATEMENT.match(sql).groups()
        if kind == "SCHEMA":
            (schema_users.add if verb == "GRANT" else schema_users.discard)(who)
            continue
        held = privileges.setdefault(who, {}).setdefault(obj, set())
        for p in privs.split(", "):
            (held.add if verb == "GRANT" else held.discard)(p)
    cleaned = {u: {o: frozenset(p) for o, p in objs.items() if p} for u, objs in privileges.items()}
    return grants.DbState(
        privileges={u: o for u, o in cleaned.items() if o},
        users=current.users,
        schema_users=frozenset(schema_users),
        tables=current.tables,
        sequences=current.sequences,
    )


TABLES = ("processing_restrictions", "salaries", "inbox")
USERS = tuple(user(n) for n in ("profile", "meta", "salary", "old-feature"))
ALL_PRIVS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES")
privilege_sets = st.frozensets(st.sampled_from(ALL_PRIVS), min_size=1)
manifest_sets = st.frozensets(st.sampled_from(grants.TABLE_PRIVILEGES), min_size=1)


@settings(max_examples=examples(200), deadline=None)
@given(
    desired=st.dictionaries(
        st.sampled_from(USERS[:3]), st.dictionaries(st.sampled_from(TABLES), manifest_sets)
    ),
    current=st.dictionaries(
        st.sampled_from(USERS),
        st.dictionaries(st.sampled_from(TABLES), privilege_sets, min_size=1),
    ),
    schema_users=st.frozensets(st.sampled_from(USERS)),
)
def test_applying_the_plan_reaches_the_manifest_and_a_second_plan_is_empty(
    desired, current, schema_users
):
    seqs = {"inbox": ("inbox_id_seq",)}
    before = state(current, users=USERS, schema_users=schema_users, tables=TABLES, sequences=seqs)
    after = simulate(before, grants.plan(desired, before).statements)
    expected = {u: dict(t) for u, t in grants._with_sequences(desired, seqs).items() if t}
    assert after.privileges == expected
    assert after.schema_users == frozenset(u for u, t in desired.items() if t)
    assert grants.plan(desired, after).statements == ()


# --- the command ---------------------------------------------------------------------------------


class FakeCursor:
    """Answers read_state()'s queries from canned rows and records every statement."""

    def __init__(self, rows):
        self.rows, self.executed, self._last = rows, [], []

    def execute(self, sql, params=()):
        self.executed.append(" ".join(sql.split()))
        key = next((k for k in self.rows if k in sql), None)
        self._last = self.rows[key] if key else []

    def fetchall(self):
        return self._last


class FakeConn:
    def __init__(self, cursor):
        self._cursor, self.closed, self.autocommit = cursor, False, False

    def cursor(self):
        return self._cursor

    def close(self):
        self.closed = True


def test_dry_run_prints_the_sql_and_executes_none_of_it(monkeypatch, capsys):
    profile = user("profile").replace(PROJECT, "p-test")
    cursor = FakeCursor(
        {
            "aclexplode(c.relacl)": [],
            "FROM pg_roles WHERE": [(profile,)],
            "aclexplode(n.nspacl)": [],
            "c.relkind IN ('r', 'p', 'v', 'm')\n": [("processing_restrictions",)],
            "pg_depend": [],
        }
    )
    conn = FakeConn(cursor)
    monkeypatch.setattr(grants.config, "load", lambda *a, **k: object())
    monkeypatch.setattr(grants.db, "connect", lambda settings: conn)
    monkeypatch.setattr(
        grants.manifest_mod,
        "load",
        lambda: type(
            "M",
            (),
            {
                "functions": (
                    fn("profile", processing_restrictions=["SELECT"]),
                    fn("sender", uses=("fcm",)),
                )
            },
        )(),
    )

    assert grants.main(["--project", "p-test", "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert f'GRANT SELECT ON TABLE public."processing_restrictions" TO "{profile}";' in out
    assert not any(s.startswith(("GRANT", "REVOKE")) for s in cursor.executed)
    assert cursor.executed[-1] == "ROLLBACK" and conn.closed
