"""Realistic synthetic answers to the salary survey (F6): generate, load with COPY, seed.

    python -m infra.local.salary_demo --members 200000 --rounds 5 [--seed 42]
        [--state-dir .local] [--append]

loads synthetic answers into the running local stack's database (empties salary_answers
and the computed statistics first unless `--append`), for statistics and performance work:
200,000 members give about 845,000 answers over five rounds (many joined recently or have
left), 237,000 about a million. The members are the stand-in's
(`demo_data.generate_members`, default seed), so the answers belong to members the register
knows; `--seed` varies the answers only. The demo member 1000001 is left out of the open
round, which the demo answers as them.

Library use:

* `generate_answers(members, years, seed)` yields rows in `ANSWER_COLUMNS` order,
  deterministic for (members, years, seed, participation, exclude). A member's answers of
  different years are those of one person (the same effects, growing pay with individual
  noise, one more year of experience each year), and a year's answers do not depend on which
  other years are generated.
* `load(conn, rows, progress)` streams rows into salary_answers with COPY FROM STDIN.
* `ensure_rounds(conn, years, today)` creates the rounds that are missing.
* `seed_demo(conn, members, today)` gives the local stack's demo members five rounds of
  answers (once: it does nothing when a round exists).

`load` and `ensure_rounds` run in the caller's transaction (a DB-API connection must be
committed by the caller); `seed_demo` is one unit of work and commits itself.

The pay model (2025 NOK, scaled by `GROWTH` a year; numbers are the medians a survey of
Norwegian managers plausibly shows, not official figures): a median base monthly salary per
position level, multiplied by effects of sector, industry (NACE section), county, years of
management experience (+1 %/year up to 20), gender (women about -4 %), a person's own
lognormal factor, their own growth rate and a little noise per year; part-timers are paid
pro rata. Bonus is common in the private sector and rare in the public one; about a quarter
have other regular pay (car, overtime). Every value lies within salary_answers' CHECK
constraints and the survey vocabulary; experience never exceeds age - 16 at 1 October of
the round year, when age and eligibility are taken. Members younger than 16 or older than 80
that day, not yet members, already gone (an ended membership answers only years before the
year it ended) or retired (category "retired" from 67) do not answer that round.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import math
import random
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "functions") not in sys.path:
    sys.path.insert(0, str(ROOT / "functions"))

from lederappen.salary import vocabulary as v

from .demo_data import DEFAULT_SEED, DEMO_MEMBER_ID

#: The non-generated columns of salary_answers, in the order rows are yielded and copied.
ANSWER_COLUMNS = (
    "year",
    "member_id",
    "base_monthly",
    "bonus_annual",
    "other_annual",
    "position_level",
    "people_managed",
    "sector",
    "nace",
    "county",
    "experience_years",
    "age_band",
    "gender",
    "weekly_hours",
)

#: Share of eligible members who answer a closed round (and the scale run's every round).
PARTICIPATION = 0.95
#: Share of active members who have answered the open round in the local demo.
OPEN_ROUND_PARTICIPATION = 0.40
#: Members (by index in the demo member list) who must not have answered the open round:
#: the end-to-end tests answer it as them.
E2E_UNANSWERED = range(100, 200)

# -- the pay model ----------------------------------------------------------------------------

BASE_YEAR = 2025
#: Yearly wage growth (population), applied from BASE_YEAR backwards and forwards.
GROWTH = 0.04
#: Target medians of base monthly pay in BASE_YEAR (what the generated data shows).
TARGET_MEDIANS = {"first_line": 52_000, "middle": 63_000, "senior": 80_000, "executive": 105_000}
#: The model's pay per level for a neutral profile; calibrated (200,000 members) so that the
#: medians of the generated BASE_YEAR answers come out at TARGET_MEDIANS.
LEVEL_PAY = {"first_line": 50_400, "middle": 60_800, "senior": 77_300, "executive": 101_500}
#: A person's own lognormal spread around their profile, per level.
LEVEL_SIGMA = {"first_line": 0.17, "middle": 0.19, "senior": 0.22, "executive": 0.27}
YEAR_NOISE_SIGMA = 0.02
PERSON_GROWTH_SIGMA = 0.008

SECTOR_EFFECT = {"private": 0.0, "public": -0.06, "other": -0.08}
NACE_EFFECT = {
    "A": -0.06,
    "B": 0.18,
    "C": 0.0,
    "D": 0.08,
    "E": -0.02,
    "F": 0.02,
    "G": -0.08,
    "H": -0.02,
    "I": -0.15,
    "J": 0.10,
    "K": 0.15,
    "L": 0.03,
    "M": 0.06,
    "N": -0.07,
    "O": 0.0,
    "P": -0.03,
    "Q": -0.05,
    "R": -0.06,
    "S": -0.08,
    "T": -0.20,
    "U": 0.12,
}
#: By official county number.
COUNTY_EFFECT = {
    "03": 0.08,
    "32": 0.05,
    "11": 0.05,
    "46": 0.02,
    "33": 0.01,
    "50": 0.0,
    "15": 0.0,
    "39": 0.0,
    "31": -0.01,
    "42": -0.01,
    "40": -0.02,
    "18": -0.02,
    "34": -0.03,
    "55": -0.03,
    "56": -0.04,
}
#: Where some members work when it is not where they live: home county -> (work, share).
COMMUTE = {"32": ("03", 0.30), "33": ("03", 0.08), "31": ("03", 0.06), "39": ("03", 0.03)}
FEMALE_EFFECT = -0.04
#: Pay rises 1 % per year of management experience up to 20 years; 10 years is neutral.
EXPERIENCE_EFFECT = 0.01
EXPERIENCE_CAP = 20
EXPERIENCE_NEUTRAL = 10

#: (private, public, other) weights of the sector, per NACE section.
SECTOR_BY_NACE = {
    "A": (96, 2, 2),
    "B": (97, 3, 0),
    "C": (98, 1, 1),
    "D": (80, 19, 1),
    "E": (45, 54, 1),
    "F": (96, 3, 1),
    "G": (98, 0, 2),
    "H": (86, 12, 2),
    "I": (97, 1, 2),
    "J": (92, 6, 2),
    "K": (93, 2, 5),
    "L": (92, 5, 3),
    "M": (90, 6, 4),
    "N": (94, 4, 2),
    "O": (0, 100, 0),
    "P": (20, 75, 5),
    "Q": (25, 65, 10),
    "R": (40, 35, 25),
    "S": (55, 5, 40),
    "T": (100, 0, 0),
    "U": (0, 30, 70),
}

#: Chance that a person has a bonus scheme, by level (private sector) or sector; with bad
#: years and unanswered questions about 45 % of private and 5 % of public answers show one.
BONUS_CHANCE_PRIVATE = {"first_line": 0.41, "middle": 0.52, "senior": 0.64, "executive": 0.75}
BONUS_CHANCE = {"public": 0.06, "other": 0.12}
#: Median bonus as a share of annual base pay, by level.
BONUS_SHARE = {"first_line": 0.06, "middle": 0.08, "senior": 0.12, "executive": 0.20}
BONUS_SIGMA = 0.5
BONUS_YEAR_SIGMA = 0.35
BONUS_ZERO_YEAR = 0.12  # a bad year: no bonus although there is a scheme
OTHER_PAY_CHANCE = 0.26
OTHER_PAY_MEDIAN = 30_000
OTHER_PAY_SIGMA = 0.7

#: People managed: (share with none, low, high) per level, log-uniform between low and high.
MANAGED = {
    "first_line": (0.04, 3, 15),
    "middle": (0.06, 5, 40),
    "senior": (0.05, 10, 200),
    "executive": (0.03, 10, 500),
}

PART_TIME_SHARE = 0.05
PART_TIME_HOURS = (20.0, 22.5, 24.0, 26.0, 28.0, 30.0, 32.0, 33.5)
FORTY_HOURS_SHARE = 0.08
SHIFT_HOURS_SHARE = 0.02  # 35.5 hours, two-shift work
STANDARD_HOURS = 37.5

GENDER_NOT_STATED = 0.10
GENDER_OTHER = 0.003
#: Chance an optional question is left unanswered in a round (gender: a person trait above).
SKIP = {
    "bonus_annual": 0.03,
    "other_annual": 0.04,
    "people_managed": 0.02,
    "experience_years": 0.02,
    "age_band": 0.02,
    "weekly_hours": 0.02,
}

#: The ages (at 1 October) whose answers a round has.
MIN_AGE = v.EARLIEST_WORKING_AGE
MAX_AGE = max(v.AGE_BAND_MAX_AGE.values())
RETIREMENT_AGE = 67
_AGE_BANDS = ((30, "under_30"), (40, "30_39"), (50, "40_49"), (60, "50_59"))

_COUNTY_NUMBER = {label["nb"]: number for number, label in v.COUNTIES.items()}
_SECTORS = ("private", "public", "other")


def county_number(name: str) -> str:
    """The official county number of a county name as the member register spells it."""
    try:
        return _COUNTY_NUMBER[name]
    except KeyError:
        raise ValueError(
            f"unknown county {name!r}; expected one of {', '.join(sorted(_COUNTY_NUMBER))}"
        ) from None


def age_band(age: int) -> str:
    for limit, band in _AGE_BANDS:
        if age < limit:
            return band
    return "60_plus"


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_eligible(member: Mapping[str, Any], year: int) -> bool:
    """Whether a member answers the round of `year` at all (see the module docstring)."""
    ms = member["membership"]
    day = dt.date(year, 10, 1)
    if dt.date.fromisoformat(ms["member_since"]) > day:
        return False
    if (
        ms.get("status") == "ended"
        and ms.get("ended_on")
        and (year >= dt.date.fromisoformat(ms["ended_on"]).year)
    ):
        return False
    age = age_on(dt.date.fromisoformat(member["birth_date"]), day)
    if ms.get("category") == "retired" and age >= RETIREMENT_AGE:
        return False
    return MIN_AGE <= age <= MAX_AGE


def gender_from_national_id(national_id: str) -> str:
    """Legal gender from a fødselsnummer: the 9th digit is odd for men, even for women."""
    return "male" if int(national_id[8]) % 2 else "female"


# -- members -> profiles ----------------------------------------------------------------------


class _Profile:
    """What does not change between one member's answers (drawn once per member)."""

    __slots__ = (
        "birth",
        "bonus_scale",
        "county",
        "ended_year",
        "gender",
        "growth",
        "has_bonus",
        "hours",
        "hours_factor",
        "level",
        "managed",
        "member_id",
        "nace",
        "other_pay",
        "pay",
        "retired",
        "sector",
        "since",
        "start_age",
    )


