"""The message fan-out audits choosing recipients by personal data (S2): by county, every member
chosen; by interest, those whose personalisation consent covers it and whose processing is not
restricted; everyone or one member by number uses nothing but membership, and is not audited
here (delivery records each member's outcome). Through the real SQL; the whole path, with the
interest audience, is in tests/e2e/test_messages.py."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from lederappen.consents import service as consents
from lederappen.core import log
from lederappen.notifications import fanout

pytestmark = pytest.mark.stack
MEMBERS = ["fa-1", "fa-2", "fa-3"]


@pytest.fixture
def cur(rolled_back):
    return rolled_back


def _entries(cur, member: str) -> list[tuple]:
    cur.execute(
        "SELECT actor_kind, actor, category, action, purpose FROM audit_events "
        "WHERE member_pseudonym = %s",
        (log.pseudonym(member),),
    )
    return [tuple(r) for r in cur.fetchall()]


def test_a_county_audience_audits_every_member_chosen(cur):
    fanout._audit_choice(cur, SimpleNamespace(audience_kind="county"), MEMBERS, datetime.now(UTC))
    for m in MEMBERS:
        assert _entries(cur, m) == [
            (
                "job",
                "message-fanout",
                "profile",
                "chosen_as_recipient_by_county",
                "member_communication",
            )
        ]


def test_an_interest_audience_audits_only_members_whose_consent_covers_the_use(cur):
    now = datetime.now(UTC)
    terms = consents.terms_in_force(cur, now)["personalisation"][0]
    for m in MEMBERS[:2]:
        consents.record(
            cur,
            m,
            purpose="personalisation",
            action="given",
            terms_version=terms.version,
            shown_text_hash=terms.text_hash,
            locale="nb",
            channel="app",
            app_version=None,
            now=now,
        )
    cur.execute("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (MEMBERS[1],))
    fanout._audit_choice(cur, SimpleNamespace(audience_kind="interest"), MEMBERS, now)
    assert _entries(cur, MEMBERS[0]) == [
        (
            "job",
            "message-fanout",
            "preferences",
            "chosen_as_recipient_by_interest",
            "member_communication",
        )
    ]
    assert _entries(cur, MEMBERS[1]) == [] and _entries(cur, MEMBERS[2]) == []


@pytest.mark.parametrize("kind", ["all", "member"])
def test_membership_only_audiences_add_no_entry_here(cur, kind):
    fanout._audit_choice(cur, SimpleNamespace(audience_kind=kind), MEMBERS, datetime.now(UTC))
    assert all(_entries(cur, m) == [] for m in MEMBERS)
