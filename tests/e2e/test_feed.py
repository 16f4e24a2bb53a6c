"""Feed (F2, F4, F5), end to end: the app's calls through the gateway to the feed function,
which reads lederne.no's public lists (the stand-in), ranks them by the member's interests only
while personalisation consent is in force and processing is not restricted, and falls back to
its last good copy when lederne.no fails."""

import time

import pytest

from infra.local import demo_data
from infra.local.stack import fn_component

pytestmark = pytest.mark.stack

MEMBERS = [m["member_id"] for m in demo_data.generate_members(300)[50:60]]
INTERESTS = ["pension", "economy"]


def _clean(db_exec, member):
    db_exec("DELETE FROM consent_events WHERE member_id = %s", (member,))
    db_exec("DELETE FROM member_preferences WHERE member_id = %s", (member,))
    db_exec("DELETE FROM processing_restrictions WHERE member_id = %s", (member,))


@pytest.fixture()
def personalised_member(db_exec):
    """A member who has consented to personalisation (the terms in force) and given interests."""
    member = MEMBERS[1]
    _clean(db_exec, member)
    db_exec(
        "INSERT INTO consent_events (member_id, purpose, terms_version, text_hash, action, "
        "locale, channel) SELECT %s, purpose, version, text_hash, 'given', 'nb', 'app' "
        "FROM consent_terms WHERE purpose = 'personalisation' AND effective_from <= now() "
        "ORDER BY version DESC LIMIT 1",
        (member,),
    )
    db_exec(
        "INSERT INTO member_preferences (member_id, interests) VALUES (%s, %s)", (member, INTERESTS)
    )
    try:
        yield member
    finally:
        _clean(db_exec, member)


def _all(api, tok, path, limit=7, **headers):
    items, cursor, pages = [], None, 0
    while True:
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        resp = api.get(url, token=tok, headers=headers or None)
        assert resp.status == 200, resp.text
        body = resp.json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, body
        assert pages < 50


def test_member_without_consent_gets_the_neutral_order(api, token):
    tok = token(MEMBERS[0])
    courses = api.get("/v1/feed/courses?limit=100", token=tok)
    assert courses.status == 200, courses.text
    body = courses.json()
    assert body["personalised"] is False
    assert body["items"] and all("matched_topics" not in i for i in body["items"])
    starts = [c["starts_at"] for c in body["items"]]
    assert starts == sorted(starts)
    assert courses.headers["Cache-Control"] == "no-store"

    content = api.get("/v1/feed/content?limit=100", token=tok).json()
    published = [c["published_at"] for c in content["items"]]
    assert published == sorted(published, reverse=True)

    benefits = api.get(
        "/v1/feed/benefits?limit=100", token=tok, headers={"Accept-Language": "en"}
    ).json()
    titles = [b["title"]["en"].casefold() for b in benefits["items"]]
    assert titles == sorted(titles)


def test_pages_walk_the_whole_list_without_duplicates(api, token):
    tok = token(MEMBERS[0])
    items, _ = _all(api, tok, "/v1/feed/content", limit=7)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) == len(demo_data.generate_content())


def test_consented_member_with_interests_gets_matching_items_first(api, token, personalised_member):
    tok = token(personalised_member)
    body = api.get("/v1/feed/content?limit=100", token=tok).json()
    assert body["personalised"] is True
    overlaps = [len(i["matched_topics"]) for i in body["items"]]
    assert overlaps[0] >= 1 and overlaps == sorted(overlaps, reverse=True)
    for item in body["items"]:
        assert set(item["matched_topics"]) == set(item["topics"]) & set(INTERESTS)

    courses = api.get("/v1/feed/courses?limit=100", token=tok).json()
    assert courses["personalised"] is True and courses["items"][0]["matched_topics"]
    benefits = api.get("/v1/feed/benefits?limit=100", token=tok).json()
    assert benefits["items"][0]["category"] == "insurance"  # serves pension and economy


