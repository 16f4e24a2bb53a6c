"""Erasure (R3, R5): remove everything about one member from every store, driven by the data map.

`erase(settings, member_id, request_id, now)` is one deletion job. It runs in three steps,
each idempotent, so a job that crashes half-way finishes when Pub/Sub delivers it again and
the same job delivered three times has one effect:

1. Outside the database: the newsletter subscriber at lederne.no (404 is fine), then every
   Firestore collection in the data map (documents whose member key field matches, or the
   one document whose id is the member key), in batched deletes.
2. One PostgreSQL transaction: every SQL store in the data map, by each of its member keys
   (both sides of a mentoring pair; `= ANY(array)` for array keys; the pseudonym for stores
   that key by it), or through the store's `erase_with` when erasing must also throw away
   something derived (salary figures) or scrub a payload (the outbox's delivery batches).
   The same transaction writes the tombstone (below). The database down here means nothing
   of this step is committed: the job fails, Pub/Sub redelivers.
3. Firestore once more, after the commit: a message delivery that read the member before the
   tombstone existed may have written an inbox item in between; the second pass removes it,
   and every later delivery sees the tombstone and drops the member.

Only then does a last transaction mark the request done and clear its member number, so a
request is never reported done for a half-erased member.

What is kept (the proof of erasure, no personal data): the request row with member_id
cleared, when it finished, which categories and stores it covered and how many items each
held. And for 30 days a tombstone: the member's pseudonym (HMAC-SHA256 under PSEUDONYM_KEY)
and the erasure time, so handlers drop messages created before it (retention deletes it).
A member who registers again later starts empty: nothing keyed by their id remains, and the
tombstone only drops messages created before the erasure.
"""

from __future__ import annotations

import importlib
import json
from datetime import datetime
from typing import Any, Callable

from ..core import datamap, firestore, lederne, log

#: Firestore deletes per batch (the limit of a write batch is 500).
_BATCH = 400


def _call(path: str, cur, member_id: str) -> int:
    module, _, function = path.partition(":")
    result = getattr(importlib.import_module(module), function)(cur, member_id)
    return int(result or 0)


def erase_sql(cur, member_id: str) -> dict[str, int]:
    """Deletes the member's rows from every SQL store in the data map; counts per store."""
    counts: dict[str, int] = {}
    for store in datamap.sql_tables().values():
        if store.erase == "keep":
            continue
        if store.erase_with:
            counts[store.name] = _call(store.erase_with, cur, member_id)
            continue
        key = store.key_for(member_id, log.pseudonym)
        cur.execute(f"DELETE FROM {datamap.quote_ident(store.name)} WHERE {store.match_sql}",
                    tuple(key for _ in store.member_keys))
        counts[store.name] = cur.rowcount
    return counts


def scrub_outbox(cur, member_id: str) -> int:
    """`erase_with` of the outbox: the member's own rows go; the member's key is taken out of
    delivery batches (payload member_ids) that also carry other members; and a fan-out step
    whose cursor is the member's key (an interest audience is paged by member key) goes once
    published, or, still queued, resumes from just before the key (the members it then lists
    again were already processed, and delivery skips them)."""
    cur.execute("DELETE FROM outbox WHERE member_id = %s", (member_id,))
    removed = cur.rowcount
    cur.execute(
        "UPDATE outbox SET payload = jsonb_set(payload, '{member_ids}', "
        "(payload->'member_ids') - %s) WHERE payload->'member_ids' @> %s::jsonb",
        (member_id, json.dumps([member_id])))
    removed += cur.rowcount
    cur.execute("DELETE FROM outbox WHERE topic = 'message-fanout' "
                "AND published_at IS NOT NULL AND payload->>'cursor' = %s", (member_id,))
    removed += cur.rowcount
    cur.execute("UPDATE outbox SET payload = jsonb_set(payload, '{cursor}', to_jsonb(%s::text)) "
                "WHERE topic = 'message-fanout' AND published_at IS NULL "
                "AND payload->>'cursor' = %s", (member_id[:-1], member_id))
    return removed + cur.rowcount


def erase_firestore(settings, member_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with firestore.guard():
        fs = firestore.client(settings)
        for store in datamap.firestore_collections().values():
            collection = fs.collection(store.name)
            if store.export == "document":
                ref = collection.document(member_id)
                existed = ref.get(timeout=firestore.TIMEOUT_SECONDS).exists
                if existed:
                    ref.delete(timeout=firestore.TIMEOUT_SECONDS)
                counts[store.name] = int(existed)
                continue
            from google.cloud.firestore_v1.base_query import FieldFilter

            total = 0
            query = collection.where(filter=FieldFilter(store.member_key, "==", member_id))
            while True:
                refs = [doc.reference for doc in
                        query.limit(_BATCH).stream(timeout=firestore.TIMEOUT_SECONDS)]
                if not refs:
                    break
                batch = fs.batch()
                for ref in refs:
                    batch.delete(ref)
                batch.commit(timeout=firestore.TIMEOUT_SECONDS)
                total += len(refs)
            counts[store.name] = total
    return counts


def categories() -> list[str]:
    return sorted({s.category for s in datamap.STORES if s.kind in ("sql", "firestore")})


def erase(settings, cur_factory, member_id: str, now: datetime,
          finish: Callable[[Any, dict[str, Any]], None]) -> dict[str, Any]:
    """Runs steps 1-3 (see the module docstring), then, in a last transaction, the SQL
    erasure once more (an audit entry or a delivery row written while Firestore was swept the
    second time) and `finish(cur, receipt)` (the request becomes done and loses the member
    number). `cur_factory(work)` runs `work(cur)` in one transaction (core.db.transaction). A
    failure anywhere leaves the request unfinished, and running it again completes it."""
    lederne.client(settings).delete_newsletter_subscriber(member_id)
    counts = erase_firestore(settings, member_id)

    def add(more: dict[str, int]) -> None:
        for name, n in more.items():
            counts[name] = counts.get(name, 0) + n

    def sql(cur) -> None:
        add(erase_sql(cur, member_id))
        cur.execute("INSERT INTO erasure_tombstones (member_pseudonym, erased_at) "
                    "VALUES (%s, %s) ON CONFLICT (member_pseudonym) DO UPDATE "
                    "SET erased_at = EXCLUDED.erased_at", (log.pseudonym(member_id), now))

    cur_factory(sql)
    add(erase_firestore(settings, member_id))  # step 3

    def last(cur) -> None:
        add(erase_sql(cur, member_id))
        finish(cur, {"categories": categories(), "counts": counts})

    cur_factory(last)
    return {"categories": categories(), "counts": counts}


def erased_since(cur, member_ids: list[str], since: datetime) -> set[str]:
    """The members among `member_ids` erased at or after `since` (a message created before
    their erasure must not write them back)."""
    if not member_ids:
        return set()
    by_pseudonym = {log.pseudonym(m): m for m in member_ids}
    cur.execute("SELECT member_pseudonym FROM erasure_tombstones "
                "WHERE member_pseudonym = ANY(%s) AND erased_at >= %s",
                (list(by_pseudonym), since))
    return {by_pseudonym[r[0]] for r in cur.fetchall()}
