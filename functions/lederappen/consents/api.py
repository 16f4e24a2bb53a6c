"""HTTP endpoints of the consents function: the member's own consents, ledger and terms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from ..core import db, idempotency, outbox, pagination
from ..core.db import Cursor
from ..core.http import IDEMPOTENCY_KEY, Api, Out, Reply, Request
from ..core.validation import Body, PositiveInt32, PositiveInt64
from . import service
from .schemas import (
    ConsentHistory,
    Consents,
    ConsentState,
    GetConsentHistoryQuery,
    ListNonMaterialTermsChangesQuery,
    Terms,
    TermsChangeList,
    TermsInForce,
)
from .schemas import (
    Purpose as PurposeName,
)

api = Api()

Purpose = Literal["newsletter", "marketing", "personalisation", "mentor_contact_sharing"]


class ConsentChange(Body):
    purpose: Purpose
    action: Literal["give", "withdraw"]
    terms_version: PositiveInt32
    text_hash: Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$")] | None = None
    app_version: Annotated[str, msgspec.Meta(max_length=40)] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


@api.get(
    "/v1/consents",
    operation_id="getConsents",
    summary=(
        "The member's consent per purpose, derived from the ledger, and whether the newsletter "
        "system has confirmed the latest newsletter choice."
    ),
    response=Consents,
    returns="Current consents",
    errors=(503,),
)
def get_consents(request: Request) -> Reply:
    def work(cur: Cursor):
        now = _now()
        states = service.states(cur, request.member_id, now)
        pending = service.pending_terms(cur, now)
        return {
            "consents": [
                {**s.public(), "pending_change": service.pending_change(s, pending.get(s.purpose))}
                for s in states.values()
            ],
            "newsletter_sync": service.newsletter_status(cur, request.member_id),
        }

    return Reply(db.read(work))


@api.post(
    "/v1/consents",
    body=ConsentChange,
    operation_id="changeConsent",
    summary=(
        "Give or withdraw a consent. Appends to the ledger; withdrawal takes effect at once. "
        "Repeating the current choice adds nothing (200)."
    ),
    response=ConsentState,
    returns="Already so; nothing recorded",
    responses={201: Out(ConsentState, "Recorded")},
    errors=(
        404,
        409,
        503,
    ),
    headers=(IDEMPOTENCY_KEY,),
)
def change_consent(request: Request) -> Reply:
    body: ConsentChange = request.body
    queued: list[int] = []

    def work(cur: Cursor) -> Reply:
        state, changed, message = service.record(
            cur,
            request.member_id,
            purpose=body.purpose,
            action="given" if body.action == "give" else "withdrawn",
            terms_version=body.terms_version,
            shown_text_hash=body.text_hash,
            locale=request.locale,
            channel="app",
            app_version=body.app_version,
            now=_now(),
        )
        if message is not None:
            queued.append(outbox.enqueue(cur, service.NEWSLETTER_TOPIC, message, request.member_id))
        return Reply(state.public(), status=201 if changed else 200)

    reply = idempotency.run(request, msgspec.json.encode(body), work)
    outbox.flush(request.settings.google_cloud_project, queued)
    return reply


@api.get(
    "/v1/consents/history",
    operation_id="getConsentHistory",
    summary="The member's consent ledger, newest first.",
    response=ConsentHistory,
    returns="A page of ledger entries",
    errors=(
        422,
        503,
    ),
    query=GetConsentHistoryQuery,
)
def consent_history(request: Request) -> Reply:
    size = pagination.limit(request.query)
    before = pagination.decode_cursor(request.query.get("cursor"), PositiveInt64)
    rows = db.read(lambda cur: service.history(cur, request.member_id, before, size + 1))
    items, next_cursor = pagination.page(rows, size, key=lambda r: r["id"])
    return Reply({"items": items, "next_cursor": next_cursor})


@api.get(
    "/v1/consent-terms",
    operation_id="getTermsInForce",
    summary="The terms in force for every purpose.",
    response=TermsInForce,
    returns="Terms",
    errors=(503,),
    accept_language=False,
)
def terms_in_force(request: Request) -> Reply:
    terms = db.read(lambda cur: service.terms_in_force(cur, _now()))
    return Reply(
        {"terms": [t.public() for t, _ in terms.values()]},
        headers={"Cache-Control": "public, max-age=60"},
    )


@api.get(
    "/v1/consent-terms/changes",
    operation_id="listNonMaterialTermsChanges",
    summary=(
        "Public: every non-material change of the consent terms, newest first, for lederne.no to "
        "list (R8). A material change is told to the members it affects instead."
    ),
    response=TermsChangeList,
    returns="Non-material changes",
    errors=(
        422,
        503,
    ),
    accept_language=False,
    query=ListNonMaterialTermsChangesQuery,
)
def non_material_changes(request: Request) -> Reply:
    """Public: every non-material change of the consent terms, for lederne.no to list."""
    purpose = pagination.choice(request.query, "purpose", service.PURPOSES)
    items = db.read(lambda cur: service.non_material_changes(cur, purpose))
    return Reply({"items": items}, headers={"Cache-Control": "public, max-age=300"})


@api.get(
    "/v1/consent-terms/{purpose}/{version}",
    params={"version": PositiveInt32},
    operation_id="getTermsVersion",
    summary="One version of a purpose's terms: what exactly a ledger entry accepted.",
    response=Terms,
    returns="The terms",
    errors=(503,),
    accept_language=False,
    path_params={"purpose": PurposeName},
)
def one_terms_version(request: Request) -> Reply:
    purpose = request.params["purpose"]
    version = request.params["version"]
    if purpose not in service.PURPOSES:
        from ..core.problems import NotFound

        raise NotFound()
    terms = db.read(lambda cur: service.get_terms(cur, purpose, version))
    return Reply(terms.public(), headers={"Cache-Control": "public, max-age=3600"})
