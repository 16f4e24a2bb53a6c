"""What the salary survey asks, the values its answers take, and the tables it publishes.

One place for the vocabulary, read by validation, the statistics, the questionnaire endpoint
and the demo-data generator, so a value can never be valid in one and unknown in another.
"""

from __future__ import annotations

from typing import Any

# The working-life vocabulary is shared with mentoring and messages (core/vocabulary.py);
# the survey's own (age, gender, education, ...) is below.
from ..core.vocabulary import COUNTIES, NACE_SECTIONS, POSITION_LEVELS, SECTORS, L, _l

AGE_BANDS: dict[str, L] = {
    "under_30": _l("Under 30 år", "Under 30"),
    "30_39": _l("30–39 år", "30–39"),
    "40_49": _l("40–49 år", "40–49"),
    "50_59": _l("50–59 år", "50–59"),
    "60_plus": _l("60 år eller eldre", "60 or older"),
}
#: Each band's age range. Years as a manager cannot exceed the oldest age in the band minus 16.
AGE_BAND_MIN_AGE = {"under_30": 16, "30_39": 30, "40_49": 40, "50_59": 50, "60_plus": 60}
AGE_BAND_MAX_AGE = {"under_30": 29, "30_39": 39, "40_49": 49, "50_59": 59, "60_plus": 80}
EARLIEST_WORKING_AGE = 16

GENDERS: dict[str, L] = {
    "female": _l("Kvinne", "Woman"),
    "male": _l("Mann", "Man"),
    "other": _l("Annet", "Other"),
}

EXPERIENCE_BANDS: dict[str, L] = {
    "0_4": _l("Under 5 år som leder", "Under 5 years as a manager"),
    "5_9": _l("5–9 år som leder", "5–9 years as a manager"),
    "10_19": _l("10–19 år som leder", "10–19 years as a manager"),
    "20_29": _l("20–29 år som leder", "20–29 years as a manager"),
    "30_plus": _l("30 år eller mer som leder", "30 years or more as a manager"),
}
MANAGED_BANDS: dict[str, L] = {
    "none": _l("Ingen direkte underordnede", "No direct reports"),
    "1_4": _l("1–4 personer", "1–4 people"),
    "5_9": _l("5–9 personer", "5–9 people"),
    "10_49": _l("10–49 personer", "10–49 people"),
    "50_plus": _l("50 personer eller flere", "50 people or more"),
}
WORKING_TIME: dict[str, L] = {
    "full_time": _l("Heltid (35 timer eller mer i uken)", "Full time (35 hours a week or more)"),
    "part_time": _l("Deltid (under 35 timer i uken)", "Part time (under 35 hours a week)"),
}
FULL_TIME_HOURS = 35.0


def experience_band(years: int | None) -> str | None:
    if years is None:
        return None
    for limit, band in ((5, "0_4"), (10, "5_9"), (20, "10_19"), (30, "20_29")):
        if years < limit:
            return band
    return "30_plus"


def managed_band(people: int | None) -> str | None:
    if people is None:
        return None
    if people == 0:
        return "none"
    for limit, band in ((5, "1_4"), (10, "5_9"), (50, "10_49")):
        if people < limit:
            return band
    return "50_plus"


def working_time(hours: float | None) -> str | None:
    if hours is None:
        return None
    return "full_time" if hours >= FULL_TIME_HOURS else "part_time"


# ---------------------------------------------------------------------------------------
# Dimensions the statistics group by. Order here is the canonical order in table keys.
# `column` is the salary_answers column (a generated band column where the answer is a number).
# ---------------------------------------------------------------------------------------

DIMENSIONS: dict[str, dict[str, Any]] = {
    "position_level": {
        "column": "position_level",
        "values": POSITION_LEVELS,
        "label": _l("Stillingsnivå", "Position level"),
    },
    "sector": {"column": "sector", "values": SECTORS, "label": _l("Sektor", "Sector")},
    "nace": {"column": "nace", "values": NACE_SECTIONS, "label": _l("Næring", "Industry")},
    "county": {"column": "county", "values": COUNTIES, "label": _l("Fylke", "County")},
    "experience": {
        "column": "experience",
        "values": EXPERIENCE_BANDS,
        "label": _l("Ledererfaring", "Management experience"),
    },
    "age_band": {"column": "age_band", "values": AGE_BANDS, "label": _l("Alder", "Age")},
    "gender": {"column": "gender", "values": GENDERS, "label": _l("Kjønn", "Gender")},
    "people_managed": {
        "column": "managed",
        "values": MANAGED_BANDS,
        "label": _l("Antall personer du leder", "People managed"),
    },
    "working_time": {
        "column": "working_time",
        "values": WORKING_TIME,
        "label": _l("Arbeidstid", "Working time"),
    },
}
DIMENSION_ORDER = tuple(DIMENSIONS)

