"""Erasure under faults (R3, R5): a deletion job that fails half-way is retried by Pub/Sub and
finishes; while it has not, the request is never reported done. The faults are real: the
newsletter system answering 503, and the database stopped while a job is between its
Firestore step and its SQL transaction."""

import time

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from infra.local import demo_data
from tests.conftest import eventually
from tests.support.firestore import emulator_client
from tests.support.traces import give_data, traces

pytestmark = pytest.mark.stack
MEMBERS = [
    m["member_id"]
    for m in demo_data.generate_members(400)[8:50]
    if m["membership"]["status"] == "active"
]
OFFICER = "personvern"


@pytest.fixture(scope="module")
def fs(stack):
    return emulator_client(stack)


def _erasure(api, token, member) -> str:
    r = api.post("/v1/privacy/requests", token=token(member), json_body={"kind": "erasure"})
    assert r.status in (200, 201), r.text
    return r.json()["id"]


def _view(api, token, request_id) -> dict:
    resp = api.get(f"/v1/admin/privacy-requests/{request_id}", token=token(OFFICER))
    assert resp.status == 200, resp.text
    return resp.json()


def test_a_job_that_fails_is_marked_failed_and_finishes_on_redelivery(
    api, token, db_exec, fs, lederne
):
    member = MEMBERS[0]
    give_data(api, token, member)
    lederne.fault(status=503, path_prefix=f"/api/newsletter/subscribers/{member}")
    request_id = _erasure(api, token, member)
    assert (
        api.post(f"/v1/admin/privacy-requests/{request_id}/approve", token=token(OFFICER)).status
        == 200
    )
    failed = eventually(
        lambda: _when_status(_view(api, token, request_id), "failed"),
        timeout=60,
    )
    assert failed["last_error"] == "DependencyUnavailable" and failed["attempts"] >= 1
    assert failed["member_id"] == member and failed["receipt"] is None
    assert traces(db_exec, fs, member)  # nothing was taken yet: the newsletter comes first
    lederne.reset()
    done = eventually(
        lambda: _when_status(_view(api, token, request_id), "done"),
        timeout=120,
    )
    assert done["attempts"] >= 2 and done["last_error"] is None
    assert traces(db_exec, fs, member) == []


def test_the_database_down_between_steps_means_retry_never_a_half_erasure_reported_done(
    api, token, db_exec, fs, lederne, stack
):
    """The first attempt marks the request running, deletes the newsletter subscriber and the
    Firestore documents, and then finds the database gone: its SQL transaction never starts.
    The redelivered job completes it. The receipt proves the order: the Firestore documents
    were already gone in the attempt that finished (counted 0 there), the SQL rows were not."""
    member = MEMBERS[1]
    give_data(api, token, member)
    # the newsletter step takes 0.8 s (under the client's 1 s timeout): long enough to stop
    # the database behind the job's back once it is running
    lederne.fault(delay_ms=800, path_prefix=f"/api/newsletter/subscribers/{member}", count=1)
    request_id = _erasure(api, token, member)
    assert (
        api.post(f"/v1/admin/privacy-requests/{request_id}/approve", token=token(OFFICER)).status
        == 200
    )
    deadline = time.monotonic() + 30
    while (
        db_exec("SELECT status FROM privacy_requests WHERE id = %s", (request_id,))[0][0]
        != "running"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    stack.stop_postgres()
    try:
        time.sleep(3)  # the job erases Firestore, then its SQL transaction cannot start
        assert not list(
            fs.collection("inbox_items")
            .where(filter=FieldFilter("member_id", "==", member))
            .stream()
        )
    finally:
        stack.start_postgres()
    view = _view(api, token, request_id)
    if view["status"] != "done":  # never done while the SQL rows may be there
        assert view["member_id"] == member and view["receipt"] is None
    done = eventually(
        lambda: _when_status(_view(api, token, request_id), "done"),
        timeout=120,
    )
    assert done["attempts"] >= 2
    counts = done["receipt"]["counts"]
    assert counts.get("member_preferences") == 1 and counts.get("consent_events", 0) >= 2
    assert not counts.get("inbox_items") and counts.get("devices") == 1  # SQL, not Firestore
    assert traces(db_exec, fs, member) == []


def _when_status(view: dict, status: str) -> dict | None:
    """The view once it has reached `status`, for eventually()."""
    return view if view["status"] == status else None
