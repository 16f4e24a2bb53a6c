"""The FCM stand-in is as strict as FCM HTTP v1, seen through Google's own client.

firebase-admin (the SDK production sends with) talks to the stand-in served in-process on
127.0.0.1; for every case the SDK must raise the typed exception FCM's answer makes it raise
(UnregisteredError, InvalidArgumentError, QuotaExceededError, SenderIdMismatchError, ...).
Messages the SDK itself would refuse to build (a ttl of "abc", an unknown field) are posted
raw through the SDK's own HTTP client and its error handling, as a hand-built request to FCM
would be; an invalid argument names its field in a google.rpc.BadRequest, as FCM's does.
"""

from __future__ import annotations

import asyncio
import itertools
import warnings

import firebase_admin
import pytest
from firebase_admin import exceptions, messaging

from tests.support.fcm import PROJECT, Standin

# The app's devices register FCM registration tokens; 7.x deprecates `token` in favour of
# Firebase installation ids, which the stand-in accepts too (see the fid test).
pytestmark = pytest.mark.filterwarnings("ignore:Message.token is deprecated")

_apps = itertools.count()


@pytest.fixture(scope="module")
def standin():
    s = Standin()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _clean(standin):
    standin.control("/_control/reset", {})


def _app(standin):
    from lederappen.notifications import fcm

    return fcm.firebase_app(
        standin.base,
        PROJECT,
        credential=fcm.static_credential("local-standin"),
        name=f"strict-{next(_apps)}",
    )


@pytest.fixture(scope="module")
def app(standin):
    """One App for the sync sends (making one costs ~0.6 s: TLS contexts, clients)."""
    made = _app(standin)
    yield made
    firebase_admin.delete_app(made)


@pytest.fixture
def fresh_app(standin):
    """An App for one asyncio.run (its async client binds to that loop)."""
    made = _app(standin)
    yield made
    firebase_admin.delete_app(made)


def service(app):
    return messaging._get_messaging_service(app)


def post_raw(app, message: dict, **body):
    """What the SDK raises for an answer to this hand-built body (None for a 200)."""
    import requests

    svc = service(app)
    try:
        svc._client.body("post", url=svc._fcm_url, json={"message": message, **body})
    except requests.exceptions.RequestException as error:
        return svc._handle_fcm_error(error)
    return None


def violation(exc) -> tuple[str, bool]:
    """(the violated field, whether an FcmError came too) of a 400 answer."""
    details = exc.http_response.json()["error"]["details"]
    fields = [
        v["field"]
        for d in details
        if d["@type"].endswith("google.rpc.BadRequest")
        for v in d["fieldViolations"]
    ]
    fcm = any(d["@type"].endswith("fcm.v1.FcmError") for d in details)
    assert len(fields) == 1
    return fields[0], fcm


def test_a_valid_message_built_by_the_sdk_is_accepted_and_recorded_as_sent(standin, app):
    message = messaging.Message(
        token="tok-1",
        notification=messaging.Notification(title="Hei", body="Nytt kurs"),
        data={"kind": "course"},
        android=messaging.AndroidConfig(
            ttl=3.5,
            priority="normal",
            collapse_key="c",
            notification=messaging.AndroidNotification(
                visibility="private", tag="c", color="#112233", priority="high"
            ),
        ),
        apns=messaging.APNSConfig(
            headers={"apns-priority": "5", "apns-collapse-id": "c"},
            payload=messaging.APNSPayload(aps=messaging.Aps(thread_id="news", badge=1)),
        ),
        webpush=messaging.WebpushConfig(
            headers={"TTL": "60"},
            notification=messaging.WebpushNotification(title="Hei"),
            fcm_options=messaging.WebpushFCMOptions(link="https://lederne.no"),
        ),
        fcm_options=messaging.FCMOptions(analytics_label="news"),
    )
    name = messaging.send(message, app=app)
    assert name.startswith(f"projects/{PROJECT}/messages/")
    (got,) = standin.delivered("tok-1")
    assert (
        got["android"]["ttl"] == "3.500000000s"
        and got["android"]["notification"]["visibility"] == "PRIVATE"
    )


