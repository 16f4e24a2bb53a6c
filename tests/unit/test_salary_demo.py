"""The synthetic salary-survey answers: valid, deterministic, plausible and consistent."""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lederappen.salary import vocabulary as v

from infra.local import demo_data
from infra.local import salary_demo as sd
from tests.support.examples import examples

#: solver-based and data-generating: `make unit` leaves them to `make test`
pytestmark = pytest.mark.slow

REF = dt.date(2026, 11, 25)
YEARS = list(range(2022, 2027))
COL = {c: i for i, c in enumerate(sd.ANSWER_COLUMNS)}


@pytest.fixture(scope="module")
def members():
    return demo_data.generate_members(10_000, reference_date=REF)


@pytest.fixture(scope="module")
def answers(members):
    return list(sd.generate_answers(members, YEARS, seed=7))


@pytest.fixture(scope="module")
def by_member(members):
    return {m["member_id"]: m for m in members}


def as_dict(row) -> dict:
    return dict(zip(sd.ANSWER_COLUMNS, row))


def violations(row) -> list[str]:
    """What in one row breaks salary_answers' CHECK constraints or the vocabulary."""
    a = as_dict(row)
    bad = []

    def between(name, lo, hi, nullable=True):
        x = a[name]
        if x is None:
            if not nullable:
                bad.append(f"{name} is NULL")
            return
        if not isinstance(x, (int, float)) or not lo <= x <= hi:
            bad.append(f"{name}={x!r} outside {lo}..{hi}")

    between("year", 2000, 2100, nullable=False)
    between("base_monthly", 5_000, 1_000_000, nullable=False)
    between("bonus_annual", 0, 20_000_000)
    between("other_annual", 0, 20_000_000)
    between("people_managed", 0, 100_000)
    between("experience_years", 0, 60)
    between("weekly_hours", 1, 100)
    for name in (
        "base_monthly",
        "bonus_annual",
        "other_annual",
        "people_managed",
        "experience_years",
    ):
        if a[name] is not None and not isinstance(a[name], int):
            bad.append(f"{name} is not an integer")
    if a["weekly_hours"] is not None and round(a["weekly_hours"], 1) != a["weekly_hours"]:
        bad.append("weekly_hours has more than one decimal")
    if not isinstance(a["member_id"], str) or not a["member_id"]:
        bad.append("member_id empty")
    for name, vocab, nullable in (
        ("position_level", v.POSITION_LEVELS, False),
        ("sector", v.SECTORS, False),
        ("nace", v.NACE_SECTIONS, False),
        ("county", v.COUNTIES, False),
        ("age_band", v.AGE_BANDS, True),
        ("gender", v.GENDERS, True),
    ):
        if a[name] is None and nullable:
            continue
        if a[name] not in vocab:
            bad.append(f"{name}={a[name]!r} not in the vocabulary")
    return bad


def age_at_round(member, year) -> int:
    return sd.age_on(dt.date.fromisoformat(member["birth_date"]), dt.date(year, 10, 1))


def eligible(member, year) -> bool:
    ms = member["membership"]
    day = dt.date(year, 10, 1)
    if dt.date.fromisoformat(ms["member_since"]) > day:
        return False
    if ms["status"] == "ended" and year >= dt.date.fromisoformat(ms["ended_on"]).year:
        return False
    age = age_at_round(member, year)
    if ms["category"] == "retired" and age >= sd.RETIREMENT_AGE:
        return False
    return 16 <= age <= 80


# -- shape and validity ---------------------------------------------------------------------


def test_is_eligible_agrees_with_the_rules(members):
    for year in (2000, 2022, 2026, 2031):
        assert all(sd.is_eligible(m, year) == eligible(m, year) for m in members)


def test_rows_have_the_answer_columns_in_order(answers):
    assert sd.ANSWER_COLUMNS[:2] == ("year", "member_id")
    assert all(len(r) == len(sd.ANSWER_COLUMNS) for r in answers)


def test_every_row_satisfies_the_check_constraints_and_the_vocabulary(answers):
    bad = [(r, violations(r)) for r in answers if violations(r)]
    assert not bad, bad[:5]


