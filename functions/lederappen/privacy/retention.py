"""Retention (R7): a nightly job deletes what the data map says is no longer needed.

Policy section 5: personal data that is no longer needed for the purpose it was stored for is
deleted. The data map (`core.datamap`) says how long each store keeps its data
(`retention_days`) and what dates a row or document (`retention_field`, with an optional
SQL condition `retention_where`); this module turns that into deletions, so a store added to
the map with a retention is swept without a list of its own here. Stores whose retention is
"while a condition holds" (`retention_days=None`: consents, preferences, sign-ups, a
restriction) are not swept: membership end and erasure remove them.

`sweep(now)` walks the rules in order and returns how many rows or documents each removed:

* SQL: `DELETE ... WHERE ctid = ANY(ARRAY(SELECT ctid ... LIMIT batch))`, one short
  transaction per batch, until a batch comes back short. The job never holds a lock for long,
  a crash keeps every batch already committed, and a row that changes while it is being
  deleted is re-checked by PostgreSQL (its ctid moves) and left for the next run. Salary
  answers go by round: once a round closed more than five years ago all its answers go. Its
  releases (anonymous figures, no answer and no member key) stay, exactly as after the
  member's own deletion and erasure: they never change (salary/statistics.py).
* Firestore: a query on the dating field, page by page, deleted in write batches. Terraform
  also sets TTL policies on `expires_at`, but the emulator runs none and production TTL may
  lag, so the job does not rely on them.

Children are swept before their parents (push deliveries and recipients before messages,
feedback before mentorships; `AFTER`), so each row is counted in its own store instead of
vanishing by `ON DELETE CASCADE`.

Restriction (GDPR Art. 18) holds data: a member whose processing is restricted has asked for
their data to be kept, not used, often because they need it (Art. 18(1)(b), (c)). Retention
skips every row and document keyed by such a member until the restriction is lifted.

The job logs and returns counts per store, never a member key. It does not write to the audit
trail: it reads no member's data, it removes it on a schedule.

Rows without a member key that would otherwise grow forever are swept too (`TECHNICAL`):
processed Pub/Sub event ids, and erasure receipts (the pseudonymous proof of an erasure,
kept five years as the data map's `privacy_requests` says). Not swept on purpose:
`consent_terms` (the proof of what members consented to), `salary_rounds` and their published
statistics (no member data, bounded by the rounds), `mentor_rounds` (counts only, one a day).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..core import datamap, log, restriction
from ..core.db import Cursor
from ..core.http import Api, Reply, Request

_log = logging.getLogger("lederappen.retention")

#: Rows per SQL batch (one transaction each).
BATCH = 5000
#: Firestore documents per page and per write batch (a write batch takes at most 500).
FIRESTORE_PAGE = 500
#: Seconds the job may spend before it stops starting new batches (timeout 540 s in the
#: manifest); what is left is reported as unfinished and the next run goes on from there.
TIME_BUDGET_SECONDS = 480

#: How long a processed event id guards against a second effect: a message can be redelivered
#: for as long as its subscription keeps it (the Pub/Sub stores' retention), then replayed
#: from dead_letters for as long as that keeps it.
PROCESSED_EVENTS_DAYS = (datamap.by_name("dead_letters").retention_days or 0) + max(
    s.retention_days or 0 for s in datamap.pubsub_topics().values()
)
#: Erasure receipts (privacy_requests rows whose member number was cleared) are kept five
#: years (the data map's retention text of privacy_requests).
ERASURE_RECEIPT_DAYS = 5 * 366
#: Finished membership-end runs (figures only) are kept a year and a bit, so the privacy
#: officer can compare this year's runs with last year's.
MEMBERSHIP_END_RUN_DAYS = 400


@dataclass(frozen=True)
class Rule:
    """What to delete from one table or collection: rows whose `field` is older than `days`
    (or, with `is_expiry`, whose `field` has passed) and that meet `where`."""

    name: str
    kind: str  # "sql" | "firestore"
    field: str
    days: int
    where: str | None = None
    is_expiry: bool = False
    #: Member keys for the restriction hold: (column or field, form), form one of "id",
    #: "array" (SQL array of ids), "pseudonym" (core.log.pseudonym), "document id".
    keys: tuple[tuple[str, str], ...] = ()

    def cutoff(self, now: datetime) -> datetime:
        return now if self.is_expiry else now - timedelta(days=self.days)


#: Tables without a member key (or rows that no longer have one) that grow with use.
TECHNICAL: tuple[Rule, ...] = (
    Rule("processed_events", "sql", "processed_at", PROCESSED_EVENTS_DAYS),
    Rule(
        "privacy_requests",
        "sql",
        "finished_at",
        ERASURE_RECEIPT_DAYS,
        where="member_id IS NULL AND status = 'done'",
    ),
    # finished runs of the membership-end job hold figures only (the cursor is cleared)
    Rule(
        "membership_end_runs", "sql", "finished_at", MEMBERSHIP_END_RUN_DAYS, where="cursor IS NULL"
    ),
)

#: Stores swept only after these others: their rows would otherwise go by ON DELETE CASCADE
#: (uncounted).
AFTER: dict[str, tuple[str, ...]] = {
    "messages": ("message_recipients", "push_deliveries", "message_batches"),
    "mentorships": ("mentorship_feedback",),
}

#: Tables the sweep reads without deleting from (the restriction hold).
READS = ("processing_restrictions",)


def _hold_keys(store: datamap.Store) -> tuple[tuple[str, str], ...]:
    if store.member_key == "document id":
        return (("__name__", "document id"),)
    if store.key_form == "pseudonym":
        return tuple((k, "pseudonym") for k in store.member_keys)
    return tuple(
        (k, "array" if k in datamap.ARRAY_KEY_COLUMNS else "id") for k in store.member_keys
    )


def rule_for(store: datamap.Store) -> Rule:
    assert store.retention_field and store.retention_days is not None, store.name
    return Rule(
        store.name,
        store.kind,
        store.retention_field,
        store.retention_days,
        where=store.retention_where,
        is_expiry=store.retention_field_is_expiry,
        keys=_hold_keys(store),
    )


def rules() -> list[Rule]:
    """Every rule, in sweep order: the data map's stores with a retention, then TECHNICAL;
    a store named in AFTER after the stores it waits for."""
    found = [
        rule_for(s)
        for s in datamap.STORES
        if s.kind in ("sql", "firestore") and s.retention_days is not None and s.retention_field
    ]
    found += TECHNICAL
    for r in found:  # raises unless both are plain identifiers
        datamap.quote_ident(r.name), datamap.quote_ident(r.field)
    return sorted(found, key=lambda r: r.name in AFTER)  # stable: False (0) first


def read_tables(all_rules: list[Rule] | None = None) -> set[str]:
    """Tables the job reads but does not sweep: the restriction list and those the
    `where` conditions look at."""
    found = set(READS)
    for r in all_rules if all_rules is not None else rules():
        if r.where:
            found |= set(re.findall(r"\bFROM\s+([a-z_][a-z0-9_]*)", r.where))
    return found


# --- SQL --------------------------------------------------------------------------------------


def statement(
    rule: Rule, now: datetime, batch: int, held_pseudonyms: list[str]
) -> tuple[str, list[Any]]:
    """The DELETE of one batch of `rule`'s due rows, and its parameters."""
    t = rule.name
    cutoff = rule.cutoff(now)
    conditions: list[str] = [f"{t}.{rule.field} < %s"]
    params: list[Any] = [cutoff]
    if rule.where:
        if "%" in rule.where:
            raise ValueError(f"{t}: retention_where must not contain '%'")
        conditions.append("(" + rule.where.replace("{cutoff}", "%s") + ")")
        params += [cutoff] * rule.where.count("{cutoff}")
    for column, form in rule.keys:
        if form == "id":
            conditions.append(restriction.unrestricted(f"{t}.{column}"))
        elif form == "array":
            conditions.append(restriction.unrestricted(f"{t}.{column}", array=True))
        elif form == "pseudonym":
            conditions.append(f"({t}.{column} IS NULL OR {t}.{column} <> ALL(%s::text[]))")
            params.append(list(held_pseudonyms))
        else:  # pragma: no cover - rule_for only makes the forms above for SQL
            raise ValueError(f"{t}: unknown key form {form!r}")
    sql = (
        f"DELETE FROM {t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {t} WHERE "
        + " AND ".join(conditions)
        + " LIMIT %s))"
    )
    return sql, [*params, batch]


