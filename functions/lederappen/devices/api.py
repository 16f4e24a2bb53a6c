"""HTTP endpoints of the devices function: register, list and unregister the caller's devices."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from ..core import firestore, log
from ..core.http import Api, Reply, Request
from ..core.problems import NotFound
from ..core.validation import Body
from . import service

api = Api()
_log = logging.getLogger("lederappen.devices")

#: FCM registration tokens are about 150-200 characters of [A-Za-z0-9_:-]; no length is
#: documented, so the bound leaves room while refusing anything that cannot be one.
FcmToken = Annotated[str, msgspec.Meta(min_length=32, max_length=512, pattern=r"^[A-Za-z0-9_:-]+$")]
#: The app's per-install id (a UUID, a Firebase installation id, ...); hashed, never stored.
InstallationId = Annotated[
    str, msgspec.Meta(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
]
#: "3.2.1", "3.2.1-beta.2", "3.2.1+456".
AppVersion = Annotated[
    str,
    msgspec.Meta(
        max_length=40, pattern=r"^[0-9]{1,4}(\.[0-9]{1,6}){0,3}([-+][0-9A-Za-z.-]{1,30})?$"
    ),
]


class DeviceRegistration(Body):
    fcm_token: FcmToken
    platform: Literal["ios", "android"]
    app_version: AppVersion
    locale: Literal["nb", "en"]
    installation_id: InstallationId


def _now() -> datetime:
    return datetime.now(UTC)


@api.post("/v1/devices", body=DeviceRegistration)
def register_device(request: Request) -> Reply:
    body: DeviceRegistration = request.body
    with firestore.guard():
        view, outcome = service.register(
            firestore.client(request.settings),
            request.settings.installation_id_key,
            request.member_id,
            installation_id=body.installation_id,
            fcm_token=body.fcm_token,
            platform=body.platform,
            app_version=body.app_version,
            locale=body.locale,
            now=_now(),
        )
    # Counts only: no token, no installation or device id (they identify a phone).
    what = "moved" if outcome["moved"] else "created" if outcome["created"] else "refreshed"
    log.event(
        _log,
        "device registered",
        outcome=what,
        tokens_taken_over=outcome["tokens_taken_over"],
        evicted=outcome["evicted"],
    )
    return Reply(view, status=201 if outcome["created"] else 200)


@api.get("/v1/devices")
def list_devices(request: Request) -> Reply:
    with firestore.guard():
        items = service.list_for(firestore.client(request.settings), request.member_id)
    return Reply({"items": items})


@api.delete("/v1/devices/{device_id}")
def unregister_device(request: Request) -> Reply:
    with firestore.guard():
        found = service.unregister(
            firestore.client(request.settings), request.member_id, request.params["device_id"]
        )
    if not found:
        raise NotFound()
    return Reply(status=204)
