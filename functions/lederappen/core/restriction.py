"""Restriction of processing (GDPR Art. 18, the policy's section 4).

While a member's processing is restricted their data is kept but not used: statistics,
matching, personalisation and marketing all ask before they touch it. The privacy-rights
capability sets and lifts restrictions; every feature only reads them.
"""

from __future__ import annotations

from datetime import datetime

from . import db
from .db import Cursor

SQL_IS_RESTRICTED = "SELECT 1 FROM processing_restrictions WHERE member_id = %s"


def unrestricted(member_column: str, *, array: bool = False) -> str:
    """A SQL condition for a feature's query: the member in `member_column` (an expression
    such as `a.member_id`, never user input) is not restricted; with `array`, none of the
    members in an array column is. The table stays this module's: features compose the
    condition instead of naming it."""
    match = f"ANY({member_column})" if array else member_column
    return f"NOT EXISTS (SELECT 1 FROM processing_restrictions pr WHERE pr.member_id = {match})"


def restricted(member_column: str) -> str:
    """A SQL boolean expression: the member in `member_column` is restricted."""
    return f"EXISTS (SELECT 1 FROM processing_restrictions pr WHERE pr.member_id = {member_column})"


def restrict(cur: Cursor, member_id: str, since: datetime, request_ref: str | None) -> None:
    """Restricts the member's processing (a repeat keeps the first time)."""
    cur.execute(
        "INSERT INTO processing_restrictions (member_id, restricted_since, request_ref) "
        "VALUES (%s, %s, %s) ON CONFLICT (member_id) DO NOTHING",
        (member_id, since, request_ref),
    )


def lift(cur: Cursor, member_id: str) -> None:
    cur.execute("DELETE FROM processing_restrictions WHERE member_id = %s", (member_id,))


def restricted_members(cur: Cursor) -> list[str]:
    """Every member whose processing is restricted (a few: restriction is rare)."""
    cur.execute("SELECT member_id FROM processing_restrictions")
    return [r[0] for r in cur.fetchall()]


def is_restricted(member_id: str) -> bool:
    """In its own read (one round trip)."""
    return db.fetch_one(SQL_IS_RESTRICTED, (member_id,)) is not None


def is_restricted_in(cur: Cursor, member_id: str) -> bool:
    """Inside the caller's transaction."""
    cur.execute(SQL_IS_RESTRICTED, (member_id,))
    return cur.fetchone() is not None