def test_every_optional_question_is_sometimes_left_unanswered(answers):
    for name in (
        "bonus_annual",
        "other_annual",
        "people_managed",
        "experience_years",
        "age_band",
        "gender",
        "weekly_hours",
    ):
        share = sum(r[COL[name]] is None for r in answers) / len(answers)
        assert 0.005 < share < 0.15, (name, share)


def test_experience_never_exceeds_age_minus_16_and_age_band_is_the_age_at_1_october(
    answers, by_member
):
    for r in answers:
        a = as_dict(r)
        age = age_at_round(by_member[a["member_id"]], a["year"])
        assert 16 <= age <= 80
        if a["experience_years"] is not None:
            assert a["experience_years"] <= age - v.EARLIEST_WORKING_AGE
            assert a["experience_years"] <= v.AGE_BAND_MAX_AGE[sd.age_band(age)] - 16
        if a["age_band"] is not None:
            assert a["age_band"] == sd.age_band(age)
            assert v.AGE_BAND_MIN_AGE[a["age_band"]] <= age <= v.AGE_BAND_MAX_AGE[a["age_band"]]


def test_only_members_at_the_time_answer_and_ended_members_only_before_the_year_they_left(
    answers, by_member
):
    for r in answers:
        assert eligible(by_member[r[COL["member_id"]]], r[COL["year"]])
    ended_answers = [
        r for r in answers if by_member[r[COL["member_id"]]]["membership"]["status"] == "ended"
    ]
    assert ended_answers, "ended members answer the rounds from when they were members"


def test_answers_keep_the_members_register_facts(answers, by_member):
    for r in answers:
        m = by_member[r[COL["member_id"]]]
        assert r[COL["position_level"]] == m["position_level"]
        assert r[COL["nace"]] == m["industry_nace"]
        home = sd.county_number(m["address"]["county"])
        assert r[COL["county"]] == home or (home, r[COL["county"]]) in {
            (h, w) for h, (w, _share) in sd.COMMUTE.items()
        }
        gender = r[COL["gender"]]
        if gender in ("female", "male"):
            assert gender == sd.gender_from_national_id(m["national_id"])


def test_gender_is_not_stated_in_about_a_tenth_of_answers(answers):
    share = sum(r[COL["gender"]] is None for r in answers) / len(answers)
    assert 0.07 < share < 0.13


def test_county_names_map_to_official_numbers():
    assert sd.county_number("Møre og Romsdal") == "15"
    assert sd.county_number("Oslo") == "03"
    assert {sd.county_number(name) for name in demo_data.COUNTIES} == set(v.COUNTIES)
    with pytest.raises(ValueError, match="unknown county"):
        sd.county_number("Sogn og Fjordane")


def test_fodselsnummer_gives_gender_by_its_ninth_digit():
    assert sd.gender_from_national_id("01017012345") == "male"  # 9th digit 3
    assert sd.gender_from_national_id("01017012245") == "female"  # 9th digit 2


# -- determinism ----------------------------------------------------------------------------


def test_the_same_members_years_and_seed_give_the_same_answers(members, answers):
    assert list(sd.generate_answers(members, YEARS, seed=7)) == answers
    assert list(sd.generate_answers(members[:500], YEARS, seed=8)) != [
        r for r in answers if r[COL["member_id"]] in {m["member_id"] for m in members[:500]}
    ]


def test_a_years_answers_do_not_depend_on_the_other_years_generated(members, answers):
    alone = list(sd.generate_answers(members, [2024], seed=7))
    assert alone == [r for r in answers if r[COL["year"]] == 2024]


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), year=st.integers(2000, 2100), participation=st.floats(0.0, 1.0))
def test_any_seed_year_and_participation_give_only_valid_rows(seed, year, participation):
    members = _small_members()
    rows = list(sd.generate_answers(members, [year], seed=seed, participation=participation))
    assert all(not violations(r) for r in rows)
    if participation == 0.0:
        assert rows == []


_SMALL: list = []


def _small_members():
    if not _SMALL:
        _SMALL.extend(demo_data.generate_members(300, reference_date=REF))
    return _SMALL


# -- realism --------------------------------------------------------------------------------