def test_every_target_the_sdk_sends_is_accepted_fid_too(standin, app):
    for target in (
        {"token": "t-1"},
        {"topic": "news"},
        {"fid": "fid-1"},
        {"condition": "'a' in topics && ('b' in topics || !('c' in topics))"},
    ):
        messaging.send(messaging.Message(data={"k": "v"}, **target), app=app)
    assert len(standin.delivered("fid-1", kind="fid")) == 1
    assert standin.stats()["delivered"] == 4


@pytest.mark.parametrize(
    "behaviour, error",
    [
        ("unregistered", messaging.UnregisteredError),
        ("mismatch", messaging.SenderIdMismatchError),
        ("apns_auth", messaging.ThirdPartyAuthError),
        ("invalid", exceptions.InvalidArgumentError),
    ],
)
def test_a_tokens_verdict_reaches_the_sdk_as_fcms_typed_error(standin, app, behaviour, error):
    standin.behave("tok-x", behaviour)
    with pytest.raises(error) as caught:
        messaging.send(messaging.Message(token="tok-x", data={"k": "v"}), app=app)
    assert type(caught.value) is error
    if behaviour == "invalid":
        assert violation(caught.value) == ("message.token", True)


def test_a_dead_token_is_unregistered_and_a_dry_run_says_so_too(app):
    for dry_run in (False, True):
        with pytest.raises(messaging.UnregisteredError):
            messaging.send(messaging.Message(token="dead-1"), dry_run=dry_run, app=app)


def test_quota_is_quota_exceeded_with_retry_after(standin, fresh_app):
    app = fresh_app
    standin.behave("tok-q", "quota", retry_after=7)

    async def run():  # the async API does not retry a 429 itself (the sync one sleeps)
        try:
            return await messaging.send_each_async(
                [messaging.Message(token="tok-q")], dry_run=False, app=app
            )
        finally:
            await service(app)._async_client.aclose()

    error = asyncio.run(run()).responses[0].exception
    assert type(error) is messaging.QuotaExceededError
    assert error.http_response.status_code == 429
    assert error.http_response.headers["Retry-After"] == "7"


# Messages the SDK builds without complaint, which FCM refuses.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Message.token is deprecated", DeprecationWarning)
    SDK_BUILT_REFUSED = [
        (messaging.Message(token="t", data={"blob": "x" * 4100}), "message"),
        (messaging.Message(topic="news", data={"blob": "x" * 4100}), "message"),
        (messaging.Message(condition="'a' in topics", data={"blob": "x" * 4100}), "message"),
        (
            messaging.Message(token="t", notification=messaging.Notification(body="x" * 4100)),
            "message",
        ),
        (
            messaging.Message(
                token="t",
                apns=messaging.APNSConfig(
                    payload=messaging.APNSPayload(aps=messaging.Aps(), blob="x" * 4100)
                ),
            ),
            "message",
        ),
        (messaging.Message(token="t", data={"from": "me"}), "message.data[from]"),
        (messaging.Message(token="t", data={"google.x": "y"}), "message.data[google.x]"),
        (messaging.Message(condition="'a' in topics &&"), "message.condition"),
        (
            messaging.Message(
                condition="'a' in topics || 'b' in topics || 'c' in topics || "
                "'d' in topics || 'e' in topics || 'f' in topics"
            ),
            "message.condition",
        ),
        (
            messaging.Message(token="t", apns=messaging.APNSConfig(headers={"apns-priority": "7"})),
            "message.apns.headers[apns-priority]",
        ),
        (
            messaging.Message(token="t", android=messaging.AndroidConfig(ttl=30 * 86400)),
            "message.android.ttl",
        ),
    ]


@pytest.mark.parametrize("message, field", SDK_BUILT_REFUSED)
def test_what_the_sdk_builds_but_fcm_refuses_is_an_invalid_argument_naming_the_field(
    standin, app, message, field
):
    with pytest.raises(exceptions.InvalidArgumentError) as caught:
        messaging.send(message, app=app)
    assert violation(caught.value) == (field, True)
    assert standin.stats()["delivered"] == 0


