"""HTTP endpoints of the privacy function: access (R1), portability (R6) and the record of
processing activities (GDPR Art. 30), all generated from the data map.

    GET /v1/privacy/access             everything stored about the caller, with the profile
        ?store=NAME&cursor=C&limit=N   the next page of one long store
    GET /v1/privacy/export             what the caller gave, as documented JSON (R6)
    GET /v1/privacy/export.html        the same as a readable, self-contained HTML page
    GET /v1/privacy/processing-record      the record as JSON (public)
    GET /v1/privacy/processing-record.md   the record as Markdown, nb or en (public)

Member answers are `Cache-Control: no-store`; the exports are attachments with a file name.

Why the processing record is public: it describes the processing (stores, purposes, legal
bases, retention, recipients, security measures) and holds no personal data, not even
counts. The policy promises members who write in "a description of which types of data are
processed and further information about our processing"; a published record answers that
for everyone, lets member service link to it in a written answer, and is what the
supervisory authority may ask for (Art. 30(4)). Requiring the privacy officer's token would
add a step without protecting anything. It names table names, which are no secret: the
database is reachable only through IAM from the functions (S1).
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..core import datamap, db, lederne, log, pagination
from ..core.db import Cursor
from ..core.http import Api, Reply, Request
from ..core.validation import field_error
from . import access, export, record

api = Api()

_HTML_HEADERS = {
    # Belt and braces: the page is fully escaped, and even so nothing in it may run or load.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
_RECORD_CACHE = "public, max-age=300"


def _now() -> datetime:
    return datetime.now(UTC)


def _snapshot(work):
    """Runs `work(cur)` in one read-only transaction that sees a single snapshot of every
    table (REPEATABLE READ takes it at the first query)."""

    def run(cur: Cursor):
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return work(cur)

    return db.transaction(run)


def _firestore(request: Request):
    """The Firestore client, created on first use in the reading thread."""

    def client():
        from ..core import firestore

        return firestore.client(request.settings)

    return client


def _attachment(name: str) -> str:
    return f'attachment; filename="{name}"'


@api.get("/v1/privacy/access")
def get_access(request: Request) -> Reply:
    limit = pagination.limit(request.query, default=access.DEFAULT_LIMIT, maximum=access.MAX_LIMIT)
    pageable = tuple(
        s.name
        for s in (*datamap.STORES, *datamap.views())
        if s.export not in ("in_transit", "outside")
    )
    name = pagination.choice(request.query, "store", pageable)
    cursor = request.query.get("cursor")
    now = _now()
    if name is None:
        if cursor:
            raise field_error(
                "store",
                "required",
                "Oppgi store sammen med cursor.",
                "Give store together with cursor.",
            )
        body = access.collect(
            request.member_id,
            snapshot=_snapshot,
            firestore_client=_firestore(request),
            register=lederne.client(request.settings),
            pseudonym=log.pseudonym,
            now=now,
            limit=limit,
        )
    else:
        body = access.collect_one(
            request.member_id,
            datamap.by_name(name),
            snapshot=_snapshot,
            firestore_client=_firestore(request),
            pseudonym=log.pseudonym,
            now=now,
            limit=limit,
            cursor=cursor,
        )
    return Reply(body, headers={"Cache-Control": "no-store"})


def _export(request: Request) -> tuple[dict, datetime]:
    now = _now()
    doc = export.collect(
        request.member_id,
        snapshot=_snapshot,
        firestore_client=_firestore(request),
        pseudonym=log.pseudonym,
        now=now,
    )
    return doc, now


@api.get("/v1/privacy/export")
def get_export(request: Request) -> Reply:
    doc, now = _export(request)
    return Reply(
        doc,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": _attachment(export.filename(now, request.locale, "json")),
        },
    )


@api.get("/v1/privacy/export.html")
def get_export_html(request: Request) -> Reply:
    doc, now = _export(request)
    page = export.render_html(doc, request.locale).encode("utf-8")
    return Reply(
        page,
        content_type="text/html; charset=utf-8",
        headers={
            **_HTML_HEADERS,
            "Cache-Control": "no-store",
            "Content-Disposition": _attachment(export.filename(now, request.locale, "html")),
        },
    )


@api.get("/v1/privacy/processing-record")
def get_processing_record(request: Request) -> Reply:
    return Reply(record.build(_now()), headers={"Cache-Control": _RECORD_CACHE})


@api.get("/v1/privacy/processing-record.md")
def get_processing_record_markdown(request: Request) -> Reply:
    text = record.markdown(record.build(_now()), request.locale).encode("utf-8")
    return Reply(
        text, content_type="text/markdown; charset=utf-8", headers={"Cache-Control": _RECORD_CACHE}
    )
