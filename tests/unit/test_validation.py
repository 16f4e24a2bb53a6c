"""Request bodies: strict decoding, and every failure names its field in nb and en."""

from typing import Annotated

import msgspec
import pytest
from hypothesis import given, strategies as st

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