def test_median_base_pay_rises_with_position_level_and_hits_the_targets(answers):
    base_year = [r for r in answers if r[COL["year"]] == sd.BASE_YEAR]
    medians = {
        lvl: statistics.median(
            r[COL["base_monthly"]] for r in base_year if r[COL["position_level"]] == lvl
        )
        for lvl in v.POSITION_LEVELS
    }
    assert medians["first_line"] < medians["middle"] < medians["senior"] < medians["executive"]
    for lvl, target in sd.TARGET_MEDIANS.items():
        tolerance = 0.08 if lvl == "executive" else 0.04  # few executives in 10,000 members
        assert abs(medians[lvl] / target - 1) < tolerance, (lvl, medians[lvl], target)


def test_women_are_paid_less_than_men_at_every_level(answers):
    for lvl in v.POSITION_LEVELS:
        pay = defaultdict(list)
        for r in answers:
            if r[COL["position_level"]] == lvl:
                pay[r[COL["gender"]]].append(r[COL["base_monthly"]])
        gap = statistics.median(pay["female"]) / statistics.median(pay["male"]) - 1
        assert -0.10 < gap < 0.0, (lvl, gap)


def test_public_sector_pays_less_and_rarely_pays_bonus(answers):
    by_sector = defaultdict(list)
    for r in answers:
        by_sector[r[COL["sector"]]].append(r)
    assert set(by_sector) == set(v.SECTORS)

    def median_pay(rows):
        return statistics.median(r[COL["base_monthly"]] for r in rows)

    assert median_pay(by_sector["public"]) < median_pay(by_sector["private"])

    def bonus_share(rows):
        return sum(bool(r[COL["bonus_annual"]]) for r in rows) / len(rows)

    assert 0.40 < bonus_share(by_sector["private"]) < 0.50
    assert bonus_share(by_sector["public"]) < 0.10


def test_public_administration_is_public_and_most_industry_private(answers):
    sectors = defaultdict(lambda: defaultdict(int))
    for r in answers:
        sectors[r[COL["nace"]]][r[COL["sector"]]] += 1
    assert set(sectors["O"]) == {"public"}
    c = sectors["C"]
    assert c["private"] / sum(c.values()) > 0.9


def test_oslo_pays_more_than_finnmark_and_finance_more_than_hotels(answers):
    def median_where(col, value):
        return statistics.median(r[COL["base_monthly"]] for r in answers if r[COL[col]] == value)

    assert median_where("county", "03") > median_where("county", "56")
    assert median_where("nace", "K") > median_where("nace", "I")


def test_people_managed_stays_within_each_levels_range(answers):
    for r in answers:
        n = r[COL["people_managed"]]
        if n:
            _none, low, high = sd.MANAGED[r[COL["position_level"]]]
            assert low <= n <= high
    zero = sum(r[COL["people_managed"]] == 0 for r in answers) / len(answers)
    assert 0.01 < zero < 0.10


def test_most_work_37_5_hours_and_about_5_percent_part_time(answers):
    hours = [r[COL["weekly_hours"]] for r in answers if r[COL["weekly_hours"]] is not None]
    assert statistics.mode(hours) == 37.5
    part_time = sum(h < v.FULL_TIME_HOURS for h in hours) / len(hours)
    assert 0.03 < part_time < 0.07
    assert all(20 <= h < 35 for h in hours if h < v.FULL_TIME_HOURS)


def test_about_95_percent_of_eligible_members_answer_each_round(members, answers):
    counts = defaultdict(int)
    for r in answers:
        counts[r[COL["year"]]] += 1
    for year in YEARS:
        n_eligible = sum(eligible(m, year) for m in members)
        assert 0.93 < counts[year] / n_eligible < 0.97, year


def test_participation_can_be_set_per_year_and_members_excluded(members):
    rows = list(
        sd.generate_answers(
            members,
            [2025, 2026],
            seed=7,
            participation={2025: 1.0, 2026: 0.4},
            exclude={2026: {demo_data.DEMO_MEMBER_ID}},
        )
    )
    n = defaultdict(int)
    for r in rows:
        n[r[COL["year"]]] += 1
    assert n[2025] == sum(eligible(m, 2025) for m in members)
    assert 0.35 < n[2026] / sum(eligible(m, 2026) for m in members) < 0.45
    assert (2026, demo_data.DEMO_MEMBER_ID) not in {(r[0], r[1]) for r in rows}