# Hand-built bodies (what a client without the SDK could send), refused like FCM refuses them.
@pytest.mark.parametrize(
    "message, field",
    [
        ({"token": "t", "android": {"ttl": "abc"}}, "message.android.ttl"),
        ({"token": "t", "android": {"ttl": 30}}, "message.android.ttl"),
        ({"token": "t", "android": {"ttl": "-1s"}}, "message.android.ttl"),
        ({"token": "t", "android": {"priority": "urgent"}}, "message.android.priority"),
        (
            {"token": "t", "android": {"notification": {"visibility": "SECRETISH"}}},
            "message.android.notification.visibility",
        ),
        (
            {"token": "t", "android": {"notification": {"notification_priority": "LOUD"}}},
            "message.android.notification.notification_priority",
        ),
        (
            {"token": "t", "android": {"notification": {"event_time": "yesterday"}}},
            "message.android.notification.event_time",
        ),
        (
            {"token": "t", "android": {"notification": {"color": "red"}}},
            "message.android.notification.color",
        ),
        ({"token": "t", "android": {"direct_boot_ok": "yes"}}, "message.android.direct_boot_ok"),
        ({"token": "t", "android": {"colapse_key": "x"}}, "message.android"),
        ({"token": "t", "apns": {"header": {}}}, "message.apns"),
        ({"token": "t", "apns": {"payload": "aps"}}, "message.apns.payload"),
        ({"token": "t", "apns": {"payload": {"aps": "alert"}}}, "message.apns.payload.aps"),
        ({"token": "t", "webpush": {"notify": {}}}, "message.webpush"),
        (
            {"token": "t", "webpush": {"fcm_options": {"link": "http://x"}}},
            "message.webpush.fcm_options.link",
        ),
        (
            {"token": "t", "fcm_options": {"analytics_label": "a b"}},
            "message.fcm_options.analytics_label",
        ),
        ({"token": "t", "fcm_options": {"label": "x"}}, "message.fcm_options"),
        ({"token": "t", "data": {"n": 1}}, "message.data[0].value"),
        ({"token": "t", "extra": 1}, "message"),
        ({"token": "t", "topic": "news"}, "message.topic"),
        ({"token": "t", "fid": "f"}, "message.fid"),
        ({"data": {"k": "v"}}, "message"),
        ({"token": ""}, "message.token"),
        ({"topic": "bad topic!"}, "message.topic"),
        ({"token": 42}, "message.token"),
    ],
)
def test_hand_built_messages_fcm_refuses_are_invalid_arguments_naming_the_field(
    standin, app, message, field
):
    error = post_raw(app, message)
    assert type(error) is exceptions.InvalidArgumentError
    assert violation(error)[0] == field
    assert standin.stats()["delivered"] == 0


def test_proto_json_spellings_fcm_accepts_are_accepted(standin, app):
    message = {
        "token": "t",
        "android": {
            "collapseKey": "c",
            "priority": "HIGH",
            "ttl": "0.5s",
            "notification": {"clickAction": "open", "visibility": 1, "notificationCount": "3"},
        },
        "fcmOptions": {"analyticsLabel": "x"},
    }
    assert post_raw(app, message) is None
    assert post_raw(app, {"token": "t"}, validate_only=True) is None
    assert post_raw(app, {"token": "t"}, validate_only="yes").__class__ is (
        exceptions.InvalidArgumentError
    )
    assert standin.stats()["delivered"] == 1


def test_the_sdks_async_send_gets_the_same_typed_errors(standin, fresh_app):
    app = fresh_app
    standin.behave("q-1", "quota")
    messages = [
        messaging.Message(token="ok-1"),
        messaging.Message(token="dead-2"),
        messaging.Message(token="q-1"),
        messaging.Message(token="big", data={"b": "x" * 5000}),
    ]

    async def run():
        try:
            return await messaging.send_each_async(messages, dry_run=False, app=app)
        finally:
            await service(app)._async_client.aclose()

    batch = asyncio.run(run())
    kinds = [type(r.exception) if r.exception else None for r in batch.responses]
    assert kinds == [
        None,
        messaging.UnregisteredError,
        messaging.QuotaExceededError,
        exceptions.InvalidArgumentError,
    ]
