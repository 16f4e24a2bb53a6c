"""The deterministic demo data set behind the local lederne.no stand-in."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from infra.local import demo_data
from infra.local.demo_data import (
    COUNTIES,
    DEMO_ENDED_MEMBER_ID,
    DEMO_MEMBER_ID,
    NACE_SECTIONS,
    generate_benefits,
    generate_content,
    generate_courses,
    generate_members,
    generate_staff,
)

REF = dt.date(2026, 11, 25)
MEMBER_KEYS = {
    "member_id",
    "given_name",
    "family_name",
    "email",
    "phone",
    "national_id",
    "birth_date",
    "address",
    "employer",
    "position",
    "industry_nace",
    "position_level",
    "membership",
    "version",
    "updated_at",
}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


# Independent implementations of the official checks (not the module's own helpers).
def _mod11(digits, weights):
    rest = 11 - sum(d * w for d, w in zip(digits, weights)) % 11
    return 0 if rest == 11 else rest


def fnr_valid(fnr: str) -> bool:
    d = [int(c) for c in fnr]
    k1 = _mod11(d[:9], (3, 7, 6, 1, 8, 9, 4, 5, 2))
    k2 = _mod11(d[:10], (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    return len(fnr) == 11 and k1 == d[9] and k2 == d[10]


def fnr_date(fnr: str) -> dt.date:
    yy, ind = int(fnr[4:6]), int(fnr[6:9])
    century = 1900 if ind < 500 or (ind >= 900 and yy >= 40) else 2000
    return dt.date(century + yy, int(fnr[2:4]), int(fnr[0:2]))


def orgnr_valid(orgnr: str) -> bool:
    d = [int(c) for c in orgnr]
    return len(orgnr) == 9 and _mod11(d[:8], (3, 2, 7, 6, 5, 4, 3, 2)) == d[8]


@pytest.fixture(scope="module")
def members():
    return generate_members(300, seed=42, reference_date=REF)


def test_same_seed_and_reference_date_give_identical_members(members):
    assert generate_members(300, seed=42, reference_date=REF) == members


def test_other_seed_gives_other_members_but_same_demo_ids(members):
    other = generate_members(300, seed=7, reference_date=REF)
    assert other != members
    assert other[0]["member_id"] == DEMO_MEMBER_ID
    assert other[1]["member_id"] == DEMO_ENDED_MEMBER_ID


def test_smaller_set_is_prefix_of_larger_set(members):
    assert generate_members(50, seed=42, reference_date=REF) == members[:50]


def test_identity_fields_do_not_depend_on_reference_date(members):
    later = generate_members(300, seed=42, reference_date=REF + dt.timedelta(days=100))
    for a, b in zip(members, later):
        for key in (
            "member_id",
            "given_name",
            "family_name",
            "email",
            "phone",
            "national_id",
            "birth_date",
            "address",
            "employer",
            "position",
        ):
            assert a[key] == b[key]
        assert a["membership"]["status"] == b["membership"]["status"]
        assert a["membership"]["member_since"] == b["membership"]["member_since"]


def test_member_has_exact_keys_and_shapes(members):
    ids = [m["member_id"] for m in members]
    assert len(set(ids)) == len(ids)
    for m in members:
        assert set(m) == MEMBER_KEYS
        assert re.fullmatch(r"\d{7}", m["member_id"])
        assert re.fullmatch(r"\+47[49]\d{7}", m["phone"])
        assert re.fullmatch(r"[a-z0-9.-]+@([a-z]+\.)?example\.(no|com|net|org)", m["email"]), m[
            "email"
        ]
        assert set(m["address"]) == {"street", "postal_code", "city", "county"}
        assert re.fullmatch(r"\d{4}", m["address"]["postal_code"])
        assert m["address"]["county"] in COUNTIES
        assert set(m["employer"]) == {"name", "org_number"}
        assert m["industry_nace"] in NACE_SECTIONS
        assert m["position_level"] in ("first_line", "middle", "senior", "executive")
        assert m["position"]
        ms = m["membership"]
        assert set(ms) == {"status", "member_since", "ended_on", "category"}
        assert ms["status"] in ("active", "ended")
        assert ms["category"] in ("ordinary", "student", "retired")
        assert (ms["ended_on"] is None) == (ms["status"] == "active")
        assert m["version"] == 1
        assert RFC3339_UTC.match(m["updated_at"])


def test_national_ids_have_valid_check_digits_and_match_birth_date(members):
    for m in members:
        assert fnr_valid(m["national_id"]), m["national_id"]
        assert fnr_date(m["national_id"]).isoformat() == m["birth_date"]
        assert demo_data.fnr_is_valid(m["national_id"])


def test_org_numbers_have_valid_mod11_check_digit(members):
    for m in members:
        assert orgnr_valid(m["employer"]["org_number"]), m["employer"]["org_number"]
        assert demo_data.orgnr_is_valid(m["employer"]["org_number"])


def test_about_ten_percent_ended_within_the_past_year():
    many = generate_members(2000, seed=42, reference_date=REF)
    ended = [m for m in many if m["membership"]["status"] == "ended"]
    assert 0.07 <= len(ended) / len(many) <= 0.13
    for m in ended:
        ended_on = dt.date.fromisoformat(m["membership"]["ended_on"])
        assert REF - dt.timedelta(days=366) <= ended_on < REF
        assert ended_on >= dt.date.fromisoformat(m["membership"]["member_since"])


def test_demo_member_is_first_and_active_and_known_ended_member_is_ended(members):
    assert members[0]["member_id"] == DEMO_MEMBER_ID
    assert members[0]["membership"]["status"] == "active"
    ended = {m["member_id"]: m for m in members}[DEMO_ENDED_MEMBER_ID]
    assert ended["membership"]["status"] == "ended"


def test_counties_and_nace_sections_are_complete():
    assert len(COUNTIES) == 15 and len(set(COUNTIES)) == 15
    assert {"Oslo", "Møre og Romsdal", "Trøndelag", "Troms", "Finnmark"} <= set(COUNTIES)
    assert list(NACE_SECTIONS) == [chr(c) for c in range(ord("A"), ord("U") + 1)]


def test_topics_are_snake_case_and_bilingual():
    ids = [t["id"] for t in demo_data.TOPICS]
    assert len(ids) == 15 and len(set(ids)) == 15
    assert "leadership" in ids and "salary_negotiation" in ids
    for t in demo_data.TOPICS:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", t["id"])
        assert t["label"]["nb"] and t["label"]["en"]


def test_courses_start_within_next_twelve_months_sorted_with_known_topics():
    courses = generate_courses(REF)
    assert generate_courses(REF) == courses
    assert 35 <= len(courses) <= 45
    topic_ids = {t["id"] for t in demo_data.TOPICS}
    starts = [c["starts_at"] for c in courses]
    assert starts == sorted(starts)
    assert len({c["id"] for c in courses}) == len(courses)
    for c in courses:
        start = dt.datetime.fromisoformat(c["starts_at"])
        end = dt.datetime.fromisoformat(c["ends_at"])
        assert REF < start.date() <= REF + dt.timedelta(days=366) and end > start
        assert set(c["topics"]) <= topic_ids and c["topics"]
        assert (c["format"] == "digital") == (c["county"] is None)
        assert c["county"] is None or c["county"] in COUNTIES
        assert c["url"].startswith("https://www.lederne.no/kurs/")
        assert c["seats_left"] >= 0 and c["title"]["nb"] and c["title"]["en"]


def test_content_and_benefits_have_documented_shapes():
    content = generate_content(REF)
    assert 55 <= len(content) <= 65
    assert {c["type"] for c in content} == {"ebook", "podcast", "article"}
    for c in content:
        assert set(c) == {"id", "type", "title", "summary", "topics", "published_at", "url"}
        assert c["url"].startswith("https://www.lederne.no/")
        assert RFC3339_UTC.match(c["published_at"]) and c["published_at"] < REF.isoformat()
    benefits = generate_benefits(REF)
    assert 18 <= len(benefits) <= 22
    for b in benefits:
        assert set(b) == {"id", "title", "description", "partner", "category", "url", "valid_until"}
        assert b["category"] in (
            "insurance",
            "banking",
            "travel",
            "shopping",
            "education",
            "health",
        )
        assert dt.date.fromisoformat(b["valid_until"]) > REF


def test_module_level_feeds_are_built_for_today():
    assert len(demo_data.COURSES) == len(generate_courses())
    assert demo_data.CONTENT and demo_data.BENEFITS


def test_staff_users_have_roles():
    staff = {s["username"]: s for s in generate_staff()}
    assert staff["personvern"] == {
        "username": "personvern",
        "sub": "staff-0001",
        "roles": ["staff", "privacy_officer"],
    }
    assert staff["redaktor"]["roles"] == ["staff", "editor"]
    assert staff["medlemsservice"]["roles"] == ["staff", "member_service"]


def test_three_hundred_members_generate_fast():
    start = time.perf_counter()
    generate_members(300)
    assert time.perf_counter() - start < 0.5