def test_a_members_answers_across_years_are_one_persons(answers):
    per = defaultdict(dict)
    for r in answers:
        per[r[COL["member_id"]]][r[COL["year"]]] = as_dict(r)
    ratios = []
    for years in per.values():
        for year, a in years.items():
            b = years.get(year + 1)
            if b is None:
                continue
            for key in ("position_level", "sector", "nace", "county", "gender"):
                assert a[key] == b[key], key
            if a["experience_years"] is not None and b["experience_years"] is not None:
                assert b["experience_years"] - a["experience_years"] == (
                    1 if a["experience_years"] > 0 else b["experience_years"]
                )
                assert b["experience_years"] - a["experience_years"] in (0, 1)
            if a["weekly_hours"] == b["weekly_hours"] == 37.5:
                ratio = b["base_monthly"] / a["base_monthly"]
                assert 0.85 < ratio < 1.25
                ratios.append(ratio)
    growth = statistics.median(ratios) - 1
    assert 0.04 <= growth < 0.065, growth  # 4 % a year plus a year more of experience


def test_earlier_rounds_pay_less(answers):
    medians = [
        statistics.median(r[COL["base_monthly"]] for r in answers if r[0] == y) for y in YEARS
    ]
    assert medians == sorted(medians)


# -- the demo seed --------------------------------------------------------------------------


def test_demo_answers_leave_the_open_round_to_the_demo_member_and_the_e2e_slice():
    members = demo_data.generate_members(300, reference_date=REF)
    rows = list(sd.demo_answers(members, REF))
    years = {r[0] for r in rows}
    assert years == set(range(REF.year - 4, REF.year + 1))
    open_ids = {r[1] for r in rows if r[0] == REF.year}
    assert demo_data.DEMO_MEMBER_ID not in open_ids
    assert not open_ids & {m["member_id"] for m in members[100:200]}
    active = {m["member_id"] for m in members if m["membership"]["status"] == "active"}
    assert open_ids <= active
    assert 0.32 < len(open_ids) / len(active) < 0.48
    closed = [r for r in rows if r[0] < REF.year]
    assert demo_data.DEMO_MEMBER_ID in {r[1] for r in closed}
    assert {m["member_id"] for m in members[100:200]} & {r[1] for r in closed}


def test_round_windows_close_past_rounds_and_open_this_years_around_today():
    today = dt.date(2026, 3, 10)
    opens, closes = sd.round_window(2026, today)
    now = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    assert opens < now < closes and opens.tzinfo and closes.tzinfo
    for year in range(2020, 2026):
        o, c = sd.round_window(year, today)
        assert o < c < opens
        assert (o.date(), c.date()) == (dt.date(year, 10, 1), dt.date(year, 11, 15))
    o, c = sd.round_window(2031, today)
    assert now < o < c


# -- COPY streaming (fake connections; the real one is in tests/integration) -----------------


class FakeCursor:
    def __init__(self, log):
        self.log = log
        self.description = None

    def execute(self, sql, args=(), stream=None):
        chunks = list(stream) if stream is not None else None
        self.log.append((sql, args, chunks))


class FakeDbapi:
    def __init__(self):
        self.log = []

    def cursor(self):
        return FakeCursor(self.log)


def test_load_streams_csv_chunks_to_copy_and_reports_progress(members):
    rows = list(sd.generate_answers(members[:800], [2025], seed=1))
    conn = FakeDbapi()
    seen = []
    n = sd.load(conn, iter(rows), progress=seen.append, chunk_rows=100)
    assert n == len(rows) == sum(seen)
    assert all(s <= 100 for s in seen)
    ((sql, _args, chunks),) = conn.log
    assert sql.startswith("COPY salary_answers (year, member_id, base_monthly")
    assert "FROM STDIN" in sql and "csv" in sql
    assert len(chunks) == len(seen) and all(isinstance(c, bytes) for c in chunks)
    parsed = list(csv.reader(io.StringIO(b"".join(chunks).decode("utf-8"))))
    assert len(parsed) == len(rows)
    for got, want in zip(parsed, rows):
        assert got == ["" if x is None else str(x) for x in want]
