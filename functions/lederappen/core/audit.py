"""The audit trail (S2, R9): every access to a member's data by someone other than the member.

An entry says who (a staff subject, a job's name, or another member's pseudonym), which data
category (the data map's), what was done, why, and when, about a member who appears only as
a pseudonym (`log.pseudonym`: HMAC-SHA256 under PSEUDONYM_KEY). The data itself is never
written here. Entries are appended in the same transaction as the access they record, so an
access that happened is always audited and an audited access always happened.

The member can list the entries that concern them (the privacy capability looks them up by
their own pseudonym); the privacy officer can read all of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from . import log

ACTOR_KINDS = ("member", "staff", "job")


def record(cur, member_id: str, *, actor_kind: str, actor: str, category: str, action: str,
           purpose: str, at: datetime) -> None:
    """Appends one entry about `member_id`. For a member actor, pass their member id as
    `actor`: it is pseudonymised like the subject."""
    record_many(cur, [member_id], actor_kind=actor_kind, actor=actor, category=category,
                action=action, purpose=purpose, at=at)


def record_many(cur, member_ids: Iterable[str], *, actor_kind: str, actor: str, category: str,
                action: str, purpose: str, at: datetime) -> None:
    """One entry per member (a job that read many members' data), in one statement."""
    if actor_kind not in ACTOR_KINDS:
        raise ValueError(f"unknown actor kind {actor_kind!r}")
    if actor_kind == "member":
        actor = log.pseudonym(actor)
    subjects = [log.pseudonym(m) for m in member_ids]
    if not subjects:
        return
    cur.execute(
        "INSERT INTO audit_events (at, member_pseudonym, actor_kind, actor, category, action, "
        "purpose) SELECT %s, s, %s, %s, %s, %s, %s FROM unnest(%s::text[]) AS s",
        (at, actor_kind, actor, category, action, purpose, subjects))
