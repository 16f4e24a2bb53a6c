"""Delivery batches: which members the fan-out put in each batch of a message.

The only code that reads or writes `message_batches`. The fan-out stores a batch in the
transaction that queues its `message-delivery` message ({"message_id", "batch"}: ids only);
delivery takes the members from here, never from the message. So a forged, replayed or
reordered delivery message names at most a batch the fan-out formed, for members it chose.
"""

from __future__ import annotations

from collections import Counter


def store(cur, message_id: str, batch: int, member_ids: list[str]) -> None:
    """Records a batch once (a redelivered fan-out step never forms it again: it is claimed)."""
    cur.execute(
        "INSERT INTO message_batches (message_id, batch, member_ids) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (message_id, batch, member_ids),
    )


def members(cur, message_id: str, batch: int) -> list[str] | None:
    """The batch's members as the fan-out stored them (minus erased members); None when the
    fan-out formed no such batch."""
    cur.execute(
        "SELECT member_ids FROM message_batches WHERE message_id = %s AND batch = %s",
        (message_id, batch),
    )
    row = cur.fetchone()
    return None if row is None else list(row[0])


def scrub(cur, member_ids: list[str]) -> dict[str, int]:
    """`erase_with` of message_batches (data map): the members' keys are taken out of every
    batch that holds them; the batch stays for its other members (retention sweeps it)."""
    cur.execute(
        "WITH hit AS (SELECT message_id, batch, member_ids FROM message_batches "
        "             WHERE member_ids && %s::text[] FOR UPDATE) "
        "UPDATE message_batches b SET member_ids = ARRAY(SELECT m FROM unnest(hit.member_ids) m "
        "                                                WHERE NOT m = ANY(%s::text[])) "
        "FROM hit WHERE b.message_id = hit.message_id AND b.batch = hit.batch "
        "RETURNING ARRAY(SELECT m FROM unnest(hit.member_ids) m WHERE m = ANY(%s::text[]))",
        (member_ids, member_ids, member_ids),
    )
    out: Counter[str] = Counter()
    for row in cur.fetchall():
        out.update(row[0])
    return dict(out)
