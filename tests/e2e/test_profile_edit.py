"""Rectification (R2, F1 write side), end to end: the app's change goes through the gateway
to the profile function, is validated, and is written to the lederne.no stand-in's register,
guarded by the record's version; a photo arrives there without its metadata. Nothing of it
is kept in our database or written to a log.

The members used here are demo members 300..319, beyond the 300 the test stack's register
holds (other files use 0..299), so no other test sees what these change: each test puts
them into the stand-in's register as generated, and the module resets the stand-in at
its end.
"""

from __future__ import annotations

import io
import json
import time

import pytest
import urllib3
from PIL import Image

from infra.local import demo_data
from infra.local.postgres import APP_DATABASE, SUPERUSER
from tests.conftest import LederneControl

pytestmark = pytest.mark.stack

_ALL = demo_data.generate_members(320)
assert len(_ALL) == 320
MEMBERS = [m for m in _ALL[300:320] if m["membership"]["status"] == "active"]
PROBLEM = "application/problem+json"


class Register:
    """The stand-in's member register, read and arranged as Lederne's own systems would."""

    def __init__(self, stack):
        self.base = stack.urls["lederne"].rstrip("/")
        self.auth = {"Authorization": f"Bearer {stack.env['LEDERNE_API_KEY']}"}
        self.http = urllib3.PoolManager(retries=False)

    def put_pristine(self, member: dict) -> None:
        r = self.http.request("POST", self.base + "/_control/members", json=member)
        assert r.status == 204, r.data
        self.http.request(
            "DELETE", f"{self.base}/api/members/{member['member_id']}/photo", headers=self.auth
        )

    def record(self, member_id: str) -> dict:
        r = self.http.request("GET", f"{self.base}/api/members/{member_id}", headers=self.auth)
        assert r.status == 200, r.data
        return json.loads(r.data)

    def photo(self, member_id: str) -> tuple[int, str, bytes]:
        r = self.http.request(
            "GET", f"{self.base}/api/members/{member_id}/photo", headers=self.auth
        )
        return r.status, r.headers.get("Content-Type", ""), r.data

    def writes(self, member_id: str) -> list[dict]:
        """PATCH and PUT calls the register got for the member (put_pristine DELETEs)."""
        log = json.loads(self.http.request("GET", self.base + "/_control/requests").data)
        return [
            e
            for e in log
            if e["method"] in ("PATCH", "PUT") and e["path"].startswith(f"/api/members/{member_id}")
        ]


@pytest.fixture(scope="module")
def register(stack):
    reg = Register(stack)
    yield reg
    LederneControl(stack.urls["lederne"]).reset()  # the register holds its 300 again


@pytest.fixture(autouse=True)
def pristine(register):
    for member in MEMBERS:
        register.put_pristine(member)


def _etag(api, tok) -> str:
    resp = api.get("/v1/profile", token=tok)
    assert resp.status == 200, resp.text
    return resp.headers["ETag"]


def _problem(resp, status: int) -> dict:
    assert resp.status == status, resp.text
    assert resp.headers["Content-Type"] == PROBLEM
    return resp.json()


CHANGE = {
    "email": "Ny.Adresse@Eksempel.NO",
    "phone": "+47 915 55 123",
    "address": {"street": "Bryggen 7", "postal_code": "5003", "city": "Bergen"},
    "employer": {"name": "Fjord Skipsverft AS", "org_number": "923 609 016"},
    "position": "Verftsdirektør",
}


def test_enough_demo_members_beyond_the_registers_300():
    assert len(MEMBERS) >= 12
    assert all(int(m["member_id"]) > int(_ALL[299]["member_id"]) for m in MEMBERS)


