"""`Idempotency-Key` on POSTs that create something: a retried request has one effect.

The app sends a fresh key (for example a UUID) with each create and the same key when it
retries after a timeout. The first request's effect and its response are stored in one
transaction; a retry with the same key gets the stored response and changes nothing; the
same key with a different body is a 422 (a client bug, not a retry). Two concurrent requests
with one key serialise on the primary key, so exactly one does the work.
Keys and stored responses are kept 24 hours (data map: `idempotency_keys`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from . import db
from .db import Cursor
from .http import Reply, Request
from .validation import field_error

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{8,255}$")


def owner_of(request: Request) -> str:
    """Whose key it is: a member's number as it is (the member key of this store, found by
    access, export and erasure), anyone else as ``kind:subject`` (staff, a job, nobody), so a
    staff subject can neither collide with a member number nor pass for one (the data map's
    `key_where`: the membership-end job asks the register only about member keys)."""
    principal = request.principal
    if principal is None:
        return "public:anonymous"
    return (
        principal.subject if principal.kind == "member" else f"{principal.kind}:{principal.subject}"
    )


def run(request: Request, raw_body: bytes, work: Callable[[Any], Reply]) -> Reply:
    """Runs `work(cursor)` in one transaction, at most once per (caller, Idempotency-Key)."""
    key = request.headers.get(HEADER)
    if key is None:
        return db.transaction(work)
    if not _KEY.match(key):
        raise field_error(
            HEADER,
            "invalid",
            "Idempotency-Key må være 8-255 synlige ASCII-tegn.",
            "Idempotency-Key must be 8-255 visible ASCII characters.",
        )
    owner = owner_of(request)
    fingerprint = hashlib.sha256(raw_body).hexdigest()

    def once(cur: Cursor) -> Reply:
        cur.execute(
            "INSERT INTO idempotency_keys (owner, key, fingerprint) VALUES (%s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (owner, key, fingerprint),
        )
        if cur.fetchone() is None:
            cur.execute(
                "SELECT fingerprint, status, body FROM idempotency_keys WHERE owner = %s AND key = %s",
                (owner, key),
            )
            stored_fp, status, body = db.one(cur)
            if stored_fp != fingerprint:
                raise field_error(
                    HEADER,
                    "reused",
                    "Nøkkelen er brukt før med en annen forespørsel.",
                    "This key was used before with a different request.",
                )
            return Reply(
                json.loads(body) if body else None,
                status=status,
                headers={"Idempotent-Replayed": "true"},
            )
        reply = work(cur)
        cur.execute(
            "UPDATE idempotency_keys SET status = %s, body = %s WHERE owner = %s AND key = %s",
            (
                reply.status,
                json.dumps(reply.body, default=str) if reply.body is not None else None,
                owner,
                key,
            ),
        )
        return reply

    return db.transaction(once)
