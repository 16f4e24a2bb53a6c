"""HTTP endpoints of the profile function."""

from __future__ import annotations

from ..core import lederne, restriction
from ..core.http import Api, Reply, Request
from . import service

api = Api()


@api.get("/v1/profile")
def get_profile(request: Request) -> Reply:
    profile, version = service.get_profile(
        request.member_id, lederne.client(request.settings), restriction.is_restricted
    )
    headers = {"ETag": f'"{version}"'} if version else {}
    return Reply(profile, headers=headers)
