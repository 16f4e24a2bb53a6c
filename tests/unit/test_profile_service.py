"""Profile (F1): read live, minimised, never another member's record."""

from datetime import UTC, datetime

import pytest
from lederappen.core.problems import NotFound
from lederappen.profile import service

RECORD = {
    "member_id": "1000001",
    "given_name": "Kari",
    "family_name": "Nordmann",
    "email": "kari@example.no",
    "phone": "+4791234567",
    "national_id": "01017012345",
    "birth_date": "1970-01-01",
    "address": {
        "street": "Storgata 25",
        "postal_code": "0184",
        "city": "Oslo",
        "county": "Oslo",
        "internal": "x",
    },
    "employer": {"name": "Fjord AS", "org_number": "923609016"},
    "position": "Avdelingsleder",
    "industry_nace": "C",
    "position_level": "middle",
    "membership": {
        "status": "active",
        "member_since": "2015-03-01",
        "ended_on": None,
        "category": "ordinary",
    },
    "version": 7,
}
NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class FakeRegister:
    def __init__(self, records):
        self.records, self.calls = records, []

    def get_member(self, member_id):
        self.calls.append(member_id)
        return self.records.get(member_id)


def test_profile_passes_through_only_the_app_fields():
    view, version = service.get_profile(
        "1000001", FakeRegister({"1000001": RECORD}), lambda m: False, now=lambda: NOW
    )
    assert version == "7"
    assert view["given_name"] == "Kari" and view["membership"]["status"] == "active"
    flat = repr(view)
    for never in ("01017012345", "national_id", "birth_date", "internal", "industry_nace"):
        assert never not in flat
    assert view["retrieved_at"] == "2026-11-25T08:00:00Z"


def test_restriction_is_shown_to_the_member():
    view, _ = service.get_profile("1000001", FakeRegister({"1000001": RECORD}), lambda m: True)
    assert view["processing_restricted"] is True


def test_unknown_member_is_not_found():
    with pytest.raises(NotFound):
        service.get_profile("999", FakeRegister({}), lambda m: False)


def test_a_register_answer_for_another_member_is_never_shown():
    with pytest.raises(NotFound):
        service.get_profile("1000002", FakeRegister({"1000002": RECORD}), lambda m: False)