def _sweep_sql(
    transaction,
    rule: Rule,
    now: datetime,
    batch: int,
    held_pseudonyms: list[str],
    out_of_time: Callable[[], bool],
) -> tuple[int, bool]:
    sql, params = statement(rule, now, batch, held_pseudonyms)

    def one_batch(cur: Cursor) -> int:
        cur.execute(sql, params)
        return cur.rowcount

    total = 0
    while True:
        deleted = transaction(one_batch)
        total += deleted
        if deleted < batch:
            return total, True
        if out_of_time():
            return total, False


# --- Firestore --------------------------------------------------------------------------------


def _filter(field_path: str, op: str, value):
    from google.cloud.firestore_v1.base_query import FieldFilter

    return FieldFilter(field_path, op, value)


def _members_of(snap, rule: Rule) -> set[str]:
    """The member keys of a document (for the restriction hold)."""
    data = snap.to_dict() or {}
    keys = {snap.id if form == "document id" else data.get(key) for key, form in rule.keys}
    return {k for k in keys if isinstance(k, str)}


def _due_pages(client, rule: Rule, now: datetime, page: int):
    """Pages of due documents (snapshots with the key and dating fields), oldest first, each
    with whether more may follow. Pages go on from the last document seen, so documents that
    are held, or that a deleter left in place, are passed over rather than met again."""
    from ..core.firestore import TIMEOUT_SECONDS

    fields = [rule.field] + [k for k, form in rule.keys if form != "document id"]
    query = (
        client.collection(rule.name)
        .where(filter=_filter(rule.field, "<", rule.cutoff(now)))
        .order_by(rule.field)
        .select(fields)
        .limit(page)
    )
    last = None
    while True:
        snaps = list(
            (query.start_after(last) if last is not None else query).stream(timeout=TIMEOUT_SECONDS)
        )
        yield snaps, len(snaps) == page
        if len(snaps) < page:
            return
        last = snaps[-1]


