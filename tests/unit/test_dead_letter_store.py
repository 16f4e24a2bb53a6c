"""Dead letters without I/O: member keys are found and redacted, the source of a message is
told from its attributes, and a drain stores before it acknowledges, within its bounds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from lederappen.core import manifest
from lederappen.deadletters import store

from infra.local import demo_data

# -- member keys and redaction ------------------------------------------------------------------


def test_member_keys_come_from_the_top_level_member_id_and_member_ids():
    payload = json.dumps(
        {
            "member_id": "1000001",
            "member_ids": ["1000002", "1000001", 1000003],
            "nested": {"member_id": "9999999"},
        }
    ).encode()
    assert store.member_keys(payload) == ["1000001", "1000002", "1000003"]


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{not json",
        b"[1, 2]",
        b'"1000001"',
        b'{"member_id": null, "member_ids": "1000001"}',
        b'{"member_id": true}',
        b'{"member_id": ""}',
    ],
)
def test_payloads_without_member_keys_give_none(payload):
    assert store.member_keys(payload) == []


def test_redaction_hides_every_member_key_at_any_depth_and_keeps_the_shape():
    data = {
        "event_id": "e-1",
        "member_id": "1000001",
        "subscribed": True,
        "member_ids": ["1", "2", "3"],
        "batch": [{"member_id": "1000002", "terms_version": 2}],
        "inner": {"member_ids": [], "member_id": None},
    }
    assert store.redact(data) == {
        "event_id": "e-1",
        "member_id": "<redacted>",
        "subscribed": True,
        "member_ids": "<redacted: 3>",
        "batch": [{"member_id": "<redacted>", "terms_version": 2}],
        "inner": {"member_ids": "<redacted: 0>", "member_id": None},
    }
    assert "1000001" not in json.dumps(store.redact(data))


def test_a_member_ids_value_that_is_not_a_list_is_still_redacted():
    assert store.redact({"member_ids": "1000001,1000002"}) == {"member_ids": "<redacted>"}


def test_payload_view_shows_json_redacted_and_never_bytes_that_are_not_json():
    assert store.payload_view(b'{"member_id": "1000001", "x": 1}') == (
        "json",
        {"member_id": "<redacted>", "x": 1},
    )
    assert store.payload_view(b"{not json 1000001") == ("not_json", None)
    assert store.payload_view(b"") == ("empty", None)


def test_attributes_are_shown_with_member_keys_redacted():
    assert store.redact_attributes({"dead_letter_reason": "malformed", "member_id": "1000001"}) == {
        "dead_letter_reason": "malformed",
        "member_id": "<redacted>",
    }


def test_a_replay_carries_the_original_attributes_and_replay_of_but_not_the_dead_letter_ones():
    attributes = {
        "outbox_id": "7",
        "dead_letter_reason": "malformed",
        "source_function": "x",
        "source_message_id": "1",
        "CloudPubSubDeadLetterSourceDeliveryCount": "10",
        "replay_of": "3",
    }
    assert store.replay_attributes(attributes, 12) == {"outbox_id": "7", "replay_of": "12"}


# -- where a message came from ------------------------------------------------------------------


def _fn(name, dead_letter_topic="shared-dead-letter"):
    return manifest.Function(
        name=name,
        entry_point=name.replace("-", "_"),
        kind="pubsub",
        description="",
        uses=("pubsub",),
        topic=f"{name}-topic",
        dead_letter_topic=dead_letter_topic,
    )


def _manifest(*fns):
    return manifest.Manifest(functions=tuple(fns), defaults={})


def test_every_dead_letter_topic_has_one_inspect_subscription_with_its_functions():
    a, b, c = _fn("alpha"), _fn("beta"), _fn("gamma", "gamma-dead-letter")
    subs = store.inspect_subscriptions(_manifest(a, b, c))
    assert [(s.subscription, s.dead_letter_topic, [f.name for f in s.functions]) for s in subs] == [
        ("shared-dead-letter-inspect", "shared-dead-letter", ["alpha", "beta"]),
        ("gamma-dead-letter-inspect", "gamma-dead-letter", ["gamma"]),
    ]


@pytest.mark.parametrize(
    "attributes, expected",
    [
        (
            {"dead_letter_reason": "malformed", "source_function": "beta"},
            ("beta", "beta-topic", "malformed"),
        ),
        (
            {"dead_letter_reason": "rejected: unknown-member", "source_function": "alpha"},
            ("alpha", "alpha-topic", "rejected: unknown-member"),
        ),
        # Pub/Sub's own forward after max_delivery_attempts: the push subscription names the function
        (
            {
                "CloudPubSubDeadLetterSourceSubscription": "projects/p/subscriptions/beta-push",
                "CloudPubSubDeadLetterSourceDeliveryCount": "10",
            },
            ("beta", "beta-topic", "delivery-attempts-exhausted"),
        ),
        (
            {"CloudPubSubDeadLetterSourceSubscription": "alpha"},
            ("alpha", "alpha-topic", "delivery-attempts-exhausted"),
        ),
        # a function name the topic does not belong to is not believed
        ({"source_function": "gamma"}, (None, None, "unknown")),
        ({}, (None, None, "unknown")),
    ],
)
def test_the_source_function_and_reason_are_told_from_the_attributes(attributes, expected):
    inspect = store.inspect_subscriptions(_manifest(_fn("alpha"), _fn("beta")))[0]
    assert store.classify(inspect, attributes) == expected


def test_a_dead_letter_topic_of_one_function_names_it_even_without_attributes():
    inspect = store.inspect_subscriptions(_manifest(_fn("gamma", "gamma-dead-letter")))[0]
    assert store.classify(inspect, {}) == ("gamma", "gamma-topic", "unknown")


# -- draining -----------------------------------------------------------------------------------


@dataclass
class FakeMessage:
    message_id: str
    data: bytes
    attributes: dict = field(default_factory=dict)
    publish_time: datetime = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Received:
    ack_id: str
    message: FakeMessage


@dataclass
class PullResponse:
    received_messages: list


class FakeSubscriber:
    """Pull subscriptions in memory; records every call in order."""

    def __init__(self, backlog: dict[str, list[FakeMessage]], fail_pull=(), fail_ack=False):
        self.backlog = {k: list(v) for k, v in backlog.items()}
        self.calls: list[tuple] = []
        self.fail_pull = set(fail_pull)
        self.fail_ack = fail_ack
        self.outstanding: dict[str, tuple[str, FakeMessage]] = {}

    def pull(self, request, timeout):
        sub = request["subscription"].rsplit("/", 1)[-1]
        self.calls.append(("pull", sub, request["max_messages"]))
        assert request["return_immediately"] is True and timeout > 0
        if sub in self.fail_pull:
            raise PermissionError("denied")
        taken = self.backlog.get(sub, [])[: request["max_messages"]]
        self.backlog[sub] = self.backlog.get(sub, [])[len(taken) :]
        out = []
        for m in taken:
            ack = f"ack-{m.message_id}"
            self.outstanding[ack] = (sub, m)
            out.append(Received(ack, m))
        return PullResponse(out)

    def acknowledge(self, request, timeout):
        sub = request["subscription"].rsplit("/", 1)[-1]
        self.calls.append(("ack", sub, tuple(request["ack_ids"])))
        if self.fail_ack:
            raise ConnectionError("gone")
        for ack in request["ack_ids"]:
            self.outstanding.pop(ack)


class FakeTable:
    """dead_letters in memory: insert ON CONFLICT (subscription, message_id) DO NOTHING."""

    def __init__(self, log):
        self.rows: dict[tuple[str, str], tuple] = {}
        self.log = log

    def save(self, rows):
        new = 0
        for row in rows:
            key = (row[0], row[3])
            if key not in self.rows:
                self.rows[key] = row
                new += 1
        self.log.append(("commit", len(rows)))
        return new


def _setup(backlog, **kw):
    sub = FakeSubscriber(backlog, **kw)
    table = FakeTable(sub.calls)
    return sub, table


M = _manifest(_fn("alpha", "alpha-dead-letter"), _fn("beta", "beta-dead-letter"))


def test_a_drain_stores_and_commits_before_it_acknowledges_and_empties_every_subscription():
    malformed = FakeMessage(
        "m1", b"{not json", {"dead_letter_reason": "malformed", "source_function": "alpha"}
    )
    exhausted = FakeMessage(
        "m2",
        json.dumps({"member_id": "1000001"}).encode(),
        {"CloudPubSubDeadLetterSourceDeliveryCount": "10"},
    )
    sub, table = _setup(
        {"alpha-dead-letter-inspect": [malformed], "beta-dead-letter-inspect": [exhausted]}
    )
    result = store.drain("p", M, client=sub, save=table.save)
    assert result == store.Drained(stored=2, pulled=2, complete=True)
    kinds = [c[0] for c in sub.calls]
    assert kinds == ["pull", "commit", "ack", "pull", "pull", "commit", "ack", "pull"]
    assert not sub.outstanding
    row = table.rows[("beta-dead-letter-inspect", "m2")]
    _subscription, source, topic, _message_id, reason, attributes, payload, members, received = row
    assert (source, topic, reason) == ("beta", "beta-topic", "delivery-attempts-exhausted")
    assert members == ["1000001"] and payload == exhausted.data
    assert json.loads(attributes) == exhausted.attributes and received == exhausted.publish_time
    assert table.rows[("alpha-dead-letter-inspect", "m1")][4] == "malformed"


def test_when_the_commit_fails_nothing_is_acknowledged_so_nothing_is_lost():
    sub, _ = _setup({"alpha-dead-letter-inspect": [FakeMessage("m1", b"x")]})

    def broken(rows):
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        store.drain("p", M, client=sub, save=broken)
    assert [c[0] for c in sub.calls] == ["pull"] and len(sub.outstanding) == 1


def test_a_message_redelivered_after_a_lost_acknowledgement_is_stored_once():
    message = FakeMessage("m1", b"x")
    sub, table = _setup({"alpha-dead-letter-inspect": [message]}, fail_ack=True)
    first = store.drain("p", M, client=sub, save=table.save)
    assert first.stored == 1 and first.complete is False
    # Pub/Sub redelivers the unacknowledged message after its ack deadline
    again = FakeSubscriber({"alpha-dead-letter-inspect": [message]})
    second = store.drain("p", M, client=again, save=table.save)
    assert second == store.Drained(stored=0, pulled=1, complete=True)
    assert len(table.rows) == 1


def test_a_drain_stops_at_its_message_bound_and_says_more_may_wait():
    backlog = [FakeMessage(f"m{i}", b"x") for i in range(7)]
    sub, table = _setup({"alpha-dead-letter-inspect": backlog})
    result = store.drain("p", M, client=sub, save=table.save, max_messages=5)
    assert result == store.Drained(stored=5, pulled=5, complete=False)
    assert len(sub.backlog["alpha-dead-letter-inspect"]) == 2 and not sub.outstanding


def test_a_drain_stops_at_its_time_bound():
    ticks = iter([0.0, 0.1, 10.0, 10.0, 10.0])
    sub, table = _setup(
        {
            "alpha-dead-letter-inspect": [FakeMessage("m1", b"x")],
            "beta-dead-letter-inspect": [FakeMessage("m2", b"x")],
        }
    )
    result = store.drain(
        "p", M, client=sub, save=table.save, max_seconds=5, clock=lambda: next(ticks)
    )
    assert result.complete is False and result.pulled == 1


def test_a_subscription_that_cannot_be_pulled_is_skipped_and_the_others_are_drained():
    sub, table = _setup(
        {"beta-dead-letter-inspect": [FakeMessage("m2", b"x")]},
        fail_pull={"alpha-dead-letter-inspect"},
    )
    result = store.drain("p", M, client=sub, save=table.save)
    assert result == store.Drained(stored=1, pulled=1, complete=False)


# -- wiring -------------------------------------------------------------------------------------


def test_the_dead_letters_function_may_replay_to_and_drain_every_pubsub_function():
    m = manifest.load()
    fn = m.by_name("dead-letters")
    pubsub_functions = [f for f in m.functions if f.kind == "pubsub"]
    assert {f.topic for f in pubsub_functions} <= set(fn.publishes), (
        "dead-letters must list every pubsub function's topic in publishes (replay)"
    )
    assert {s.subscription for s in store.inspect_subscriptions(m)} == set(fn.pulls), (
        "dead-letters must list every -inspect subscription in pulls (Terraform grants them)"
    )
    assert {r.auth for r in fn.routes} == {"staff:operations"}
    assert set(fn.db_privileges) == {"dead_letters", "idempotency_keys", "audit_events"}
    # staff reading a dead letter's member keys is audited (S2): it may only append to the trail
    assert fn.db_privileges["audit_events"] == ("INSERT",)


def test_the_manifest_refuses_a_pull_of_anything_but_an_inspect_subscription():
    raw = json.loads(manifest.MANIFEST_PATH.read_text())
    for f in raw["functions"]:
        if f["name"] == "dead-letters":
            f["pulls"] = ["newsletter-sync"]
    with pytest.raises(manifest.ManifestError, match="not the -inspect subscription"):
        manifest.parse(raw)


def test_api_declares_exactly_the_manifest_routes():
    from lederappen.deadletters import api

    declared = {(e.method, e.path) for e in api.api.endpoints}
    assert declared == {(r.method, r.path) for r in manifest.load().by_name("dead-letters").routes}


def test_operations_is_a_staff_role_and_the_demo_has_an_operations_user():
    assert "operations" in manifest.STAFF_ROLES
    staff = {s["username"]: s for s in demo_data.generate_staff()}
    assert staff["driftsvakt"] == {
        "username": "driftsvakt",
        "sub": "staff-0005",
        "roles": ["staff", "operations"],
    }
