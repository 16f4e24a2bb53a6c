"""A delivery batch is held by one attempt at a time, and its push rows are written once, with
their outcome (notifications/delivery.py, migration 0019): what that must not cost.

Each test plays what a real deployment meets: a copy of the batch arriving while another
attempt holds it, an attempt that died between FCM's answers and writing them, and a member
erased while the pushes were on their way. The delivery function is posted to directly, as
Pub/Sub's push would (tests/e2e/test_push_security.py's Pusher), and the database, the FCM
stand-in and the member's inbox are read before and after.
"""

from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from tests.conftest import eventually
from tests.e2e.test_messages import Fcm, register
from tests.e2e.test_push_security import Pusher
from tests.support.register import add_active_members

pytestmark = pytest.mark.stack

#: Members of this module's own, added to the register stand-in (ids 17xxxxx), all active.
MEMBERS = [f"17{n:05d}" for n in range(1, 5)]
EDITOR = "redaktor"


@pytest.fixture(scope="module", autouse=True)
def registered(stack):
    add_active_members(stack, MEMBERS, "Lease")


@pytest.fixture(scope="module")
def pusher(stack) -> Pusher:
    return Pusher(stack)


@pytest.fixture(scope="module")
def fcm(stack) -> Fcm:
    return Fcm(stack.urls["fcm"])


def send_direct(api, token, member: str) -> str:
    resp = api.post(
        "/v1/admin/messages",
        token=token(EDITOR),
        json_body={
            "category": "news",
            "title": {"nb": "Til deg", "en": "For you"},
            "body": {"nb": "Bare til deg.", "en": "Only for you."},
            "audience": {"kind": "member", "member_id": member},
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert resp.status == 201, resp.text
    return resp.json()["id"]


def pushes_of(fcm: Fcm, token_value: str, message_id: str) -> int:
    return len([m for m in fcm.messages(token_value) if m["data"]["message_id"] == message_id])


def push_rows(db_exec, message_id: str) -> dict[str, str]:
    return dict(
        db_exec(
            "SELECT member_id || ':' || device_id, state FROM push_deliveries "
            "WHERE message_id = %s",
            (message_id,),
        )
    )


def delivered(db_exec, fcm, message_id: str, member: str, token_value: str) -> None:
    """Waits until the message is through for the member: recorded, pushed, its row final."""
    eventually(
        lambda: (
            db_exec(
                "SELECT 1 FROM push_deliveries WHERE message_id = %s AND member_id = %s "
                "AND state = 'sent'",
                (message_id, member),
            )
            and pushes_of(fcm, token_value, message_id) == 1
        ),
        timeout=30,
    )


def test_a_copy_of_a_batch_another_attempt_holds_is_retried_and_changes_nothing(
    api, token, db_exec, fcm, pusher
):
    member = MEMBERS[0]
    device = register(api, token(member))
    message_id = send_direct(api, token, member)
    delivered(db_exec, fcm, message_id, member, device)
    # As if the batch had not been handled yet, while a live attempt holds it
    db_exec("DELETE FROM push_deliveries WHERE message_id = %s", (message_id,))
    db_exec("DELETE FROM message_recipients WHERE message_id = %s", (message_id,))
    db_exec(
        "INSERT INTO message_batch_leases (message_id, batch, lease_until) "
        "VALUES (%s, 0, now() + interval '1 minute')",
        (message_id,),
    )
    body = Pusher.envelope({"message_id": message_id, "batch": 0})
    resp = pusher.post("message-delivery", body)
    # not acknowledged: Pub/Sub brings it back once the other attempt is through
    assert resp.status >= 500 and resp.headers["Content-Type"].startswith("application/problem")
    assert db_exec("SELECT 1 FROM message_recipients WHERE message_id = %s", (message_id,)) == []
    assert push_rows(db_exec, message_id) == {}
    assert pushes_of(fcm, device, message_id) == 1
    # the other attempt's lease runs out (it died): the next copy does the batch, once
    db_exec(
        "UPDATE message_batch_leases SET lease_until = now() - interval '1 second' "
        "WHERE message_id = %s",
        (message_id,),
    )
    assert pusher.post("message-delivery", body).status == 204
    assert pushes_of(fcm, device, message_id) == 2
    assert list(push_rows(db_exec, message_id).values()) == ["sent"]
    assert db_exec(
        "SELECT count(*) FROM message_batch_leases WHERE message_id = %s", (message_id,)
    ) == [(0,)]  # given back
    assert pusher.post("message-delivery", body).status == 204  # and a replay sends nothing
    assert pushes_of(fcm, device, message_id) == 2


def test_an_attempt_that_died_before_writing_its_pushes_is_finished_by_the_next(
    api, token, db_exec, fcm, pusher
):
    member = MEMBERS[1]
    first = register(api, token(member))
    message_id = send_direct(api, token, member)
    delivered(db_exec, fcm, message_id, member, first)
    # it died after FCM's answers and before writing them: the member is recorded, no row
    db_exec("DELETE FROM push_deliveries WHERE message_id = %s", (message_id,))
    assert db_exec(
        "SELECT push FROM message_recipients WHERE message_id = %s AND member_id = %s",
        (message_id, member),
    ) == [(True,)]
    later = register(api, token(member))  # a device the member did not have back then
    body = Pusher.envelope({"message_id": message_id, "batch": 0})
    assert pusher.post("message-delivery", body).status == 204
    # the one window for a second push (the collapse key shows one notification)
    assert pushes_of(fcm, first, message_id) == 2
    assert pushes_of(fcm, later, message_id) == 0
    assert list(push_rows(db_exec, message_id).values()) == ["sent"]
    # a final row is never sent again
    assert pusher.post("message-delivery", body).status == 204
    assert pushes_of(fcm, first, message_id) == 2


def test_a_member_erased_while_the_pushes_are_on_their_way_gets_no_push_row(
    api, token, db_exec, fcm, pusher, pseudonyms, stack
):
    member = MEMBERS[2]
    device = register(api, token(member))
    # FCM answers slowly: the attempt records the member, then waits on the send
    fcm_control = urllib.request.Request(
        stack.urls["fcm"] + "/_control/faults",
        data=json.dumps({"delay_ms": 3000, "path_prefix": "/v1/projects", "count": 1}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(fcm_control, timeout=10) as resp:
        assert resp.status == 204
    message_id = send_direct(api, token, member)
    eventually(
        lambda: db_exec("SELECT 1 FROM message_recipients WHERE message_id = %s", (message_id,)),
        timeout=20,
        interval=0.05,
    )
    # erased now (the tombstone is what the attempt asks before it writes anything more)
    db_exec(
        "INSERT INTO erasure_tombstones (member_pseudonym, erased_at) VALUES (%s, now()) "
        "ON CONFLICT (member_pseudonym) DO UPDATE SET erased_at = now()",
        (pseudonyms(member),),
    )
    db_exec("DELETE FROM message_recipients WHERE member_id = %s", (member,))
    eventually(lambda: pushes_of(fcm, device, message_id) == 1, timeout=20)
    eventually(
        lambda: (
            db_exec(
                "SELECT count(*) FROM message_batch_leases WHERE message_id = %s", (message_id,)
            )
            == [(0,)]
        ),
        timeout=20,
    )
    assert push_rows(db_exec, message_id) == {}
    assert db_exec("SELECT 1 FROM push_deliveries WHERE member_id = %s", (member,)) == []
