"""Accept-Language negotiation between Norwegian (bokmål) and English."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lederappen.core.i18n import negotiate


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, "nb"),
        ("", "nb"),
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("nb-NO,nb;q=0.9,en;q=0.8", "nb"),
        ("nn", "nb"),
        ("no", "nb"),
        ("en;q=0.5,nb;q=0.9", "nb"),
        ("de,en;q=0.7", "en"),
        ("de", "nb"),
        ("en;q=0", "nb"),
        ("*", "nb"),
    ],
)
def test_negotiates_by_quality_and_defaults_to_norwegian(header, expected):
    assert negotiate(header) == expected


@given(st.text(max_size=200))
def test_never_fails_on_any_header(header):
    assert negotiate(header) in ("nb", "en")