def test_a_valid_change_reaches_the_register_and_comes_back_with_a_new_etag(api, token, register):
    member = MEMBERS[0]
    tok = token(member["member_id"])
    assert _etag(api, tok) == '"1"'
    resp = api.patch("/v1/profile", token=tok, json_body=CHANGE, headers={"If-Match": '"1"'})
    assert resp.status == 200, resp.text
    assert resp.headers["ETag"] == '"2"'
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.json()
    assert body["phone"] == "+4791555123" and body["email"] == "Ny.Adresse@eksempel.no"
    assert body["address"] == {
        "street": "Bryggen 7",
        "postal_code": "5003",
        "city": "Bergen",
        "county": "Vestland",
    }
    assert body["employer"] == {"name": "Fjord Skipsverft AS", "org_number": "923609016"}
    assert body["position"] == "Verftsdirektør"
    assert "national_id" not in body

    stored = register.record(member["member_id"])  # in the register itself
    assert stored["version"] == 2 and stored["phone"] == "+4791555123"
    assert stored["address"]["postal_code"] == "5003" and stored["address"]["county"] == "Vestland"
    assert stored["employer"]["org_number"] == "923609016"
    assert stored["national_id"] == member["national_id"]  # nothing else touched
    assert stored["given_name"] == member["given_name"]

    again = api.get("/v1/profile", token=tok)  # and read back live
    assert again.headers["ETag"] == '"2"' and again.json()["phone"] == "+4791555123"


def test_a_partial_change_leaves_the_rest_and_an_employer_without_number_clears_it(
    api, token, register
):
    member = MEMBERS[1]
    tok = token(member["member_id"])
    headers = {"If-Match": _etag(api, tok), "Content-Type": "application/merge-patch+json"}
    resp = api.patch(
        "/v1/profile",
        token=tok,
        headers=headers,
        body=json.dumps({"employer": {"name": "Nytt Firma AS"}}).encode(),
    )
    assert resp.status == 200, resp.text
    stored = register.record(member["member_id"])
    assert stored["employer"] == {"name": "Nytt Firma AS", "org_number": None}
    assert stored["phone"] == member["phone"] and stored["address"] == member["address"]


def test_bad_phone_postal_code_and_email_give_one_422_and_the_register_is_unchanged(
    api, token, register
):
    member = MEMBERS[2]
    tok = token(member["member_id"])
    etag = _etag(api, tok)
    resp = api.patch(
        "/v1/profile",
        token=tok,
        headers={"If-Match": etag},
        json_body={
            "phone": "12 34",
            "email": "kari@@lederne.no",
            "address": {"street": "Bryggen 7", "postal_code": "50O3", "city": "Bergen"},
            "family_name": "Hansen",
            "favourite_colour": "blue",
        },
    )
    problem = _problem(resp, 422)
    assert problem["type"] == "https://api.lederne.no/problems/validation-failed"
    codes = {e["field"]: e["code"] for e in problem["errors"]}
    assert codes == {
        "phone": "phone",
        "email": "email",
        "address.postal_code": "postal_code",
        "family_name": "read_only",
        "favourite_colour": "unknown_field",
    }
    assert problem["title"] == "Ugyldige data"  # bokmål by default
    assert register.writes(member["member_id"]) == []
    assert register.record(member["member_id"]) == {**member}  # byte for byte as before


def test_field_messages_follow_accept_language(api, token):
    tok = token(MEMBERS[2]["member_id"])
    resp = api.patch(
        "/v1/profile",
        token=tok,
        json_body={"phone": "12"},
        headers={"If-Match": _etag(api, tok), "Accept-Language": "en"},
    )
    problem = _problem(resp, 422)
    assert problem["errors"][0]["message"].startswith("Not a valid phone number")


def test_a_stale_if_match_gives_412_and_none_gives_428(api, token, register):
    member = MEMBERS[3]
    tok = token(member["member_id"])
    first = api.patch(
        "/v1/profile",
        token=tok,
        json_body={"position": "Driftsleder"},
        headers={"If-Match": _etag(api, tok)},
    )
    assert first.status == 200
    # A second device still holds version 1.
    stale = api.patch(
        "/v1/profile",
        token=tok,
        json_body={"position": "Daglig leder"},
        headers={"If-Match": '"1"'},
    )
    assert _problem(stale, 412)["type"].endswith("/precondition-failed")
    missing = api.patch("/v1/profile", token=tok, json_body={"position": "Daglig leder"})
    assert _problem(missing, 428)["type"].endswith("/precondition-required")
    assert register.record(member["member_id"])["position"] == "Driftsleder"


