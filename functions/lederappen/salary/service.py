"""Survey rounds and members' own answers (F6).

An answer is voluntary salary data for statistics only: one per member per round, keyed by
the member key, never stored beside profile fields, readable only by its owner. It can be
given and changed while its round is open, and read and deleted at any time. Deleting an
answer does not republish a round already released (statistics.py): a table that changed when
one person left would identify exactly that person.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..core.db import Cursor
from ..core.problems import Conflict, NotFound, ValidationFailed
from ..core.times import rfc3339
from . import store
from . import vocabulary as v
from .store import FIELDS

assert set(FIELDS) == set(v.QUESTIONS)

#: Where the survey's days are counted (answers over time).
OSLO = ZoneInfo("Europe/Oslo")


def status(opens_at: datetime, closes_at: datetime, now: datetime) -> str:
    if now < opens_at:
        return "upcoming"
    return "open" if now < closes_at else "closed"


def round_view(row: store.Round, now: datetime) -> dict[str, Any]:
    year, title_nb, title_en, opens_at, closes_at, questions, version = row
    return {
        "year": year,
        "title": {"nb": title_nb, "en": title_en},
        "opens_at": rfc3339(opens_at),
        "closes_at": rfc3339(closes_at),
        "status": status(opens_at, closes_at, now),
        "questions": [q for q in v.QUESTIONS if v.QUESTIONS[q]["required"] or q in questions],
        "version": version,
    }


def get_round(cur: Cursor, year: int, now: datetime) -> dict[str, Any]:
    row = store.get_round(cur, year)
    if row is None:
        raise NotFound(
            {
                "nb": "Ingen lønnsundersøkelse for dette året.",
                "en": "No salary survey for that year.",
            }
        )
    return round_view(row, now)


def list_rounds(cur: Cursor, now: datetime) -> list[dict[str, Any]]:
    return [round_view(r, now) for r in store.list_rounds(cur)]


def questionnaire(questions: list[str]) -> list[dict[str, Any]]:
    """The questions a round asks, with labels, allowed values and ranges, for the app's form."""
    out = []
    for q in questions:
        spec = v.QUESTIONS[q]
        item: dict[str, Any] = {
            "id": q,
            "required": spec["required"],
            "type": spec["type"],
            "label": spec["label"],
        }
        if "values" in spec:
            item["values"] = [{"id": k, "label": label} for k, label in spec["values"].items()]
        for key in ("min", "max", "unit"):
            if key in spec:
                item[key] = spec[key]
        out.append(item)
    return out


# ---------------------------------------------------------------------------------------
# Validation: every problem named at once, in Norwegian and English
# ---------------------------------------------------------------------------------------


def _err(field: str, code: str, nb: str, en: str) -> dict[str, Any]:
    return {"field": field, "code": code, "message": {"nb": nb, "en": en}}


def validate(answer: dict[str, Any], asked: list[str]) -> None:
    """Raises one 422 naming every invalid field of `answer` (API field names)."""
    errors: list[dict[str, Any]] = []
    for q, spec in v.QUESTIONS.items():
        value = answer.get(q)
        if value is None:
            if spec["required"]:
                if q == "base_monthly_salary" and (
                    answer.get("annual_bonus") or answer.get("other_annual_pay")
                ):
                    errors.append(
                        _err(
                            q,
                            "required",
                            "Bonus og tillegg forutsetter fast månedslønn.",
                            "Bonus and other pay require a fixed monthly salary.",
                        )
                    )
                else:
                    errors.append(_err(q, "required", "Må fylles ut.", "Required."))
            continue
        if q not in asked:
            errors.append(
                _err(
                    q,
                    "not_asked",
                    "Dette spørsmålet stilles ikke i denne runden.",
                    "This round does not ask this question.",
                )
            )
            continue
        if spec["type"] == "choice":
            if value not in spec["values"]:
                allowed = ", ".join(spec["values"])
                errors.append(
                    _err(
                        q,
                        "enum",
                        f"Ukjent verdi. Gyldige verdier: {allowed}.",
                        f"Unknown value. Allowed values: {allowed}.",
                    )
                )
        elif not spec["min"] <= value <= spec["max"]:
            lo, hi = f"{spec['min']:,}".replace(",", " "), f"{spec['max']:,}".replace(",", " ")
            errors.append(
                _err(q, "range", f"Må være mellom {lo} og {hi}.", f"Must be between {lo} and {hi}.")
            )
    years, band = answer.get("years_experience"), answer.get("age_band")
    if (
        isinstance(years, int)
        and band in v.AGE_BAND_MAX_AGE
        and years > v.AGE_BAND_MAX_AGE[band] - v.EARLIEST_WORKING_AGE
    ):
        errors.append(
            _err(
                "years_experience",
                "inconsistent",
                "Flere år som leder enn alderen tillater.",
                "More years as a manager than the age band allows.",
            )
        )
    hours = answer.get("weekly_hours")
    if isinstance(hours, float) and round(hours * 2) != hours * 2:
        errors.append(
            _err(
                "weekly_hours",
                "step",
                "Oppgi timer med halve timer som minste enhet.",
                "Give hours in steps of half an hour.",
            )
        )
    if errors:
        raise ValidationFailed(
            {"nb": "Noen svar er ugyldige.", "en": "Some answers are invalid."}, errors=errors
        )


