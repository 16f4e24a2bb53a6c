"""The staff console in a real browser (Debian's Chromium, headless, driven by Selenium) against
the local stack: sign-in through the lederne.no stand-in's login page (authorization code flow
with PKCE), one real task per role end to end, and the adversary's attempts. One browser for
the whole module; a screenshot of each page goes to .local/test-output/screenshots/.

The members these tests use are added to the register stand-in here (ids 19xxxxx), so no other
test's members are touched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import eventually
from tests.support.register import add_active_members

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".local" / "test-output" / "screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)
EDITOR, OFFICER, OPS = "redaktor", "personvern", "driftsvakt"
MENTORING, SURVEY = "mentorkoordinator", "lonnsanalytiker"


@pytest.fixture(scope="module")
def browser():
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.fail(
            "Chromium is missing: apt-get install chromium chromium-driver (make bootstrap does it)"
        )
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def base(stack) -> str:
    return stack.urls["gateway"]


@pytest.fixture(scope="module")
def members(stack):
    """Four active members of the register stand-in that only this module uses."""
    return add_active_members(stack, [f"19{n:05d}" for n in range(1, 5)], "Konsoll")


def wait(driver, condition, timeout: float = 20.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def by_id(driver, element_id: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id)


def h1(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "h1").text


def shot(driver, name: str) -> None:
    """The whole page (not only the window), as a PNG under the test output."""
    import base64

    width, height = driver.execute_script(
        "window.scrollTo(0, 0); return [document.documentElement.clientWidth, "
        "document.documentElement.scrollHeight];"
    )
    png = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(height, 4000), "scale": 1},
        },
    )
    (SHOTS / f"{name}.png").write_bytes(base64.b64decode(png["data"]))


def sign_out(driver, base) -> None:
    driver.get(base + "/staff/static/console.css")  # a console URL, to reach its cookies
    driver.delete_all_cookies()


def sign_in(driver, base, stack, username: str, lang: str = "nb") -> None:
    """Through the real flow: console -> stand-in login page -> pick the user -> back."""
    sign_out(driver, base)
    driver.get(f"{base}/staff/home?lang={lang}")
    wait(driver, lambda d: d.current_url.startswith(stack.urls["lederne"] + "/oauth2/authorize"))
    by_id(driver, f"login-{username}").click()
    wait(
        driver,
        lambda d: (
            d.current_url.startswith(base + "/staff/home") and d.find_elements("id", "sign-out")
        ),
    )


def assert_labelled(driver) -> None:
    """Every visible control has a label (its own <label>, or text for a button)."""
    unlabelled = driver.execute_script("""
        return Array.from(document.querySelectorAll('input, select, textarea, button'))
          .filter(e => e.type !== 'hidden')
          .filter(e => e.tagName === 'BUTTON' ? !e.textContent.trim()
                                              : !(e.labels && e.labels.length))
          .map(e => e.outerHTML.slice(0, 80));""")
    assert not unlabelled, unlabelled


def session_cookie(driver):
    return next((c for c in driver.get_cookies() if c["name"] == "staff_session"), None)


def _http(method: str, url: str, *, token: str | None = None, body=None, headers=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=h)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **kw):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=15) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# -- sign-in ---------------------------------------------------------------------------------------


def test_each_staff_demo_user_signs_in_and_sees_the_pages_of_their_roles(browser, base, stack):
    expected = {
        OFFICER: "/staff/privacy/requests",
        EDITOR: "/staff/messages",
        OPS: "/staff/dead-letters",
        MENTORING: "/staff/mentoring",
        SURVEY: "/staff/salary-rounds",
        "medlemsservice": None,
    }
    every = {p for p in expected.values() if p}
    for username, page in expected.items():
        sign_in(browser, base, stack, username)
        cookie = session_cookie(browser)
        assert cookie and cookie["httpOnly"] and cookie["secure"]
        assert cookie["sameSite"] == "Strict" and cookie["path"] == "/staff/"
        links = {
            a.get_attribute("pathname")
            for a in browser.find_elements("css selector", "header nav a")
        }
        if page:
            assert page in links
        assert not (every - {page}) & links, f"{username} sees another role's page"
        shot(browser, f"home-{username}")
    # the language switch, kept for the next pages
    by_id(browser, "lang-switch").click()
    wait(browser, lambda d: h1(d) == "Overview")
    browser.get(base + "/staff/home")
    assert h1(browser) == "Overview"
    browser.get(base + "/staff/home?lang=nb")
    assert h1(browser) == "Oversikt"


def test_signing_out_ends_the_session(browser, base, stack, db_exec):
    sign_in(browser, base, stack, EDITOR)
    # an adversary's copy of the cookie (a shared computer, a proxy log) works while the
    # session lasts...
    copied = {"Cookie": f"staff_session={session_cookie(browser)['value']}"}
    status, _, body = _http("GET", base + "/staff/messages", headers=copied)
    assert status == 200 and b"<main" in body
    revoked = db_exec("SELECT count(*) FROM console_revoked_sessions")[0][0]
    by_id(browser, "sign-out").click()
    wait(browser, lambda d: d.find_elements("id", "sign-in"))
    assert session_cookie(browser) is None
    browser.get(base + "/staff/messages")
    wait(browser, lambda d: d.current_url.startswith(stack.urls["lederne"]))
    # ...and no longer after sign-out: the server revoked the session, not only the browser
    assert db_exec("SELECT count(*) FROM console_revoked_sessions")[0][0] == revoked + 1
    status, headers, body = _http("GET", base + "/staff/messages", headers=copied)
    assert status == 303 and headers["Location"].startswith("/staff/login") and body == b""
    status, _, body = _http(
        "POST",
        base + "/staff/messages/audience",
        headers={**copied, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 401 and b"problem+json" not in body


# -- the adversary -------------------------------------------------------------------------------


def test_without_a_session_no_page_is_shown_only_the_sign_in(browser, base, stack):
    sign_out(browser, base)
    for path in ("/staff/home", "/staff/privacy/requests", "/staff/dead-letters/1"):
        browser.get(base + path)
        wait(browser, lambda d: d.current_url.startswith(stack.urls["lederne"] + "/oauth2/"))
        assert "staff_session" not in {c["name"] for c in browser.get_cookies()}


def test_a_member_signing_in_gets_no_session_and_no_page(browser, base, stack, members, token):
    sign_out(browser, base)
    browser.get(base + "/staff/privacy/requests?lang=nb")
    wait(browser, lambda d: d.find_elements("id", "login-member"))
    by_id(browser, "member").send_keys(members[3])
    by_id(browser, "login-member").click()
    wait(browser, lambda d: d.current_url.startswith(base + "/staff/callback"))
    assert "Innloggingen din gir ikke tilgang til denne siden." in browser.page_source
    assert session_cookie(browser) is None
    shot(browser, "member-refused")
    # and the member's own bearer token opens nothing either
    status, headers, body = _http("GET", base + "/staff/privacy/requests", token=token(members[3]))
    assert status == 303 and headers["Location"].startswith("/staff/login") and body == b""
    status, _, body = _http(
        "POST",
        base + "/staff/mentoring/rounds",
        token=token(members[3]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 401 and b"<main" in body and b"problem+json" not in body


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    browser, base, stack, db_exec
):
    sign_in(browser, base, stack, EDITOR)
    browser.get(base + "/staff/messages/new")
    before = db_exec("SELECT count(*) FROM messages")[0][0]
    for field, value in (
        ("title_nb", "Uten token"),
        ("title_en", "No token"),
        ("body_nb", "Tekst"),
        ("body_en", "Text"),
    ):
        by_id(browser, field).send_keys(value)
    browser.execute_script("document.querySelector('#compose input[name=csrf]').remove()")
    by_id(browser, "send").click()
    wait(browser, lambda d: "Skjemaet er utløpt" in d.page_source)
    assert db_exec("SELECT count(*) FROM messages")[0][0] == before
    shot(browser, "csrf-refused")


# -- editor ----------------------------------------------------------------------------------------


def test_an_editors_message_reaches_the_members_inbox(browser, base, stack, members, token, api):
    from selenium.webdriver.support.ui import Select

    member = members[0]
    sign_in(browser, base, stack, EDITOR)
    browser.get(base + "/staff/messages/new")
    Select(by_id(browser, "category")).select_by_value("mentor_updates")
    title = f"Konsolltest {uuid.uuid4().hex[:6]}"
    by_id(browser, "title_nb").send_keys(title)
    by_id(browser, "title_en").send_keys(title + " (en)")
    by_id(browser, "body_nb").send_keys("Mentoren din har svart. Les mer i appen.")
    by_id(browser, "body_en").send_keys("Your mentor has answered. Read more in the app.")
    by_id(browser, "aud-member").click()
    by_id(browser, "member_id").send_keys(member)
    # the live preview (htmx, under a CSP without inline script): a message to one member is
    # sensitive, so the lock screen shows the neutral text only; the inbox shows the text
    wait(
        browser,
        lambda d: (
            d.find_elements("id", "push-nb")
            and "Du har en ny melding i Lederappen." in by_id(d, "push-nb").text
        ),
    )
    assert title not in by_id(browser, "push-nb").text
    assert "byte" in by_id(browser, "push-size").text
    shot(browser, "editor-compose")
    assert_labelled(browser)
    browser.set_window_size(820, 1180)  # a tablet held upright: one column, still readable
    try:
        assert by_id(browser, "preview").location["y"] > by_id(browser, "send").location["y"]
        shot(browser, "editor-compose-tablet")
    finally:
        browser.set_window_size(1280, 1000)
    by_id(browser, "send").click()
    wait(browser, lambda d: "/staff/messages/" in d.current_url and "done=sent" in d.current_url)
    message_id = browser.current_url.split("/staff/messages/")[1].split("?")[0]
    tok = token(member)
    item = eventually(
        lambda: next(
            (
                i
                for i in api.get("/v1/inbox", token=tok).json()["items"]
                if i["message_id"] == message_id
            ),
            None,
        ),
        timeout=40,
    )
    assert item["title"] == title or title in json.dumps(item, ensure_ascii=False)
    # the figures, drawn as a chart
    browser.get(f"{base}/staff/messages/{message_id}")
    wait(browser, lambda d: by_id(d, "figure-eligible").text == "1", timeout=60)
    assert browser.find_elements("css selector", "svg.chart")
    shot(browser, "editor-message")
    browser.get(base + "/staff/messages")
    wait(browser, lambda d: title in d.page_source)
    shot(browser, "editor-messages")


def test_the_editor_sees_the_apis_errors_in_the_page(browser, base, stack):
    sign_in(browser, base, stack, EDITOR, lang="en")
    browser.get(base + "/staff/messages/new")
    for field, value in (
        ("title_nb", "Feil"),
        ("title_en", "Wrong"),
        ("body_nb", "Tekst"),
        ("body_en", "Text"),
    ):
        by_id(browser, field).send_keys(value)
    by_id(browser, "aud-county").click()
    by_id(browser, "audience_value").send_keys("99")
    by_id(browser, "send").click()
    wait(browser, lambda d: d.find_elements("css selector", "main .error"))
    assert "Unknown county number." in browser.page_source
    assert '"type"' not in browser.page_source
    by_id(browser, "lang-switch")  # still a console page, with its header
    shot(browser, "editor-error")


def test_the_editor_sees_the_audience_size_before_sending(browser, base, stack, db_exec):
    from selenium.webdriver.support.ui import Select

    sign_in(browser, base, stack, EDITOR)
    browser.get(base + "/staff/messages/new")
    before = db_exec("SELECT count(*) FROM messages")[0][0]
    Select(by_id(browser, "category")).select_by_value("news")
    for field, value in (
        ("title_nb", "Nytt fra Lederne"),
        ("title_en", "News from Lederne"),
        ("body_nb", "Årets lønnsundersøkelse er åpen. Svar innen 15. november."),
        ("body_en", "This year's salary survey is open. Answer by 15 November."),
    ):
        by_id(browser, field).send_keys(value)
    # every active member: counted by the API's own count (the fan-out's code), a number
    by_id(browser, "count-button").click()
    wait(browser, lambda d: d.find_elements("id", "audience-count"))
    text = by_id(browser, "audience-count").text
    assert text.startswith("Mottakere nå:") and any(c.isdigit() for c in text), text
    everyone = int("".join(c for c in text.split(":")[1].split("(")[0] if c.isdigit()))
    assert everyone > 100
    wait(browser, lambda d: d.find_elements("id", "push-nb"))
    shot(browser, "editor-compose-audience")
    # an interest almost nobody in the demo holds with consent: only "fewer than 5"
    by_id(browser, "aud-interest").click()
    by_id(browser, "audience_value").send_keys("conflict_handling")
    Select(by_id(browser, "category")).select_by_value("marketing")
    by_id(browser, "count-button").click()
    wait(browser, lambda d: "færre enn 5" in by_id(d, "audience").text)
    # one member is never counted; the API's refusal is shown in the page, in the language
    by_id(browser, "aud-member").click()
    by_id(browser, "audience_value").clear()
    by_id(browser, "count-button").click()
    wait(browser, lambda d: "Bare grupper telles" in by_id(d, "audience").text)
    assert_labelled(browser)
    assert db_exec("SELECT count(*) FROM messages")[0][0] == before  # counting sent nothing


def test_a_scheduled_message_can_be_cancelled_in_the_console(browser, base, stack, db_exec):
    sign_in(browser, base, stack, EDITOR)
    browser.get(base + "/staff/messages/new")
    title = f"Planlagt {uuid.uuid4().hex[:6]}"
    for field, value in (
        ("title_nb", title),
        ("title_en", title),
        ("body_nb", "Kommer."),
        ("body_en", "Coming."),
    ):
        by_id(browser, field).send_keys(value)
    in_three_days = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 3 * 86400))
    browser.execute_script(
        "arguments[0].value = arguments[1]", by_id(browser, "send_at"), in_three_days
    )
    by_id(browser, "send").click()
    wait(browser, lambda d: "done=sent" in d.current_url)
    assert by_id(browser, "message-status").text == "Planlagt"
    message_id = browser.current_url.split("/staff/messages/")[1].split("?")[0]
    by_id(browser, "cancel-message").click()
    wait(browser, lambda d: "done=cancelled" in d.current_url)
    assert by_id(browser, "message-status").text == "Avlyst"
    assert (
        db_exec("SELECT status FROM messages WHERE id::text = %s", (message_id,))[0][0]
        == "cancelled"
    )


# -- privacy officer -----------------------------------------------------------------------------


def test_a_request_approved_in_the_console_shows_as_done_to_the_member(
    browser, base, stack, members, token, api
):
    member = members[1]
    tok = token(member)
    resp = api.post(
        "/v1/privacy/requests",
        token=tok,
        json_body={"kind": "restriction", "reason": "Konsolltest"},
    )
    assert resp.status == 201, resp.text
    request_id = resp.json()["id"]
    sign_in(browser, base, stack, OFFICER)
    browser.get(base + "/staff/privacy/requests?status=received")
    wait(browser, lambda d: d.find_elements("id", f"approve-{request_id}"))
    shot(browser, "privacy-requests")
    assert_labelled(browser)
    by_id(browser, f"approve-{request_id}").click()
    wait(browser, lambda d: "done=approved" in d.current_url)
    done = eventually(
        lambda: next(
            (
                r
                for r in api.get("/v1/privacy/requests", token=tok).json()["items"]
                if r["id"] == request_id and r["status"] == "done"
            ),
            None,
        ),
        timeout=60,
    )
    assert done["kind"] == "restriction"


def test_a_rejection_reason_from_the_console_is_what_the_member_sees(
    browser, base, stack, members, token, api
):
    member = members[2]
    tok = token(member)
    resp = api.post("/v1/privacy/requests", token=tok, json_body={"kind": "erasure"})
    assert resp.status == 201, resp.text
    request_id = resp.json()["id"]
    sign_in(browser, base, stack, OFFICER)
    browser.get(base + "/staff/privacy/requests?status=received")
    wait(browser, lambda d: d.find_elements("id", f"reason-{request_id}"))
    reason = "Du har en aktiv lønnsforhandling; vi tar kontakt."
    by_id(browser, f"reason-{request_id}").send_keys(reason)
    by_id(browser, f"reject-{request_id}").click()
    wait(browser, lambda d: "done=rejected" in d.current_url)
    mine = next(
        r
        for r in api.get("/v1/privacy/requests", token=tok).json()["items"]
        if r["id"] == request_id
    )
    assert mine["status"] == "rejected" and mine["rejection_reason"] == reason


def test_the_privacy_officer_sees_the_dry_run_the_record_and_a_members_trail(
    browser, base, stack, members
):
    from lederappen.privacy import record

    sign_in(browser, base, stack, OFFICER)
    browser.get(base + "/staff/privacy/membership-end")
    wait(browser, lambda d: d.find_elements("id", "start-run"))
    assert browser.find_elements("css selector", "dl.figures")
    shot(browser, "privacy-membership-end")
    browser.get(base + "/staff/privacy/record")
    rows = browser.find_elements("css selector", "#activities tbody tr")
    assert len(rows) == len(record.build()["activities"])
    shot(browser, "privacy-record")
    # the member whose request was approved above: the officer's reads and decision are there
    browser.get(base + "/staff/privacy/audit")
    by_id(browser, "member_id").send_keys(members[1])
    by_id(browser, "find").click()
    wait(browser, lambda d: d.find_elements("id", "audit-total"))
    entries = browser.find_elements("css selector", "#audit-entries tbody tr")
    assert entries and any("staff-0001" in e.text for e in entries)
    shot(browser, "privacy-audit")


# -- operations ------------------------------------------------------------------------------------


def test_operations_inspect_a_dead_letter_without_member_keys_and_discard_it(
    browser, base, stack, members, pubsub, token, api
):
    marker = uuid.uuid4().hex
    pubsub.publish(
        "newsletter-sync",
        json.dumps({"member_id": members[3], "subscribed": "yes", "note": "wrong shape"}).encode(),
        test=marker,
    )
    ops = token(OPS)

    def find():
        body = api.get("/v1/admin/dead-letters?limit=100", token=ops).json()
        return next((i for i in body["items"] if i["attributes"].get("test") == marker), None)

    item = eventually(find, timeout=30)
    sign_in(browser, base, stack, OPS)
    browser.get(base + "/staff/dead-letters")
    wait(browser, lambda d: d.find_elements("id", f"inspect-{item['id']}"))
    assert members[3] not in browser.page_source
    shot(browser, "operations-dead-letters")
    by_id(browser, f"inspect-{item['id']}").click()
    wait(browser, lambda d: d.find_elements("id", "payload"))
    assert members[3] not in browser.page_source
    assert "redacted" in by_id(browser, "payload").text
    shot(browser, "operations-dead-letter")
    by_id(browser, "discard").click()
    wait(browser, lambda d: "done=discarded" in d.current_url)
    assert by_id(browser, "dead-letter-state").text == "Forkastet"


# -- mentor coordinator --------------------------------------------------------------------------


def test_the_mentor_coordinator_runs_a_round_and_sees_the_figures(browser, base, stack, db_exec):
    before = db_exec("SELECT count(*) FROM mentor_rounds WHERE trigger = 'staff'")[0][0]
    sign_in(browser, base, stack, MENTORING)
    browser.get(base + "/staff/mentoring")
    by_id(browser, "run-round").click()
    wait(browser, lambda d: "done=round" in d.current_url, timeout=120)
    assert db_exec("SELECT count(*) FROM mentor_rounds WHERE trigger = 'staff'")[0][0] == before + 1
    assert browser.find_elements("css selector", "#rounds tbody tr")
    shot(browser, "mentoring")


# -- survey manager --------------------------------------------------------------------------------


def test_the_survey_manager_creates_and_adjusts_a_round(browser, base, stack, db_exec):
    year = 2093
    db_exec("DELETE FROM salary_rounds WHERE year = %s", (year,))
    sign_in(browser, base, stack, SURVEY)
    released = db_exec(
        "SELECT min(year) FROM salary_rounds WHERE closes_at < now() AND year > 2010"
    )[0][0]
    browser.get(base + "/staff/salary-rounds")
    # every closed round shows its releases (a release never changes; corrections are API)
    headings = [h.text for h in browser.find_elements("css selector", f"#round-{released} ~ h3")]
    assert headings == ["Svar over tid", "Utgaver av statistikken"]
    by_id(browser, "year").clear()
    by_id(browser, "year").send_keys(str(year))
    by_id(browser, "title_nb").send_keys("Lønnsundersøkelsen 2093")
    by_id(browser, "title_en").send_keys("Salary survey 2093")
    for field, value in (("opens_at", "2093-01-10T09:00"), ("closes_at", "2093-02-10T16:00")):
        browser.execute_script("arguments[0].value = arguments[1]", by_id(browser, field), value)
    by_id(browser, "create").click()
    wait(browser, lambda d: "done=created" in d.current_url)
    assert by_id(browser, f"round-status-{year}").text == "Kommer"
    # adjust: a new closing time, with the round's version as If-Match
    browser.find_element("css selector", f"#round-{year} ~ details summary").click()
    field = by_id(browser, f"closes_at-{year}")
    browser.execute_script("arguments[0].value = arguments[1]", field, "2093-03-01T16:00")
    field.find_element("xpath", "./ancestor::form//button[@type='submit']").click()
    wait(browser, lambda d: "done=updated" in d.current_url)
    closes = db_exec("SELECT closes_at FROM salary_rounds WHERE year = %s", (year,))[0][0]
    assert (closes.month, closes.day) == (3, 1)
    shot(browser, "survey-rounds")
    assert_labelled(browser)
    db_exec("DELETE FROM salary_rounds WHERE year = %s", (year,))


def test_the_survey_manager_sees_answers_over_time_as_a_chart(browser, base, stack, db_exec):
    (year, answers) = db_exec(
        "SELECT r.year, (SELECT count(*) FROM salary_answers a WHERE a.year = r.year) "
        "FROM salary_rounds r WHERE r.opens_at < now() AND now() < r.closes_at "
        "AND r.year < 2090 ORDER BY r.year DESC LIMIT 1"
    )[0]
    sign_in(browser, base, stack, SURVEY, lang="en")
    browser.get(base + "/staff/salary-rounds")
    chart = wait(browser, lambda d: d.find_elements("css selector", f"#answers-chart-{year} svg"))
    title = chart[0].find_element("tag name", "title").get_attribute("textContent")
    assert title.startswith(f"Answers over time {year}:")
    assert f"answers in all: {answers}" in title
    shot(browser, "survey-answers-over-time")
    # the same figures as a table for those who do not read the chart
    browser.find_element("css selector", f"#answers-chart-{year} + details summary").click()
    rows = browser.find_elements("css selector", f"#answers-chart-{year} + details tbody tr")
    assert len(rows) > 1
    cumulative = rows[-1].find_elements("tag name", "td")[2].text
    assert int("".join(c for c in cumulative if c.isdigit())) == answers
    assert browser.find_elements("css selector", "svg.chart")  # and answers per round
    assert_labelled(browser)


def test_no_page_logged_a_csp_violation_or_script_error(browser):
    errors = [
        e
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE"
        and ("Content Security Policy" in e["message"] or "Uncaught" in e["message"])
    ]
    assert not errors, errors
    time.sleep(0)