def _delete_in_batches(client, snaps) -> int:
    from ..core.firestore import TIMEOUT_SECONDS

    for start in range(0, len(snaps), FIRESTORE_PAGE):
        batch = client.batch()
        for snap in snaps[start : start + FIRESTORE_PAGE]:
            batch.delete(snap.reference)
        batch.commit(timeout=TIMEOUT_SECONDS)
    return len(snaps)


def _sweep_documents(
    client, rule: Rule, now: datetime, page: int, held: set[str], out_of_time
) -> tuple[int, bool]:
    """Due documents of `rule`'s collection, in write batches."""
    total = 0
    for snaps, more in _due_pages(client, rule, now, page):
        due = [s for s in snaps if not _members_of(s, rule) & held]
        total += _delete_in_batches(client, due)
        if more and out_of_time():
            return total, False
    return total, True


# --- the sweep --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one sweep did: rows or documents deleted per store (`deleted`), the stores it ran
    out of time in (`unfinished`: the next run goes on) and those that failed (error class)."""

    deleted: dict[str, int] = field(default_factory=dict)
    unfinished: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    errors: list[BaseException] = field(default_factory=list, repr=False)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


def _restricted_members(transaction) -> list[str]:
    return transaction(restriction.restricted_members)


def sweep(
    now: datetime,
    batch: int = BATCH,
    *,
    transaction=None,
    documents=None,
    deadline: float | None = None,
    only: list[Rule] | None = None,
) -> Outcome:
    """Deletes everything past its retention at `now`; see the module docstring.

    Ports: `transaction` runs `work(cursor)` in one committed transaction (default
    `core.db.transaction`), `documents` is the Firestore client (default: the instance's).
    `deadline` (time.monotonic()) stops new batches once passed. A store that fails is
    reported in `failed` and the others are still swept.
    """
    if transaction is None:
        from ..core import db

        transaction = db.transaction
    all_rules = only if only is not None else rules()

    def out_of_time() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    held = set(_restricted_members(transaction))
    held_pseudonyms = (
        sorted(log.pseudonym(m) for m in held)
        if held and any(form == "pseudonym" for r in all_rules for _, form in r.keys)
        else []
    )
    outcome = Outcome()
    for rule in all_rules:
        if out_of_time():
            outcome.unfinished.append(rule.name)
            continue
        try:
            if rule.kind == "sql":
                count, finished = _sweep_sql(
                    transaction, rule, now, batch, held_pseudonyms, out_of_time
                )
            else:
                from ..core import config, firestore

                if documents is None:
                    documents = firestore.client(config.get(("firestore",)))
                page = max(1, min(batch, FIRESTORE_PAGE))
                with firestore.guard():
                    count, finished = _sweep_documents(
                        documents, rule, now, page, held, out_of_time
                    )
        except Exception as exc:  # the other stores are still swept; the run then fails  # noqa: BLE001
            outcome.failed[rule.name] = type(exc).__name__
            outcome.errors.append(exc)
            _log.warning(
                "retention sweep of a store failed",
                exc_info=exc,
                extra={"fields": {"store": rule.name}},
            )
            outcome.deleted.setdefault(rule.name, 0)
            continue
        outcome.deleted[rule.name] = outcome.deleted.get(rule.name, 0) + count
        if not finished:
            outcome.unfinished.append(rule.name)
    return outcome


# --- the scheduled function -------------------------------------------------------------------

api = Api()


@api.post("/jobs/retention")
def run(request: Request) -> Reply:
    from ..core import firestore, problems

    started = time.monotonic()
    now = datetime.now(UTC)
    outcome = sweep(
        now, documents=firestore.client(request.settings), deadline=started + TIME_BUDGET_SECONDS
    )
    level = logging.ERROR if outcome.failed else logging.INFO
    log.event(
        _log,
        "retention sweep",
        level,
        deleted=outcome.deleted,
        total=outcome.total,
        unfinished=outcome.unfinished,
        failed=outcome.failed,
        seconds=round(time.monotonic() - started, 3),
    )
    if outcome.errors:
        # Cloud Scheduler retries a failed run; the batches already committed stay done.
        first = outcome.errors[0]
        if all(isinstance(e, problems.DependencyUnavailable) for e in outcome.errors):
            raise problems.DependencyUnavailable(
                getattr(first, "dependency", "database"), retry_after=60
            )
        raise first
    return Reply(
        {
            "swept_at": firestore.timestamp(now),
            "deleted": outcome.deleted,
            "total": outcome.total,
            "unfinished": outcome.unfinished,
        }
    )