# ---------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------


def _answer_view(year: int, row: store.Answer) -> dict[str, Any]:
    values: dict[str, Any] = dict(zip(FIELDS, row[: len(FIELDS)]))
    if row.weekly_hours is not None:
        values["weekly_hours"] = float(row.weekly_hours)
    return {
        "year": year,
        **values,
        "total_annual_pay": row.total_annual,
        "version": row.version,
        "updated_at": rfc3339(row.updated_at),
    }


def get_answer(cur: Cursor, year: int, member_id: str) -> dict[str, Any] | None:
    row = store.get_answer(cur, year, member_id)
    return _answer_view(year, row) if row else None


answered_years = store.answered_years


def _open_round(cur: Cursor, year: int, now: datetime) -> dict[str, Any]:
    store.lock_round_shared(cur, year)
    row = store.get_round(cur, year)
    if row is None:
        raise NotFound(
            {
                "nb": "Ingen lønnsundersøkelse for dette året.",
                "en": "No salary survey for that year.",
            }
        )
    view = round_view(row, now)
    if view["status"] != "open":
        raise Conflict(
            {
                "nb": "Undersøkelsen er ikke åpen for svar."
                if view["status"] == "upcoming"
                else "Undersøkelsen er stengt. Du kan lese og slette svaret, men ikke endre det.",
                "en": "The survey is not open for answers yet."
                if view["status"] == "upcoming"
                else "The survey is closed. You can read and delete your answer, not change it.",
            },
            round_status=view["status"],
        )
    return view


current_version = store.answer_version


def put_answer(
    cur, year: int, member_id: str, answer: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], bool]:
    """Creates or replaces the member's answer to an open round. Returns (view, created)."""
    rnd = _open_round(cur, year, now)
    validate(answer, rnd["questions"])
    row, created = store.put_answer(cur, year, member_id, [answer.get(f) for f in FIELDS], now)
    return _answer_view(year, row), created


def delete_answer(cur: Cursor, year: int, member_id: str) -> bool:
    """Deletes the member's answer to a round (any time). A release of the round made before
    stays as it is; later releases are made without the answer."""
    return store.delete_answer(cur, year, member_id)


def erase_member(cur: Cursor, member_id: str) -> int:
    """Deletes all of a member's answers (their own request, or erasure); returns how many."""
    return erase_members(cur, [member_id]).get(member_id, 0)


def erase_members(cur: Cursor, member_ids: list[str]) -> dict[str, int]:
    """`erase_with` of salary_answers: the members' answers per member, in one statement."""
    return store.delete_answers(cur, member_ids)


# ---------------------------------------------------------------------------------------
# Rounds (staff)
# ---------------------------------------------------------------------------------------


def check_round_fields(
    opens_at: datetime | None, closes_at: datetime | None, questions: list[str] | None
) -> None:
    errors = []
    for name, moment in (("opens_at", opens_at), ("closes_at", closes_at)):
        if moment is not None and moment.tzinfo is None:
            errors.append(
                _err(
                    name,
                    "timezone",
                    "Tidspunktet må ha tidssone.",
                    "The time must carry a time zone.",
                )
            )
    if opens_at and closes_at and opens_at.tzinfo and closes_at.tzinfo and closes_at <= opens_at:
        errors.append(
            _err(
                "closes_at",
                "order",
                "Må være etter åpningstidspunktet.",
                "Must be after the opening time.",
            )
        )
    for i, q in enumerate(questions or []):
        if q not in v.OPTIONAL_QUESTIONS:
            allowed = ", ".join(v.OPTIONAL_QUESTIONS)
            errors.append(
                _err(
                    f"questions[{i}]",
                    "enum",
                    f"Ukjent valgfritt spørsmål. Gyldige: {allowed}.",
                    f"Unknown optional question. Allowed: {allowed}.",
                )
            )
    if questions and len(set(questions)) != len(questions):
        errors.append(
            _err(
                "questions",
                "duplicate",
                "Et spørsmål står to ganger.",
                "A question is listed twice.",
            )
        )
    if errors:
        raise ValidationFailed(
            {"nb": "Noen felt er ugyldige.", "en": "Some fields are invalid."}, errors=errors
        )


