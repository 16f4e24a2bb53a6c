"""Erasure (R3, R5): remove everything about members from every store, driven by the data map.

`erase_many(settings, cur_factory, member_ids, now, finish)` is one deletion job for one
member (the privacy officer approved a request) or for a batch (the membership-end job hands
over up to `requests.JOB_BATCH` ended memberships per job). Every step is set-based, so a
batch costs a handful of statements per store rather than a handful per member, and
idempotent, so a job that crashes half-way finishes when Pub/Sub delivers it again and the
same job delivered three times has one effect:

1. Outside the database: the newsletter subscribers at lederne.no (404 is fine; a few calls
   at once over the client's keep-alive pool), then every Firestore collection in the data
   map (documents whose member key field is one of the members: one query per collection,
   see `_member_query`; or the documents whose id is the member key), in batched deletes.
2. One PostgreSQL transaction: every SQL store in the data map, by each of its member keys
   (both sides of a mentoring pair; `&&` for array keys; the pseudonym for stores that key
   by it), or through the store's `erase_with` when erasing must also throw away something
   derived (salary figures) or scrub a payload (the outbox's delivery batches). Then each
   store's declared references (`datamap.Reference`): a row that records what the member did
   to another member (an audit entry whose actor they are) keeps the other member's entry
   with the actor set to `datamap.ERASED_ACTOR`; a cached answer naming them is deleted. The
   same transaction writes the tombstones (below). The database down here means nothing of this
   step is committed: the job fails, Pub/Sub redelivers.
3. Firestore once more, after the commit: a message delivery that read a member before the
   tombstone existed may have written an inbox item in between; the second pass removes it,
   and every later delivery sees the tombstone and drops the member. Likewise the newsletter
   subscriber once more for members who had a newsletter state: a sync event that read it
   before the commit may have put the subscriber back (later events find no state).

Only then does a last transaction mark the requests done and clear their member numbers, so
a request is never reported done for a half-erased member.

What is kept (the proof of erasure, no personal data): each request row with member_id
cleared, when it finished, which categories and stores it covered and how many items each
held for that member. And for 30 days a tombstone: the member's pseudonym (HMAC-SHA256 under
PSEUDONYM_KEY) and the erasure time, so handlers drop messages created before it (retention
deletes it). A member who registers again later starts empty: nothing keyed by their id
remains, and the tombstone only drops messages created before the erasure.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from ..core import datamap, firestore, lederne, log, tombstones
from ..core.db import Cursor

#: Firestore deletes per batch (the limit of a write batch is 500).
_BATCH = 400
#: Newsletter deletions in flight at once: as many as the lederne client has connections
#: (more threads would only wait for one).
_PARALLEL = lederne.POOL_SIZE
#: Documents per page of a batch's range query, so no single read runs past
#: firestore.TIMEOUT_SECONDS however many documents the range holds.
_PAGE = 1000

Counts = dict[str, dict[str, int]]  # member id -> store -> items removed


def _call(path: str, cur, member_ids: list[str]) -> dict[str, int]:
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)(cur, member_ids)


def count_keys(rows: Iterable[Sequence[Any]], wanted: dict[str, str]) -> dict[str, int]:
    """Rows removed per member: each row counts once for every wanted member it holds (a
    key column, or an array of keys); `wanted` maps the key as stored to the member id."""
    out: Counter[str] = Counter()
    for row in rows:
        seen = set()
        for value in row:
            for key in value if isinstance(value, list) else (value,):
                member = wanted.get(key)
                if member is not None:
                    seen.add(member)
        out.update(seen)
    return dict(out)


def erase_sql(cur: Cursor, member_ids: list[str]) -> Counts:
    """Deletes the members' rows from every SQL store in the data map; counts per member
    and store (stores with nothing left out)."""
    counts: Counts = {m: {} for m in member_ids}
    # The audit trail last: a job that appends an entry about a member does so while it holds
    # a lock on one of the member's other rows (newsletter-sync: its newsletter_sync row), so
    # by the time the trail is erased here, such an entry is either committed and seen, or its
    # job finds the row gone and appends nothing.
    stores = sorted(datamap.sql_tables().values(), key=lambda s: s.name == "audit_events")
    for store in stores:
        if store.erase == "keep":
            continue
        if store.erase_with:
            per_member = _call(store.erase_with, cur, member_ids)
        else:
            wanted = {store.key_for(m, log.pseudonym): m for m in member_ids}
            keys = list(wanted)
            cols = ", ".join(datamap.quote_ident(k) for k in store.member_keys)
            cur.execute(
                f"DELETE FROM {datamap.quote_ident(store.name)} "
                f"WHERE {store.match_any_sql} RETURNING {cols}",
                tuple(keys for _ in store.member_keys),
            )
            per_member = count_keys(cur.fetchall(), wanted)
        for member, n in per_member.items():
            if n:
                counts[member][store.name] = n
        for r in store.references:
            if r.erase in ("neutralise", "delete"):
                for member, n in erase_reference(cur, store, r, member_ids).items():
                    counts[member][f"{store.name}.{r.column}"] = n
    return counts


def erase_reference(
    cur: Cursor, store: datamap.Store, r: datamap.Reference, member_ids: list[str]
) -> dict[str, int]:
    """The rows that name the members in a reference column but are about someone else (run
    after the store's own rows went): ``neutralise`` puts `datamap.ERASED_ACTOR` in the
    column, so the entry stays for the member it is about and nothing links it to the erased
    member; ``delete`` removes the row (a short-lived copy). One statement for all members."""
    wanted = {(log.pseudonym(m) if r.key_form == "pseudonym" else m): m for m in member_ids}
    table, column = datamap.quote_ident(store.name), datamap.quote_ident(r.column)
    assert r.match
    cond = r.match.replace("{key}", "u.k")
    if r.erase == "neutralise":
        sql = (
            f"UPDATE {table} SET {column} = %s FROM unnest(%s::text[]) AS u(k) "
            f"WHERE {cond} RETURNING u.k"
        )
        params: tuple = (datamap.ERASED_ACTOR, list(wanted))
    else:
        sql = f"DELETE FROM {table} USING unnest(%s::text[]) AS u(k) WHERE {cond} RETURNING u.k"
        params = (list(wanted),)
    cur.execute(sql, params)
    return dict(Counter(wanted[row[0]] for row in cur.fetchall()))


def _member_query(collection, key: str, ordered: list[str]):
    """The query for the documents of these members (sorted, distinct): `==` for one; for a
    batch, one range over [first, last] whose results the caller filters to the members.

    A batch comes from the membership-end job: the ended members of one register batch
    (`membership_end.BATCH` held keys, neighbours in key order), so the range holds at most
    that many members' documents, read as the key field only. One query per collection
    instead of an `in` filter per 30 members: fewer round trips in Google Cloud, and in the
    Firestore emulator, which answers an `in` filter with one scan of the whole collection
    per value (17 s for 30 values over 33,000 inbox items, past TIMEOUT_SECONDS), the
    difference between a job failing every attempt and one scan per collection."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    if len(ordered) == 1:
        return collection.where(filter=FieldFilter(key, "==", ordered[0])).select([key])
    return (
        collection.where(filter=FieldFilter(key, ">=", ordered[0]))
        .where(filter=FieldFilter(key, "<=", ordered[-1]))
        .select([key])
        .order_by(key)
    )


def _member_documents(collection, key: str, ordered: list[str], wanted: set[str]):
    """(reference, member) of every document of these members, read in pages of _PAGE, each
    page its own request that starts after the last document of the one before."""
    query, last = _member_query(collection, key, ordered), None
    while True:
        page = (query.start_after(last) if last is not None else query).limit(_PAGE)
        snapshots = list(page.stream(timeout=firestore.TIMEOUT_SECONDS))
        yield from ((s.reference, s.get(key)) for s in snapshots if s.get(key) in wanted)
        if len(snapshots) < _PAGE:
            return
        last = snapshots[-1]


def erase_firestore(settings, member_ids: list[str]) -> Counts:
    counts: Counts = {m: {} for m in member_ids}
    wanted = set(member_ids)
    ordered = sorted(wanted)
    with firestore.guard():
        fs = firestore.client(settings)
        for store in datamap.firestore_collections().values():
            collection = fs.collection(store.name)
            if store.export == "document":
                found = [
                    (s.reference, s.id)
                    for s in fs.get_all(
                        [collection.document(m) for m in ordered],
                        field_paths=[],
                        timeout=firestore.TIMEOUT_SECONDS,
                    )
                    if s.exists
                ]
            else:
                found = list(_member_documents(collection, store.member_key, ordered, wanted))
            for start in range(0, len(found), _BATCH):
                batch = fs.batch()
                for ref, member in found[start : start + _BATCH]:
                    batch.delete(ref)
                    counts[member][store.name] = counts[member].get(store.name, 0) + 1
                batch.commit(timeout=firestore.TIMEOUT_SECONDS)
    return counts


def erase_newsletter(settings, member_ids: list[str]) -> None:
    client = lederne.client(settings)
    if len(member_ids) == 1:
        client.delete_newsletter_subscriber(member_ids[0])
        return
    with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
        list(pool.map(client.delete_newsletter_subscriber, member_ids))  # re-raises a failure


def categories() -> list[str]:
    return sorted({s.category for s in datamap.STORES if s.kind in ("sql", "firestore")})


def erase_many(
    settings,
    cur_factory,
    member_ids: list[str],
    now: datetime,
    finish: Callable[[Any, Counts], None],
) -> Counts:
    """Runs steps 1-3 (see the module docstring), then, in a last transaction, the SQL
    erasure once more (an audit entry or a delivery row written while Firestore was swept the
    second time) and `finish(cur, counts)` (the requests become done and lose the member
    numbers). `cur_factory(work)` runs `work(cur)` in one transaction (core.db.transaction).
    A failure anywhere leaves the requests unfinished, and running it again completes them."""
    member_ids = list(dict.fromkeys(member_ids))
    if not member_ids:
        return {}
    erase_newsletter(settings, member_ids)
    counts: Counts = {m: {} for m in member_ids}

    def add(more: Counts) -> None:
        for member, stores in more.items():
            mine = counts[member]
            for name, n in stores.items():
                mine[name] = mine.get(name, 0) + n

    add(erase_firestore(settings, member_ids))

    def sql(cur: Cursor) -> None:
        tombstones.erasing(cur)  # work that listed these members waits, or is seen here
        add(erase_sql(cur, member_ids))
        tombstones.record(cur, member_ids, now)

    cur_factory(sql)
    add(erase_firestore(settings, member_ids))  # step 3
    # a newsletter event read before the commit may have put a subscriber back after step 1:
    # once more for the members who had a newsletter state (later events find no row)
    synced = [m for m in member_ids if counts[m].get("newsletter_sync")]
    if synced:
        erase_newsletter(settings, synced)

    def last(cur: Cursor) -> None:
        add(erase_sql(cur, member_ids))
        finish(cur, counts)

    cur_factory(last)
    return counts
