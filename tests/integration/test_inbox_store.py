"""The Firestore side of F9 against the real emulator: the inbox writer the sender uses
(idempotent, batched), the device lookup and pruning, and the registration rules that need
a transaction (a token moves, a member's oldest device gives way)."""

import threading
import uuid
from datetime import UTC, datetime

import pytest
from lederappen.core import datamap
from lederappen.devices import service as devices
from lederappen.inbox import service as inbox_service
from lederappen.notifications import devices as sender
from lederappen.notifications import inbox

from tests.support.firestore import emulator_client

pytestmark = pytest.mark.stack
KEY = b"integration-test-installation-key-0123456789"


@pytest.fixture(scope="module")
def fs(stack):
    return emulator_client(stack)


@pytest.fixture(autouse=True)
def _no_broadcast_items(monkeypatch):
    """This module is the Firestore side of the inbox: the member's items of messages to many
    (message_recipients, in SQL) are none here; tests/e2e/test_messages.py has them."""
    from lederappen.notifications import store as broadcast_inbox

    monkeypatch.setattr(broadcast_inbox, "broadcast_rows", lambda *args: [])
    monkeypatch.setattr(broadcast_inbox, "broadcast_unread", lambda *args: 0)
    monkeypatch.setattr(broadcast_inbox, "broadcast_mark_read", lambda *args: False)
    monkeypatch.setattr(broadcast_inbox, "broadcast_hide", lambda *args: False)


def members(n: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"it-{run}-{i}" for i in range(n)]


def message(**overrides) -> dict:
    msg = {
        "message_id": f"it-{uuid.uuid4().hex[:12]}",
        "category": "course_reminders",
        "title": {"nb": "Kurset starter snart", "en": "Your course starts soon"},
        "body": {"nb": "Se detaljer i appen.", "en": "See the details in the app."},
    }
    msg.update(overrides)
    return msg


def token() -> str:
    return f"{uuid.uuid4().hex[:22]}:APA91b{uuid.uuid4().hex * 4}"


def register(fs, member_id: str, installation_id: str | None = None, fcm_token: str | None = None):
    return devices.register(
        fs,
        KEY,
        member_id,
        installation_id=installation_id or str(uuid.uuid4()),
        fcm_token=fcm_token or token(),
        platform="ios",
        app_version="1.0.0",
        locale="nb",
        now=datetime.now(UTC),
    )


def items_of(fs, message_id: str) -> list[dict]:
    from google.cloud.firestore_v1.base_query import FieldFilter

    return [
        s.to_dict()
        for s in fs.collection(inbox.COLLECTION)
        .where(filter=FieldFilter("message_id", "==", message_id))
        .stream()
    ]


# -- the inbox writer ---------------------------------------------------------------------------


def test_deliver_many_writes_one_item_per_member_across_batches(fs):
    who = members(1203)  # three batched writes: 500, 500, 203
    msg = message()
    assert inbox.deliver_many(fs, who + who[:10], msg) == 1203
    stored = items_of(fs, msg["message_id"])
    assert sorted(i["member_id"] for i in stored) == sorted(who)
    assert all(i["read_at"] is None and i["created_at"] is not None for i in stored)


def test_a_redelivered_batch_writes_nothing_twice(fs):
    who = members(40)
    msg = message()
    assert inbox.deliver_many(fs, who, msg) == 40
    assert inbox.deliver_many(fs, who, msg) == 0
    assert len(items_of(fs, msg["message_id"])) == 40


def test_a_partly_delivered_batch_writes_only_the_missing_items(fs):
    who = members(30)
    msg = message()
    assert sum(inbox.deliver(fs, m, msg) for m in who[:7]) == 7
    assert inbox.deliver_many(fs, who, msg) == 23
    assert len(items_of(fs, msg["message_id"])) == 30


def test_a_delivered_item_keeps_its_read_state_when_delivered_again(fs):
    [member] = members(1)
    msg = message()
    inbox.deliver(fs, member, msg)
    item_id = inbox.item_id(msg["message_id"], member)
    assert inbox_service.mark_read(fs, member, item_id)
    read_at = fs.collection(inbox.COLLECTION).document(item_id).get().get("read_at")
    assert inbox.deliver(fs, member, msg) is False
    assert inbox.deliver_many(fs, [member], msg) == 0
    assert fs.collection(inbox.COLLECTION).document(item_id).get().get("read_at") == read_at


