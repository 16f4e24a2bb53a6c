"""F9's pure parts without I/O: the keyed device id, the inbox item id, message and request
validation, the inbox cursor, and how the sender's helpers split work for Firestore (batches
of 500 writes, `in` queries of 30) — the latter against small fakes of the client."""

import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from lederappen.core import firestore
from lederappen.core.problems import DependencyUnavailable, ValidationFailed
from lederappen.core.validation import decode
from lederappen.devices import service as devices
from lederappen.devices.api import DeviceRegistration
from lederappen.inbox import service as inbox_service
from lederappen.notifications import inbox, message
from lederappen.preferences.service import NOTIFICATION_CATEGORIES

ROOT = Path(__file__).resolve().parents[2]
KEY = b"k" * 32
DOC_ID = re.compile(r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$")


# -- ids ----------------------------------------------------------------------------------------


@given(st.text(min_size=1, max_size=128))
def test_a_device_id_is_43_url_safe_characters_and_never_a_reserved_id(installation_id):
    doc_id = devices.device_id(KEY, installation_id)
    assert DOC_ID.match(doc_id) and devices.is_device_id(doc_id)
    assert not (doc_id.startswith("__") and doc_id.endswith("__"))


def test_a_device_id_is_stable_per_installation_and_depends_on_the_key():
    a = devices.device_id(KEY, "install-1")
    assert a == devices.device_id(KEY, "install-1")
    assert a != devices.device_id(KEY, "install-2")
    assert a != devices.device_id(b"x" * 32, "install-1")
    assert "install" not in a


@given(st.text(min_size=1, max_size=64), st.text(min_size=1, max_size=64))
def test_an_inbox_item_id_is_stable_per_message_and_member(message_id, member_id):
    item = inbox.item_id(message_id, member_id)
    assert DOC_ID.match(item) and inbox_service.is_item_id(item)
    assert item == inbox.item_id(message_id, member_id)
    assert item != inbox.item_id(message_id + "x", member_id)
    assert item != inbox.item_id(message_id, member_id + "x")


# -- messages -----------------------------------------------------------------------------------


def valid_message(**overrides) -> dict:
    msg = {
        "message_id": "msg-1",
        "category": "mentor_updates",
        "title": {"nb": "Mentoren din har takket ja", "en": "Your mentor accepted"},
        "body": {"nb": "Åpne appen for å se mer.", "en": "Open the app to see more."},
        "deep_link": "lederappen://mentoring",
        "sensitive": True,
    }
    msg.update(overrides)
    return msg


def test_message_categories_are_the_preference_categories():
    assert message.CATEGORIES == NOTIFICATION_CATEGORIES
    assert set(get_args(message.Category)) == set(NOTIFICATION_CATEGORIES)


def test_a_valid_message_parses_from_a_dict_or_json():
    parsed = message.parse(valid_message())
    assert parsed.category == "mentor_updates" and parsed.sensitive is True
    assert message.parse(msgspec.json.encode(valid_message())) == parsed
    assert message.parse(parsed) is parsed


@pytest.mark.parametrize(
    "change, field",
    [
        ({"category": "direct"}, "category"),
        ({"title": {"nb": "x" * 121, "en": "x"}}, "title.nb"),
        ({"body": {"nb": "x"}}, "body"),
        ({"deep_link": "http://example.com/phish"}, "deep_link"),
        ({"deep_link": "https://lederne.no.evil.example/"}, "deep_link"),
        ({"message_id": "has spaces"}, "message_id"),
        ({"audience": "all"}, "audience"),
    ],
)
def test_an_invalid_message_is_refused_naming_the_field(change, field):
    with pytest.raises(msgspec.ValidationError, match=re.escape(field.split(".")[0])):
        message.parse(valid_message(**change))


def test_links_into_the_app_and_to_lederne_no_are_allowed():
    for link in (
        "lederappen://courses/123?tab=info",
        "https://www.lederne.no/kurs/",
        "https://minside.lederne.no",
        None,
    ):
        assert message.parse(valid_message(deep_link=link)).deep_link == link


# -- the registration body ----------------------------------------------------------------------


def registration(**overrides) -> dict:
    body = {
        "fcm_token": "f" * 22 + ":APA91b" + "x" * 130,
        "platform": "ios",
        "app_version": "3.2.1+456",
        "locale": "en",
        "installation_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"platform": "windows"}, "platform"),
        ({"fcm_token": "a" * 513}, "fcm_token"),
        ({"fcm_token": "short"}, "fcm_token"),
        ({"installation_id": None}, "installation_id"),
        ({"installation_id": "x" * 129}, "installation_id"),
        ({"app_version": "1.0.0; DROP TABLE"}, "app_version"),
        ({"locale": "sv"}, "locale"),
    ],
)
def test_a_bad_registration_names_the_field(change, field):
    with pytest.raises(ValidationFailed) as exc:
        decode(msgspec.json.encode(registration(**change)), DeviceRegistration)
    assert exc.value.errors[0]["field"] == field


@pytest.mark.parametrize("version", ["3", "3.2", "3.2.1", "3.2.1-beta.2", "3.2.1+456", "10.0.0.1"])
def test_ordinary_app_versions_are_accepted(version):
    assert (
        decode(
            msgspec.json.encode(registration(app_version=version)), DeviceRegistration
        ).app_version
        == version
    )


# -- the inbox cursor ---------------------------------------------------------------------------


