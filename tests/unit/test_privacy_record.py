"""The record of processing activities (Art. 30) is generated from the data map: every store
is in it, in Norwegian and English, as JSON and as Markdown, and it holds no personal data.
The access and export builders are checked here too, without I/O (fakes for the ports)."""

import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lederappen.core import datamap, log
from lederappen.privacy import access, export, record
from lederappen.profile import service as profile_service

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def rec():
    return record.build(NOW)


def test_every_store_of_the_data_map_is_an_activity(rec):
    names = [a["store"] for a in rec["activities"]]
    assert names == ["member_register"] + [s.name for s in datamap.STORES]


def test_every_activity_is_described_in_both_languages(rec):
    for a in rec["activities"]:
        for key in ("title", "source", "purpose", "retention", "erasure"):
            assert a[key]["nb"] and a[key]["en"], (a["store"], key)
        assert a["legal_basis"] and a["category"]
        assert a["recipients"] and all(r["nb"] and r["en"] for r in a["recipients"])
        assert a["data"] and all(
            d["description"]["nb"] and d["description"]["en"] for d in a["data"]
        )
    for key in ("title", "data_subjects", "transfers"):
        assert rec[key]["nb"] and rec[key]["en"]
    assert all(m["nb"] and m["en"] for m in rec["security_measures"])
    assert all(p["role"]["nb"] and p["role"]["en"] for p in rec["processors"])


def test_the_record_names_controller_and_data_protection_officer(rec):
    assert rec["controller"]["email"] == "post@lederne.no"
    assert rec["data_protection_officer"]["email"] == "personvern@lederne.no"


def test_the_record_says_what_is_stored_and_what_only_passes_through(rec):
    by_store = {a["store"]: a for a in rec["activities"]}
    assert by_store["member_register"]["stored"] is False
    assert all(by_store[s.name]["stored"] for s in datamap.STORES)
    assert by_store["audit_events"]["pseudonymised"] is True
    assert by_store["mentor_proposals"]["member_keys"] == ["mentee_id", "mentor_id"]
    assert {a["store"] for a in rec["activities"] if a["provided_by_member"]} == {
        s.name for s in datamap.STORES if s.provided_by_member
    }


@pytest.mark.parametrize("locale", ["nb", "en"])
def test_markdown_lists_every_store_with_its_texts_in_the_language(rec, locale):
    md = record.markdown(rec, locale)
    assert md.startswith(f"# {record.TITLE[locale]}\n")
    for s in datamap.STORES:
        assert f"(`{s.name}`)" in md
        assert " ".join(s.purpose[locale].split()) in md
        assert " ".join(s.retention[locale].split()) in md
    other = "en" if locale == "nb" else "nb"
    assert datamap.STORES[0].purpose[other] not in md


def test_markdown_table_cells_cannot_break_the_table():
    assert record._cell("a | b\nc") == "a \\| b c"


def test_the_record_holds_no_member_data(rec):
    text = json.dumps(rec)
    assert not re.search(r"\b1\d{6}\b", text), "a member number in the record"