def test_concurrent_deliveries_of_one_message_write_it_once(fs):
    who = members(60)
    msg = message()
    counts: list[int] = []
    threads = [
        threading.Thread(target=lambda: counts.append(inbox.deliver_many(fs, who, msg)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 60
    assert len(items_of(fs, msg["message_id"])) == 60


def test_an_invalid_message_is_refused_before_anything_is_written(fs):
    import msgspec

    [member] = members(1)
    for bad in (
        message(category="spam"),
        message(title={"nb": "x" * 500, "en": "x"}),
        message(deep_link="http://evil.example/phish"),
    ):
        with pytest.raises(msgspec.ValidationError):
            inbox.deliver(fs, member, bad)
        with pytest.raises(msgspec.ValidationError):
            inbox.deliver_many(fs, [member], bad)
    assert inbox_service.page(fs, member, 10, None) == ([], None)


# -- devices for the sender ---------------------------------------------------------------------


def test_devices_of_finds_every_device_of_many_members(fs):
    who = members(75)
    expected = {}
    for m in who:
        view, _ = register(fs, m)
        expected[view["id"]] = m
    extra, _ = register(fs, who[0])
    expected[extra["id"]] = who[0]
    found = sender.devices_of(fs, who + who[:5])
    assert {r.device_id: r.member_id for r in found} == expected
    assert all(r.fcm_token and r.platform == "ios" and r.locale == "nb" for r in found)
    assert "APA91b" not in repr(found)


def test_pruning_a_dead_token_keeps_a_registration_refreshed_since(fs):
    [member] = members(1)
    installation = str(uuid.uuid4())
    dead, fresh = token(), token()
    view, _ = register(fs, member, installation, dead)
    register(fs, member, installation, fresh)  # the app refreshed before the send failed
    assert sender.remove_device(fs, view["id"], dead) is False
    assert [r.fcm_token for r in sender.devices_of(fs, [member])] == [fresh]
    assert sender.remove_device(fs, view["id"], fresh) is True
    assert sender.devices_of(fs, [member]) == []
    assert sender.remove_device(fs, view["id"]) is False


def _by_query(fs, who):
    """The registrations as the `devices` collection itself holds them."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    out = set()
    for m in who:
        for snap in (
            fs.collection(devices.COLLECTION)
            .where(filter=FieldFilter("member_id", "==", m))
            .stream()
        ):
            d = snap.to_dict()
            out.add((snap.id, d["member_id"], d["fcm_token"], d["platform"], d["locale"]))
    return out


def test_the_senders_index_follows_every_change_to_the_registrations(fs):
    """register, refresh, move to another member, take over a token, evict, unregister,
    prune: after each, the index the sender reads says what the collection says."""
    a, b = members(2)
    inst = [str(uuid.uuid4()) for _ in range(3)]
    shared = token()

    def same():
        index = {
            (r.device_id, r.member_id, r.fcm_token, r.platform, r.locale)
            for r in sender.devices_of(fs, [a, b])
        }
        assert index == _by_query(fs, [a, b])

    first, _ = register(fs, a, inst[0])
    same()
    register(fs, a, inst[0], token())
    same()  # token refresh
    register(fs, b, inst[0])
    same()  # the phone changed hands
    register(fs, a, inst[1], shared)
    same()
    register(fs, b, inst[2], shared)
    same()  # token taken over
    for _ in range(devices.MAX_DEVICES_PER_MEMBER + 1):
        register(fs, a)
        same()  # evictions
    assert devices.unregister(fs, b, first["id"])
    same()
    (r,) = [r for r in sender.devices_of(fs, [b])]
    assert sender.remove_device(fs, r.device_id, r.fcm_token)
    same()
    assert sender.devices_of(fs, [b]) == []
    assert not fs.collection(devices.INDEX_COLLECTION).document(b).get().exists


# -- registration rules -------------------------------------------------------------------------


def test_a_new_device_beyond_the_limit_replaces_the_one_seen_least_recently(fs):
    [member] = members(1)
    first, _ = register(fs, member)
    ids = [first["id"]] + [
        register(fs, member)[0]["id"] for _ in range(devices.MAX_DEVICES_PER_MEMBER - 1)
    ]
    newest, outcome = register(fs, member)
    assert outcome["evicted"] == 1
    kept = {d["id"] for d in devices.list_for(fs, member)}
    assert kept == set(ids[1:]) | {newest["id"]}


def test_concurrent_registrations_of_one_token_leave_it_with_one_installation(fs):
    who = members(4)
    shared = token()
    errors: list[BaseException] = []

    def run(m):
        try:
            register(fs, m, fcm_token=shared)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in who]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    holders = [r for r in sender.devices_of(fs, who) if r.fcm_token == shared]
    assert len(holders) == 1


def test_the_installation_id_is_never_stored(fs):
    [member] = members(1)
    installation = f"install-{uuid.uuid4()}"
    view, _ = register(fs, member, installation)
    assert view["id"] == devices.device_id(KEY, installation) != installation
    stored = fs.collection(devices.COLLECTION).document(view["id"]).get().to_dict()
    assert installation not in str(stored)
    assert set(stored) == {
        "member_id",
        "fcm_token",
        "platform",
        "app_version",
        "locale",
        "created_at",
        "last_seen_at",
        "expires_at",
    }


def test_every_collection_written_here_is_in_the_data_map_with_its_member_key(fs):
    [member] = members(1)
    register(fs, member)
    inbox.deliver(fs, member, message())
    declared = datamap.firestore_collections()
    for collection in fs.collections():
        docs = list(collection.limit(20).stream())
        if not any("member_id" in (d.to_dict() or {}) for d in docs):
            continue
        assert collection.id in declared, f"collection {collection.id} is not in the data map"
        assert declared[collection.id].member_key == "member_id"
    assert {devices.COLLECTION, inbox.COLLECTION} <= set(declared)


def test_an_unreachable_firestore_is_a_503_within_the_bound_not_a_hang(monkeypatch):
    import time

    from google.cloud import firestore as google_firestore
    from lederappen.core import firestore
    from lederappen.core.problems import DependencyUnavailable

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")  # nothing listens there
    dead = firestore.bounded(google_firestore.Client(project="lederappen-local"), 1.0)
    [member] = members(1)
    for work in (
        lambda: register(dead, member),
        lambda: inbox_service.page(dead, member, 5, None),
        lambda: inbox_service.mark_read(dead, member, inbox.item_id("x", member)),
        lambda: inbox.deliver_many(dead, [member], message()),
        lambda: sender.devices_of(dead, [member]),
    ):
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable), firestore.guard():
            work()
        assert time.monotonic() - started < 4
