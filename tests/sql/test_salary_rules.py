"""The salary survey's rules that PostgreSQL keeps (migrations 0004, 0011, 0012)."""

from __future__ import annotations

from typing import Any

import pg8000.dbapi
import pytest

ROUND = 2031


def _round(cur: Any, year: int = ROUND) -> None:
    cur.execute(
        "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, questions) "
        "VALUES (%s, 't', 't', now() - interval '2 days', now() - interval '1 day', "
        "ARRAY['base_monthly'])",
        (year,),
    )


def _answer(cur: Any, member: str, **overrides: Any) -> None:
    row = {
        "year": ROUND,
        "member_id": member,
        "base_monthly": 60_000,
        "position_level": "middle",
        "sector": "private",
        "nace": "C",
        "county": "03",
        **overrides,
    }
    cols = ", ".join(row)
    cur.execute(
        f"INSERT INTO salary_answers ({cols}) VALUES ({', '.join(['%s'] * len(row))})",
        tuple(row.values()),
    )


def test_derived_columns_are_computed_by_the_database(cur: Any) -> None:
    _round(cur)
    _answer(cur, "m1", bonus_annual=24_000, experience_years=12, people_managed=7)
    cur.execute(
        "SELECT total_annual, experience, managed FROM salary_answers WHERE member_id = 'm1'"
    )
    assert list(cur.fetchall()) == [[60_000 * 12 + 24_000, "10_19", "5_9"]]


@pytest.mark.parametrize(
    "overrides",
    [
        {"base_monthly": 4_999},
        {"position_level": "ceo"},
        {"nace": "Z"},
        {"county": "3"},
        {"gender": "unknown"},
        {"member_id": ""},
    ],
)
def test_an_answer_outside_the_vocabulary_is_refused(cur: Any, overrides: dict) -> None:
    _round(cur)
    with pytest.raises(pg8000.dbapi.DatabaseError, match="23514"):  # check_violation
        _answer(cur, "m1", **overrides)


def test_a_restriction_forgets_that_the_answers_were_used_so_the_next_use_is_audited_again(
    cur: Any,
) -> None:
    """S2: the statistics job audits each answer it reads once; a restriction (and its
    lifting) deletes the member's marks in the same statement, so the first use afterwards is
    audited anew. Other members' marks stay."""
    _round(cur)
    for m in ("m1", "m2"):
        _answer(cur, m)
        cur.execute(
            "INSERT INTO salary_statistics_uses (year, member_id, audited_at) "
            "VALUES (%s, %s, now())",
            (ROUND, m),
        )
    cur.execute("INSERT INTO processing_restrictions (member_id) VALUES ('m1')")
    cur.execute("SELECT member_id FROM salary_statistics_uses ORDER BY member_id")
    assert list(cur.fetchall()) == [["m2"]]
    cur.execute(
        "INSERT INTO salary_statistics_uses (year, member_id, audited_at) VALUES (%s, 'm1', now())",
        (ROUND,),
    )
    cur.execute("DELETE FROM processing_restrictions WHERE member_id = 'm1'")
    cur.execute("SELECT member_id FROM salary_statistics_uses ORDER BY member_id")
    assert list(cur.fetchall()) == [["m2"]]


def test_deleting_an_answer_deletes_its_use_marks(cur: Any) -> None:
    _round(cur)
    _answer(cur, "m1")
    cur.execute(
        "INSERT INTO salary_statistics_uses (year, member_id, audited_at) VALUES (%s, 'm1', now())",
        (ROUND,),
    )
    cur.execute("DELETE FROM salary_answers WHERE member_id = 'm1'")
    cur.execute("SELECT count(*) FROM salary_statistics_uses")
    assert list(cur.fetchall()) == [[0]]


def test_a_round_must_close_after_it_opens(cur: Any) -> None:
    with pytest.raises(pg8000.dbapi.DatabaseError, match="23514"):
        cur.execute(
            "INSERT INTO salary_rounds (year, title_nb, title_en, opens_at, closes_at, questions) "
            "VALUES (2032, 't', 't', now(), now() - interval '1 second', ARRAY['x'])"
        )
