"""Health and the OpenAPI document, served by the running meta function."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]


def test_health_reports_the_database_ok(api):
    resp = api.get("/v1/health")
    assert resp.status == 200
    assert resp.json()["checks"]["database"] == "ok"


def test_openapi_document_is_served_and_equals_the_repository_copy(api):
    resp = api.get("/v1/openapi.json")
    assert resp.status == 200
    assert resp.json() == json.loads((ROOT / "functions" / "openapi.json").read_text())