def _profiles(members: Sequence[Mapping[str, Any]], seed: int) -> list[_Profile]:
    rng = random.Random(f"salary-demo:{seed}:profiles")
    rand, gauss, uniform, choice = rng.random, rng.gauss, rng.uniform, rng.choice
    out = []
    for m in members:
        p = _Profile()
        p.member_id = str(m["member_id"])
        p.birth = dt.date.fromisoformat(m["birth_date"])
        ms = m["membership"]
        p.since = dt.date.fromisoformat(ms["member_since"])
        ended = ms.get("status") == "ended" and ms.get("ended_on")
        p.ended_year = dt.date.fromisoformat(ms["ended_on"]).year if ended else None
        p.retired = ms.get("category") == "retired"
        level = p.level = m["position_level"]
        if level not in v.POSITION_LEVELS:
            raise ValueError(f"member {p.member_id}: unknown position level {level!r}")
        nace = p.nace = m["industry_nace"]
        if nace not in v.NACE_SECTIONS:
            raise ValueError(f"member {p.member_id}: unknown NACE section {nace!r}")
        private, public, _other = SECTOR_BY_NACE[nace]
        r = rand() * sum(SECTOR_BY_NACE[nace])
        p.sector = "private" if r < private else "public" if r < private + public else "other"
        county = county_number(m["address"]["county"])
        commute = COMMUTE.get(county)
        if commute and rand() < commute[1]:
            county = commute[0]
        p.county = county

        # Became a manager at about 29 (22 to 45), no later than when they joined Lederne.
        joined_age = age_on(p.birth, p.since)
        p.start_age = max(18, min(rng.triangular(22, 45, 29), joined_age + rand()))

        r = rand()
        if r < GENDER_NOT_STATED:
            p.gender = None
        elif r < GENDER_NOT_STATED + GENDER_OTHER:
            p.gender = "other"
        else:
            p.gender = gender_from_national_id(m["national_id"])

        # The gap follows the person, whether or not they state their gender.
        female = gender_from_national_id(m["national_id"]) == "female" and p.gender != "other"
        effect = (
            (1 + SECTOR_EFFECT[p.sector])
            * (1 + NACE_EFFECT[nace])
            * (1 + COUNTY_EFFECT[county])
            * (1 + FEMALE_EFFECT if female else 1.0)
        )
        p.pay = LEVEL_PAY[level] * effect * math.exp(gauss(0.0, LEVEL_SIGMA[level]))
        p.growth = math.log1p(GROWTH + gauss(0.0, PERSON_GROWTH_SIGMA))

        chance = BONUS_CHANCE_PRIVATE[level] if p.sector == "private" else BONUS_CHANCE[p.sector]
        p.has_bonus = rand() < chance
        p.bonus_scale = BONUS_SHARE[level] * math.exp(gauss(0.0, BONUS_SIGMA))
        p.other_pay = (
            OTHER_PAY_MEDIAN * math.exp(gauss(0.0, OTHER_PAY_SIGMA))
            if rand() < OTHER_PAY_CHANCE
            else 0.0
        )

        none_share, low, high = MANAGED[level]
        p.managed = (
            0 if rand() < none_share else math.exp(uniform(math.log(low), math.log(high + 0.5)))
        )

        r = rand()
        if r < PART_TIME_SHARE:
            p.hours = choice(PART_TIME_HOURS)
        elif r < PART_TIME_SHARE + FORTY_HOURS_SHARE:
            p.hours = 40.0
        elif r < PART_TIME_SHARE + FORTY_HOURS_SHARE + SHIFT_HOURS_SHARE:
            p.hours = 35.5
        else:
            p.hours = STANDARD_HOURS
        p.hours_factor = min(p.hours / STANDARD_HOURS, 1.0)
        out.append(p)
    return out