def test_the_script_prints_the_same_markdown():
    out = subprocess.run(
        [sys.executable, "infra/scripts/processing_record.py", "--lang", "en"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.startswith("# " + record.TITLE["en"])
    for s in datamap.STORES:
        assert f"(`{s.name}`)" in out
    as_json = subprocess.run(
        [sys.executable, "infra/scripts/processing_record.py", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert [a["store"] for a in json.loads(as_json)["activities"]][1:] == [
        s.name for s in datamap.STORES
    ]


def test_the_profile_fields_in_the_map_are_the_profile_views():
    """The register's pass-through (R1) is described field by field; a field added to the
    profile view must be described too."""
    record_ = {"member_id": "1", "address": {}, "employer": {}, "membership": {}}
    view = profile_service.view(record_, False, NOW)
    assert [c.name for c in datamap.REGISTER.fields] == list(view)


# -- access and export without I/O ---------------------------------------------------------------


class FakeCursor:
    """Answers every statement with no rows, recording what was asked."""

    def __init__(self):
        self.statements: list[tuple[str, tuple]] = []

    def execute(self, sql, params=()):
        self.statements.append((sql, params))

    def fetchall(self):
        return []

    def fetchone(self):
        return (0,)


@pytest.fixture(autouse=True)
def pseudonyms():
    log.configure(b"k" * 32)


def test_sql_reads_never_select_a_member_key_and_match_every_key():
    cur = FakeCursor()
    for store in datamap.sql_tables().values():
        access.sql_page(cur, store, "1000321", pseudonym=log.pseudonym, limit=5)
    for (sql, params), store in zip(cur.statements, datamap.sql_tables().values()):
        selected = sql.split(" FROM ", 1)[0]
        for key in store.member_keys:
            assert f'"{key}" AS' not in selected and f', "{key}",' not in selected
            assert f'"{key}"' in sql.split(" WHERE ", 1)[1]
        expected = log.pseudonym("1000321") if store.key_form == "pseudonym" else "1000321"
        mine = sum((c.sql or "").count("{me}") for c in store.export_columns)
        assert params.count(expected) == len(store.member_keys) + len(store.roles) + mine
        assert params[-1] == 6


def test_a_pair_row_shows_the_callers_role_not_the_other_member():
    cur = FakeCursor()
    access.sql_page(
        cur, datamap.by_name("mentor_proposals"), "1000321", pseudonym=log.pseudonym, limit=5
    )
    sql, _ = cur.statements[0]
    assert "CASE WHEN \"mentee_id\" = %s THEN 'mentee' WHEN \"mentor_id\" = %s THEN 'mentor'" in sql
    assert '("mentee_id" = %s OR "mentor_id" = %s)' in sql


def test_values_become_json():
    from decimal import Decimal
    from uuid import UUID

    value = {
        "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "n": Decimal("37.5"),
        "i": Decimal(12),
        "u": UUID(int=1),
        "l": [{"fcm_token": "x", "p": "ios"}],
    }
    assert access.plain(value, omit=("fcm_token",)) == {
        "at": "2026-01-02T03:04:05Z",
        "n": 37.5,
        "i": 12,
        "u": "00000000-0000-0000-0000-000000000001",
        "l": [{"p": "ios"}],
    }


def test_a_cursor_works_only_for_its_own_store():
    store = datamap.by_name("consent_events")
    cursor = access.encode_cursor(store, [42])
    assert access.decode_cursor(store, cursor) == [42]
    with pytest.raises(Exception) as err:
        access.decode_cursor(datamap.by_name("outbox"), cursor)
    assert getattr(err.value, "status", None) == 422
    when = datetime(2026, 1, 1, tzinfo=UTC)
    pair = datamap.by_name("message_recipients")
    assert access.decode_cursor(pair, access.encode_cursor(pair, [when, "m"])) == [when, "m"]


class FakeRegister:
    def __init__(self, record_):
        self.record = record_

    def get_member(self, member_id):
        return self.record


def _snapshot(work):
    return work(FakeCursor())


def test_sql_and_messages_in_transit_each_get_a_section_and_the_register_runs_alongside():
    stores = [s for s in datamap.STORES if s.kind != "firestore"]  # Firestore: e2e
    register = FakeRegister(None)
    pages, profile = access.read_pages(
        "1000321",
        stores,
        snapshot=_snapshot,
        firestore_client=None,
        pseudonym=log.pseudonym,
        limit=10,
        also=lambda: register.get_member("1000321"),
    )
    assert profile is None
    assert set(pages) == {s.name for s in stores}
    transit = pages["message-delivery"]
    assert transit.items == [] and transit.total is None
    sec = access.section(datamap.by_name("message-delivery"), transit)
    assert sec["note"]["nb"] and sec["note"]["en"] and sec["source"]["en"].startswith("Pub/Sub")
    prof = access.profile_section("1000321", None, False, NOW)
    assert prof["items"] == [] and prof["note"] and prof["kind"] == "register"


def _export_doc(items_by_store):
    sections = []
    for s in export.provided_stores():
        page = access.Page(items_by_store.get(s.name, []), len(items_by_store.get(s.name, [])))
        sections.append(export._section(s, page))
    return {
        "format": export.FORMAT,
        "format_version": 1,
        "schema": export.SCHEMA,
        "generated_at": "2026-05-04T10:30:00Z",
        "member_id": "1000321",
        "controller": record.controller(),
        "description": export.DESCRIPTION,
        "sections": sections,
    }


def test_export_holds_only_what_the_member_provided_without_derived_values():
    stores = export.provided_stores()
    assert {s.name for s in stores} == {s.name for s in datamap.STORES if s.provided_by_member}
    salary = export._section(datamap.by_name("salary_answers"), access.Page([], 0))
    names = {f["name"] for f in salary["fields"]}
    assert "base_monthly_salary" in names and "total_annual_pay" not in names


@pytest.mark.parametrize(
    "locale, heading",
    [("nb", "Dine opplysninger fra Lederappen"), ("en", "Your data from Lederappen")],
)
def test_the_html_page_escapes_everything_and_follows_the_language(locale, heading):
    evil = '<script>alert("x")</script>&'
    doc = _export_doc(
        {
            "mentor_engagements": [
                {"role": "mentor", "presentation": evil, "topics": ["<b>"], "capacity": None}
            ]
        }
    )
    page = export.render_html(doc, locale)
    assert f'<html lang="{locale}">' in page and f"<h1>{heading}</h1>" in page
    assert "<script" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page
    assert datamap.by_name("mentor_engagements").title[locale] in page
