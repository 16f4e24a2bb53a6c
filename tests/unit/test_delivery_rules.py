"""Who gets a message, decided at send time (notifications/delivery.py), without I/O:
restriction stops every optional message but not the ones a member needs about their own
affairs, and a push retried later is checked again."""

from types import SimpleNamespace

import pytest
from lederappen.notifications import delivery
from lederappen.notifications.message import CATEGORIES

AUDIENCES = ("all", "county", "interest", "member")


def stored(category="news", audience_kind="all", concerns=None):
    return SimpleNamespace(category=category, audience_kind=audience_kind, concerns=concerns)


def decide(msg, *, active=True, restricted=False, categories=None, channels=None, consented=True):
    return delivery.decide(msg, active, restricted, categories, channels, consented)


@pytest.mark.parametrize("kind", ["all", "county", "interest"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_a_restricted_member_gets_no_message_sent_to_many(kind, category):
    assert decide(stored(category, kind), restricted=True) == ("restricted", False, False)


def test_a_restricted_member_gets_no_marketing_even_addressed_to_them_alone():
    msg = stored("marketing", "member", concerns="membership")
    assert not delivery.needed(msg)
    assert decide(msg, restricted=True) == ("restricted", False, False)


@pytest.mark.parametrize("concerns", ["privacy_request", "membership", "terms"])
@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "marketing"])
def test_a_restricted_member_still_gets_a_direct_message_about_their_own_affairs(
    category, concerns
):
    msg = stored(category, "member", concerns)
    assert delivery.needed(msg)
    categories = [category]
    assert decide(msg, restricted=True, categories=categories) == ("delivered", True, True)


@pytest.mark.parametrize("category", [c for c in CATEGORIES if c != "marketing"])
def test_an_editors_direct_message_that_concerns_nothing_needed_waits_for_the_lifting(category):
    """The editor's "news to you", the mentoring programme's updates: processing for them is
    what a restriction stops (issue 18)."""
    msg = stored(category, "member")
    assert not delivery.needed(msg)
    assert decide(msg, restricted=True, categories=[category]) == ("restricted", False, False)
    assert decide(msg, categories=[category]) == ("delivered", True, True)


def test_the_members_category_choice_still_applies_to_a_needed_message():
    msg = stored("mentor_updates", "member", "membership")
    assert decide(msg, restricted=True, categories=["news"]) == ("category_off", False, False)


def test_membership_comes_first_and_is_not_asked_on_a_retry():
    msg = stored("news", "member")
    assert decide(msg, active=False) == ("not_member", False, False)


@pytest.mark.parametrize(
    "kind, category, needs",
    [
        ("all", "news", set()),
        ("member", "mentor_updates", set()),
        ("all", "marketing", {"marketing"}),
        ("member", "marketing", {"marketing"}),
        ("interest", "news", {"personalisation"}),
        ("interest", "marketing", {"marketing", "personalisation"}),
    ],
)
def test_consent_is_needed_for_marketing_and_for_an_interest_audience(kind, category, needs):
    assert delivery.needs_consent(stored(category, kind)) == needs


def test_without_consent_nothing_is_delivered():
    assert decide(stored("marketing", "all"), categories=["marketing"], consented=False) == (
        "no_consent",
        False,
        False,
    )


def test_channels_decide_inbox_and_push_and_default_to_both():
    msg = stored("news", "all")
    assert decide(msg) == ("delivered", True, True)
    assert decide(msg, channels=["inbox"]) == ("delivered", True, False)
    assert decide(msg, channels=["push", "email"]) == ("delivered", False, True)


class FakeCursor:
    """Answers the one query `still_wanted` makes for a message that needs no consent:
    (member, categories, channels, restricted) per member asked for."""

    def __init__(self, rows):
        self.rows = rows
        self.result = []

    def execute(self, sql, params=()):
        assert "processing_restrictions" in sql and "member_preferences" in sql
        self.result = [r for r in self.rows if r[0] in params[0]]

    def fetchall(self):
        return self.result


def test_a_retried_push_goes_only_to_members_who_still_want_it():
    cur = FakeCursor(
        [
            ("still", None, None, False),
            ("restricted_since", None, None, True),
            ("push_off_since", None, ["inbox"], False),
            ("news_off_since", ["marketing"], None, False),
        ]
    )
    members = [r[0] for r in cur.rows]
    assert delivery.still_wanted(cur, stored("news", "county"), members, None) == {"still"}
    # a message the member needs goes despite the restriction, not past their own choices
    assert delivery.still_wanted(cur, stored("news", "member", "membership"), members, None) == {
        "still",
        "restricted_since",
    }
    assert delivery.still_wanted(cur, stored("news", "member"), members, None) == {"still"}
