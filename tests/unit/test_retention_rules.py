"""Retention (R7) is driven by the data map: every store with a retention says what dates its
rows, the job sweeps exactly those (plus the technical tables), in an order that counts each
row in its own store, with exactly the database privileges it needs; no I/O here."""

from datetime import UTC, datetime, timedelta

import pytest
from lederappen.core import datamap, manifest
from lederappen.devices import service as devices_service
from lederappen.notifications import inbox
from lederappen.privacy import retention

NOW = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
SWEPT_KINDS = ("sql", "firestore")


@pytest.mark.parametrize(
    "store", [s for s in datamap.STORES if s.retention_days is not None], ids=lambda s: s.name
)
def test_every_store_with_a_retention_declares_what_dates_its_rows(store):
    if store.kind in SWEPT_KINDS:
        assert store.retention_field, (
            f"{store.name} keeps data {store.retention_days} days: declare its retention_field "
            "(the column or field that dates a row) so the retention job deletes it"
        )
        assert retention.rule_for(store) in retention.rules()
    else:  # Pub/Sub messages expire in their subscription
        assert store.erase == "expire" and store.retention_field is None


@pytest.mark.parametrize(
    "store", [s for s in datamap.STORES if s.retention_days is None], ids=lambda s: s.name
)
def test_a_store_kept_while_a_condition_holds_is_not_swept(store):
    assert store.retention_field is None and store.retention_where is None
    assert store.name not in {
        r.name for r in retention.rules() if r.kind == store.kind and r not in retention.TECHNICAL
    }


def test_conditions_are_sql_only_and_expiry_fields_are_firestore_ttl_fields():
    for store in datamap.STORES:
        if store.retention_where is not None:
            assert store.kind == "sql" and "%" not in store.retention_where
        if store.retention_field_is_expiry:
            assert store.kind == "firestore" and store.retention_field == "expires_at"


def test_technical_tables_are_the_growing_ones_without_a_member_key():
    names = {r.name for r in retention.TECHNICAL}
    assert "processed_events" in names and "processed_events" in datamap.NO_MEMBER_KEY
    # Erasure receipts: privacy_requests rows whose member number was cleared, five years.
    receipts = next(r for r in retention.TECHNICAL if r.name == "privacy_requests")
    assert "member_id IS NULL" in receipts.where and receipts.days == 5 * 366
    assert all(r.kind == "sql" and not r.keys for r in retention.TECHNICAL)


def test_processed_event_ids_outlive_every_redelivery_and_replay():
    longest_in_pubsub = max(s.retention_days for s in datamap.pubsub_topics().values())
    assert retention.PROCESSED_EVENTS_DAYS >= (
        datamap.by_name("dead_letters").retention_days + longest_in_pubsub
    )


def test_children_are_swept_before_the_rows_they_cascade_from():
    order = [r.name for r in retention.rules()]
    assert len(order) == len(set(order))
    for later, earlier in retention.AFTER.items():
        for name in earlier:
            assert order.index(name) < order.index(later), f"{name} must go before {later}"


def test_the_writers_expiry_agrees_with_the_data_map():
    """Firestore TTL (expires_at, set by the writers) and the job delete at the same age."""
    assert inbox.RETENTION_DAYS == datamap.by_name("inbox_items").retention_days
    assert devices_service.RETENTION_DAYS == datamap.by_name("devices").retention_days


def test_the_retention_function_is_a_nightly_job_with_exactly_the_privileges_it_needs():
    fn = manifest.load().by_name("retention")
    assert fn.kind == "scheduled" and fn.entry_point == "retention"
    assert [(r.method, r.path, r.auth) for r in fn.routes] == [("POST", "/jobs/retention", "job")]
    minute, hour, *rest = fn.schedule.split()
    assert minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"]
    assert fn.time_zone == "Europe/Oslo"
    assert set(fn.uses) == {"db", "firestore", "job_oidc"}
    assert fn.limits["timeout_seconds"] == 540 and fn.limits["max_instances"] == 1
    assert retention.TIME_BUDGET_SECONDS < fn.limits["timeout_seconds"]
    rules = retention.rules()
    swept = {r.name for r in rules if r.kind == "sql"}
    wanted = {t: {"SELECT", "DELETE"} for t in swept}
    wanted |= {t: {"SELECT"} for t in retention.read_tables(rules) - swept}
    assert {t: set(p) for t, p in fn.db_privileges.items()} == wanted


