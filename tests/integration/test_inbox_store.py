"""The Firestore side of F9 against the real emulator: the inbox writer the sender uses
(idempotent, batched) for direct messages. Device registrations are in PostgreSQL: their
rules are tests/sql/test_device_rules.py."""

import threading
import uuid

import pytest
from lederappen.core import datamap
from lederappen.inbox import service as inbox_service
from lederappen.notifications import inbox

from tests.support.firestore import emulator_client

pytestmark = pytest.mark.stack


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


def test_every_collection_written_here_is_in_the_data_map_with_its_member_key(fs):
    [member] = members(1)
    inbox.deliver(fs, member, message())
    declared = datamap.firestore_collections()
    for collection in fs.collections():
        docs = list(collection.limit(20).stream())
        if not any("member_id" in (d.to_dict() or {}) for d in docs):
            continue
        assert collection.id in declared, f"collection {collection.id} is not in the data map"
        assert declared[collection.id].member_key == "member_id"
    assert inbox.COLLECTION in declared
    assert "devices" not in declared and "device_index" not in declared  # PostgreSQL now


def test_an_unreachable_firestore_is_a_503_within_the_bound_not_a_hang(monkeypatch):
    import time

    from google.cloud import firestore as google_firestore
    from lederappen.core import firestore
    from lederappen.core.problems import DependencyUnavailable

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:1")  # nothing listens there
    dead = firestore.bounded(google_firestore.Client(project="lederappen-local"), 1.0)
    [member] = members(1)
    for work in (
        lambda: inbox_service.page(dead, member, 5, None),
        lambda: inbox_service.mark_read(dead, member, inbox.item_id("x", member)),
        lambda: inbox.deliver_many(dead, [member], message()),
    ):
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable), firestore.guard():
            work()
        assert time.monotonic() - started < 4
