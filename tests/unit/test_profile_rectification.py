"""Rectification (R2, F1 write side): the member's changes validated all at once with
maintained libraries, written only when all is valid and only against the version read; a
photo accepted by its content, turned upright, made small, and stripped of every metadata."""

from __future__ import annotations

import io
import string
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lederappen.core import http
from lederappen.core.problems import (
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    UnsupportedMediaType,
    ValidationFailed,
)
from lederappen.profile import photo, service
from PIL import Image, ImageCms

from tests.support.examples import examples

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
RECORD = {
    "member_id": "1003176",
    "given_name": "Daniel",
    "family_name": "Nielsen",
    "email": "daniel.nielsen@post.example.no",
    "phone": "+4797165647",
    "national_id": "02077203519",
    "birth_date": "1972-07-02",
    "address": {
        "street": "Dahlløkka 84",
        "postal_code": "4250",
        "city": "Kopervik",
        "county": "Rogaland",
    },
    "employer": {"name": "Bryne Byggvare AS", "org_number": "967387452"},
    "position": "Lagersjef",
    "membership": {
        "status": "active",
        "member_since": "2011-02-01",
        "ended_on": None,
        "category": "ordinary",
    },
    "version": 3,
}


def _fields(exc: ValidationFailed) -> dict[str, str]:
    return {e["field"]: e["code"] for e in exc.errors}


def _check(body) -> dict:
    return service.check_patch(body)


def _fails(body) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        service.check_patch(body)
    assert info.value.status == 422
    for e in info.value.errors:  # every message in both languages
        assert e["message"]["nb"] and e["message"]["en"]
    return _fields(info.value)


# -- validation ------------------------------------------------------------------------------


def test_a_valid_change_is_normalised_for_the_register():
    patch = _check(
        {
            "email": "  Kari.Nordmann@Eksempel.NO ",
            "phone": "912 34 567",
            "address": {"street": "Storgata   25", "postal_code": "0184", "city": " Oslo "},
            "employer": {"name": "Fjord AS", "org_number": "923 609 016"},
            "position": "Avdelingsleder",
        }
    )
    assert patch == {
        "email": "Kari.Nordmann@eksempel.no",
        "phone": "+4791234567",
        "address": {"street": "Storgata 25", "postal_code": "0184", "city": "Oslo"},
        "employer": {"name": "Fjord AS", "org_number": "923609016"},
        "position": "Avdelingsleder",
    }


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("91234567", "+4791234567"),
        ("+47 912 34 567", "+4791234567"),
        ("0047 91234567", "+4791234567"),
        ("22 12 34 56", "+4722123456"),  # an Oslo landline
        ("+46 70 123 45 67", "+46701234567"),  # Swedish mobile
        ("+44 20 7946 0958", "+442079460958"),  # London
    ],
)
def test_norwegian_and_foreign_phone_numbers_become_e164(raw, e164):
    assert _check({"phone": raw}) == {"phone": e164}


@pytest.mark.parametrize(
    "raw", ["1234", "9123456", "912345678", "+46 70", "abc", "+999 1234567", "91234567 ext. 12"]
)
def test_invalid_phone_numbers_are_refused(raw):
    assert _fails({"phone": raw}) == {"phone": "phone"}


@pytest.mark.parametrize(
    "raw",
    [
        "kari",
        "kari@",
        "@lederne.no",
        "kari@@lederne.no",
        "kari nordmann@lederne.no",
        "kari@lederne",
        "kåri@lederne.no",
        "Kari <kari@lederne.no>",
        "kari@lederne..no",
    ],
)
def test_invalid_email_addresses_are_refused(raw):
    assert _fails({"email": raw}) == {"email": "email"}


def test_an_international_domain_is_a_valid_email():
    assert _check({"email": "kari@blåbær.no"}) == {"email": "kari@blåbær.no"}


@pytest.mark.parametrize("code", ["123", "12345", "12a4", "", " ", "١٢٣٤"])
def test_postal_code_must_be_four_digits(code):
    errors = _fails({"address": {"street": "Storgata 1", "postal_code": code, "city": "Oslo"}})
    assert set(errors) == {"address.postal_code"}


def test_address_is_replaced_as_a_whole_so_city_and_street_are_required():
    assert _fails({"address": {"postal_code": "5003"}}) == {
        "address.street": "required",
        "address.city": "required",
    }


