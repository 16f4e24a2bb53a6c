"""HTTP endpoints of the dead-letters function: operations staff inspect and replay (or discard)
messages that a Pub/Sub function gave up on.

Listing first drains the -inspect subscriptions into the database (store.drain), so what
staff see is durable and can be replayed or discarded by id. Staff see where a message came
from, why it failed, its attributes and the shape of its payload, never who it is about:
member keys are shown as "<redacted>" or a count (store.redact).

Audit (S2): staff never see whom a message is about, but its payload is data about the
members it names. Reading one dead letter (its payload), replaying it and discarding it
append one audit entry per member it names, in the same transaction as the access, with the
data map's category of the message's topic. The list shows no payload, only where a message
came from, why it failed and how many members it names, so it appends none (and a list
polled while a backlog drains would otherwise bury the members' trails).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from ..core import audit, db, idempotency, pagination, pubsub
from ..core import manifest as manifest_mod
from ..core.db import Cursor
from ..core.http import IDEMPOTENCY_KEY, Api, Reply, Request
from ..core.problems import Conflict, NotFound
from ..core.times import rfc3339
from . import store
from .schemas import DeadLetter, DeadLetterDetail, DeadLetterPage, ListDeadLettersQuery

api = Api()

STATES = store.STATES
_MAX_ID = 2**63 - 1


def _attributes(raw: Any) -> dict[str, str]:
    data = json.loads(raw) if isinstance(raw, (str, bytes)) else (raw or {})
    return {str(k): str(v) for k, v in data.items()}


def _state(replayed_at, discarded_at) -> str:
    if discarded_at is not None:
        return "discarded"
    return "replayed" if replayed_at is not None else "open"


def _view(row: Sequence[Any]) -> dict[str, Any]:
    (
        id_,
        subscription,
        source,
        topic,
        message_id,
        reason,
        attributes,
        received_at,
        replayed_at,
        replay_count,
        discarded_at,
        payload_bytes,
        member_count,
    ) = row
    return {
        "id": id_,
        "state": _state(replayed_at, discarded_at),
        "source_function": source,
        "topic": topic,
        "subscription": subscription,
        "reason": reason,
        "message_id": message_id,
        "attributes": store.redact_attributes(_attributes(attributes)),
        "received_at": rfc3339(received_at),
        "replayed_at": rfc3339(replayed_at),
        "replay_count": replay_count,
        "discarded_at": rfc3339(discarded_at),
        "payload_bytes": payload_bytes or 0,
        "member_count": member_count or 0,
    }


def _category(topic: str | None) -> str:
    """The data map's category of what a message on `topic` carries (a newsletter choice is
    "consent", a delivery batch "messages"); the dead-letter store's own otherwise."""
    from ..core import datamap

    carried = datamap.pubsub_topics().get(topic or "")
    return (carried or datamap.by_name("dead_letters")).category


def _audit(cur: Cursor, request: Request, member_ids, topic: str | None, action: str) -> None:
    """One entry per member the dead letter names (none for a payload naming nobody)."""
    assert request.principal is not None
    audit.record_many(
        cur,
        list(member_ids or ()),
        actor_kind="staff",
        actor=request.caller.subject,
        category=_category(topic),
        action=action,
        purpose="fault_handling",
        at=datetime.now(UTC),
    )


def _id(request: Request) -> int:
    raw = request.params["id"]
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= _MAX_ID:
        raise NotFound()
    return int(raw)


def _source_functions() -> tuple[str, ...]:
    return tuple(
        fn.name for i in store.inspect_subscriptions(manifest_mod.load()) for fn in i.functions
    )


@api.get(
    "/v1/admin/dead-letters",
    operation_id="listDeadLetters",
    summary=(
        "Operations: dead-lettered Pub/Sub messages, newest first; the first page first drains "
        "every -inspect subscription into the list."
    ),
    response=DeadLetterPage,
    returns="A page of dead letters",
    errors=(
        422,
        503,
    ),
    query=ListDeadLettersQuery,
)
def list_dead_letters(request: Request) -> Reply:
    """Needs a staff token with role `operations`. A message is stored before it is
    acknowledged on its subscription, so none is lost. Each item says where it came from and
    why it failed, never whom it is about: `member_count` is how many member keys its
    payload names.
    """
    size = pagination.limit(request.query)
    cursor = request.query.get("cursor")
    after = pagination.decode_cursor(cursor, Annotated[int, msgspec.Meta(ge=0, le=_MAX_ID)])
    state = pagination.choice(request.query, "state", STATES)
    source = pagination.choice(request.query, "source_function", _source_functions())
    drained = None
    if after is None:  # the first page drains; later pages only page through what is stored
        d = store.drain(request.settings.google_cloud_project)
        drained = {"stored": d.stored, "complete": d.complete}
    rows = db.read(lambda cur: store.page(cur, after, state, source, size + 1))
    items, next_cursor = pagination.page([_view(r) for r in rows], size, lambda v: v["id"])
    return Reply({"items": items, "next_cursor": next_cursor, "drained": drained})


