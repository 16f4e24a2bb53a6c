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
from ..core.http import Api, Reply, Request, etag
from ..core.problems import NotFound
from . import photo, service

api = Api()

_NO_PHOTO = {"nb": "Du har ikke noe profilbilde.", "en": "You have no profile photo."}


@api.get("/v1/profile")
def get_profile(request: Request) -> Reply:
    profile, version = service.get_profile(
        request.member_id, lederne.client(request.settings), restriction.is_restricted
    )
    headers = {"ETag": f'"{version}"'} if version else {}
    return Reply(profile, headers=headers)


@api.patch("/v1/profile", body=dict[str, Any])
def patch_profile(request: Request) -> Reply:
    profile, version = service.rectify(
        request.member_id,
        request.body,
        request.headers.get("If-Match"),
        lederne.client(request.settings),
        restriction.is_restricted,
    )
    return Reply(profile, headers={"ETag": etag(version)})


@api.put("/v1/profile/photo", body=bytes, max_body_bytes=photo.MAX_UPLOAD_BYTES)
def put_photo(request: Request) -> Reply:
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


@api.get("/v1/profile/photo")
def get_photo(request: Request) -> Reply:
    found = lederne.client(request.settings).get_photo(request.member_id)
    if found is None:
        raise NotFound(_NO_PHOTO)
    data, content_type = found
    return Reply(data, content_type=content_type, headers={"Cache-Control": "private, no-store"})


@api.delete("/v1/profile/photo")
def delete_photo(request: Request) -> Reply:
    if not lederne.client(request.settings).delete_photo(request.member_id):
        raise NotFound(service.NOT_IN_REGISTER)
    return Reply(None, status=204)
