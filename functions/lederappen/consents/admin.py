"""HTTP endpoints of the consent-admin function: the privacy officer publishes terms (R8)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from ..core import db, idempotency, outbox, pagination
from ..core.db import Cursor
from ..core.http import IDEMPOTENCY_KEY, Api, Reply, Request
from ..core.validation import Body, Timestamp, field_error
from . import service
from .api import Purpose
from .schemas import ListTermsQuery, Terms, TermsList

api = Api()


class Localised(Body):
    nb: Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]
    en: Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]


class TermsDraft(Body):
    purpose: Purpose
    title: Localised
    text: Localised
    material: bool
    #: Left out: now for a non-material change, TERMS_NOTICE_DAYS from now for a material one.
    effective_from: Timestamp | None = None
    changes: Localised | None = None


@api.post(
    "/v1/admin/consent-terms",
    body=TermsDraft,
    operation_id="publishTerms",
    summary=(
        "Privacy officer: publish a new version of a purpose's terms (immutable once published)."
    ),
    response=Terms,
    returns="Published",
    status=201,
    errors=(
        409,
        503,
    ),
    headers=(IDEMPOTENCY_KEY,),
)
def publish_terms(request: Request) -> Reply:
    d: TermsDraft = request.body
    if d.effective_from is not None and d.effective_from.tzinfo is None:
        raise field_error(
            "effective_from",
            "timezone",
            "Tidspunktet må ha tidssone.",
            "The time must carry a time zone.",
        )

    queued: list[int] = []

    def work(cur: Cursor) -> Reply:
        terms, outbox_ids = service.publish_terms(
            cur,
            purpose=d.purpose,
            title=msgspec.structs.asdict(d.title),
            text=msgspec.structs.asdict(d.text),
            changes=msgspec.structs.asdict(d.changes) if d.changes else None,
            material=d.material,
            effective_from=d.effective_from,
            now=datetime.now(UTC),
            notice_days=request.settings.terms_notice_days,
        )
        queued.extend(outbox_ids)
        told = service.consenting_count(cur, d.purpose) if terms.material else 0
        return Reply({**terms.public(), "notified": told}, status=201)

    reply = idempotency.run(request, msgspec.json.encode(d), work)
    outbox.flush(request.settings.google_cloud_project, queued)
    return reply


@api.get(
    "/v1/admin/consent-terms",
    operation_id="listTerms",
    summary="Privacy officer: every published version.",
    response=TermsList,
    returns="All versions",
    errors=(
        422,
        503,
    ),
    query=ListTermsQuery,
)
def list_terms(request: Request) -> Reply:
    purpose = pagination.choice(request.query, "purpose", service.PURPOSES)

    return Reply(
        {"items": [t.public() for t in db.read(lambda cur: service.list_terms(cur, purpose))]}
    )