def test_the_inbox_cursor_round_trips():
    item = {"created_at": "2026-11-25T08:24:20.301000Z", "id": inbox.item_id("m", "1")}
    when, doc_id = inbox_service.decode_cursor(inbox_service.encode_cursor(item))
    assert when == datetime(2026, 11, 25, 8, 24, 20, 301000, tzinfo=UTC)
    assert doc_id == item["id"]


@given(st.text(max_size=200))
def test_any_cursor_either_decodes_or_is_a_422_naming_cursor(cursor):
    try:
        inbox_service.decode_cursor(cursor)
    except ValidationFailed as exc:
        assert exc.errors[0]["field"] == "cursor"


def test_timestamps_are_utc_with_microseconds_so_they_sort_as_instants():
    assert (
        firestore.timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        == "2026-01-02T03:04:05.000000Z"
    )
    assert firestore.timestamp(None) is None


# -- Firestore failures -------------------------------------------------------------------------


def test_an_unreachable_firestore_is_a_503_and_other_errors_stay_themselves():
    from google.api_core import exceptions as gexc

    with pytest.raises(DependencyUnavailable) as exc, firestore.guard():
        raise gexc.ServiceUnavailable("down")
    assert exc.value.status == 503 and exc.value.headers["Retry-After"]
    with pytest.raises(gexc.FailedPrecondition), firestore.guard():
        raise gexc.FailedPrecondition("bug")


def test_an_outage_the_library_wraps_in_a_value_error_is_still_a_503():
    from google.api_core import exceptions as gexc

    def failed_transaction():
        try:
            raise gexc.RetryError("Timeout of 5.0s exceeded", gexc.ServiceUnavailable("down"))
        except gexc.RetryError:  # the library's rollback fails like this, chained implicitly
            raise ValueError("The transaction has no transaction ID.")

    with pytest.raises(DependencyUnavailable), firestore.guard():
        failed_transaction()
    with pytest.raises(ValueError), firestore.guard():
        raise ValueError("a bug, not an outage")


def test_every_call_of_a_bounded_client_gives_up_within_the_bound():
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore as google_firestore

    client = google_firestore.Client(project="p", credentials=AnonymousCredentials())
    firestore.bounded(client, 2.5)
    transport = client._firestore_api._transport
    wrapped = transport._wrapped_methods
    for name in (
        "begin_transaction",
        "commit",
        "rollback",
        "batch_get_documents",
        "run_query",
        "run_aggregation_query",
    ):
        method = wrapped[getattr(transport, name)]
        assert method._timeout == 2.5, name
        assert method._retry is None or method._retry.timeout == 2.5, name


# -- fakes of the Firestore client, for how work is split -----------------------------------------


class FakeRef:
    def __init__(self, doc_id):
        self.id = doc_id


class FakeSnap:
    def __init__(self, doc_id, data):
        self.id, self._data, self.exists = doc_id, data, data is not None

    def to_dict(self):
        return dict(self._data) if self._data is not None else None


class FakeQuery:
    def __init__(self, client, values):
        self.client, self.values = client, values

    def select(self, fields):
        return self

    def stream(self, timeout=None):
        self.client.queries.append(list(self.values))
        for m in self.values:
            yield FakeSnap(
                f"dev-{m}",
                {"member_id": m, "fcm_token": f"t-{m}", "platform": "android", "locale": "en"},
            )


class FakeCollection:
    def __init__(self, client):
        self.client = client

    def document(self, doc_id):
        return FakeRef(doc_id)

    def where(self, filter):
        assert filter.op_string == "in" and filter.field_path == "member_id"
        return FakeQuery(self.client, filter.value)


class FakeBatch:
    def __init__(self, client):
        self.client, self.writes = client, []

    def create(self, ref, data):
        self.writes.append((ref.id, data))

    def commit(self, timeout=None):
        from google.api_core.exceptions import AlreadyExists

        self.client.commits.append(len(self.writes))
        if any(doc_id in self.client.docs for doc_id, _ in self.writes):
            raise AlreadyExists("exists")
        self.client.docs.update(dict(self.writes))


class FakeClient:
    def __init__(self, existing=()):
        self.docs = {doc_id: {} for doc_id in existing}
        self.commits, self.queries = [], []

    def collection(self, name):
        return FakeCollection(self)

    def batch(self):
        return FakeBatch(self)

    def get_all(self, refs, field_paths=None, timeout=None):
        for ref in refs:
            yield FakeSnap(ref.id, self.docs.get(ref.id))


def test_deliver_many_commits_at_most_500_writes_per_batch():
    client = FakeClient()
    assert inbox.deliver_many(client, [f"m{i}" for i in range(1201)], valid_message()) == 1201
    assert client.commits == [500, 500, 201]
    doc = next(iter(client.docs.values()))
    assert doc["read_at"] is None and doc["category"] == "mentor_updates"
    assert (doc["expires_at"] - datetime.now(UTC)).days in (364, 365)


def test_deliver_many_retries_a_batch_with_delivered_items_without_them():
    msg = valid_message()
    done = [inbox.item_id(msg["message_id"], f"m{i}") for i in range(3)]
    client = FakeClient(existing=done)
    assert inbox.deliver_many(client, [f"m{i}" for i in range(10)], msg) == 7
    assert client.commits == [10, 7]


def test_importing_the_feature_modules_does_not_import_the_firestore_library():
    code = (
        "import sys; sys.path.insert(0, 'functions'); "
        "import lederappen.devices.api, lederappen.inbox.api, lederappen.notifications.inbox, "
        "lederappen.notifications.devices; "
        "print('google.cloud.firestore' in sys.modules or 'grpc' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