# -- answers ----------------------------------------------------------------------------------


def generate_answers(
    members: Sequence[Mapping[str, Any]],
    years: Iterable[int],
    seed: int = DEFAULT_SEED,
    participation: float | Mapping[int, float] = PARTICIPATION,
    exclude: Mapping[int, Collection[str]] | None = None,
) -> Iterator[tuple]:
    """Answers of `members` (demo_data member dicts) to the rounds of `years`, as tuples in
    ANSWER_COLUMNS order, year by year in member order.

    `participation` is the share of eligible members who answer (one figure, or one per
    year); `exclude` maps a year to member ids that do not answer it.
    """
    years = list(years)
    profiles = _profiles(members, seed)
    for year in years:
        rate = participation[year] if isinstance(participation, Mapping) else participation
        skip_ids = frozenset((exclude or {}).get(year, ()))
        yield from _year(profiles, year, seed, rate, skip_ids)


def _year(
    profiles: list[_Profile], year: int, seed: int, rate: float, skip_ids: frozenset[str]
) -> Iterator[tuple]:
    rng = random.Random(f"salary-demo:{seed}:{year}")
    rand, gauss = rng.random, rng.gauss
    day = dt.date(year, 10, 1)
    day_key = (10, 1)
    offset = year - BASE_YEAR
    s_bonus, s_other, s_managed = SKIP["bonus_annual"], SKIP["other_annual"], SKIP["people_managed"]
    s_exp, s_age, s_hours = SKIP["experience_years"], SKIP["age_band"], SKIP["weekly_hours"]
    exp_ = math.exp
    for p in profiles:
        if p.since > day or (p.ended_year is not None and year >= p.ended_year):
            continue
        birth = p.birth
        age = year - birth.year - (day_key < (birth.month, birth.day))
        if age < MIN_AGE or age > MAX_AGE or (p.retired and age >= RETIREMENT_AGE):
            continue
        if rand() >= rate or p.member_id in skip_ids:
            continue

        experience = min(max(int(age - p.start_age), 0), age - MIN_AGE, 60)
        exp_factor = (1 + EXPERIENCE_EFFECT) ** (
            min(experience, EXPERIENCE_CAP) - EXPERIENCE_NEUTRAL
        )
        monthly = (
            p.pay
            * exp_factor
            * exp_(p.growth * offset + gauss(0.0, YEAR_NOISE_SIGMA))
            * p.hours_factor
        )
        base = int(round(monthly, -2)) if rand() < 0.9 else int(monthly)
        base = min(max(base, 5_000), 1_000_000)

        if rand() < s_bonus:
            bonus = None
        elif p.has_bonus and rand() >= BONUS_ZERO_YEAR:
            bonus = min(
                int(round(base * 12 * p.bonus_scale * exp_(gauss(0.0, BONUS_YEAR_SIGMA)), -3)),
                20_000_000,
            )
        else:
            bonus = 0
        if rand() < s_other:
            other = None
        elif p.other_pay:
            other = min(
                int(round(p.other_pay * exp_(offset * p.growth + gauss(0.0, 0.2)), -3)), 20_000_000
            )
        else:
            other = 0

        if rand() < s_managed:
            managed = None
        elif p.managed:
            _none, low, high = MANAGED[p.level]
            managed = min(max(int(p.managed * exp_(gauss(0.0, 0.08))), low), high)
        else:
            managed = 0

        yield (
            year,
            p.member_id,
            base,
            bonus,
            other,
            p.level,
            managed,
            p.sector,
            p.nace,
            p.county,
            None if rand() < s_exp else experience,
            None if rand() < s_age else age_band(age),
            p.gender,
            None if rand() < s_hours else p.hours,
        )