def create_round(
    cur,
    *,
    year: int,
    title: dict[str, str],
    opens_at: datetime,
    closes_at: datetime,
    questions: list[str],
    now: datetime,
) -> dict[str, Any]:
    check_round_fields(opens_at, closes_at, questions)
    row = store.create_round(
        cur, year, title["nb"], title["en"], opens_at, closes_at, list(questions)
    )
    if row is None:
        raise Conflict(
            {
                "nb": f"Det finnes allerede en lønnsundersøkelse for {year}.",
                "en": f"There is already a salary survey for {year}.",
            }
        )
    return round_view(row, now)


def update_round(cur: Cursor, year: int, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Applies `changes` to a round that has not closed (the caller checked If-Match)."""
    store.lock_round_exclusive(cur, year)
    row = store.get_round_for_update(cur, year)
    if row is None:
        raise NotFound()
    current = round_view(row, now)
    if current["status"] == "closed":
        raise Conflict(
            {
                "nb": "Runden er stengt; tallene er endelige.",
                "en": "The round is closed; its figures are final.",
            }
        )
    if "questions" in changes and current["status"] != "upcoming":
        raise Conflict(
            {
                "nb": "Spørsmålene kan bare endres før runden åpner.",
                "en": "Questions can only change before the round opens.",
            }
        )
    if "opens_at" in changes and current["status"] != "upcoming":
        raise Conflict(
            {
                "nb": "Åpningstidspunktet kan bare endres før runden åpner.",
                "en": "The opening time can only change before the round opens.",
            }
        )
    opens_at = changes.get("opens_at", row.opens_at)
    closes_at = changes.get("closes_at", row.closes_at)
    check_round_fields(changes.get("opens_at"), changes.get("closes_at"), changes.get("questions"))
    check_round_fields(opens_at, closes_at, None)
    title = changes.get("title") or {"nb": row.title_nb, "en": row.title_en}
    questions = changes.get("questions", row.questions)
    updated = store.update_round(
        cur, year, title["nb"], title["en"], opens_at, closes_at, list(questions or [])
    )
    return round_view(updated, now)


#: Answers per round, for staff (a count only).
answer_counts = store.answer_counts


def answer_days(
    cur, year: int, now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """Answers per day of a round since it opened, for staff: (the round, one entry per
    day in Norway from its opening day to its closing day or today, whichever comes first,
    each with the day's new answers and the running total). Counts only, from the
    salary_answer_days view (migration 0015); no answer's own time leaves the database.

    An answer counts on the day it was first submitted, while it exists (a deleted one
    leaves its day). An answer dated outside the round's days (loaded, not submitted: a
    member can answer only while the round is open) counts on the nearest of them, so the
    last running total is the round's number of answers. None for an unknown year."""
    row = store.get_round(cur, year)
    if row is None:
        return None
    view = round_view(row, now)
    opens_at, closes_at = row.opens_at, row.closes_at
    per_day = store.answer_days(cur, year)
    first = opens_at.astimezone(OSLO).date()
    last = max(first, min(closes_at - timedelta(microseconds=1), now).astimezone(OSLO).date())
    counts: dict[date, int] = {}
    for day, answers in per_day:
        day = min(max(day, first), last)
        counts[day] = counts.get(day, 0) + answers
    days: list[dict[str, Any]] = []
    running = 0
    if now >= opens_at:
        for i in range((last - first).days + 1):
            day = first + timedelta(days=i)
            running += counts.get(day, 0)
            days.append(
                {"date": day.isoformat(), "answers": counts.get(day, 0), "cumulative": running}
            )
    return view, days


#: Locks the round until commit; its version, or None when there is no such round.
lock_round = store.lock_round
#: The latest round, at most `up_to`, that has closed by `now`.
latest_closed_year = store.latest_closed_year