#: Every breakdown is by position level and at most one other dimension: position level is
#: the hub of a star. That shape is what makes the differencing guarantee in disclosure.py
#: provable (no three tables whose cells can be pairwise disjoint without sharing a split).
HUB = "position_level"


def _tables() -> tuple[tuple[str, ...], ...]:
    singles = [(d,) for d in DIMENSION_ORDER]
    pairs = [(HUB, d) for d in DIMENSION_ORDER if d != HUB]
    return ((),) + tuple(singles) + tuple(pairs)


#: The published tables, as dimension tuples in canonical order. Nothing else is ever computed.
TABLES: tuple[tuple[str, ...], ...] = _tables()


def table_key(dims: tuple[str, ...]) -> str:
    return ",".join(dims)


def canonical(dims: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(dims, key=DIMENSION_ORDER.index))


# ---------------------------------------------------------------------------------------
# Questions. Required ones are in every round; staff choose which optional ones a round asks.
# ---------------------------------------------------------------------------------------

QUESTIONS: dict[str, dict[str, Any]] = {
    "base_monthly_salary": {
        "required": True,
        "type": "integer",
        "unit": "NOK/month",
        "min": 5_000,
        "max": 1_000_000,
        "label": _l(
            "Fast månedslønn før skatt (grunnlønn)", "Fixed monthly salary before tax (base pay)"
        ),
    },
    "annual_bonus": {
        "required": False,
        "type": "integer",
        "unit": "NOK/year",
        "min": 0,
        "max": 20_000_000,
        "label": _l(
            "Bonus og resultatlønn siste 12 måneder", "Bonus and performance pay, last 12 months"
        ),
    },
    "other_annual_pay": {
        "required": False,
        "type": "integer",
        "unit": "NOK/year",
        "min": 0,
        "max": 20_000_000,
        "label": _l(
            "Andre faste tillegg per år (for eksempel bil, overtid)",
            "Other regular pay per year (for example car, overtime)",
        ),
    },
    "position_level": {
        "required": True,
        "type": "choice",
        "values": POSITION_LEVELS,
        "label": DIMENSIONS["position_level"]["label"],
    },
    "people_managed": {
        "required": False,
        "type": "integer",
        "min": 0,
        "max": 100_000,
        "label": _l("Antall personer du har personalansvar for", "Number of people you manage"),
    },
    "sector": {
        "required": True,
        "type": "choice",
        "values": SECTORS,
        "label": DIMENSIONS["sector"]["label"],
    },
    "nace": {
        "required": True,
        "type": "choice",
        "values": NACE_SECTIONS,
        "label": _l("Næring (hovedområde)", "Industry (NACE section)"),
    },
    "county": {
        "required": True,
        "type": "choice",
        "values": COUNTIES,
        "label": _l("Fylke du arbeider i", "County you work in"),
    },
    "years_experience": {
        "required": False,
        "type": "integer",
        "min": 0,
        "max": 60,
        "label": _l("År som leder", "Years as a manager"),
    },
    "age_band": {
        "required": False,
        "type": "choice",
        "values": AGE_BANDS,
        "label": DIMENSIONS["age_band"]["label"],
    },
    "gender": {
        "required": False,
        "type": "choice",
        "values": GENDERS,
        "label": _l("Kjønn (frivillig)", "Gender (optional)"),
    },
    "weekly_hours": {
        "required": False,
        "type": "number",
        "min": 1,
        "max": 100,
        "label": _l("Avtalt arbeidstid, timer per uke", "Contracted working hours per week"),
    },
}
REQUIRED_QUESTIONS = tuple(q for q, spec in QUESTIONS.items() if spec["required"])
OPTIONAL_QUESTIONS = tuple(q for q, spec in QUESTIONS.items() if not spec["required"])

#: What the member is told before answering (the policy: voluntary, and for what purpose).
NOTICE: L = _l(
    "Det er frivillig å svare. Svarene brukes bare til Ledernes lønnsstatistikk. Ingen, heller "
    "ikke Lederne-ansatte, kan lese ditt svar, og tall publiseres bare for grupper som er store "
    "nok til at ingen kan kjennes igjen. Du kan endre svaret mens undersøkelsen er åpen og slette "
    "det når som helst.",
    "Answering is voluntary. Your answers are used only for Lederne's salary statistics. Nobody, "
    "Lederne staff included, can read your answer, and figures are published only for groups "
    "large enough that nobody can be recognised. You can change your answer while the survey is "
    "open and delete it at any time.",
)
