"""The console's table, `console_revoked_sessions`: sessions ended by signing out are refused
from then on, though their cookie is still valid.

The session cookie is signed, not stored (session.py), so without this a copy of it taken
before sign-out (from a shared computer's browser profile, a proxy log, a stolen laptop)
would open the console until the session's own end, up to CONSOLE_SESSION_MAX_HOURS later.
Signing out records the session's id here until that end, and every request with a session
asks whether it is revoked. What is kept is a SHA-256 of the id (the id itself is only in
the cookie) and when the entry may go; nothing about a member. Expired entries are deleted
by the next sign-out.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Protocol

from ..core import db
from ..core.db import Cursor


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Revocations(Protocol):
    def is_revoked(self, session_id: str) -> bool: ...

    def revoke(self, session_id: str, until: datetime, now: datetime) -> None: ...


class Store:
    """The revoked sessions in PostgreSQL (`console_revoked_sessions`, migration 0015)."""

    def is_revoked(self, session_id: str) -> bool:
        return (
            db.fetch_one(
                "SELECT 1 FROM console_revoked_sessions WHERE session_hash = %s",
                (_key(session_id),),
            )
            is not None
        )

    def revoke(self, session_id: str, until: datetime, now: datetime) -> None:
        def work(cur: Cursor) -> None:
            cur.execute("DELETE FROM console_revoked_sessions WHERE expires_at < %s", (now,))
            cur.execute(
                "INSERT INTO console_revoked_sessions (session_hash, expires_at) "
                "VALUES (%s, %s) ON CONFLICT (session_hash) DO NOTHING",
                (_key(session_id), until),
            )

        db.transaction(work)


class Memory:
    """The same in memory, for the console's unit tests (no database)."""

    def __init__(self) -> None:
        self.entries: dict[str, datetime] = {}

    def is_revoked(self, session_id: str) -> bool:
        return _key(session_id) in self.entries

    def revoke(self, session_id: str, until: datetime, now: datetime) -> None:
        self.entries = {k: v for k, v in self.entries.items() if v >= now}
        self.entries.setdefault(_key(session_id), until)
