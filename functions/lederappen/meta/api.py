"""HTTP endpoints of the meta function: health and the OpenAPI document."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..core import db
from ..core.http import RETRY_AFTER, Api, Out, Reply, Request
from ..core.problems import DependencyUnavailable
from .schemas import Health

api = Api()
OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi.json"
_openapi: dict | None = None


@api.get(
    "/v1/health",
    operation_id="getHealth",
    summary="Health: the function runs and the database answers.",
    response=Health,
    returns="Healthy",
    responses={503: Out(Health, "The database does not answer", headers=(RETRY_AFTER,))},
    accept_language=False,
)
def health(request: Request) -> Reply:
    """200 when the database answers; 503 with Retry-After when it does not."""
    started = time.perf_counter()
    try:
        db.fetch_one("SELECT 1")
    except DependencyUnavailable:
        return Reply(
            {"status": "unavailable", "checks": {"database": "unavailable"}},
            status=503,
            headers={"Retry-After": "5", "Cache-Control": "no-store"},
        )
    return Reply(
        {
            "status": "ok",
            "checks": {"database": "ok"},
            "database_ms": round((time.perf_counter() - started) * 1000, 2),
        },
        headers={"Cache-Control": "no-store"},
    )


@api.get(
    "/v1/openapi.json",
    operation_id="getOpenApi",
    summary="This document.",
    response=dict[str, Any],
    returns="The OpenAPI document",
    accept_language=False,
)
def openapi(request: Request) -> Reply:
    global _openapi
    if _openapi is None:
        _openapi = json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))
    return Reply(_openapi, headers={"Cache-Control": "public, max-age=300"})