# -- database ---------------------------------------------------------------------------------

COPY_SQL = f"COPY salary_answers ({', '.join(ANSWER_COLUMNS)}) FROM STDIN WITH (FORMAT csv)"
CHUNK_ROWS = 10_000


def _run(conn, sql: str, params: Sequence = (), stream=None) -> list[tuple] | None:
    """One statement on a pg8000 DB-API connection (what Cluster.connect returns)."""
    cur = conn.cursor()
    cur.execute(sql, tuple(params), stream=stream)
    return [tuple(r) for r in cur.fetchall()] if cur.description else None


def _csv_chunks(
    rows: Iterable[tuple],
    counter: list[int],
    progress: Callable[[int], Any] | None,
    chunk_rows: int,
) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    batch: list[tuple] = []
    it = iter(rows)
    while True:
        batch = []
        append = batch.append
        for row in it:
            append(row)
            if len(batch) >= chunk_rows:
                break
        if not batch:
            return
        buf.seek(0)
        buf.truncate()
        writer.writerows(batch)
        yield buf.getvalue().encode("utf-8")
        counter[0] += len(batch)
        if progress is not None:
            progress(len(batch))


def load(
    conn,
    rows: Iterable[tuple],
    progress: Callable[[int], Any] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Streams `rows` (ANSWER_COLUMNS order; None is NULL) into salary_answers with
    COPY FROM STDIN, `chunk_rows` at a time, so memory stays bounded; returns the count.

    `progress(n)` is called after each chunk is sent (`tqdm(...).update` fits). Runs in the
    caller's transaction. An exception raised by `rows` mid-stream leaves the connection
    unusable (the COPY cannot be aborted cleanly); close it.
    """
    counter = [0]
    _run(conn, COPY_SQL, stream=_csv_chunks(rows, counter, progress, chunk_rows))
    return counter[0]


def _utc(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def round_window(year: int, today: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """When a demo round is open: the current year's around `today` (30 days before to 60
    days after), any other year's from 1 October to 15 November (past ones closed)."""
    if year == today.year:
        return _utc(today - dt.timedelta(days=30)), _utc(today + dt.timedelta(days=60))
    return _utc(dt.date(year, 10, 1)), _utc(dt.date(year, 11, 15))


