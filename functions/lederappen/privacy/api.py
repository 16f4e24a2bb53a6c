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
from ..core.http import Api, Header, Out, Reply, Request
from ..core.validation import field_error
from . import access, export, record
from .schemas import GetPrivacyAccessQuery, PrivacyAccess, PrivacyExport, ProcessingRecord

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


@api.get(
    "/v1/privacy/access",
    operation_id="getPrivacyAccess",
    summary=(
        "Everything stored about the member (R1), in one answer: the profile read live from the "
        "member register and every table, collection and message type of the data map, found by "
        "every member key (both sides of a mentoring pair; the audit trail by the member's "
        "pseudonym), each section labelled with source, category, purpose, legal basis and "
        "retention. Another member's number never appears. All SQL is read in one snapshot. Each "
        "section holds at most `limit` items, newest first; `next_cursor` with `store` gives the "
        "next page of one store."
    ),
    response=Out(
        PrivacyAccess,
        "Everything stored about the member",
        headers=(Header("Cache-Control", "no-store"),),
    ),
    errors=(
        422,
        503,
    ),
    query=GetPrivacyAccessQuery,
)
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


@api.get(
    "/v1/privacy/export",
    operation_id="getPrivacyExport",
    summary=(
        "Data portability (R6): what the member gave (salary answers, mentor engagement and "
        "feedback, consents, preferences), as documented JSON (format "
        "`no.lederne.lederappen.member-export`, version 1, schema PrivacyExport), read in one "
        "snapshot."
    ),
    response=Out(
        PrivacyExport,
        "The export",
        headers=(
            Header("Cache-Control", "no-store"),
            Header(
                "Content-Disposition",
                (
                    "attachment, with a file name (lederappen-eksport-YYYY-MM-DD.json or .html; "
                    "-export- in English)."
                ),
            ),
        ),
    ),
    errors=(503,),
)
def get_export(request: Request) -> Reply:
    doc, now = _export(request)
    return Reply(
        doc,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": _attachment(export.filename(now, request.locale, "json")),
        },
    )


@api.get(
    "/v1/privacy/export.html",
    operation_id="getPrivacyExportHtml",
    summary=(
        "The export as one readable, self-contained HTML page (no scripts, no external resources;"
        " every value escaped) in Norwegian or English by Accept-Language."
    ),
    response=Out(
        str,
        "The export as an HTML page",
        headers=(
            Header("Cache-Control", "no-store"),
            Header(
                "Content-Disposition",
                (
                    "attachment, with a file name (lederappen-eksport-YYYY-MM-DD.json or .html; "
                    "-export- in English)."
                ),
            ),
        ),
        media=("text/html",),
    ),
    errors=(503,),
)
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


@api.get(
    "/v1/privacy/processing-record",
    operation_id="getProcessingRecord",
    summary=(
        "The record of processing activities (GDPR Art. 30), generated from the data map when "
        "asked, so it cannot drift from the code. Public: it describes the processing and holds "
        "no personal data."
    ),
    response=ProcessingRecord,
    returns="The record",
    accept_language=False,
)
def get_processing_record(request: Request) -> Reply:
    return Reply(record.build(_now()), headers={"Cache-Control": _RECORD_CACHE})


@api.get(
    "/v1/privacy/processing-record.md",
    operation_id="getProcessingRecordMarkdown",
    summary=(
        "The record of processing activities as Markdown, in Norwegian or English by "
        "Accept-Language (to attach to a written answer)."
    ),
    response=Out(str, "The record as Markdown", media=("text/markdown",)),
)
def get_processing_record_markdown(request: Request) -> Reply:
    text = record.markdown(record.build(_now()), request.locale).encode("utf-8")
    return Reply(
        text, content_type="text/markdown; charset=utf-8", headers={"Cache-Control": _RECORD_CACHE}
    )
