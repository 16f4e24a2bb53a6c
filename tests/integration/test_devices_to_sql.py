"""infra/scripts/devices_to_sql.py against the Firestore emulator and PostgreSQL: every
registration document becomes a row and is deleted, a second run changes nothing, the table
wins over a document (same id or same token), an invalid document stays, and the sender's
index goes."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from lederappen.devices.service import device_id

from infra.scripts import devices_to_sql
from tests.support.firestore import emulator_client

pytestmark = pytest.mark.stack
KEY = b"devices-to-sql-test-key"


@pytest.fixture()
def fs(stack):
    client = emulator_client(stack)
    yield client
    for name in (devices_to_sql.COLLECTION, devices_to_sql.INDEX_COLLECTION):
        for snap in client.collection(name).stream():
            snap.reference.delete()


@pytest.fixture()
def conn(stack, pseudonyms):  # pseudonymisation configured: the move checks tombstones
    c = stack.cluster.connect()
    yield c
    c.rollback()
    cur = c.cursor()
    cur.execute("DELETE FROM devices WHERE member_id LIKE 'to-sql-%'")
    c.commit()
    c.close()


def _doc(member: str, token: str, seen: datetime, **extra) -> dict:
    return {
        "member_id": member,
        "fcm_token": token,
        "platform": "android",
        "app_version": "3.2.1",
        "locale": "en",
        "created_at": seen - timedelta(days=3),
        "last_seen_at": seen,
        "expires_at": seen + timedelta(days=270),
        **extra,
    }


def _rows(conn) -> dict[str, tuple]:
    cur = conn.cursor()
    cur.execute(
        "SELECT id, member_id, fcm_token, platform, app_version, locale, created_at, "
        "last_seen_at FROM devices WHERE member_id LIKE 'to-sql-%'"
    )
    return {r[0]: tuple(r[1:]) for r in cur.fetchall()}


def test_every_registration_moves_once_and_the_table_wins(fs, conn):
    run = uuid.uuid4().hex[:8]
    seen = datetime(2026, 11, 1, 12, 0, 0, 123000, tzinfo=UTC)
    devices = fs.collection("devices")
    moved = {}
    for i in range(7):  # more than a page (3 below)
        member, dev = f"to-sql-{run}-{i}", device_id(KEY, f"{run}-{i}")
        devices.document(dev).set(_doc(member, f"token-{run}-{i}", seen))
        moved[dev] = member
        fs.collection("device_index").document(member).set({"devices": {dev: {}}})
    # already in the table under the same id (newer), and a token another row holds now
    same_id, same_token = device_id(KEY, f"{run}-same-id"), device_id(KEY, f"{run}-same-token")
    devices.document(same_id).set(_doc(f"to-sql-{run}-old", f"token-{run}-old", seen))
    devices.document(same_token).set(_doc(f"to-sql-{run}-x", f"token-{run}-held", seen))
    cur = conn.cursor()
    cur.execute(
        "INSERT INTO devices (id, member_id, fcm_token, platform, app_version, locale, "
        "created_at, last_seen_at) VALUES (%s, %s, %s, 'ios', '4.0.0', 'nb', now(), now()), "
        "(%s, %s, %s, 'ios', '4.0.0', 'nb', now(), now())",
        (
            same_id,
            f"to-sql-{run}-new",
            f"token-{run}-new",
            device_id(KEY, f"{run}-holder"),
            f"to-sql-{run}-holder",
            f"token-{run}-held",
        ),
    )
    conn.commit()
    devices.document("not-a-device").set(_doc(f"to-sql-{run}-bad", f"token-{run}-bad", seen))
    devices.document(device_id(KEY, f"{run}-no-member")).set(
        _doc("", f"token-{run}-nomember", seen)
    )

    counts = devices_to_sql.move(fs, conn, dry_run=True, page=3)
    assert (counts.copied, counts.invalid, counts.deleted) == (9, 2, 0)
    assert len(list(devices.stream())) == 11 and len(_rows(conn)) == 2

    counts = devices_to_sql.move(fs, conn, page=3)
    assert (counts.copied, counts.skipped, counts.invalid, counts.deleted) == (7, 2, 2, 9)
    assert counts.index_deleted == 7
    rows = _rows(conn)
    assert {d: r[0] for d, r in rows.items()} == {
        **moved,
        same_id: f"to-sql-{run}-new",
        device_id(KEY, f"{run}-holder"): f"to-sql-{run}-holder",
    }
    first = rows[device_id(KEY, f"{run}-0")]
    assert first == (
        f"to-sql-{run}-0",
        f"token-{run}-0",
        "android",
        "3.2.1",
        "en",
        seen - timedelta(days=3),
        seen,
    )
    assert sorted(s.id for s in devices.stream()) == sorted(
        ["not-a-device", device_id(KEY, f"{run}-no-member")]
    )
    assert list(fs.collection("device_index").stream()) == []

    again = devices_to_sql.move(fs, conn, page=3)
    assert (again.copied, again.skipped, again.deleted, again.invalid) == (0, 0, 0, 2)
    assert _rows(conn) == rows


def test_a_registration_of_a_member_erased_since_it_was_last_seen_is_not_brought_back(
    fs, conn, pseudonyms
):
    # After the deploy, erasure no longer sweeps the Firestore collection: a registration
    # left there of a member erased since must not come back as a row.
    run = uuid.uuid4().hex[:8]
    seen = datetime.now(UTC) - timedelta(days=2)
    erased, rejoined, kept = (f"to-sql-{run}-{n}" for n in ("erased", "rejoined", "kept"))
    devices = fs.collection("devices")
    for member in (erased, rejoined, kept):
        devices.document(device_id(KEY, member)).set(_doc(member, f"token-{member}", seen))
    cur = conn.cursor()
    for member, at in ((erased, seen + timedelta(hours=1)), (rejoined, seen - timedelta(days=9))):
        cur.execute(
            "INSERT INTO erasure_tombstones (member_pseudonym, erased_at) VALUES (%s, %s)",
            (pseudonyms(member), at),
        )
    conn.commit()
    try:
        counts = devices_to_sql.move(fs, conn)
        assert (counts.copied, counts.erased, counts.deleted) == (2, 1, 3)
        assert {r[0] for r in _rows(conn).values()} == {rejoined, kept}
        assert list(devices.stream()) == []  # the erased member's document is gone too
    finally:
        cur.execute(
            "DELETE FROM erasure_tombstones WHERE member_pseudonym = ANY(%s)",
            ([pseudonyms(erased), pseudonyms(rejoined)],),
        )
        conn.commit()