def ensure_rounds(conn, years: Iterable[int], today: dt.date) -> list[int]:
    """Creates the salary_rounds of `years` that do not exist yet (every optional question
    asked); returns the years it created. Runs in the caller's transaction."""
    created = []
    for year in years:
        opens, closes = round_window(year, today)
        rows = _run(
            conn,
            "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, questions)"
            " VALUES (%s, %s, %s, %s, %s, %s::text[]) ON CONFLICT (year) DO NOTHING"
            " RETURNING year",
            (
                year,
                f"Lønnsundersøkelsen {year}",
                f"Salary survey {year}",
                opens,
                closes,
                list(v.OPTIONAL_QUESTIONS),
            ),
        )
        if rows:
            created.append(year)
    return created


def spread_answer_times(conn, years: Iterable[int]) -> None:
    """Dates the answers of `years` as a survey's answers come in: from the round's opening
    to its closing (or now, for the open round), most in the first days after the invitation
    and fewer each day after (the square of a uniform share of the window, per answer from a
    hash of member and year, so the same data get the same times). COPY leaves them all at
    the moment of loading, which would put a whole round on one day of the survey manager's
    chart of answers over time. Runs in the caller's transaction."""
    _run(
        conn,
        "UPDATE salary_answers a SET created_at = t.at, updated_at = t.at FROM ("
        "SELECT a2.year, a2.member_id, r.opens_at + (least(r.closes_at, now()) - r.opens_at)"
        " * power((hashtext(a2.member_id || ':' || a2.year) & 2147483647) / 2147483648.0, 2)"
        " AS at FROM salary_answers a2 JOIN salary_rounds r USING (year)"
        " WHERE a2.year = ANY(%s) AND r.opens_at < now()) t"
        " WHERE a.year = t.year AND a.member_id = t.member_id",
        (list(years),),
    )


