"""The answers of the meta feature's routes, and their query parameters, as msgspec types.

The HTTP edge checks every JSON answer against its route's declared type (core/http.py), and
infra/scripts/openapi.py makes the OpenAPI document's schemas from these types."""

from __future__ import annotations

from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType


class HealthChecks(msgspec.Struct, kw_only=True):
    database: Literal["ok", "unavailable"] | UnsetType = UNSET


class Health(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: Literal["ok", "unavailable"]
    checks: HealthChecks
    database_ms: float | UnsetType = UNSET
