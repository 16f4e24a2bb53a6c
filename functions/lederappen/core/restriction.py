"""Restriction of processing (GDPR Art. 18, the policy's section 4).

While a member's processing is restricted their data is kept but not used: statistics,
matching, personalisation and marketing all ask before they touch it. The privacy-rights
capability sets and lifts restrictions; every feature only reads them.
"""

from __future__ import annotations

from . import db
from .db import Cursor

SQL_IS_RESTRICTED = "SELECT 1 FROM processing_restrictions WHERE member_id = %s"


def is_restricted(member_id: str) -> bool:
    """In its own read (one round trip)."""
    return db.fetch_one(SQL_IS_RESTRICTED, (member_id,)) is not None


def is_restricted_in(cur: Cursor, member_id: str) -> bool:
    """Inside the caller's transaction."""
    cur.execute(SQL_IS_RESTRICTED, (member_id,))
    return cur.fetchone() is not None
