"""The connection factory chooses from configuration alone: Cloud SQL connector with IAM
authentication when an instance is named, pg8000 directly otherwise."""

import base64

from lederappen.core import config, db

BASE = {
    "GOOGLE_CLOUD_PROJECT": "p",
    "PSEUDONYM_KEY": base64.b64encode(b"k" * 32).decode(),
    "DB_NAME": "lederappen",
    "DB_STATEMENT_TIMEOUT_MS": "4000",
}


class RecordingConnector:
    def __init__(self):
        self.calls = []

    def connect(self, instance, driver, **kwargs):
        self.calls.append((instance, driver, kwargs))
        return "connection"


def test_cloud_sql_instance_means_connector_with_iam_auth(monkeypatch):
    fake = RecordingConnector()
    monkeypatch.setattr(db, "_cloud_sql_connector", lambda: fake)
    settings = config.load(
        ("db",),
        {**BASE, "CLOUD_SQL_INSTANCE": "proj:europe-north1:main", "DB_USER": "profile-fn@proj.iam"},
    )
    assert db.connect(settings) == "connection"
    ((instance, driver, kw),) = fake.calls
    assert (instance, driver) == ("proj:europe-north1:main", "pg8000")
    assert kw["enable_iam_auth"] is True and "password" not in kw
    assert kw["user"] == "profile-fn@proj.iam" and kw["db"] == "lederappen"
    assert kw["ip_type"] == "private"
    assert kw["startup_params"] == {"statement_timeout": "4000"}


def test_without_an_instance_pg8000_connects_directly(monkeypatch):
    import pg8000.dbapi

    seen = {}
    monkeypatch.setattr(pg8000.dbapi, "connect", lambda **kw: seen.update(kw) or "direct")
    settings = config.load(
        ("db",),
        {**BASE, "DB_USER": "app", "DB_PASSWORD": "pw", "DB_HOST": "127.0.0.1", "DB_PORT": "5999"},
    )
    assert db.connect(settings) == "direct"
    assert (seen["host"], seen["port"], seen["user"], seen["password"]) == (
        "127.0.0.1",
        5999,
        "app",
        "pw",
    )