def test_a_body_that_is_not_json_is_415_and_malformed_json_422(api, token):
    tok = token(MEMBERS[3]["member_id"])
    resp = api.patch(
        "/v1/profile",
        token=tok,
        body=b"phone=1",
        headers={"If-Match": '"1"', "Content-Type": "application/x-www-form-urlencoded"},
    )
    _problem(resp, 415)
    resp = api.patch(
        "/v1/profile",
        token=tok,
        body=b"{",
        headers={"If-Match": '"1"', "Content-Type": "application/json"},
    )
    _problem(resp, 422)


def test_failing_register_gives_503_with_retry_after_and_writes_nothing(
    api, token, register, lederne
):
    member = MEMBERS[4]
    tok = token(member["member_id"])
    etag = _etag(api, tok)
    lederne.fault(status=500, path_prefix=f"/api/members/{member['member_id']}")
    resp = api.patch(
        "/v1/profile", token=tok, json_body={"phone": "91555124"}, headers={"If-Match": etag}
    )
    problem = _problem(resp, 503)
    assert resp.headers["Retry-After"].isdigit() and problem["dependency"] == "member-register"
    photo = api.put(
        "/v1/profile/photo",
        token=tok,
        body=_photo_with_gps(),
        headers={"Content-Type": "image/jpeg"},
    )
    _problem(photo, 503)
    lederne.reset()
    register.put_pristine(member)
    assert register.record(member["member_id"])["version"] == 1


def test_a_slow_register_gives_503_and_a_retry_cannot_write_twice(api, token, register, lederne):
    """After a timeout the change may still land; the retry with the same If-Match is then
    refused (412), so one change is never applied twice."""
    member = MEMBERS[5]
    tok = token(member["member_id"])
    etag = _etag(api, tok)
    lederne.fault(delay_ms=1500, path_prefix=f"/api/members/{member['member_id']}", count=1)
    started = time.monotonic()
    resp = api.patch(
        "/v1/profile", token=tok, json_body={"phone": "91555125"}, headers={"If-Match": etag}
    )
    assert _problem(resp, 503) and time.monotonic() - started < 3
    time.sleep(1.0)  # the delayed write lands meanwhile
    retry = api.patch(
        "/v1/profile", token=tok, json_body={"phone": "91555125"}, headers={"If-Match": etag}
    )
    assert retry.status in (200, 412), retry.text
    stored = register.record(member["member_id"])
    assert stored["version"] == 2 and stored["phone"] == "+4791555125"


