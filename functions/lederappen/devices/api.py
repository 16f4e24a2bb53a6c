"""HTTP endpoints of the devices function: register, list and unregister the caller's devices."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from ..core import db, log
from ..core.http import Api, Out, Reply, Request
from ..core.problems import NotFound
from ..core.validation import Body
from . import service
from .schemas import Device, DeviceList

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


@api.post(
    "/v1/devices",
    body=DeviceRegistration,
    operation_id="registerDevice",
    summary=(
        "Register this installation for push notifications, or refresh it (after login, at app "
        "start and when FCM gives a new token)."
    ),
    response=Device,
    returns="Refreshed: this installation was already the member's",
    responses={201: Out(Device, "Registered: new for this member")},
    errors=(503,),
)
def register_device(request: Request) -> Reply:
    """Upsert by installation id, so sending it again is safe (no Idempotency-Key needed): the
    same installation gets its token and details replaced (200). An installation last
    registered by another member moves to the caller (201). Another installation holding the
    same FCM token loses it. A member keeps at most 10 registrations; a new one replaces the
    one seen least recently.
    """
    body: DeviceRegistration = request.body
    view, outcome = db.transaction(
        lambda cur: service.register(
            cur,
            request.settings.installation_id_key,
            request.member_id,
            installation_id=body.installation_id,
            fcm_token=body.fcm_token,
            platform=body.platform,
            app_version=body.app_version,
            locale=body.locale,
            now=_now(),
        )
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


@api.get(
    "/v1/devices",
    operation_id="listDevices",
    summary="The member's registered devices (never their FCM tokens).",
    response=DeviceList,
    returns="Registrations",
    errors=(503,),
)
def list_devices(request: Request) -> Reply:
    items = db.read(lambda cur: service.list_for(cur, request.member_id))
    return Reply({"items": items})


@api.delete(
    "/v1/devices/{device_id}",
    operation_id="unregisterDevice",
    summary="Unregister a device (at logout): no more push notifications to it.",
    response=None,
    returns="Unregistered",
    errors=(503,),
    path_params={
        "device_id": Annotated[
            str, msgspec.Meta(description="A registration's id, from POST or GET /v1/devices.")
        ]
    },
)
def unregister_device(request: Request) -> Reply:
    member_id, device_id = request.member_id, request.params["device_id"]
    found = db.transaction(lambda cur: service.unregister(cur, member_id, device_id))
    if not found:
        raise NotFound()
    return Reply(status=204)
