"""Erasure tombstones: which members were erased, and when, by pseudonym only.

Erasure (privacy/erasure.py) writes one in the transaction that removes a member's rows;
work created before that moment (a message's delivery batch, a queued sync) asks here before
it writes anything about a member, so it cannot bring an erased member back. The table keeps
no member key in the clear (the data map's `erasure_tombstones`, with its retention), and
this module is its one reader and writer, shared by the feature that erases and the features
that must not resurrect.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from . import log
from .db import IN_JSON_LIST, Cursor

#: Advisory lock class (any constant; "tomb" in ASCII) serialising an erasure with work that
#: writes about members it listed before the erasure could be seen (a fan-out step auditing
#: the recipients it chose): the erasure holds it exclusively for its transaction, such work
#: shared, so either the work's entries are committed before the erasure deletes the
#: members' rows, or the work waits and then sees the tombstones.
LOCK_CLASS = 0x746F6D62


def erasing(cur: Cursor) -> None:
    """Taken by the erasure transaction before it deletes anything (held until commit)."""
    cur.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_CLASS,))


def hold(cur: Cursor) -> None:
    """The shared side, held until commit. A transaction that locks rows an erasure also
    changes (a privacy request FOR UPDATE) takes this first, before those row locks: in the
    erasure's order (this lock, then rows), so the two wait for each other instead of
    deadlocking. `still_here` and `erasures` take it too (again is free)."""
    cur.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", (LOCK_CLASS,))


def still_here(cur: Cursor, member_ids: Sequence[str], since: datetime) -> list[str]:
    """`member_ids` less those erased at or after `since`, for work about to write about
    them in this transaction: takes the shared side of the erasure lock first, so an erasure
    running now either finished (its tombstones are seen here) or starts after this commits
    (and deletes what this writes)."""
    if not member_ids:
        return []
    hold(cur)
    gone = erased_since(cur, member_ids, since)
    return [m for m in member_ids if m not in gone] if gone else list(member_ids)


def erasures(cur: Cursor, member_ids: Sequence[str]) -> dict[str, datetime]:
    """When each of `member_ids` that was ever erased was erased last, for work about to
    write about them in this transaction (the shared side of the erasure lock first, as in
    `still_here`)."""
    if not member_ids:
        return {}
    hold(cur)
    by_pseudonym = {log.pseudonym(m): m for m in member_ids}
    cur.execute(
        "SELECT member_pseudonym, erased_at FROM erasure_tombstones "
        f"WHERE member_pseudonym {IN_JSON_LIST}",
        (json.dumps(list(by_pseudonym)),),
    )
    return {by_pseudonym[p]: at for p, at in cur.fetchall()}


def record(cur: Cursor, member_ids: Sequence[str], now: datetime) -> None:
    """The members were erased `now` (a repeat moves the time forward)."""
    if not member_ids:
        return
    cur.execute(
        "INSERT INTO erasure_tombstones (member_pseudonym, erased_at) "
        "SELECT p, %s FROM unnest(%s::text[]) p ON CONFLICT (member_pseudonym) "
        "DO UPDATE SET erased_at = EXCLUDED.erased_at",
        (now, [log.pseudonym(m) for m in member_ids]),
    )


def erased_since(cur: Cursor, member_ids: Sequence[str], since: datetime) -> set[str]:
    """The members among `member_ids` erased at or after `since` (a message created before
    their erasure must not write them back)."""
    if not member_ids:
        return set()
    # The erasures since then, few (a message is minutes or days old, a tombstone is kept 30
    # days), matched here: a delivery batch's 10,000 members sent as a parameter were a
    # sorted array of 10,000 texts for PostgreSQL and 10,000 keyed hashes for this process,
    # three times a batch, to find nobody; now their pseudonyms are made only if someone
    # was erased meanwhile.
    cur.execute("SELECT member_pseudonym FROM erasure_tombstones WHERE erased_at >= %s", (since,))
    recent = {r[0] for r in cur.fetchall()}
    if not recent:
        return set()
    return {m for m in member_ids if log.pseudonym(m) in recent}
