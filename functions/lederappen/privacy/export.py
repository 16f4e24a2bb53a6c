"""Data portability (R6): what the member gave, in a structured, commonly used,
machine-readable format, and the same as a readable page.

Which data: every store the data map marks `provided_by_member` (salary answers, mentor
engagement and feedback, consents given and withdrawn, preferences and interests), with the
columns the member gave; values the backend computed (`derived`: bands, totals, hashes) and
data observed or inferred about the member are left out, as Art. 20 covers what the data
subject provided. The profile is not here: it lives in the member register, and MinSide at
lederne.no exports it.

The format (JSON, `format_version` 1, schema `PrivacyExport` in functions/openapi.json):

    {"format": "no.lederne.lederappen.member-export", "format_version": 1,
     "schema": "<URL of the JSON schema>", "generated_at": RFC 3339, "member_id": "...",
     "controller": {...}, "description": {"nb", "en"},
     "sections": [{"store", "title", "category", "purpose", "legal_basis", "retention",
                   "fields": [{"name", "description": {"nb", "en"}}],
                   "items": [{<field>: <value>}], "total", "truncated"}]}

Every item holds exactly the section's `fields`: timestamps are RFC 3339 in UTC, money
integer NOK, codes as the API uses them. A store is read in full (up to EXPORT_LIMIT rows,
which no member reaches; `truncated` says so if one ever does), all SQL in one snapshot.

`render_html()` writes the same document as one self-contained HTML page (no scripts, no
external resources, inline style) in Norwegian or English; every value passes through
`html.escape`, so text a member typed (a presentation, a comment) is shown, never run.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..core import datamap
from ..core.times import rfc3339
from . import access, record

FORMAT = "no.lederne.lederappen.member-export"
FORMAT_VERSION = 1
SCHEMA = "https://api.lederne.no/v1/openapi.json#/components/schemas/PrivacyExport"
#: Rows read per store; a store that ever held more would say `truncated`.
EXPORT_LIMIT = 10_000

DESCRIPTION = {
    "nb": "Opplysningene du selv har gitt i Lederappen, i et strukturert og maskinlesbart "
    "format (JSON) du kan ta med deg til en annen behandlingsansvarlig "
    "(personvernforordningen artikkel 20). Hver del beskriver feltene sine. Profilen din "
    "(navn, adresse, kontaktopplysninger) ligger i medlemsregisteret og hentes fra MinSide "
    "på lederne.no.",
    "en": "The data you gave in Lederappen yourself, in a structured, machine-readable format "
    "(JSON) you can take to another controller (GDPR Article 20). Each part describes "
    "its fields. Your profile (name, address, contact details) is kept in the member "
    "register and can be downloaded from MinSide at lederne.no.",
}


def provided_stores() -> list[datamap.Store]:
    return [s for s in datamap.STORES if s.provided_by_member and s.export != "in_transit"]


def _section(store: datamap.Store, page: access.Page) -> dict[str, Any]:
    return {
        "store": store.name,
        "title": dict(store.title or {"nb": store.name, "en": store.name}),
        "category": store.category,
        "purpose": dict(store.purpose),
        "legal_basis": store.legal_basis,
        "retention": dict(store.retention),
        "fields": [
            {"name": f["name"], "description": f["description"]}
            for f in access.fields(access.columns(store, derived=False))
        ],
        "items": page.items,
        "total": page.total if page.total is not None else len(page.items),
        "truncated": page.truncated,
    }


def collect(
    member_id: str,
    *,
    snapshot: Callable,
    firestore_client,
    pseudonym: Callable[[str], str],
    now: datetime,
) -> dict[str, Any]:
    stores = provided_stores()
    pages, _ = access.read_pages(
        member_id,
        stores,
        snapshot=snapshot,
        firestore_client=firestore_client,
        pseudonym=pseudonym,
        limit=EXPORT_LIMIT,
        derived=False,
    )
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema": SCHEMA,
        "generated_at": rfc3339(now),
        "member_id": member_id,
        "controller": record.controller(),
        "description": dict(DESCRIPTION),
        "sections": [_section(s, pages[s.name]) for s in stores],
    }


def filename(now: datetime, locale: str, extension: str) -> str:
    stem = "lederappen-eksport" if locale == "nb" else "lederappen-export"
    return f"{stem}-{now.date().isoformat()}.{extension}"


# -- the readable page --------------------------------------------------------------------------

_TEXT = {
    "title": {"nb": "Dine opplysninger fra Lederappen", "en": "Your data from Lederappen"},
    "member": {"nb": "Medlemsnummer", "en": "Member number"},
    "generated": {"nb": "Laget", "en": "Generated"},
    "purpose": {"nb": "Formål", "en": "Purpose"},
    "legal_basis": {"nb": "Rettslig grunnlag", "en": "Legal basis"},
    "retention": {"nb": "Lagringstid", "en": "Retention"},
    "none": {"nb": "Ingen opplysninger lagret.", "en": "Nothing stored."},
    "count": {"nb": "Antall", "en": "Count"},
    "truncated": {"nb": "Bare de nyeste er med her.", "en": "Only the newest are included here."},
    "item": {"nb": "Oppføring", "en": "Entry"},
    "yes": {"nb": "Ja", "en": "Yes"},
    "no": {"nb": "Nei", "en": "No"},
    "controller": {"nb": "Behandlingsansvarlig", "en": "Controller"},
    "machine": {
        "nb": "Den maskinlesbare utgaven (JSON) hentes fra /v1/privacy/export, format",
        "en": "The machine-readable version (JSON) is at /v1/privacy/export, format",
    },
}

_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:60rem;"
    "margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}"
    "h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.6rem 0 1rem;width:100%}"
    "th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f4f4f4;width:38%;font-weight:600}caption{text-align:left;font-weight:600;"
    "padding:.2rem 0}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}"
    "dt{font-weight:600}dd{margin:0}.meta{color:#555}pre{white-space:pre-wrap;margin:0}"
)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _value(value: Any, locale: str) -> str:
    """A value as escaped HTML text."""
    if value is None:
        return "&#8212;"
    if isinstance(value, bool):
        return _e(_TEXT["yes" if value else "no"][locale])
    if isinstance(value, list):
        return _e(
            ", ".join(
                str(v) if not isinstance(v, (dict, list)) else json.dumps(v, ensure_ascii=False)
                for v in value
            )
        )
    if isinstance(value, dict):
        return "<pre>" + _e(json.dumps(value, ensure_ascii=False, indent=2)) + "</pre>"
    return _e(value)


def _section_html(section: dict[str, Any], locale: str) -> list[str]:
    t = _TEXT
    out = [
        f'<section id="{_e(section["store"])}">',
        f"<h2>{_e(section['title'][locale])}</h2>",
        "<dl>",
        f"<dt>{_e(t['purpose'][locale])}</dt><dd>{_e(section['purpose'][locale])}</dd>",
        f"<dt>{_e(t['legal_basis'][locale])}</dt><dd>{_e(section['legal_basis'])}</dd>",
        f"<dt>{_e(t['retention'][locale])}</dt><dd>{_e(section['retention'][locale])}</dd>",
        f"<dt>{_e(t['count'][locale])}</dt><dd>{_e(section['total'])}</dd>",
        "</dl>",
    ]
    if section.get("truncated"):
        out.append(f"<p>{_e(t['truncated'][locale])}</p>")
    if not section["items"]:
        out.append(f'<p class="meta">{_e(t["none"][locale])}</p>')
    labels = [(f["name"], f["description"][locale]) for f in section["fields"]]
    for number, item in enumerate(section["items"], 1):
        out.append("<table>")
        out.append(f"<caption>{_e(t['item'][locale])} {number}</caption>")
        for name, label in labels:
            out.append(
                f'<tr><th scope="row">{_e(label)}</th>'
                f"<td>{_value(item.get(name), locale)}</td></tr>"
            )
        out.append("</table>")
    out.append("</section>")
    return out


def render_html(doc: dict[str, Any], locale: str) -> str:
    """The export as one self-contained HTML page in `locale` ("nb" or "en")."""
    t = _TEXT
    c = doc["controller"]
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{_e(locale)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(t['title'][locale])}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(t['title'][locale])}</h1>",
        (
            f'<p class="meta">{_e(t["member"][locale])}: {_e(doc["member_id"])} &#183; '
            f"{_e(t['generated'][locale])}: {_e(doc['generated_at'])}</p>"
        ),
        f"<p>{_e(doc['description'][locale])}</p>",
        "</header>",
        "<main>",
    ]
    for section in doc["sections"]:
        parts.extend(_section_html(section, locale))
    parts += [
        "</main>",
        "<footer>",
        f"<h2>{_e(t['controller'][locale])}</h2>",
        (
            f"<p>{_e(c['name'])}, {_e(c['address'])}. {_e(c['email'])}, {_e(c['phone'])}. "
            f"{_e(record.DPO_TITLE[locale])}: {_e(record.DPO['email'])}</p>"
        ),
        (
            f'<p class="meta">{_e(t["machine"][locale])} {_e(doc["format"])} '
            f"{_e(doc['format_version'])}.</p>"
        ),
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"
