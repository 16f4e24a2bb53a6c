"""Faults: the database stopped mid-run gives 503 with Retry-After, never a hang or a 500,
and the functions recover by themselves when it is back."""

import time

import pytest

from infra.local import demo_data

pytestmark = pytest.mark.stack


def test_database_stopped_mid_run_gives_503_then_recovers(api, token, stack):
    t = token(demo_data.DEMO_MEMBER_ID)
    assert api.get("/v1/health").status == 200
    assert api.get("/v1/profile", token=t).status == 200
    stack.stop_postgres()
    try:
        for path, kw in (("/v1/health", {}), ("/v1/profile", {"token": t})):
            started = time.monotonic()
            resp = api.get(path, **kw)
            elapsed = time.monotonic() - started
            assert resp.status == 503, (path, resp.status, resp.text)
            assert resp.headers["Retry-After"].isdigit()
            assert elapsed < 6, f"{path} took {elapsed:.1f}s with the database down"
    finally:
        stack.start_postgres()
    # The pools drop their dead connections and open new ones: no restart of the functions.
    assert api.get("/v1/health").status == 200
    assert api.get("/v1/profile", token=t).status == 200
