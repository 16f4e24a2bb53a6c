"""A member's mentor engagement: signing up as mentor and/or mentee (F7).

Voluntary, like everything the app asks beyond the membership itself: before the first
sign-up the member must acknowledge the notice of what the answers are for (the policy's
section 3: "Lederne skal først informere deg om at det er frivillig ... og hva opplysningene
vil bli brukt til"). Each role is one row, replaced whole by PUT (If-Match on its version,
"0" before the first), withdrawn by DELETE at any time. Every vocabulary is checked here and
every bad field reported at once; nothing is written unless all of it is valid.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..core.db import Cursor
from ..core.problems import PreconditionFailed
from ..core.times import rfc3339 as _ts
from ..core.validation import fields_error
from ..core.vocabulary import COUNTIES, NACE_SECTIONS, POSITION_LEVELS
from . import store

ROLES = ("mentor", "mentee")
FORMATS = ("digital", "in_person")
LANGUAGES = ("nb", "en")
MAX_TOPICS = 10
MAX_CAPACITY = 10
MAX_PRESENTATION_CHARS = 1000

NOTICE = {
    "nb": "Det er frivillig å melde seg som mentor eller mentee. Opplysningene brukes bare til å "
    "finne gode mentorpar, og ingen ser kontaktopplysningene dine før dere begge har sagt "
    "ja og samtykket til å dele dem. Du kan endre eller trekke deg når som helst; da "
    "slettes opplysningene.",
    "en": "Signing up as a mentor or mentee is voluntary. What you give is used only to find "
    "good mentoring pairs, and nobody sees your contact details until you have both said "
    "yes and consented to sharing them. You can change or withdraw at any time; your "
    "details are then deleted.",
}


def _view(row: store.Engagement) -> dict[str, Any]:
    (
        role,
        topics,
        industry,
        county,
        level,
        years,
        formats,
        languages,
        capacity,
        presentation,
        version,
        created,
        updated,
    ) = row
    view = {
        "role": role,
        "topics": list(topics),
        "industry": industry,
        "county": county,
        "position_level": level,
        "years_as_manager": years,
        "formats": list(formats),
        "languages": list(languages),
        "presentation": presentation,
        "version": version,
        "created_at": _ts(created),
        "updated_at": _ts(updated),
    }
    if role == "mentor":
        view["capacity"] = capacity
    return view


def get_all(cur: Cursor, member_id: str) -> dict[str, dict[str, Any] | None]:
    found = {r.role: _view(r) for r in store.engagements(cur, member_id)}
    return {role: found.get(role) for role in ROLES}


#: The sign-up's version (0 when there is none), locked until commit.
version_of = store.engagement_version


def _subset(
    errors: list, field: str, values: list[str], allowed: Iterable[str], nb: str, en: str
) -> None:
    if not set(values) <= set(allowed):
        errors.append((field, "enum", nb, en))
    elif len(set(values)) != len(values):
        errors.append((field, "duplicate", "Samme verdi flere ganger.", "A value is repeated."))


def check(role: str, body: dict[str, Any], topics: frozenset[str]) -> None:
    """Every rule beyond the types, all reported at once (422)."""
    errors: list[tuple[str | None, str, str, str]] = []
    if not body.get("notice_acknowledged"):
        errors.append(
            (
                "notice_acknowledged",
                "required",
                "Bekreft at du har lest at det er frivillig og hva opplysningene brukes til.",
                "Confirm that you have read that it is voluntary and what it is used for.",
            )
        )
    _subset(errors, "topics", body["topics"], topics, "Ukjent tema.", "Unknown topic.")
    _subset(errors, "formats", body["formats"], FORMATS, "Ukjent form.", "Unknown format.")
    _subset(errors, "languages", body["languages"], LANGUAGES, "Ukjent språk.", "Unknown language.")
    for field, allowed, nb, en in (
        ("industry", NACE_SECTIONS, "Ukjent næring.", "Unknown industry."),
        ("county", COUNTIES, "Ukjent fylkesnummer.", "Unknown county number."),
        ("position_level", POSITION_LEVELS, "Ukjent stillingsnivå.", "Unknown position level."),
    ):
        if body.get(field) is not None and body[field] not in allowed:
            errors.append((field, "enum", nb, en))
    if "in_person" in body["formats"] and body.get("county") is None:
        errors.append(
            (
                "county",
                "required",
                "Oppgi fylke for å møtes fysisk.",
                "Give a county to meet in person.",
            )
        )
    capacity = body.get("capacity")
    if role == "mentor" and capacity is None:
        errors.append(
            (
                "capacity",
                "required",
                "Oppgi hvor mange mentees du kan ta.",
                "Give how many mentees you can take.",
            )
        )
    if role == "mentee" and capacity is not None:
        errors.append(("capacity", "not_allowed", "Bare for mentorer.", "Only for mentors."))
    if errors:
        raise fields_error(errors)


def put(
    cur: Cursor,
    member_id: str,
    role: str,
    body: dict[str, Any],
    expected_version: int,
    now: datetime,
) -> tuple[dict, bool]:
    """Creates (expected version 0) or replaces the member's engagement in `role`; returns
    (view, created). The write re-checks the version, so of two devices writing from the
    same version one gets 412 instead of silently overwriting the other."""
    values = (
        body["topics"],
        body.get("industry"),
        body.get("county"),
        body.get("position_level"),
        body.get("years_as_manager"),
        body["formats"],
        body["languages"],
        body.get("capacity") if role == "mentor" else None,
        body.get("presentation"),
    )
    if expected_version == 0:
        row = store.create_engagement(cur, member_id, role, values, now)
    else:
        row = store.update_engagement(cur, member_id, role, values, expected_version, now)
    if row is None:
        raise PreconditionFailed(
            {
                "nb": "Dataene er endret siden du leste dem. Hent dem på nytt.",
                "en": "The data changed since you read it. Fetch it again.",
            }
        )
    return _view(row), expected_version == 0


def withdraw(cur: Cursor, member_id: str, role: str) -> bool:
    return store.delete_engagement(cur, member_id, role)
