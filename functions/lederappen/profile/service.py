"""The profile rules: what of the register's record the app may see (F1, R1), and what the
member may change in it (R2). Nothing of either is stored here.

The register returns more than the app needs (fødselsnummer, birth date, internal codes).
Only the fields below pass through; the rest is dropped here, so no caller can leak it.

Rectification: the member changes their contact details (e-mail, phone, postal address),
employer and position; `check_patch` validates every field at once, normalises them and
answers the patch the register gets, and `rectify` writes it there, guarded by the record's
version (If-Match), so two devices cannot overwrite each other. Nothing reaches the
register unless every field is valid. Name, fødselsnummer and membership are not changed
in the app: member service handles those on a written request.

Validation uses maintained libraries, imported on first use so that reading a profile does
not pay for them (measured here on top of an imported profile function, median of five
fresh interpreters; `python -X importtime` agrees): `phonenumbers` (the phonenumberslite
build: the same library without the geocoder, carrier and time-zone data we do not use)
~13 ms, `email_validator` ~15 ms (almost all of it compiling its RFC grammar; with
deliverability checks off it never imports dnspython and never makes a DNS query).
Norwegian postal codes are checked for form only (four digits, together with the post
town): no maintained offline list of postal codes is published as a package (pgeocode
downloads GeoNames at run time, Posten/Bring's register is a file to fetch), and the member
register, which has the list, stays the authority: if it refuses a code, the member gets a
422 from it. An address is taken to be Norwegian (the register has no country field).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from ..core.problems import NotFound, PreconditionFailed, PreconditionRequired
from ..core.validation import fields_error

SOURCE = "lederne.no member register"


class Register(Protocol):
    def get_member(self, member_id: str) -> dict[str, Any] | None: ...

    def patch_member(
        self, member_id: str, patch: dict[str, Any], if_match_version: int | str
    ) -> dict[str, Any] | None: ...


NOT_IN_REGISTER = {
    "nb": "Vi finner deg ikke i medlemsregisteret. Kontakt medlemsservice.",
    "en": "We cannot find you in the member register. Please contact member service.",
}


def _pick(record: dict[str, Any], key: str, fields: tuple[str, ...]) -> dict[str, Any] | None:
    value = record.get(key)
    if not isinstance(value, dict):
        return None
    return {f: value.get(f) for f in fields}


def view(record: dict[str, Any], restricted: bool, now: datetime) -> dict[str, Any]:
    """The app's profile view of a register record (data minimisation happens here)."""
    return {
        "member_id": record["member_id"],
        "given_name": record.get("given_name"),
        "family_name": record.get("family_name"),
        "email": record.get("email"),
        "phone": record.get("phone"),
        "address": _pick(record, "address", ("street", "postal_code", "city", "county")),
        "employer": _pick(record, "employer", ("name", "org_number")),
        "position": record.get("position"),
        "membership": _pick(
            record, "membership", ("status", "member_since", "ended_on", "category")
        ),
        "processing_restricted": restricted,
        "source": SOURCE,
        "retrieved_at": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def get_profile(
    member_id: str,
    register: Register,
    is_restricted: Callable[[str], bool],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[dict[str, Any], str | None]:
    """The member's profile and its version (for ETag), read live; raises NotFound."""
    record = register.get_member(member_id)
    if record is None or record.get("member_id") != member_id:
        raise NotFound(NOT_IN_REGISTER)
    version = record.get("version")
    return view(record, is_restricted(member_id), now()), (
        str(version) if version is not None else None
    )


# -- rectification (R2) -----------------------------------------------------------------------

#: What the member may change in the app, and how long each text may be.
EDITABLE = ("email", "phone", "address", "employer", "position")
ADDRESS_FIELDS = ("street", "postal_code", "city")
EMPLOYER_FIELDS = ("name", "org_number")
MAX_LENGTH = {
    "phone": 40,
    "position": 100,
    "address.street": 100,
    "address.city": 60,
    "employer.name": 150,
    "employer.org_number": 20,
}
#: Fields of the profile view that the app shows but cannot change (member service can).
READ_ONLY = (
    "member_id",
    "given_name",
    "family_name",
    "membership",
    "processing_restricted",
    "source",
    "retrieved_at",
    "national_id",
    "birth_date",
)
_POSTAL_CODE = re.compile(r"^[0-9]{4}$")
_VERSION_TAG = re.compile(r'^"([0-9]{1,18})"$')

Error = tuple[str | None, str, str, str]  # field (None: the body as a whole), code, nb, en


def _text(errors: list[Error], field: str, value: Any, *, required: bool = True) -> str | None:
    """A clean one-line text (NFC, whitespace collapsed), or None after recording an error."""
    if value is None:
        if required:
            errors.append(
                (field, "required", "Feltet kan ikke være tomt.", "This field cannot be empty.")
            )
        return None
    if not isinstance(value, str):
        errors.append((field, "type", "Må være tekst.", "Must be text."))
        return None
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if not text:
        if required:
            errors.append(
                (field, "required", "Feltet kan ikke være tomt.", "This field cannot be empty.")
            )
        return None
    limit = MAX_LENGTH.get(field)
    if limit and len(text) > limit:
        errors.append(
            (
                field,
                "length",
                f"Kan være høyst {limit} tegn.",
                f"Can be at most {limit} characters.",
            )
        )
        return None
    if any(unicodedata.category(c).startswith("C") for c in text):
        errors.append(
            (
                field,
                "invalid_characters",
                "Inneholder tegn som ikke er tillatt.",
                "Contains characters that are not allowed.",
            )
        )
        return None
    return text


def normalise_email(errors: list[Error], field: str, value: Any) -> str | None:
    """The address in normal form (syntax only: no DNS query is ever made)."""
    text = _text(errors, field, value)
    if text is None:
        return None
    from email_validator import EmailNotValidError, validate_email

    try:
        # allow_smtputf8=False: a local part in ASCII reaches every mail system Lederne uses;
        # an international domain (blåbær.no) is still fine.
        return validate_email(
            text, check_deliverability=False, allow_smtputf8=False, allow_display_name=False
        ).normalized
    except EmailNotValidError:
        errors.append((field, "email", "Ugyldig e-postadresse.", "Not a valid e-mail address."))
        return None


def normalise_phone(errors: list[Error], field: str, value: Any) -> str | None:
    """The number in E.164 (+4791234567). Without a country code it is read as Norwegian;
    a foreign number needs its country code and must be a valid number there."""
    text = _text(errors, field, value)
    if text is None:
        return None
    import phonenumbers

    try:
        number = phonenumbers.parse(text, "NO")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        errors.append(
            (
                field,
                "phone",
                (
                    "Ugyldig telefonnummer. Skriv et norsk nummer med åtte sifre, eller et "
                    "utenlandsk med landskode (for eksempel +46)."
                ),
                (
                    "Not a valid phone number. Enter a Norwegian number with eight digits, "
                    "or a foreign one with its country code (for example +46)."
                ),
            )
        )
        return None
    if number.extension:
        errors.append(
            (
                field,
                "phone",
                "Oppgi nummeret uten internnummer.",
                "Enter the number without an extension.",
            )
        )
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _org_number_ok(digits: str) -> bool:
    """Brønnøysund organisation number: nine digits, the last a modulus-11 check digit."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], (3, 2, 7, 6, 5, 4, 3, 2)))
    check = 11 - total % 11
    return (0 if check == 11 else check) == int(digits[8])


def _object(
    errors: list[Error], field: str, value: Any, allowed: tuple[str, ...]
) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        code, nb, en = (
            ("required", "Feltet kan ikke være tomt.", "This field cannot be empty.")
            if value is None
            else ("type", "Må være et objekt.", "Must be an object.")
        )
        errors.append((field, code, nb, en))
        return None
    for key in value:
        if key not in allowed:
            errors.append(
                (
                    f"{field}.{key}",
                    "unknown_field",
                    "Ukjent felt, eller et felt som ikke kan endres i appen.",
                    "Unknown field, or one that cannot be changed in the app.",
                )
            )
    return value


def check_patch(body: Any) -> dict[str, Any]:
    """The member's change, validated and normalised, as the merge patch the register gets.

    `body` is a JSON object with any of EDITABLE: `email`, `phone` and `position` are texts;
    `address` ({street, postal_code, city}) and `employer` ({name, org_number?}) are each
    replaced as a whole, so no half-changed address or employer can arise (an employer sent
    without `org_number` clears the old one). Every broken rule is reported at once in one
    422 naming each field; unknown and read-only fields are errors too.
    """
    errors: list[Error] = []
    if not isinstance(body, dict):
        raise fields_error([(None, "type", "Send et JSON-objekt.", "Send a JSON object.")])
    if not body:
        raise fields_error(
            [
                (
                    None,
                    "empty",
                    "Send minst ett felt du vil endre.",
                    "Send at least one field to change.",
                )
            ]
        )
    patch: dict[str, Any] = {}
    for key in body:
        if key in READ_ONLY:
            errors.append(
                (
                    key,
                    "read_only",
                    "Dette kan ikke endres i appen. Kontakt medlemsservice.",
                    "This cannot be changed in the app. Please contact member service.",
                )
            )
        elif key not in EDITABLE:
            errors.append((key, "unknown_field", "Ukjent felt.", "Unknown field."))
    if "email" in body:
        patch["email"] = normalise_email(errors, "email", body["email"])
    if "phone" in body:
        patch["phone"] = normalise_phone(errors, "phone", body["phone"])
    if "position" in body:
        patch["position"] = _text(errors, "position", body["position"])
    if "address" in body:
        address = _object(errors, "address", body["address"], ADDRESS_FIELDS)
        if address is not None:
            street = _text(errors, "address.street", address.get("street"))
            city = _text(errors, "address.city", address.get("city"))
            code = _text(errors, "address.postal_code", address.get("postal_code"))
            if code is not None and not _POSTAL_CODE.match(code):
                errors.append(
                    (
                        "address.postal_code",
                        "postal_code",
                        "Postnummeret må være fire sifre.",
                        "The postal code must be four digits.",
                    )
                )
            patch["address"] = {"street": street, "postal_code": code, "city": city}
    if "employer" in body:
        employer = _object(errors, "employer", body["employer"], EMPLOYER_FIELDS)
        if employer is not None:
            name = _text(errors, "employer.name", employer.get("name"))
            org = _text(errors, "employer.org_number", employer.get("org_number"), required=False)
            if org is not None:
                org = org.replace(" ", "")
                if not _org_number_ok(org):
                    errors.append(
                        (
                            "employer.org_number",
                            "org_number",
                            "Organisasjonsnummeret må ha ni sifre og et gyldig kontrollsiffer.",
                            (
                                "The organisation number must have nine digits and a valid "
                                "check digit."
                            ),
                        )
                    )
            patch["employer"] = {"name": name, "org_number": org}
    if errors:
        raise fields_error(errors)
    return patch


def if_match(header: str | None) -> tuple[bool, set[str]]:
    """If-Match as (any version, the versions listed); 428 when it is missing."""
    if header is None or not header.strip():
        raise PreconditionRequired(
            {
                "nb": "Send If-Match med ETag-en fra profilen du leste.",
                "en": "Send If-Match with the ETag of the profile you read.",
            }
        )
    if header.strip() == "*":
        return True, set()
    versions = set()
    for tag in header.split(","):
        m = _VERSION_TAG.match(tag.strip())
        if m:
            versions.add(str(int(m.group(1))))
    return False, versions


_CHANGED = {
    "nb": "Profilen er endret siden du leste den. Hent den på nytt.",
    "en": "Your profile changed since you read it. Fetch it again.",
}


def rectify(
    member_id: str,
    body: Any,
    if_match_header: str | None,
    register: Register,
    is_restricted: Callable[[str], bool],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[dict[str, Any], str]:
    """Validates the member's change and writes it to the register if the record is still
    the version they read; answers the new profile view and its version.

    Raises ValidationFailed (422, every field at once; nothing is written),
    PreconditionRequired (428), PreconditionFailed (412), NotFound, DependencyUnavailable.
    A restricted member may still correct their data: restriction stops processing,
    rectification is how a member ends a dispute about accuracy.
    """
    patch = check_patch(body)
    any_version, versions = if_match(if_match_header)
    # Every other dependency first: once the register has the change, nothing may fail.
    restricted = is_restricted(member_id)
    if any_version or len(versions) > 1:
        # "*" or several tags: the register takes one version, so read the current one and
        # write against it (the register still refuses if it moves on in between).
        record = register.get_member(member_id)
        if record is None or record.get("member_id") != member_id:
            raise NotFound(NOT_IN_REGISTER)
        current = str(record.get("version"))
        if not any_version and current not in versions:
            raise PreconditionFailed(_CHANGED)
        versions = {current}
    if not versions:
        raise PreconditionFailed(_CHANGED)
    record = register.patch_member(member_id, patch, next(iter(versions)))
    if record is None or record.get("member_id") != member_id:
        raise NotFound(NOT_IN_REGISTER)
    return view(record, restricted, now()), str(record.get("version"))
