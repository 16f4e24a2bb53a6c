"""Device registrations written straight into PostgreSQL (benchmarks, tests arranging many):
one INSERT ... SELECT per chunk from a JSON parameter, as devices/store.py's rows look."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

#: Rows per statement: one JSON parameter of ~10 MB at most.
CHUNK = 50_000


def insert_devices(conn, rows: Sequence[Sequence[str]], now: datetime) -> int:
    """Inserts (device id, member, token, platform, locale) rows, committed; a row whose id
    or token is taken already is skipped. Returns how many were inserted."""
    cur = conn.cursor()
    inserted = 0
    for start in range(0, len(rows), CHUNK):
        cur.execute(
            "INSERT INTO devices (id, member_id, fcm_token, platform, app_version, locale, "
            "created_at, last_seen_at) SELECT e->>0, e->>1, e->>2, e->>3, '3.2.1', e->>4, %s, %s "
            "FROM json_array_elements(%s::json) AS e ON CONFLICT DO NOTHING",
            (now, now, json.dumps([list(r) for r in rows[start : start + CHUNK]])),
        )
        inserted += cur.rowcount
        conn.commit()
    return inserted