def demo_answers(
    members: Sequence[Mapping[str, Any]], today: dt.date, seed: int = DEFAULT_SEED, rounds: int = 5
) -> Iterator[tuple]:
    """The local demo's answers: every round from today.year - rounds + 1 to today.year;
    closed ones at PARTICIPATION of eligible members, the open one (today.year) from
    OPEN_ROUND_PARTICIPATION of active members, never from the demo member or the members
    the end-to-end tests answer as (E2E_UNANSWERED)."""
    years = list(range(today.year - rounds + 1, today.year + 1))
    yield from generate_answers(members, years[:-1], seed)
    unanswered = {DEMO_MEMBER_ID}
    unanswered |= {str(m["member_id"]) for i, m in enumerate(members) if i in E2E_UNANSWERED}
    unanswered |= {
        str(m["member_id"]) for m in members if m["membership"].get("status") != "active"
    }
    # The share is of all active members, so those left out raise the others' rate.
    active = sum(m["membership"].get("status") == "active" for m in members)
    allowed = sum(
        str(m["member_id"]) not in unanswered and is_eligible(m, today.year) for m in members
    )
    rate = min(1.0, OPEN_ROUND_PARTICIPATION * active / allowed) if allowed else 0.0
    yield from generate_answers(
        members, [today.year], seed, participation=rate, exclude={today.year: unanswered}
    )


