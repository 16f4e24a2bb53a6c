"""HTTP endpoints of the profile function (F1, R1, R2).

`GET /v1/profile` reads the member's profile live from the register (ETag: the register
record's version). `PATCH /v1/profile` changes contact details, employer and position in
the register (If-Match: that ETag). `PUT /v1/profile/photo` sends a photo, cleaned of every
metadata and made small (see photo.py), `GET` shows it and `DELETE` removes it. No route
takes a member id: a member reaches only their own profile. Nothing is stored here and no
value is logged: the register is the only place the profile lives.
"""

from __future__ import annotations

from typing import Any

from ..core import lederne, restriction
from ..core.http import IF_MATCH, Api, Header, Out, Reply, Request, etag
from ..core.problems import NotFound
from . import photo, service
from .schemas import Profile, ProfilePatch, ProfilePhoto

api = Api()

_NO_PHOTO = {"nb": "Du har ikke noe profilbilde.", "en": "You have no profile photo."}


@api.get(
    "/v1/profile",
    operation_id="getProfile",
    summary=(
        "The member's profile and membership status, read live from Lederne's member register "
        "(F1). Nothing of it is stored by the backend."
    ),
    response=Out(
        Profile,
        "The profile",
        headers=(
            Header(
                "ETag",
                "Version of the register record; send it as If-Match when changing the profile.",
            ),
        ),
    ),
    errors=(
        404,
        503,
    ),
)
def get_profile(request: Request) -> Reply:
    profile, version = service.get_profile(
        request.member_id, lederne.client(request.settings), restriction.is_restricted
    )
    headers = {"ETag": f'"{version}"'} if version else {}
    return Reply(profile, headers=headers)


@api.patch(
    "/v1/profile",
    body=dict[str, Any],
    operation_id="patchProfile",
    summary=(
        "Correct your own profile (R2): contact details, employer, position. Written to Lederne's"
        " member register, never kept by the backend."
    ),
    response=Out(
        Profile,
        "Changed in the register; the profile as it is now",
        headers=(Header("ETag", "The register record's new version."),),
    ),
    errors=(
        404,
        412,
        413,
        415,
        422,
        428,
        503,
    ),
    headers=(IF_MATCH,),
    body_media=("application/merge-patch+json", "application/json"),
    body_schema=ProfilePatch,
)
def patch_profile(request: Request) -> Reply:
    """A merge patch of the fields to change; absent fields stay as they are. `address` and
    `employer` are each replaced as a whole. Phone numbers are read as Norwegian unless they
    carry a country code and are answered in E.164; e-mail addresses are checked for syntax
    and normalised; a postal code is four digits and goes with its post town. Every invalid
    field is named in one 422 and nothing is written. Name, fødselsnummer and membership are
    changed by member service, not here (422 `read_only`). Needs If-Match with the ETag of
    `GET /v1/profile`: 428 without it, 412 when the register record changed since.
    """
    profile, version = service.rectify(
        request.member_id,
        request.body,
        request.headers.get("If-Match"),
        lederne.client(request.settings),
        restriction.is_restricted,
    )
    return Reply(profile, headers={"ETag": etag(version)})


@api.put(
    "/v1/profile/photo",
    body=bytes,
    max_body_bytes=photo.MAX_UPLOAD_BYTES,
    operation_id="putProfilePhoto",
    summary="Set your profile photo from the camera or the photo library (F1).",
    response=ProfilePhoto,
    returns="Stored in the member register, as described",
    errors={
        404: None,
        413: None,
        422: None,
        503: None,
        415: (
            (
                "Content-Type is not image/jpeg, image/png or image/webp (type "
                ".../unsupported-media-type)."
            ),
            None,
        ),
    },
    body_media=("image/jpeg", "image/png", "image/webp"),
)
def put_photo(request: Request) -> Reply:
    """The raw image as the body, at most 10 MiB, 50 megapixels and 12,000 pixels on a side (a
    PNG or WebP at most 16 megapixels). The content decides, not the Content-Type: it must
    decode as JPEG, PNG or WebP (else 422). The photo is turned upright by its EXIF
    orientation, flattened onto white, converted to sRGB, scaled to at most 1024 pixels on
    its longer side and encoded again as a JPEG from its pixels alone: no EXIF (GPS
    position, time, camera), XMP, IPTC, ICC profile or comment leaves this backend. HEIC is
    not accepted: send the JPEG the system picker gives. Replaces any earlier photo.
    """
    cleaned = photo.clean(request.body, request.headers.get("Content-Type"))
    if not lederne.client(request.settings).put_photo(
        request.member_id, cleaned.data, cleaned.content_type
    ):
        raise NotFound(service.NOT_IN_REGISTER)
    return Reply(
        {
            "content_type": cleaned.content_type,
            "width": cleaned.width,
            "height": cleaned.height,
            "bytes": len(cleaned.data),
        }
    )


@api.get(
    "/v1/profile/photo",
    operation_id="getProfilePhoto",
    summary="Your profile photo, read from the member register (Cache-Control: private, no-store).",
    response=Out(bytes, "The photo", media=("image/jpeg", "image/png")),
    errors={503: None, 404: ("You have no profile photo (type .../not-found).", None)},
)
def get_photo(request: Request) -> Reply:
    found = lederne.client(request.settings).get_photo(request.member_id)
    if found is None:
        raise NotFound(_NO_PHOTO)
    data, content_type = found
    return Reply(data, content_type=content_type, headers={"Cache-Control": "private, no-store"})


@api.delete(
    "/v1/profile/photo",
    operation_id="deleteProfilePhoto",
    summary="Remove your profile photo from the member register (no photo is not an error).",
    response=None,
    returns="Removed",
    errors=(
        404,
        503,
    ),
)
def delete_photo(request: Request) -> Reply:
    if not lederne.client(request.settings).delete_photo(request.member_id):
        raise NotFound(service.NOT_IN_REGISTER)
    return Reply(None, status=204)
