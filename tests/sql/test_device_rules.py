"""The device registration rules in SQL (devices/store.py, migration 0018): an installation
is one member's, a token one installation's, a member keeps at most 10, and the sender's
lookup and pruning; on a real PostgreSQL cursor, and with two connections at once for the
invariants under concurrency."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lederappen.devices import service
from lederappen.notifications import devices as sender

from infra.local import postgres

KEY = b"k" * 32
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def token() -> str:
    return "tok-" + secrets.token_urlsafe(40)


def register(cur: Any, member: str, installation: str, fcm_token: str, now: datetime = NOW):
    return service.register(
        cur,
        KEY,
        member,
        installation_id=installation,
        fcm_token=fcm_token,
        platform="ios",
        app_version="3.2.1",
        locale="nb",
        now=now,
    )


def rows(cur: Any, *members: str) -> list[tuple]:
    cur.execute(
        "SELECT id, member_id, fcm_token FROM devices WHERE member_id = ANY(%s) ORDER BY id",
        (list(members),),
    )
    return [tuple(r) for r in cur.fetchall()]


def test_the_same_installation_again_is_refreshed_and_keeps_when_it_was_registered(cur):
    t1, t2 = token(), token()
    view, outcome = register(cur, "dev-a", "inst-1", t1)
    assert outcome == {"created": True, "moved": False, "tokens_taken_over": 0, "evicted": 0}
    assert view["id"] == service.device_id(KEY, "inst-1")
    assert "fcm_token" not in view and "member_id" not in view
    later = NOW + timedelta(hours=1)
    again, outcome = register(cur, "dev-a", "inst-1", t2, now=later)
    assert outcome["created"] is False and outcome["moved"] is False
    assert again["created_at"] == view["created_at"] and again["last_seen_at"] > view["created_at"]
    assert rows(cur, "dev-a") == [(view["id"], "dev-a", t2)]


def test_an_installation_of_another_member_moves_as_new_and_is_never_found_for_the_first(cur):
    t = token()
    first, _ = register(cur, "dev-b1", "inst-shared", t)
    moved, outcome = register(cur, "dev-b2", "inst-shared", t, now=NOW + timedelta(minutes=5))
    assert outcome["created"] and outcome["moved"]
    assert moved["id"] == first["id"] and moved["created_at"] > first["created_at"]
    assert sender.devices_of(cur, ["dev-b1"]) == []
    assert [r.member_id for r in sender.devices_of(cur, ["dev-b1", "dev-b2"])] == ["dev-b2"]


def test_a_token_under_another_installation_is_taken_over(cur):
    t = token()
    register(cur, "dev-c1", "inst-old", t)
    view, outcome = register(cur, "dev-c2", "inst-new", t)
    assert outcome["tokens_taken_over"] == 1
    assert rows(cur, "dev-c1", "dev-c2") == [(view["id"], "dev-c2", t)]


def test_a_member_keeps_at_most_ten_and_the_least_recently_seen_goes(cur):
    ids = [
        register(cur, "dev-d", f"inst-d{i}", token(), now=NOW + timedelta(minutes=i))[0]["id"]
        for i in range(service.MAX_DEVICES_PER_MEMBER)
    ]
    view, outcome = register(cur, "dev-d", "inst-d-new", token(), now=NOW + timedelta(hours=1))
    assert outcome["evicted"] == 1
    kept = [d["id"] for d in service.list_for(cur, "dev-d")]
    assert len(kept) == service.MAX_DEVICES_PER_MEMBER
    assert kept[0] == view["id"] and ids[0] not in kept and set(ids[1:]) <= set(kept)


def test_unregister_is_the_members_own_only(cur):
    view, _ = register(cur, "dev-e1", "inst-e", token())
    assert service.unregister(cur, "dev-e2", view["id"]) is False
    assert service.unregister(cur, "dev-e1", "not-a-device-id") is False
    assert service.unregister(cur, "dev-e1", view["id"]) is True
    assert service.unregister(cur, "dev-e1", view["id"]) is False


def test_pruning_a_dead_token_keeps_a_registration_refreshed_since(cur):
    dead, fresh = token(), token()
    view, _ = register(cur, "dev-f", "inst-f", dead)
    register(cur, "dev-f", "inst-f", fresh)
    assert sender.remove_device(cur, view["id"], dead) is False
    (r,) = sender.devices_of(cur, ["dev-f"])
    assert (r.fcm_token, r.platform, r.locale) == (fresh, "ios", "nb")
    assert fresh not in repr(r)
    assert sender.remove_devices(cur, [r]) == 1
    assert sender.devices_of(cur, ["dev-f"]) == []


def test_devices_of_finds_every_device_of_many_members(cur):
    who = [f"dev-many-{i}" for i in range(75)]
    expected = {register(cur, m, f"inst-{m}", token())[0]["id"]: m for m in who}
    extra, _ = register(cur, who[0], "inst-extra", token())
    expected[extra["id"]] = who[0]
    found = sender.devices_of(cur, who + who[:5])
    assert {r.device_id: r.member_id for r in found} == expected and len(found) == 76
    assert all(r.fcm_token and r.platform == "ios" and r.locale == "nb" for r in found)
    assert "tok-" not in repr(found)
    assert sender.devices_of(cur, []) == []


def test_the_installation_id_is_never_stored(cur):
    installation = "install-8d5c2a7e-0f0b-4f7e-9a51-3c2d1e0f9a88"
    view, _ = register(cur, "dev-g", installation, token())
    assert view["id"] == service.device_id(KEY, installation) != installation
    cur.execute("SELECT * FROM devices WHERE member_id = 'dev-g'")
    (row,) = cur.fetchall()
    assert installation not in str(row)
    assert [c[0] for c in cur.description] == [
        "id",
        "member_id",
        "fcm_token",
        "platform",
        "app_version",
        "locale",
        "created_at",
        "last_seen_at",
    ]


def test_the_table_refuses_what_register_never_writes(cur):
    import pg8000

    cur.execute("SAVEPOINT s")
    for bad_id in ("short", "x" * 43, "A" * 42 + "_"):
        with pytest.raises(pg8000.dbapi.DatabaseError):
            cur.execute(
                "INSERT INTO devices (id, member_id, fcm_token, platform, app_version, locale, "
                "created_at, last_seen_at) VALUES (%s, 'm', 't', 'ios', '1', 'nb', now(), now())",
                (bad_id,),
            )
        cur.execute("ROLLBACK TO SAVEPOINT s")


# -- concurrency: two connections, committed ---------------------------------------------------


def _race(sql_cluster, *calls) -> list[Any]:
    """Runs each call(cur) in its own connection and transaction, all at once."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i, call):
        conn = sql_cluster.connect(postgres.APP_ROLE)
        try:
            cur = conn.cursor()
            barrier.wait()
            results[i] = call(cur)
            conn.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            results[i] = exc
            conn.rollback()
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.fixture()
def committed(sql_cluster):
    """A committing cursor; the members' rows are deleted afterwards."""
    conn = sql_cluster.connect(postgres.APP_ROLE)
    members: list[str] = []
    try:
        yield conn, members
    finally:
        conn.rollback()
        cur = conn.cursor()
        cur.execute("DELETE FROM devices WHERE member_id = ANY(%s)", (members,))
        conn.commit()
        conn.close()


@pytest.mark.parametrize("attempt", range(3))
def test_two_members_registering_one_token_at_once_leave_one_holder(
    sql_cluster, committed, attempt
):
    conn, members = committed
    cur = conn.cursor()
    a, b = f"dev-race-a{attempt}", f"dev-race-b{attempt}"
    members += [a, b]
    t = token()
    results = _race(
        sql_cluster,
        lambda c: register(c, a, f"inst-ra{attempt}", t),
        lambda c: register(c, b, f"inst-rb{attempt}", t),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    holders = rows(cur, a, b)
    assert len(holders) == 1 and holders[0][2] == t


def test_many_new_installations_of_one_member_at_once_keep_the_limit(sql_cluster, committed):
    conn, members = committed
    cur = conn.cursor()
    m = "dev-race-many"
    members.append(m)
    for i in range(service.MAX_DEVICES_PER_MEMBER - 1):
        register(cur, m, f"inst-many{i}", token())
    conn.commit()
    results = _race(
        sql_cluster,
        *[lambda c, i=i: register(c, m, f"inst-many-new{i}", token()) for i in range(4)],
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(rows(cur, m)) == service.MAX_DEVICES_PER_MEMBER
