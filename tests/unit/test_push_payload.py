"""What a push may carry: the lock-screen rules of notifications/push.py."""

import json

import pytest
from lederappen.notifications import push
from lederappen.notifications.message import MAX_BODY_CHARS, MAX_TITLE_CHARS, parse

from infra.local.fcm_standin import MAX_PAYLOAD_BYTES, validate_message


def message(**overrides):
    body = {
        "message_id": "6f1c2a4e-9b1d-4a57-8d0e-1f2a3b4c5d6e",
        "category": "news",
        "title": {"nb": "Nytt fra Lederne", "en": "News from Lederne"},
        "body": {"nb": "Les mer i appen.", "en": "Read more in the app."},
        "deep_link": "lederappen://news/42",
    }
    body.update(overrides)
    return parse(body)


def test_a_plain_message_shows_its_title_and_a_preview_in_the_device_language():
    fcm = push.wire(message(), "tok", "en-GB", "item1")
    assert fcm["notification"] == {"title": "News from Lederne", "body": "Read more in the app."}
    assert fcm["data"] == {
        "message_id": message().message_id,
        "category": "news",
        "link": "lederappen://news/42",
        "inbox_item": "item1",
    }
    assert push.wire(message(), "tok", None, None)["notification"]["title"] == "Nytt fra Lederne"


def test_a_sensitive_message_shows_a_neutral_text_and_links_to_its_inbox_item_only():
    m = message(
        sensitive=True,
        title={"nb": "Lønnen din", "en": "Your salary"},
        body={"nb": "Du ligger over medianen.", "en": "You are above the median."},
    )
    fcm = push.wire(m, "tok", "nb", "item1")
    text = json.dumps(fcm, ensure_ascii=False)
    assert fcm["notification"] == {"title": "Lederne", "body": "Du har en ny melding i Lederappen."}
    assert fcm["data"]["link"] == "lederappen://inbox/item1"
    assert "Lønn" not in text and "median" not in text and "news/42" not in text


def test_every_push_is_private_on_the_lock_screen_and_collapses_per_message():
    fcm = push.wire(message(), "tok", "nb", None)
    assert fcm["android"]["notification"]["visibility"] == "PRIVATE"
    assert fcm["android"]["collapse_key"] == fcm["apns"]["headers"]["apns-collapse-id"]
    assert "topic" not in fcm and fcm["token"] == "tok"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Kort tekst.", "Kort tekst."),
        ("  mellomrom \n og linjeskift ", "mellomrom og linjeskift"),
    ],
)
def test_short_bodies_are_shown_whole(text, expected):
    assert push.preview(text) == expected


def test_long_bodies_are_cut_at_a_word_with_an_ellipsis():
    text = "ord " * 200
    cut = push.preview(text)
    assert len(cut) <= push.PREVIEW_CHARS and cut.endswith("ord…")


def test_the_longest_message_an_editor_can_write_fits_fcms_limit_and_the_stand_in_agrees():
    worst = message(
        title={"nb": "Æ" * MAX_TITLE_CHARS, "en": "Ø" * MAX_TITLE_CHARS},
        body={"nb": "å" * MAX_BODY_CHARS, "en": "æ" * MAX_BODY_CHARS},
        deep_link="lederappen://" + "a" * 480,
    )
    assert push.fits(worst) and push.largest_payload(worst) <= MAX_PAYLOAD_BYTES
    validate_message(push.wire(worst, "tok", "nb", "x" * 43))


def test_the_size_check_counts_what_fcm_counts():
    fcm = push.wire(message(), "tok", "nb", "item")
    fcm["data"]["extra"] = "x" * MAX_PAYLOAD_BYTES
    assert push.payload_bytes(fcm) > MAX_PAYLOAD_BYTES
    with pytest.raises(Exception, match="too big"):
        validate_message(fcm)


@pytest.mark.parametrize(
    "sensitive, inbox_item", [(False, "item1"), (True, "item1"), (False, None)]
)
def test_the_sdk_message_sent_is_exactly_the_push_checked(sensitive, inbox_item):
    m = message(sensitive=sensitive)
    sdk = push.fcm_message(m, "tok", "en", inbox_item)
    assert push.encoded(sdk) == push.wire(m, "tok", "en", inbox_item)
    validate_message(push.encoded(sdk))


def test_the_admin_size_check_does_not_import_the_sdk():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; from lederappen.notifications import push, message; "
        "m = message.parse({'message_id': 'a' * 36, 'category': 'news', "
        "'title': {'nb': 'x', 'en': 'x'}, 'body': {'nb': 'y', 'en': 'y'}}); "
        "assert push.fits(m); assert 'firebase_admin' not in sys.modules"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2] / "functions",
    )


@pytest.mark.parametrize("sensitive", [False, True])
@pytest.mark.parametrize("inbox_item", [None, "x" * 43])
@pytest.mark.parametrize("locale", ["nb", "en-GB", None])
def test_a_push_encoded_once_per_variant_is_the_sdks_encoding_for_each_token(
    sensitive, inbox_item, locale
):
    """push.Pushes: the SDK encodes a variant once with a placeholder token, each device's
    body is that with its token put in; byte for byte what the SDK makes for that token."""
    m = message(sensitive=sensitive)
    pushes = push.Pushes(m)
    for token in ("tok-1", 'a"quote\\and\u00e6', "x" * 300):
        got = pushes.request(token, locale, inbox_item)
        sdk = push.encoded(push.fcm_message(m, token, locale, inbox_item))
        assert isinstance(got, bytes) and json.loads(got) == {"message": sdk}
        assert json.loads(got)["message"]["token"] == token
    assert len(pushes._variants) == 1


def test_a_text_holding_the_placeholder_is_encoded_per_device():
    m = message(body={"nb": push._PLACEHOLDER, "en": push._PLACEHOLDER}, deep_link=None)
    pushes = push.Pushes(m)
    got = json.loads(pushes.request("tok-9", "nb", None))["message"]
    assert got["token"] == "tok-9" and got["notification"]["body"] == push._PLACEHOLDER
    assert pushes._variants[("nb", None)] is None


def test_a_token_that_is_no_string_goes_to_the_sender_as_the_sdk_message_it_refuses():
    refused = push.Pushes(message()).request(None, "nb", None)  # type: ignore[arg-type]
    assert not isinstance(refused, bytes)
    with pytest.raises(ValueError):
        push.encoded(refused)