def test_employer_needs_a_name_and_a_valid_organisation_number_if_one_is_given():
    assert _check({"employer": {"name": "Fjord AS"}}) == {
        "employer": {"name": "Fjord AS", "org_number": None}
    }
    assert _fails({"employer": {"name": "Fjord AS", "org_number": "923609017"}}) == {
        "employer.org_number": "org_number"
    }
    assert _fails({"employer": {"org_number": "923609016"}}) == {"employer.name": "required"}


def test_every_broken_rule_is_reported_at_once_and_unknown_fields_too():
    errors = _fails(
        {
            "email": "not-an-address",
            "phone": "12",
            "address": {"street": "Storgata 1", "postal_code": "51", "city": "", "planet": "Mars"},
            "given_name": "Ola",
            "shoe_size": 44,
            "position": None,
        }
    )
    assert errors == {
        "email": "email",
        "phone": "phone",
        "address.postal_code": "postal_code",
        "address.city": "required",
        "address.planet": "unknown_field",
        "given_name": "read_only",
        "shoe_size": "unknown_field",
        "position": "required",
    }


def test_messages_are_in_norwegian_and_english():
    with pytest.raises(ValidationFailed) as info:
        service.check_patch({"phone": "12"})
    nb, en = info.value.body("nb"), info.value.body("en")
    assert nb["errors"][0]["message"].startswith("Ugyldig telefonnummer")
    assert en["errors"][0]["message"].startswith("Not a valid phone number")
    assert nb["type"].endswith("/validation-failed")


@pytest.mark.parametrize("body", [{}, [], "x", None])
def test_an_empty_or_non_object_body_is_refused(body):
    with pytest.raises(ValidationFailed):
        service.check_patch(body)


@pytest.mark.parametrize("value", [42, ["a"], {"a": 1}, True])
def test_texts_must_be_text(value):
    assert _fails({"position": value}) == {"position": "type"}


def test_control_and_formatting_characters_are_refused():
    assert _fails({"position": "Leder\u0000"}) == {"position": "invalid_characters"}
    assert _fails({"position": "Leder\u202e"}) == {"position": "invalid_characters"}


def test_texts_have_a_length_limit():
    assert _fails({"position": "x" * 101}) == {"position": "length"}


def test_organisation_number_check_digit():
    assert service._org_number_ok("923609016")  # Fjord AS in the examples
    assert service._org_number_ok("974760673")  # Brønnøysundregistrene
    assert not service._org_number_ok("974760674")
    assert not service._org_number_ok("97476067")


@given(st.text(alphabet=string.digits, min_size=4, max_size=4))
def test_any_four_digits_pass_as_a_postal_code(code):
    patch = _check({"address": {"street": "Storgata 1", "postal_code": code, "city": "Oslo"}})
    assert patch["address"]["postal_code"] == code


@given(
    st.text(max_size=12).filter(
        lambda s: not (len(s.strip()) == 4 and s.strip().isascii() and s.strip().isdigit())
    )
)
def test_anything_else_fails_as_a_postal_code(code):
    errors = _fails({"address": {"street": "Storgata 1", "postal_code": code, "city": "Oslo"}})
    assert "address.postal_code" in errors


@given(st.integers(0, 9_999_999), st.sampled_from(["", " ", "-", "  "]), st.booleans())
def test_norwegian_mobile_numbers_in_any_spelling_become_one_e164(rest, sep, prefix):
    digits = f"9{rest:07d}"  # 9xx xx xxx: all mobile numbers
    spelled = sep.join([digits[:3], digits[3:5], digits[5:]])
    if prefix:
        spelled = "+47" + sep + spelled
    assert _check({"phone": spelled}) == {"phone": "+47" + digits}


@given(st.text(alphabet=string.digits, min_size=8, max_size=8), st.sampled_from([" ", "-", "."]))
def test_the_spelling_of_a_number_never_changes_the_verdict(digits, sep):
    def verdict(raw):
        try:
            return _check({"phone": raw})["phone"]
        except ValidationFailed:
            return None

    assert verdict(sep.join([digits[:2], digits[2:4], digits[4:6], digits[6:]])) == verdict(digits)