def seed_demo(
    conn, members: Sequence[Mapping[str, Any]], today: dt.date, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """Gives the local stack's demo members five rounds of the survey, once.

    Does nothing when salary_rounds has a row (returns zero counts). Otherwise creates the
    rounds today.year - 4 .. today.year (the last open) and loads `demo_answers`, in one
    transaction it commits. Returns {"rounds": created, "answers": total, "by_year": {...}}.
    """
    existing = _run(conn, "SELECT count(*) FROM salary_rounds")[0][0]
    if existing:
        return {"rounds": 0, "answers": 0, "by_year": {}}
    years = list(range(today.year - 4, today.year + 1))
    try:
        created = ensure_rounds(conn, years, today)
        by_year: dict[int, int] = {y: 0 for y in years}

        def counted(rows):
            for row in rows:
                by_year[row[0]] += 1
                yield row

        total = load(conn, counted(demo_answers(members, today, seed, rounds=len(years))))
        spread_answer_times(conn, years)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return {"rounds": len(created), "answers": total, "by_year": by_year}


# -- CLI --------------------------------------------------------------------------------------


def connect_local(state_dir: Path, timeout: float = 600.0):
    """A DB-API connection, as the app role, to the database of the stack running from
    `state_dir`; None (having said why on stderr) when no stack runs there.

    `timeout` bounds each socket read and write: a bulk COPY can wait seconds for the
    server (a checkpoint on a slow disk), longer than the stack's usual 5 s."""
    from . import postgres, stack

    state = stack.running_state(state_dir)
    if state is None:
        return None
    secrets = json.loads((Path(state["files"]["secrets"])).read_text(encoding="utf-8"))
    cluster = postgres.Cluster(
        Path(state["state_dir"]) / "postgres",
        state["database"]["port"],
        secrets["postgres_superuser_password"],
        secrets["postgres_app_password"],
        host=state["database"]["host"],
    )
    return cluster.connect(postgres.APP_ROLE, timeout=timeout)


def main(argv: list[str] | None = None) -> int:
    from . import demo_data

    parser = argparse.ArgumentParser(
        prog="python -m infra.local.salary_demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--members",
        type=int,
        default=200_000,
        help="how many of the stand-in's members answer (default 200000)",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds up to this year's open one (default 5)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the answers (default {DEFAULT_SEED})",
    )
    parser.add_argument(
        "--participation",
        type=float,
        default=PARTICIPATION,
        help=f"share of eligible members answering a round (default {PARTICIPATION})",
    )
    parser.add_argument(
        "--state-dir",
        default=str(ROOT / ".local"),
        help="the running stack's state dir (default .local)",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="keep existing answers (default: empty salary_answers and the "
        "computed statistics first)",
    )
    args = parser.parse_args(argv)
    if args.members < 0 or args.rounds < 1:
        parser.error("--members must be >= 0 and --rounds >= 1")

    from tqdm import tqdm

    today = dt.datetime.now(dt.UTC).date()
    years = list(range(today.year - args.rounds + 1, today.year + 1))
    conn = connect_local(Path(args.state_dir))
    if conn is None:
        return 1
    t0 = time.monotonic()
    try:
        members = demo_data.generate_members(args.members)
        t_members = time.monotonic() - t0
        print(
            f"{len(members):,} members in {t_members:.1f} s; rounds {years[0]}..{years[-1]} "
            f"(the last open)",
            flush=True,
        )
        if not args.append:
            _run(
                conn,
                "TRUNCATE salary_release_tables, salary_releases, "
                "salary_statistics_uses, salary_answers",
            )
        created = ensure_rounds(conn, years, today)
        # The demo member answers the open round themselves in the demo.
        rows = generate_answers(
            members,
            years,
            args.seed,
            participation=args.participation,
            exclude={today.year: {DEMO_MEMBER_ID}},
        )
        expected = round(
            args.participation * sum(is_eligible(m, y) for y in years for m in members)
        )
        with tqdm(
            total=expected, unit=" answers", unit_scale=True, disable=None, desc="generate + COPY"
        ) as bar:
            t1 = time.monotonic()
            count = load(conn, rows, progress=bar.update)
            bar.total = count
            bar.refresh()
        spread_answer_times(conn, years)
        t_load = time.monotonic() - t1
        t_commit = time.monotonic()
        conn.commit()
        t_commit = time.monotonic() - t_commit
        by_year = _run(
            conn,
            "SELECT year, count(*) FROM salary_answers "
            "WHERE year = ANY(%s) GROUP BY year ORDER BY year",
            (years,),
        )
    finally:
        conn.close()
    print(f"rounds created: {created or 'none (all existed)'}")
    print("answers per round: " + ", ".join(f"{y}: {n:,}" for y, n in by_year))
    print(
        f"{count:,} answers generated and copied in {t_load:.1f} s "
        f"({count / max(t_load, 1e-9):,.0f}/s), commit {t_commit:.1f} s; "
        f"total {time.monotonic() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
