"""Messages on their way out: stored, queued, cancelled, and what became of them.

A message is a row in `messages` and one outbox row that starts its fan-out (topic
`message-fanout`), written in the same transaction. Sent now, the row is published right
after the commit; scheduled, it carries `not_before` and the outbox relay publishes it when
the time comes. Cancelling deletes that outbox row while it is still unpublished, in the same
transaction that marks the message cancelled, so a cancelled message can never go out and a
message that went out can no longer be cancelled (409).

Features send *direct* messages ("your mentor accepted") with `send_direct_many()` in their
own transaction: the same path, audience one member each, sensitive by default.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..core import outbox
from ..core.problems import Conflict, NotFound
from ..core.times import rfc3339 as _ts
from ..core.validation import canonical_uuid
from . import store
from .message import Message, Text, Title

FANOUT_TOPIC = "message-fanout"
DELIVERY_TOPIC = "message-delivery"


@dataclass(frozen=True)
class Selection:
    """What decides who a message reaches, before it exists (an editor's draft): the same
    attributes of a message row (`outgoing.Stored`) that the fan-out and the delivery rules
    read."""

    category: str
    audience_kind: str
    audience_value: str | None = None
    member_id: str | None = None
    concerns: str | None = None


class Stored:
    """A message row."""

    def __init__(self, row: Sequence[Any]):
        (
            self.id,
            self.category,
            self.title_nb,
            self.title_en,
            self.body_nb,
            self.body_en,
            self.deep_link,
            self.sensitive,
            self.audience_kind,
            self.audience_value,
            self.member_id,
            self.send_at,
            self.status,
            self.origin,
            self.created_by,
            self.created_at,
            self.cancelled_at,
            self.started_at,
            self.audience_size,
            self.fanned_out_at,
            self.outbox_id,
            self.concerns,
        ) = row
        self.id = str(self.id)

    def message(self) -> Message:
        return Message(
            message_id=self.id,
            category=self.category,
            title=Title(nb=self.title_nb, en=self.title_en),
            body=Text(nb=self.body_nb, en=self.body_en),
            deep_link=self.deep_link,
            sensitive=self.sensitive,
        )

    def view(self) -> dict[str, Any]:
        """As editors see it: never the member key of a direct message."""
        audience: dict[str, Any] = {"kind": self.audience_kind}
        if self.audience_kind in ("interest", "county"):
            audience["value"] = self.audience_value
        return {
            "id": self.id,
            "category": self.category,
            "title": {"nb": self.title_nb, "en": self.title_en},
            "body": {"nb": self.body_nb, "en": self.body_en},
            "deep_link": self.deep_link,
            "sensitive": self.sensitive,
            "audience": audience,
            "send_at": _ts(self.send_at),
            "status": self.status,
            "created_at": _ts(self.created_at),
            "cancelled_at": _ts(self.cancelled_at),
            "started_at": _ts(self.started_at),
            "fanned_out_at": _ts(self.fanned_out_at),
            "concerns": self.concerns,
        }


def load(cur, message_id: str, *, for_update: bool = False) -> Stored | None:
    key = canonical_uuid(message_id)
    if key is None:
        return None
    row = store.message(cur, key, for_update=for_update)
    return Stored(row) if row else None


def create(
    cur,
    *,
    message: dict[str, Any],
    audience_kind: str,
    audience_value: str | None,
    member_id: str | None,
    send_at: datetime | None,
    created_by: str,
    origin: str = "editor",
    now: datetime,
    concerns: str | None = None,
) -> tuple[Stored, int | None]:
    """Stores a message and queues its fan-out. Returns the message and the outbox id to
    flush after the commit (None when it is scheduled for later)."""
    message_id = str(uuid.uuid4())
    due = send_at if send_at is not None and send_at > now else None
    outbox_id = outbox.enqueue(
        cur,
        FANOUT_TOPIC,
        {"message_id": message_id, "step": 0, "cursor": None},
        member_id,
        not_before=due,
    )
    row = store.insert_message(
        cur,
        (
            message_id,
            message["category"],
            message["title"]["nb"],
            message["title"]["en"],
            message["body"]["nb"],
            message["body"]["en"],
            message.get("deep_link"),
            bool(message.get("sensitive")),
            audience_kind,
            audience_value,
            member_id,
            due or now,
            origin,
            created_by,
            now,
            outbox_id,
            concerns,
        ),
    )
    stored = Stored(row)
    return stored, (None if due else outbox_id)


def send_direct_many(
    cur, drafts: list[tuple[str, dict[str, Any]]], *, created_by: str, now: datetime
) -> list[int]:
    """Direct messages, one member each (a matching round tells thousands of members about
    their proposals at once): each draft is (member_id, {category, title, body, deep_link,
    sensitive, concerns}); sensitive unless a draft says otherwise; `concerns` (privacy_request,
    membership, terms) makes it one a restricted member still gets (delivery.needed). One statement however many drafts;
    returns the outbox ids to flush after the commit, in the order of `drafts`.

    Many messages usually share one draft (the same dict object): each distinct object is
    checked once, and the rows travel as one JSON parameter (member, draft number) expanded in
    SQL, since pg8000 encodes array parameters in Python (~3 us an element). The outbox
    payload is built in SQL."""
    import json

    from .message import parse

    if not drafts:
        return []
    number: dict[int, int] = {}  # id() of a draft object -> its place in `distinct`
    distinct: list[dict[str, Any]] = []
    rows = []
    for member_id, draft in drafts:
        k = number.get(id(draft))
        if k is None:
            full = {"sensitive": True, "deep_link": None, **draft}
            parse({**{k: v for k, v in full.items() if k != "concerns"}, "message_id": "check"})
            k = number[id(draft)] = len(distinct)
            distinct.append(
                {
                    "k": k,
                    "c": full["category"],
                    "tn": full["title"]["nb"],
                    "te": full["title"]["en"],
                    "bn": full["body"]["nb"],
                    "be": full["body"]["en"],
                    "dl": full["deep_link"],
                    "s": bool(full["sensitive"]),
                    "x": full.get("concerns"),
                }
            )
        rows.append((member_id, k))
    # Each message's fan-out start in the outbox (one statement), then the messages rows
    # naming them (one statement, the drafts' texts joined in once each).
    ids = [str(uuid.uuid4()) for _ in rows]
    queued = outbox.enqueue_many(
        cur,
        FANOUT_TOPIC,
        [(m, {"message_id": i, "step": 0, "cursor": None}) for (m, _), i in zip(rows, ids)],
        key="message_id",
    )
    outbox_ids = [queued[i] for i in ids]
    store.insert_direct_messages(
        cur,
        json.dumps([(i, m, k, o) for (m, k), i, o in zip(rows, ids, outbox_ids)]),
        json.dumps(distinct),
        created_by,
        now,
    )
    return outbox_ids


def cancel(cur, message_id: str, now: datetime) -> Stored:
    stored = load(cur, message_id, for_update=True)
    if stored is None or stored.origin != "editor":
        raise NotFound({"nb": "Fant ikke meldingen.", "en": "No such message."})
    if stored.status == "cancelled":
        return stored
    if stored.status != "scheduled" or not outbox.withdraw(cur, stored.outbox_id):
        raise Conflict(
            {
                "nb": "Meldingen er allerede sendt og kan ikke stoppes.",
                "en": "The message has already gone out and cannot be cancelled.",
            }
        )
    store.mark_cancelled(cur, stored.id, now)
    cancelled = load(cur, stored.id)
    assert cancelled is not None
    return cancelled


def list_editor_messages(cur, limit: int, after: tuple[str, str] | None) -> list[Stored]:
    return [Stored(r) for r in store.editor_messages(cur, limit, after)]


def figures(cur, stored: Stored) -> dict[str, Any]:
    """Counts only, never who: audience, outcome of the eligibility check, pushes."""
    outcomes = {
        "delivered": 0,
        "category_off": 0,
        "no_consent": 0,
        "restricted": 0,
        "not_member": 0,
    }
    inbox = 0
    for outcome, count, in_inbox in store.outcome_counts(cur, stored.id):
        outcomes[outcome] = count
        inbox += in_inbox
    pushes = {"sent": 0, "failed": 0, "pruned": 0, "pending": 0}
    for state, count in store.push_counts(cur, stored.id):
        pushes["pending" if state in ("pending", "sending") else state] += count
    return {
        "audience": stored.audience_size
        if stored.audience_size is not None
        else sum(outcomes.values()),
        "processed": sum(outcomes.values()),
        "eligible": outcomes["delivered"],
        "skipped": {k: v for k, v in outcomes.items() if k != "delivered"},
        "inbox": inbox,
        "push": pushes,
    }