def test_a_cursor_from_the_neutral_list_is_refused_once_the_ranking_changes(
    api, token, db_exec, personalised_member
):
    tok = token(personalised_member)
    db_exec("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (personalised_member,))
    first = api.get("/v1/feed/content?limit=5", token=tok).json()
    assert first["personalised"] is False
    db_exec("DELETE FROM processing_restrictions WHERE member_id = %s", (personalised_member,))
    resp = api.get(f"/v1/feed/content?limit=5&cursor={first['next_cursor']}", token=tok)
    assert resp.status == 422
    assert resp.json()["errors"][0]["field"] == "cursor"
    assert resp.json()["errors"][0]["code"] == "expired"


def test_restricted_member_is_back_to_the_neutral_order(api, token, db_exec, personalised_member):
    db_exec("INSERT INTO processing_restrictions (member_id) VALUES (%s)", (personalised_member,))
    body = api.get("/v1/feed/content?limit=100", token=token(personalised_member)).json()
    assert body["personalised"] is False
    assert all("matched_topics" not in i for i in body["items"])
    published = [c["published_at"] for c in body["items"]]
    assert published == sorted(published, reverse=True)


def test_filters_narrow_the_lists(api, token):
    tok = token(MEMBERS[0])
    items, _ = _all(api, tok, "/v1/feed/courses?topic=leadership", limit=100)
    assert items and all("leadership" in c["topics"] for c in items)
    county = next(c["county"] for c in demo_data.generate_courses() if c["county"])
    items, _ = _all(api, tok, f"/v1/feed/courses?county={county}", limit=100)
    assert items and all(c["county"] == county for c in items)
    items, _ = _all(api, tok, "/v1/feed/content?type=podcast", limit=100)
    assert items and all(c["type"] == "podcast" for c in items)
    items, _ = _all(api, tok, "/v1/feed/benefits?category=health", limit=100)
    assert items and all(b["category"] == "health" for b in items)


@pytest.mark.parametrize(
    "path, field",
    [
        ("/v1/feed/courses?county=Hordaland", "county"),
        ("/v1/feed/courses?topic=astrology", "topic"),
        ("/v1/feed/content?type=video", "type"),
        ("/v1/feed/benefits?category=cars", "category"),
        ("/v1/feed/content?limit=500", "limit"),
        ("/v1/feed/content?cursor=nonsense", "cursor"),
    ],
)
def test_unknown_filter_values_are_422_naming_the_field(api, token, path, field):
    resp = api.get(path, token=token(MEMBERS[0]), headers={"Accept-Language": "en"})
    assert resp.status == 422
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.json()["errors"][0]["field"] == field


def test_topics_answer_in_the_requests_language_and_both(api, token):
    tok = token(MEMBERS[0])
    nb = api.get("/v1/topics", token=tok).json()
    en = api.get("/v1/topics", token=tok, headers={"Accept-Language": "en"}).json()
    assert [t["id"] for t in nb["items"]] == list(demo_data.TOPIC_IDS)
    assert nb["items"][0]["label"] == "Ledelse" and en["items"][0]["label"] == "Leadership"
    assert nb["items"][0]["labels"] == {"nb": "Ledelse", "en": "Leadership"}


def test_feed_needs_a_member_token(api, token):
    assert api.get("/v1/feed/courses").status == 401
    assert api.get("/v1/topics", token=token("personvern")).status == 403


def test_the_feed_falls_back_when_lederne_no_fails(api, token, lederne):
    tok = token(MEMBERS[0])
    fresh = api.get("/v1/feed/courses", token=tok)
    assert fresh.status == 200
    lederne.fault(status=503, path_prefix="/api/courses")
    time.sleep(1.1)  # a refresh re-asks only for copies at least a second old
    resp = api.get("/v1/feed/courses", token=tok, headers={"Cache-Control": "no-cache"})
    assert resp.status == 200, resp.text
    body = resp.json()
    assert body["stale"] is True
    assert body["as_of"] == fresh.json()["as_of"]  # when the copy was fetched
    assert [c["id"] for c in body["items"]] == [c["id"] for c in fresh.json()["items"]]
    # lederne.no was really asked, and failed.
    assert {"method": "GET", "path": "/api/courses", "status": 503} in lederne.requests()


def test_neither_the_member_nor_their_interests_reach_the_feed_logs(
    api, token, stack, personalised_member
):
    tok = token(personalised_member)
    assert api.get("/v1/feed/content?topic=pension", token=tok).json()["personalised"] is True
    logs = stack.read_logs([fn_component("feed")])
    assert "request" in logs  # the function does log its requests
    for value in (personalised_member, *INTERESTS):
        assert value not in logs