def _photo_with_gps(size=(1600, 1200)) -> bytes:
    img = Image.new("RGB", size, (30, 90, 160))
    img.paste((200, 40, 40), (0, 0, size[0] // 2, size[1]))
    exif = img.getexif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Apple", "iPhone 15 Pro", 6
    exif.get_ifd(0x8825).update({1: "N", 2: (60.0, 23.0, 30.0), 3: "E", 4: (5.0, 19.0, 25.0)})
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, comment=b"Bryggen 7, Bergen")
    return buf.getvalue()


def test_a_photo_reaches_the_register_upright_small_and_without_exif_or_gps(api, token, register):
    member = MEMBERS[6]
    tok = token(member["member_id"])
    source = _photo_with_gps()
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(0x8825)
    resp = api.put(
        "/v1/profile/photo", token=tok, body=source, headers={"Content-Type": "image/jpeg"}
    )
    assert resp.status == 200, resp.text
    assert resp.json() == {
        "content_type": "image/jpeg",
        "width": 768,
        "height": 1024,
        "bytes": resp.json()["bytes"],
    }

    status, ctype, stored = register.photo(member["member_id"])
    assert status == 200 and ctype == "image/jpeg"
    img = Image.open(io.BytesIO(stored))
    assert img.format == "JPEG" and img.size == (768, 1024)  # turned by orientation 6
    assert len(img.getexif()) == 0
    assert not {"exif", "xmp", "icc_profile", "comment"} & set(img.info)
    for needle in (b"Exif", b"GPS", b"iPhone", b"Apple", b"Bryggen"):
        assert needle not in stored

    shown = api.get("/v1/profile/photo", token=tok)
    assert shown.status == 200 and shown.data == stored
    assert shown.headers["Content-Type"] == "image/jpeg"
    assert shown.headers["Cache-Control"] == "private, no-store"

    assert api.delete("/v1/profile/photo", token=tok).status == 204
    assert register.photo(member["member_id"])[0] == 404
    _problem(api.get("/v1/profile/photo", token=tok), 404)
    assert api.delete("/v1/profile/photo", token=tok).status == 204  # nothing left: fine


def test_a_photo_is_judged_by_its_content_not_its_content_type(api, token, register):
    member = MEMBERS[7]
    tok = token(member["member_id"])
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    for body in (gif.getvalue(), b"<svg xmlns='http://www.w3.org/2000/svg'/>"):
        problem = _problem(
            api.put(
                "/v1/profile/photo", token=tok, body=body, headers={"Content-Type": "image/jpeg"}
            ),
            422,
        )
        assert problem["errors"][0]["field"] == "photo"
    _problem(
        api.put(
            "/v1/profile/photo",
            token=tok,
            body=gif.getvalue(),
            headers={"Content-Type": "image/gif"},
        ),
        415,
    )
    _problem(
        api.put(
            "/v1/profile/photo",
            token=tok,
            body=b"\xff\xd8" + b"\0" * (11 << 20),
            headers={"Content-Type": "image/jpeg"},
        ),
        413,
    )
    assert register.photo(member["member_id"])[0] == 404
    assert register.writes(member["member_id"]) == []


def test_only_the_member_themselves_may_change_the_profile(api, token):
    _problem(
        api.patch("/v1/profile", json_body={"position": "x"}, headers={"If-Match": '"1"'}), 401
    )
    _problem(
        api.patch(
            "/v1/profile",
            token=token("personvern"),
            json_body={"position": "x"},
            headers={"If-Match": '"1"'},
        ),
        403,
    )
    _problem(
        api.put(
            "/v1/profile/photo",
            token=token("personvern"),
            body=_photo_with_gps(),
            headers={"Content-Type": "image/jpeg"},
        ),
        403,
    )


def test_the_changed_profile_is_kept_in_no_table_and_no_log(api, token, stack):
    member = MEMBERS[8]
    tok = token(member["member_id"])
    change = {
        "phone": "+47 915 55 987",
        "email": "unik.adresse.8@eksempel.no",
        "address": {"street": "Sporveisgata 4711", "postal_code": "0150", "city": "Oslo"},
        "position": "Unik stillingstittel 4711",
    }
    resp = api.patch(
        "/v1/profile", token=tok, json_body=change, headers={"If-Match": _etag(api, tok)}
    )
    assert resp.status == 200, resp.text
    api.put(
        "/v1/profile/photo",
        token=tok,
        body=_photo_with_gps((64, 48)),
        headers={"Content-Type": "image/jpeg"},
    )
    values = (
        "+4791555987",
        "91555987",
        "unik.adresse.8",
        "Sporveisgata 4711",
        "Unik stillingstittel 4711",
    )

    conn = stack.cluster.connect(user=SUPERUSER, database=APP_DATABASE)
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        tables = [tuple(r) for r in cur.fetchall()]
        assert tables, "no tables found to scan"
        for schema, table in tables:
            for value in values:
                cur.execute(
                    f'SELECT count(*) FROM "{schema}"."{table}" t WHERE t::text LIKE %s',
                    (f"%{value}%",),
                )
                assert cur.fetchone()[0] == 0, f"{value!r} is stored in {schema}.{table}"
    finally:
        conn.close()

    logs = stack.read_logs()
    for value in (*values, member["member_id"], member["phone"], member["email"]):
        assert value not in logs, "a profile value reached a log file"