def test_a_batch_deletes_due_rows_by_ctid_with_the_cutoff_and_the_restriction_hold():
    rule = retention.rule_for(datamap.by_name("push_deliveries"))
    sql, params = retention.statement(rule, NOW, 100, [])
    assert sql.startswith(
        "DELETE FROM push_deliveries WHERE ctid = ANY(ARRAY(SELECT ctid "
        "FROM push_deliveries WHERE push_deliveries.updated_at < %s"
    )
    assert (
        "NOT EXISTS (SELECT 1 FROM processing_restrictions pr WHERE pr.member_id = "
        "push_deliveries.member_id)" in sql
    )
    assert sql.endswith(" LIMIT %s))") and sql.count("%s") == len(params)
    assert params == [NOW - timedelta(days=30), 100]


def test_a_condition_gets_the_cutoff_wherever_it_names_it():
    rule = retention.rule_for(datamap.by_name("salary_answers"))
    sql, params = retention.statement(rule, NOW, 10, [])
    cutoff = NOW - timedelta(days=5 * 366)
    assert "(year IN (SELECT year FROM salary_rounds WHERE closes_at < %s))" in sql
    assert params == [cutoff, cutoff, 10] and sql.count("%s") == 3


def test_rows_about_two_members_are_held_for_either_and_arrays_and_pseudonyms_too():
    pair, _ = retention.statement(retention.rule_for(datamap.by_name("mentorships")), NOW, 1, [])
    assert "pr.member_id = mentorships.mentee_id" in pair
    assert "pr.member_id = mentorships.mentor_id" in pair
    arr, _ = retention.statement(retention.rule_for(datamap.by_name("dead_letters")), NOW, 1, [])
    assert "pr.member_id = ANY(dead_letters.member_ids)" in arr
    sql, params = retention.statement(
        retention.rule_for(datamap.by_name("audit_events")), NOW, 1, ["p1", "p2"]
    )
    assert "audit_events.member_pseudonym <> ALL(%s::text[])" in sql
    assert params == [NOW - timedelta(days=2 * 366), ["p1", "p2"], 1]
    tech, params = retention.statement(retention.TECHNICAL[0], NOW, 1, [])
    assert "processing_restrictions" not in tech and len(params) == 2


def test_an_expiry_field_is_due_once_it_has_passed():
    rule = retention.Rule("x", "firestore", "expires_at", 30, is_expiry=True)
    assert rule.cutoff(NOW) == NOW
    assert retention.rule_for(datamap.by_name("devices")).cutoff(NOW) == NOW - timedelta(days=270)


def test_device_registrations_are_swept_in_sql_by_last_seen():
    rule = retention.rule_for(datamap.by_name("devices"))
    assert (rule.kind, rule.field, rule.days) == ("sql", "last_seen_at", 270)


class FakeTransaction:
    """Runs work(cursor) against a cursor whose DELETE removes `sizes` rows in turn."""

    def __init__(self, sizes, restricted=()):
        self.sizes = list(sizes)
        self.restricted = list(restricted)
        self.statements = []

    def __call__(self, work):
        return work(self)

    def execute(self, sql, params=()):
        self.statements.append(sql)
        self.rowcount = self.sizes.pop(0) if sql.startswith("DELETE") else -1

    def fetchall(self):
        return [(m,) for m in self.restricted]


def test_a_store_is_swept_in_batches_until_one_comes_back_short():
    rule = retention.rule_for(datamap.by_name("outbox"))
    fake = FakeTransaction([3, 3, 1])
    outcome = retention.sweep(NOW, 3, transaction=fake, only=[rule])
    assert outcome.deleted == {"outbox": 7} and outcome.unfinished == [] and not outcome.failed
    assert sum(s.startswith("DELETE") for s in fake.statements) == 3


def test_the_time_budget_stops_new_batches_and_says_what_is_unfinished():
    rules = [retention.rule_for(datamap.by_name(n)) for n in ("outbox", "dead_letters")]
    fake = FakeTransaction([3, 3, 3])
    outcome = retention.sweep(NOW, 3, transaction=fake, only=rules, deadline=0.0)
    assert outcome.deleted == {} and outcome.unfinished == ["outbox", "dead_letters"]


def test_a_failing_store_is_reported_and_the_others_are_still_swept():
    rules = [retention.rule_for(datamap.by_name(n)) for n in ("outbox", "dead_letters")]

    class Broken(FakeTransaction):
        def execute(self, sql, params=()):
            if "FROM outbox" in sql:
                raise RuntimeError("boom")
            super().execute(sql, params)

    outcome = retention.sweep(NOW, 3, transaction=Broken([2]), only=rules)
    assert outcome.failed == {"outbox": "RuntimeError"}
    assert outcome.deleted == {"outbox": 0, "dead_letters": 2}
