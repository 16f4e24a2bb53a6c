"""Request bodies: strict decoding, and every failure names its field in nb and en."""

from typing import Annotated

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lederappen.core.problems import ValidationFailed
from lederappen.core.validation import Body, decode


class Inner(Body):
    postal_code: Annotated[str, msgspec.Meta(pattern=r"^\d{4}$")]


class Sample(Body):
    count: Annotated[int, msgspec.Meta(ge=0, le=1000)]
    name: Annotated[str, msgspec.Meta(max_length=5)]
    inner: Inner | None = None


def _error(raw: bytes) -> dict:
    with pytest.raises(ValidationFailed) as err:
        decode(raw, Sample)
    body = err.value.body("en")
    assert body["status"] == 422
    assert body["type"].endswith("/validation-failed")
    (entry,) = body["errors"]
    return entry


def test_valid_body_decodes():
    s = decode(b'{"count": 3, "name": "abc", "inner": {"postal_code": "0184"}}', Sample)
    assert s.count == 3 and s.inner.postal_code == "0184"


def test_unknown_field_is_rejected_and_named():
    e = _error(b'{"count": 1, "name": "a", "surprise": true}')
    assert e == {"field": "surprise", "code": "unknown_field", "message": "Unknown field."}


def test_missing_field_is_named():
    assert _error(b'{"count": 1}')["field"] == "name"


def test_range_violation_names_field_and_limit():
    e = _error(b'{"count": -1, "name": "a"}')
    assert (e["field"], e["code"], e["message"]) == ("count", "range", "Must be at least 0.")


def test_nested_field_path_is_dotted():
    e = _error(b'{"count": 1, "name": "a", "inner": {"postal_code": "12"}}')
    assert (e["field"], e["code"]) == ("inner.postal_code", "pattern")


def test_wrong_type_is_named():
    e = _error(b'{"count": "many", "name": "a"}')
    assert (e["field"], e["code"]) == ("count", "type")


def test_malformed_json_is_a_422_without_field():
    e = _error(b'{"count": ')
    assert e["code"] == "malformed_json" and e["field"] is None


def test_messages_are_norwegian_when_asked():
    with pytest.raises(ValidationFailed) as err:
        decode(b'{"count": 5000, "name": "a"}', Sample)
    assert err.value.body("nb")["errors"][0]["message"] == "Må være høyst 1000."


@given(st.binary(max_size=300))
def test_any_bytes_either_decode_or_give_a_422(raw):
    try:
        decode(raw, Sample)
    except ValidationFailed as exc:
        assert exc.status == 422 and exc.body("nb")["errors"]


class Free(Body):
    text: str
    amount: int | None = None
    ratio: float | None = None
    tags: dict[str, str] | None = None


def test_nul_in_text_is_a_422_naming_the_field_even_nested():
    with pytest.raises(ValidationFailed) as err:
        decode(b'{"text": "ok", "tags": {"a": "x\\u0000"}}', Free)
    assert [e["field"] for e in err.value.body("en")["errors"]] == ["tags.a"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"text": "ok", "amount": 9223372036854775808}',
        b'{"text": "ok", "amount": 18446744073709551616}',
        b'{"text": "ok", "amount": -9223372036854775809}',
        b'{"text": "ok", "ratio": 1e999}',
    ],
)
def test_an_integer_beyond_bigint_and_an_infinite_number_are_422s_naming_the_field(raw):
    with pytest.raises(ValidationFailed) as err:
        decode(raw, Free)
    assert [e["field"] for e in err.value.body("en")["errors"]] == [
        "amount" if b"amount" in raw else "ratio"
    ]


def test_invalid_utf8_is_a_422_malformed_json_not_an_exception():
    assert _error(b'{"count": 1, "name": "\xff"}')["code"] == "malformed_json"


def test_a_whole_number_written_with_a_fraction_is_an_integer():
    assert decode(b'{"count": 7.0, "name": "a"}', Sample).count == 7
    assert _error(b'{"count": 7.5, "name": "a"}')["field"] == "count"


@given(st.text(max_size=30))
def test_any_text_decodes_or_gives_a_422_and_what_decodes_is_storable(text):
    import json

    try:
        value = decode(json.dumps({"text": text}).encode(), Free)
    except ValidationFailed as exc:
        assert exc.status == 422 and exc.body("en")["errors"][0]["field"] == "text"
    else:
        assert "\x00" not in value.text
        value.text.encode("utf-8")
