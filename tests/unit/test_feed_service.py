"""Feed (F2, F4, F5): public lederne.no lists, cached without personal data, ranked by the
member's interests only when allowed, paged without duplicates or gaps, stale beats an error."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lederappen.core.pagination import encode_cursor
from lederappen.core.problems import DependencyUnavailable, ValidationFailed
from lederappen.feed import service

from infra.local import demo_data
from tests.support.examples import examples

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
TOPICS = [
    {"id": "leadership", "label": {"nb": "Ledelse", "en": "Leadership"}},
    {"id": "pension", "label": {"nb": "Pensjon", "en": "Pension"}},
    {"id": "economy", "label": {"nb": "Økonomi", "en": "Economy"}},
    {"id": "hse", "label": {"nb": "HMS", "en": "Health, safety and environment"}},
]


def course(cid, starts_at, topics=(), county="Oslo"):
    return {
        "id": cid,
        "title": {"nb": f"Kurs {cid}", "en": f"Course {cid}"},
        "topics": list(topics),
        "county": county,
        "format": "classroom" if county else "digital",
        "starts_at": starts_at,
        "ends_at": starts_at,
        "url": f"https://x/{cid}",
        "seats_left": 5,
    }


def content(cid, published_at, topics=(), ctype="article"):
    return {
        "id": cid,
        "type": ctype,
        "title": {"nb": cid, "en": cid},
        "summary": {"nb": "s", "en": "s"},
        "topics": list(topics),
        "published_at": published_at,
        "url": f"https://x/{cid}",
    }


def benefit(cid, nb, en, category="shopping"):
    return {
        "id": cid,
        "title": {"nb": nb, "en": en},
        "description": {"nb": "d", "en": "d"},
        "partner": "P",
        "category": category,
        "url": f"https://x/{cid}",
        "valid_until": "2027-12-31",
    }


COURSES = [
    course("c-late", "2027-03-01T08:00:00Z", ["pension"]),
    course("c-soon", "2026-12-01T08:00:00Z", ["leadership"]),
    course("c-mid", "2027-01-10T08:00:00Z", ["pension", "economy"], county="Vestland"),
    course("c-past", "2026-11-20T08:00:00Z", ["pension"]),
    course("c-digital", "2026-12-05T11:00:00Z", ["economy"], county=None),
]
CONTENT = [
    content("old", "2025-01-01T06:00:00Z", ["leadership"], "ebook"),
    content("new", "2026-11-01T06:00:00Z", ["hse"], "podcast"),
    content("mid", "2026-05-01T06:00:00Z", ["pension"]),
]
BENEFITS = [
    benefit("b-a", "Åpen reise", "Open travel", "travel"),
    benefit("b-z", "Zebra", "Zebra", "shopping"),
    benefit("b-ae", "Ærlig bank", "Honest bank", "banking"),
    benefit("b-o", "Øvelse", "Exercise", "health"),
]


class FakeUpstream:
    def __init__(self, docs=None):
        self.docs = docs or {
            "/api/topics": TOPICS,
            "/api/courses": COURSES,
            "/api/content": CONTENT,
            "/api/benefits": BENEFITS,
        }
        self.calls = []
        self.down = False

    def get_public(self, path, params=None):
        self.calls.append((path, dict(params or {})))
        if self.down:
            raise DependencyUnavailable("member-register")
        return {"items": [dict(i) if isinstance(i, dict) else i for i in self.docs[path]]}


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, **kw):
        self.now += timedelta(**kw)


def feeds(upstream=None, clock=None, **kw):
    return service.Feeds(
        upstream or FakeUpstream(), service.PublicCache(clock=clock or Clock(), **kw)
    )


def page(kind, query=None, f=None, interests=None, locale="nb", now=NOW):
    return service.feed_page(
        kind, query or {}, f or feeds(), lambda _now: interests, locale=locale, now=now
    )


def ids(body):
    return [i["id"] for i in body["items"]]


# -- neutral order --------------------------------------------------------------------------


def test_courses_are_upcoming_only_soonest_first_without_personalisation():
    body = page("courses")
    assert ids(body) == ["c-soon", "c-digital", "c-mid", "c-late"]
    assert body["personalised"] is False and body["stale"] is False
    assert body["as_of"] == "2026-11-25T08:00:00Z"
    assert all("matched_topics" not in i for i in body["items"])


def test_content_is_newest_first():
    assert ids(page("content")) == ["new", "mid", "old"]


def test_benefits_are_alphabetical_by_title_in_the_request_language():
    assert ids(page("benefits", locale="nb")) == ["b-z", "b-ae", "b-o", "b-a"]  # … z, æ, ø, å
    assert ids(page("benefits", locale="en")) == ["b-o", "b-ae", "b-a", "b-z"]


def test_items_keep_both_languages_titles():
    item = page("courses")["items"][0]
    assert item["title"] == {"nb": "Kurs c-soon", "en": "Course c-soon"}


def test_upcoming_means_from_today_in_norway():
    # 23:30 UTC on 30 November is already 1 December in Oslo.
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert service.local_date(late) == date(2026, 12, 1)
    early = [course("x", "2026-11-30T22:00:00Z"), course("y", "2026-11-30T23:10:00Z")]
    up = FakeUpstream({"/api/courses": early, "/api/topics": TOPICS})
    assert ids(page("courses", f=feeds(up), now=late)) == ["y"]
    assert up.calls == [("/api/courses", {"from": "2026-12-01"})]


# -- personalised ranking -------------------------------------------------------------------


def test_interests_put_overlapping_items_first_and_mark_the_matched_topics():
    body = page("courses", interests=("pension", "economy"))
    assert body["personalised"] is True
    assert ids(body) == ["c-mid", "c-digital", "c-late", "c-soon"]
    assert [i["matched_topics"] for i in body["items"]] == [
        ["pension", "economy"],
        ["economy"],
        ["pension"],
        [],
    ]


def test_personalised_content_keeps_newest_first_within_equal_overlap():
    body = page("content", interests=("hse", "leadership"))
    assert ids(body) == ["new", "old", "mid"]


def test_benefits_are_ranked_by_the_topics_their_category_serves():
    body = page("benefits", interests=("economy",))
    assert ids(body)[0] == "b-ae"
    assert body["items"][0]["topics"] == ["economy"]
    assert body["items"][0]["matched_topics"] == ["economy"]


def test_no_interests_allowed_means_the_neutral_order():
    assert ids(page("courses", interests=None)) == ids(page("courses"))
    assert page("courses", interests=()).get("personalised") is False


def test_a_failing_interests_read_degrades_to_the_neutral_order():
    def broken(_now):
        raise DependencyUnavailable("database")

    body = service.feed_page("courses", {}, feeds(), broken, locale="nb", now=NOW)
    assert body["personalised"] is False and ids(body)[0] == "c-soon"


def test_interests_are_read_only_after_the_public_document_is_at_hand():
    up = FakeUpstream()
    up.down = True
    asked = []
    with pytest.raises(DependencyUnavailable):
        service.feed_page(
            "content", {}, feeds(up), lambda now: asked.append(now), locale="nb", now=NOW
        )
    assert asked == []


def test_ranking_never_changes_the_cached_items():
    f = feeds()
    page("courses", f=f, interests=("pension",))
    cached = f.items("courses", date(2026, 11, 25)).value
    assert all("matched_topics" not in i for i in cached)
    assert all(k.startswith("/api/") and "member" not in k for k in f.cache.keys())  # noqa: SIM118 (PublicCache is not iterable)


# -- filters --------------------------------------------------------------------------------


def test_courses_filter_by_topic_and_county():
    assert ids(page("courses", {"topic": "pension"})) == ["c-mid", "c-late"]
    assert ids(page("courses", {"county": "Vestland"})) == ["c-mid"]
    assert ids(page("content", {"type": "ebook"})) == ["old"]
    assert ids(page("benefits", {"category": "travel"})) == ["b-a"]


def test_filters_are_applied_locally_to_one_cached_document():
    up = FakeUpstream()
    f = feeds(up)
    for q in ({}, {"topic": "pension"}, {"county": "Oslo"}, {"topic": "hse", "county": "Agder"}):
        page("courses", q, f=f)
    assert [c for c in up.calls if c[0] == "/api/courses"] == [
        ("/api/courses", {"from": "2026-11-25"})
    ]


@pytest.mark.parametrize(
    "kind, query, field",
    [
        ("content", {"type": "video"}, "type"),
        ("benefits", {"category": "cars"}, "category"),
        ("courses", {"county": "Hordaland"}, "county"),
        ("courses", {"topic": "astrology"}, "topic"),
        ("content", {"topic": ""}, "topic"),
        ("courses", {"limit": "0"}, "limit"),
        ("courses", {"limit": "101"}, "limit"),
        ("courses", {"cursor": "%%%"}, "cursor"),
        ("courses", {"cursor": encode_cursor({"offset": 1})}, "cursor"),
        ("courses", {"cursor": encode_cursor([-1, "x"])}, "cursor"),
    ],
)
def test_unknown_filter_values_are_422_naming_the_field(kind, query, field):
    with pytest.raises(ValidationFailed) as err:
        page(kind, query)
    assert err.value.errors[0]["field"] == field


def test_county_list_is_lederne_no_s_and_categories_and_types_match_the_feeds():
    assert service.COUNTIES == demo_data.COUNTIES
    assert service.BENEFIT_CATEGORIES == demo_data.BENEFIT_CATEGORIES
    assert set(service.BENEFIT_CATEGORY_TOPICS) == set(demo_data.BENEFIT_CATEGORIES)
    assert service.CONTENT_TYPES == demo_data.CONTENT_TYPES
    used = {t for ts in service.BENEFIT_CATEGORY_TOPICS.values() for t in ts}
    assert used <= set(demo_data.TOPIC_IDS)


def test_topics_have_the_request_language_label_and_both():
    body = service.topics(feeds(), "en")
    assert body["items"][2] == {
        "id": "economy",
        "label": "Economy",
        "labels": {"nb": "Økonomi", "en": "Economy"},
    }
    assert service.topics(feeds(), "nb")["items"][2]["label"] == "Økonomi"
    assert body["next_cursor"] is None and body["stale"] is False


def test_malformed_upstream_items_are_dropped_not_served():
    docs = {"/api/content": CONTENT + [{"id": "broken"}, "nonsense"], "/api/topics": TOPICS}
    assert ids(page("content", f=feeds(FakeUpstream(docs)))) == ["new", "mid", "old"]


# -- pagination -----------------------------------------------------------------------------


def walk(kind, f, limit, interests=None):
    seen, pages, cursor = [], 0, None
    while True:
        q = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        body = page(kind, q, f=f, interests=interests)
        seen += ids(body)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        assert len(body["items"]) == limit


_when = st.datetimes(
    min_value=datetime(2026, 11, 25), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=examples(150), deadline=None)
@given(
    starts=st.lists(_when, max_size=60),
    topic_sets=st.lists(
        st.lists(
            st.sampled_from(["leadership", "pension", "economy", "hse"]), max_size=3, unique=True
        ),
        min_size=60,
        max_size=60,
    ),
    limit=st.integers(1, 100),
    interests=st.one_of(
        st.none(),
        st.lists(
            st.sampled_from(["pension", "hse", "economy"]), min_size=1, max_size=3, unique=True
        ),
    ),
)
def test_pages_walk_the_whole_ranked_list_without_duplicates_or_gaps(
    starts, topic_sets, limit, interests
):
    items = [course(f"c{i:03d}", service.rfc3339(s), topic_sets[i]) for i, s in enumerate(starts)]
    f = feeds(FakeUpstream({"/api/courses": items, "/api/topics": TOPICS}))
    seen, pages = walk("courses", f, limit, interests)
    whole = ids(page("courses", {"limit": "100"}, f=f, interests=interests))
    assert len(seen) == len(set(seen)) == len(items)
    assert seen == whole
    assert pages == max(1, -(-len(items) // limit))


def test_a_cursor_from_another_ranking_is_refused_as_expired():
    f = feeds()
    first = page("courses", {"limit": "2"}, f=f)
    with pytest.raises(ValidationFailed) as err:
        page("courses", {"limit": "2", "cursor": first["next_cursor"]}, f=f, interests=("pension",))
    assert err.value.errors[0] == {
        "field": "cursor",
        "code": "expired",
        "message": {
            "nb": "Listen er endret siden forrige side. Begynn fra første side.",
            "en": "The list has changed since the previous page. Start again from the first page.",
        },
    }


def test_a_cursor_survives_a_cache_refresh_when_the_list_is_unchanged():
    clock = Clock()
    f = feeds(clock=clock)
    first = page("courses", {"limit": "2"}, f=f)
    clock.advance(minutes=6)
    second = page("courses", {"limit": "2", "cursor": first["next_cursor"]}, f=f)
    assert ids(second) == ["c-mid", "c-late"]


# -- cache ----------------------------------------------------------------------------------


def test_documents_are_reused_for_five_minutes_then_fetched_again():
    clock, up = Clock(), FakeUpstream()
    f = feeds(up, clock)
    page("content", f=f)
    clock.advance(minutes=4, seconds=59)
    assert page("content", f=f)["as_of"] == "2026-11-25T08:00:00Z"
    assert len(up.calls) == 1
    clock.advance(seconds=1)
    assert page("content", f=f)["as_of"] == "2026-11-25T08:05:00Z"
    assert len(up.calls) == 2


def test_the_feed_falls_back_to_the_last_good_copy_when_lederne_fails():
    clock, up = Clock(), FakeUpstream()
    f = feeds(up, clock)
    fresh = page("content", f=f)
    up.down = True
    clock.advance(minutes=10)
    body = page("content", f=f, now=clock.now)
    assert body["stale"] is True and body["as_of"] == fresh["as_of"]
    assert ids(body) == ids(fresh)


def test_without_any_copy_a_failure_stays_503():
    up = FakeUpstream()
    up.down = True
    with pytest.raises(DependencyUnavailable):
        page("benefits", f=feeds(up))


def test_after_a_failure_lederne_is_left_alone_for_the_backoff_then_asked_again():
    clock, up = Clock(), FakeUpstream()
    f = feeds(up, clock)
    page("content", f=f)
    up.down = True
    clock.advance(minutes=6)
    page("content", f=f)
    calls = len(up.calls)
    clock.advance(seconds=10)
    assert page("content", f=f)["stale"] is True
    assert len(up.calls) == calls  # within the backoff: no call
    up.down = False
    clock.advance(seconds=6)
    assert page("content", f=f)["stale"] is False
    assert len(up.calls) == calls + 1


def test_yesterdays_courses_serve_as_the_stale_copy_after_midnight_minus_past_courses():
    clock, up = Clock(), FakeUpstream()
    f = feeds(up, clock)
    page("courses", f=f)
    up.down = True
    clock.now = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    body = page("courses", f=f, now=clock.now)
    assert body["stale"] is True
    assert ids(body) == ["c-digital", "c-mid", "c-late"]  # c-soon (1 Dec) has passed


def test_a_refresh_asks_again_unless_the_copy_is_brand_new():
    clock, up = Clock(), FakeUpstream()
    cache = service.PublicCache(clock=clock)
    service.Feeds(up, cache).items("content", NOW.date())
    service.Feeds(up, cache, refresh=True).items("content", NOW.date())
    assert len(up.calls) == 1
    clock.advance(seconds=2)
    service.Feeds(up, cache, refresh=True).items("content", NOW.date())
    assert len(up.calls) == 2


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, False),
        ("no-cache", True),
        ("max-age=0", True),
        ("max-age=60", False),
        ("No-Cache, no-store", True),
    ],
)
def test_refresh_is_what_the_app_asks_with_cache_control(header, expected):
    assert service.wants_refresh(header) is expected


def test_the_cache_keeps_a_bounded_number_of_documents_least_recently_used_first_out():
    clock = Clock()
    cache = service.PublicCache(clock=clock, max_entries=3)
    loads = []

    def load(path, params):
        loads.append(path)
        return path

    for p in ("/a", "/b", "/c"):
        cache.get(p, None, load)
    cache.get("/a", None, load)  # /a is now the most recently used
    cache.get("/d", None, load)  # evicts /b
    assert len(cache) == 3 and cache.keys() == ["/c", "/a", "/d"]
    cache.get("/b", None, load)
    assert loads == ["/a", "/b", "/c", "/d", "/b"]


def test_cache_keys_are_the_upstream_path_and_sorted_query_only():
    assert (
        service.PublicCache.key("/api/courses", {"from": "2026-11-25"})
        == "/api/courses?from=2026-11-25"
    )
    assert service.PublicCache.key("/api/x", {"b": "2", "a": "1", "c": ""}) == "/api/x?a=1&b=2"