@settings(max_examples=examples(300))
@given(
    st.one_of(st.text(max_size=60), st.integers(), st.none()),
    st.one_of(st.text(max_size=60), st.integers(), st.none()),
)
def test_any_input_is_either_normalised_or_a_named_422(phone, email):
    try:
        patch = service.check_patch({"phone": phone, "email": email})
    except ValidationFailed as exc:
        assert set(_fields(exc)) <= {"phone", "email"}
    else:
        assert patch["phone"].startswith("+") and "@" in patch["email"]


# -- rectify: written only when valid, only against the version read -----------------------


class FakeRegister:
    def __init__(self, record):
        self.record = dict(record)
        self.patches: list[tuple[dict, str]] = []

    def get_member(self, member_id):
        return dict(self.record) if member_id == self.record["member_id"] else None

    def patch_member(self, member_id, patch, if_match_version):
        if member_id != self.record["member_id"]:
            return None
        if str(if_match_version) != str(self.record["version"]):
            raise PreconditionFailed({"nb": "x", "en": "x"})
        self.patches.append((patch, str(if_match_version)))
        self.record = {**self.record, **patch, "version": self.record["version"] + 1}
        return dict(self.record)


def _rectify(register, body, if_match='"3"', restricted=False):
    return service.rectify(
        "1003176", body, if_match, register, lambda _m: restricted, now=lambda: NOW
    )


def test_a_valid_change_is_written_against_the_version_read_and_the_new_view_returned():
    register = FakeRegister(RECORD)
    view, version = _rectify(register, {"phone": "+47 912 34 567"})
    assert register.patches == [({"phone": "+4791234567"}, "3")]
    assert version == "4" and view["phone"] == "+4791234567"
    assert "national_id" not in view and view["member_id"] == "1003176"


def test_nothing_is_written_when_any_field_is_invalid():
    register = FakeRegister(RECORD)
    with pytest.raises(ValidationFailed):
        _rectify(register, {"phone": "+4791234567", "email": "nope"})
    assert register.patches == []


def test_without_if_match_it_is_428_and_nothing_is_written():
    register = FakeRegister(RECORD)
    with pytest.raises(PreconditionRequired):
        _rectify(register, {"phone": "91234567"}, if_match=None)
    assert register.patches == []


@pytest.mark.parametrize("tag", ['"2"', '"4"', 'W/"3"', "3", '"abc"', '"2", "4"'])
def test_a_stale_or_malformed_if_match_is_412(tag):
    register = FakeRegister(RECORD)
    with pytest.raises(PreconditionFailed):
        _rectify(register, {"phone": "91234567"}, if_match=tag)
    assert register.patches == []


@pytest.mark.parametrize("tag", ["*", '"1", "3"'])
def test_a_wildcard_or_a_list_of_tags_writes_against_the_current_version(tag):
    register = FakeRegister(RECORD)
    _rectify(register, {"phone": "91234567"}, if_match=tag)
    assert register.patches == [({"phone": "+4791234567"}, "3")]


def test_a_database_failure_stops_the_change_before_it_reaches_the_register():
    from lederappen.core.problems import DependencyUnavailable

    def db_down(_member):
        raise DependencyUnavailable("database")

    register = FakeRegister(RECORD)
    with pytest.raises(DependencyUnavailable):
        service.rectify("1003176", {"phone": "91234567"}, '"3"', register, db_down)
    assert register.patches == []


def test_a_restricted_member_may_still_correct_their_data():
    view, _ = _rectify(FakeRegister(RECORD), {"position": "Driftsleder"}, restricted=True)
    assert view["processing_restricted"] is True and view["position"] == "Driftsleder"


def test_a_member_the_register_does_not_know_is_404():
    register = FakeRegister({**RECORD, "member_id": "9999999"})
    with pytest.raises(NotFound):
        _rectify(register, {"phone": "91234567"})


# -- the photo ------------------------------------------------------------------------------

RED, BLUE = (220, 20, 20), (20, 20, 220)