@api.get(
    "/v1/admin/dead-letters/{id}",
    operation_id="getDeadLetter",
    summary="Operations: one dead letter with its payload as JSON, member keys redacted.",
    response=DeadLetterDetail,
    returns="The dead letter",
    errors=(503,),
    path_params={
        "id": Annotated[
            int,
            msgspec.Meta(description="A dead letter's id, from GET /v1/admin/dead-letters.", ge=1),
        ]
    },
)
def get_dead_letter(request: Request) -> Reply:
    """Needs a staff token with role `operations`. Every `member_id` in the payload reads
    "<redacted>" and every `member_ids` list "<redacted: N>": staff see the shape and the
    error, not who. A payload that is not JSON is not shown at all (`payload_format` says
    so).
    """
    dead_letter_id = _id(request)

    def work(cur: Cursor):
        found = store.get_with_payload(cur, dead_letter_id)
        if found is not None:
            _audit(cur, request, found.member_ids, found.row.topic, "dead_letter_read")
        return found

    found = db.transaction(work)
    if found is None:
        raise NotFound()
    view = _view(found.row)
    view["payload_format"], view["payload"] = store.payload_view(found.payload)
    return Reply(view)


_DISCARDED = {
    "nb": "Meldingen er forkastet og kan ikke spilles av på nytt.",
    "en": "The message was discarded and cannot be replayed.",
}
_NO_SOURCE = {
    "nb": "Det er ukjent hvilken funksjon meldingen kom fra, så den kan ikke spilles av på nytt.",
    "en": "It is unknown which function the message came from, so it cannot be replayed.",
}


@api.post(
    "/v1/admin/dead-letters/{id}/replay",
    operation_id="replayDeadLetter",
    summary=(
        "Operations: publish the original payload again to its source function's topic (attribute"
        " `replay_of` = the id), once the cause is fixed."
    ),
    response=DeadLetter,
    returns="Published again",
    errors={
        422: None,
        503: None,
        409: (
            "The dead letter was discarded, or its source function is unknown (type .../conflict).",
            None,
        ),
    },
    headers=(IDEMPOTENCY_KEY,),
    path_params={
        "id": Annotated[
            int,
            msgspec.Meta(description="A dead letter's id, from GET /v1/admin/dead-letters.", ge=1),
        ]
    },
)
def replay(request: Request) -> Reply:
    """Needs a staff token with role `operations`. No body. Sets `replayed_at` and adds one to
    `replay_count`; may be repeated. If it fails again it comes back as a new dead letter
    carrying `replay_of`. `Idempotency-Key` makes a retried request publish once.
    """
    dead_letter_id = _id(request)
    project = request.settings.google_cloud_project

    def work(cur: Cursor) -> Reply:
        row = store.lock_for_replay(cur, dead_letter_id)
        if row is None:
            raise NotFound()
        topic, payload, attributes, discarded_at, member_ids = row
        if discarded_at is not None:
            raise Conflict(_DISCARDED)
        if not topic:
            raise Conflict(_NO_SOURCE)
        # Inside the transaction that records it: if the publish fails, nothing is recorded.
        # If the commit fails after it, a retry publishes again (consumers are idempotent).
        pubsub.publish(
            project,
            topic,
            bytes(payload),
            store.replay_attributes(_attributes(attributes), dead_letter_id),
        )
        replayed = _view(store.mark_replayed(cur, dead_letter_id))
        _audit(cur, request, member_ids, topic, "dead_letter_replayed")
        return Reply(replayed)

    return idempotency.run(request, f"replay {dead_letter_id}".encode(), work)


@api.post(
    "/v1/admin/dead-letters/{id}/discard",
    operation_id="discardDeadLetter",
    summary=(
        "Operations: mark a dead letter as never to be replayed (idempotent). It is deleted with "
        "the rest after 30 days."
    ),
    response=DeadLetter,
    returns="Discarded",
    errors=(503,),
    path_params={
        "id": Annotated[
            int,
            msgspec.Meta(description="A dead letter's id, from GET /v1/admin/dead-letters.", ge=1),
        ]
    },
)
def discard(request: Request) -> Reply:
    """Needs a staff token with role `operations`. No body."""
    dead_letter_id = _id(request)

    def work(cur: Cursor):
        # Audited when it is discarded, not again when a repeated call changes nothing.
        changed = store.discard(cur, dead_letter_id)
        if changed is not None:
            _audit(cur, request, changed[1], changed[0], "dead_letter_discarded")
        return store.get(cur, dead_letter_id)

    row = db.transaction(work)
    if row is None:
        raise NotFound()
    return Reply(_view(row))