def _halves(width=400, height=200) -> Image.Image:
    """Left half red, right half blue."""
    img = Image.new("RGB", (width, height), RED)
    img.paste(BLUE, (width // 2, 0, width, height))
    return img


def _jpeg_with_everything(orientation: int = 6) -> bytes:
    img = _halves()
    exif = img.getexif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 15 Pro"  # Model
    exif[0x0131] = "SecretSoftware 1.0"  # Software
    exif[0x9003] = "2026:11:25 08:00:00"  # DateTimeOriginal (in the Exif IFD)
    exif.get_ifd(0x8825).update(
        {  # GPS IFD: Oslo, Karl Johans gate
            1: "N",
            2: (59.0, 54.0, 48.0),
            3: "E",
            4: (10.0, 44.0, 24.0),
        }
    )
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'exif:GPSLatitude="59,54.8N"/></rdf:RDF></x:xmpmeta>'
    )
    out = io.BytesIO()
    img.save(
        out,
        "JPEG",
        exif=exif,
        xmp=xmp,
        comment=b"taken at home, Storgata 25",
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )
    return out.getvalue()


def _jpeg_segments(data: bytes) -> list[int]:
    """The marker of every segment before the image data (0xE0 = APP0, 0xE1 = APP1, ...)."""
    assert data[:2] == b"\xff\xd8"
    markers, i = [], 2
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: pixel data follows
            break
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return markers


def test_the_source_photo_really_carries_gps_and_the_rest():
    src = Image.open(io.BytesIO(_jpeg_with_everything()))
    assert src.getexif().get_ifd(0x8825)[2] == (59.0, 54.0, 48.0)
    assert "xmp" in src.info and "comment" in src.info and "icc_profile" in src.info


def test_exif_gps_xmp_icc_and_comments_are_stripped():
    cleaned = photo.clean(_jpeg_with_everything(), "image/jpeg")
    assert cleaned.content_type == "image/jpeg"
    out = Image.open(io.BytesIO(cleaned.data))
    assert out.format == "JPEG"
    assert len(out.getexif()) == 0 and not out.getexif().get_ifd(0x8825)
    assert not {"exif", "xmp", "icc_profile", "comment", "photoshop"} & set(out.info)
    # Only the JFIF header: no APP1 (EXIF/XMP), APP2 (ICC), APP13 (IPTC), COM, ...
    segments = _jpeg_segments(cleaned.data)
    assert [m for m in segments if 0xE1 <= m <= 0xEF or m == 0xFE] == []
    for needle in (b"Exif", b"GPS", b"iPhone", b"Apple", b"xmpmeta", b"Storgata", b"Secret"):
        assert needle not in cleaned.data


def test_exif_orientation_is_applied_before_the_orientation_tag_is_dropped():
    # Orientation 6: the camera stored it lying down; turned 90 degrees clockwise to show.
    cleaned = photo.clean(_jpeg_with_everything(orientation=6), "image/jpeg")
    out = Image.open(io.BytesIO(cleaned.data)).convert("RGB")
    assert (cleaned.width, cleaned.height) == out.size == (200, 400)
    top, bottom = out.getpixel((100, 50)), out.getpixel((100, 350))
    assert top[0] > 150 and top[2] < 80, top  # the left (red) half is now on top
    assert bottom[2] > 150 and bottom[0] < 80, bottom


def test_a_large_photo_is_scaled_down_keeping_its_proportions():
    buf = io.BytesIO()
    _halves(3000, 2000).save(buf, "JPEG", quality=90)
    cleaned = photo.clean(buf.getvalue(), "image/jpeg")
    assert (cleaned.width, cleaned.height) == (1024, 683)
    assert len(cleaned.data) < 300_000


def test_a_48_megapixel_camera_jpeg_is_decoded_at_reduced_scale_and_accepted():
    buf = io.BytesIO()
    Image.new("RGB", (8064, 6048), (90, 120, 150)).save(buf, "JPEG", quality=50)
    cleaned = photo.clean(buf.getvalue(), "image/jpeg")
    assert (cleaned.width, cleaned.height) == (1024, 768)


def test_a_png_is_flattened_onto_white_and_stored_as_jpeg():
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    img.paste((0, 0, 200, 255), (0, 0, 32, 64))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    cleaned = photo.clean(buf.getvalue(), "image/png")
    out = Image.open(io.BytesIO(cleaned.data)).convert("RGB")
    assert min(out.getpixel((60, 30))) > 240  # transparent became white
    assert out.getpixel((10, 30))[2] > 150


def test_a_webp_with_exif_is_accepted_and_stripped():
    img = _halves(100, 50)
    exif = img.getexif()
    exif.get_ifd(0x8825).update({1: "N", 2: (59.0, 54.0, 48.0)})
    buf = io.BytesIO()
    img.save(buf, "WEBP", exif=exif)
    cleaned = photo.clean(buf.getvalue(), "image/webp")
    assert b"Exif" not in cleaned.data and len(Image.open(io.BytesIO(cleaned.data)).getexif()) == 0


def test_cmyk_and_16_bit_images_come_out_as_ordinary_jpegs():
    buf = io.BytesIO()
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(buf, "JPEG")
    out = Image.open(io.BytesIO(photo.clean(buf.getvalue(), "image/jpeg").data))
    assert out.mode == "RGB"
    buf = io.BytesIO()
    Image.new("I;16", (40, 40), 32768).save(buf, "PNG")
    out = Image.open(io.BytesIO(photo.clean(buf.getvalue(), "image/png").data))
    assert out.mode == "L" and 120 <= out.getpixel((5, 5)) <= 135  # scaled, not clipped


def test_the_content_decides_not_the_content_type():
    png = io.BytesIO()
    _halves(40, 20).save(png, "PNG")
    assert photo.clean(png.getvalue(), "image/jpeg").content_type == "image/jpeg"
    gif = io.BytesIO()
    _halves(40, 20).save(gif, "GIF")
    for body in (
        gif.getvalue(),
        b"<html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        b"%PDF-1.7\n",
        b"\x00" * 100,
    ):
        with pytest.raises(ValidationFailed) as info:
            photo.clean(body, "image/jpeg")
        assert _fields(info.value) == {"photo": "not_an_image"}


@pytest.mark.parametrize(
    "ctype",
    [None, "", "image/gif", "image/heic", "application/json", "text/plain", "image/svg+xml"],
)
def test_a_content_type_we_do_not_take_is_415(ctype):
    with pytest.raises(UnsupportedMediaType):
        photo.clean(_jpeg_with_everything(), ctype)


def test_the_content_type_may_carry_parameters_and_any_case():
    assert photo.clean(_jpeg_with_everything(), "Image/JPEG; q=1").width == 200


def test_an_empty_or_truncated_photo_is_422():
    with pytest.raises(ValidationFailed):
        photo.clean(b"", "image/jpeg")
    data = _jpeg_with_everything()
    with pytest.raises(ValidationFailed) as info:
        photo.clean(data[: len(data) // 2], "image/jpeg")
    assert _fields(info.value) == {"photo": "not_an_image"}


def test_a_decompression_bomb_is_refused_by_its_header_before_decoding():
    buf = io.BytesIO()
    Image.new("L", (9000, 9000), 0).save(buf, "PNG")  # 81 megapixels in ~80 KB
    assert len(buf.getvalue()) < 200_000
    with pytest.raises(ValidationFailed) as info:
        photo.clean(buf.getvalue(), "image/png")
    assert _fields(info.value) == {"photo": "too_many_pixels"}


def test_a_png_too_large_to_decode_safely_is_refused():
    buf = io.BytesIO()
    Image.new("L", (5000, 4000), 0).save(buf, "PNG")  # 20 MP: no reduced-scale decoding
    with pytest.raises(ValidationFailed) as info:
        photo.clean(buf.getvalue(), "image/png")
    assert _fields(info.value) == {"photo": "too_many_pixels"}


def test_an_overlong_side_is_refused():
    buf = io.BytesIO()
    Image.new("L", (13000, 2), 0).save(buf, "PNG")
    with pytest.raises(ValidationFailed):
        photo.clean(buf.getvalue(), "image/png")


def test_an_oversized_upload_is_refused():
    with pytest.raises(ValidationFailed):
        photo.clean(b"\xff\xd8" + b"\0" * photo.MAX_UPLOAD_BYTES, "image/jpeg")


# -- the HTTP edge sends bytes as they are ------------------------------------------------


def test_a_bytes_reply_is_sent_raw_with_its_content_type():
    resp = http.HttpFunction._render(
        http.Reply(
            b"\xff\xd8\xff",
            content_type="image/jpeg",
            headers={"Cache-Control": "private, no-store"},
        ),
        "nb",
        True,
    )
    assert resp.get_data() == b"\xff\xd8\xff"
    assert resp.content_type == "image/jpeg"
    assert resp.headers["Cache-Control"] == "private, no-store"


def test_a_json_reply_is_unchanged():
    resp = http.HttpFunction._render(http.Reply({"a": 1}), "nb", True)
    assert resp.content_type == "application/json" and resp.get_data() == b'{"a":1}'
    assert resp.headers["Cache-Control"] == "no-store"
