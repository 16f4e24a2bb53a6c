"""Every store in the data map declares how it is shown and exported (R1, R6), so the privacy
capability can read it generically; and the privacy function may read every declared table."""

import json
from pathlib import Path

import pytest
from lederappen.core import datamap, manifest

ROOT = Path(__file__).resolve().parents[2]
STORES = {s.name: s for s in datamap.STORES}


def test_store_names_are_unique():
    assert len(STORES) == len(datamap.STORES)


@pytest.mark.parametrize("name", sorted(STORES))
def test_every_store_declares_title_export_and_described_columns(name):
    store = STORES[name]
    assert store.kind in datamap.KINDS
    assert store.title and store.title.get("nb") and store.title.get("en")
    assert store.export in datamap.EXPORT_MODES
    assert store.key_form in datamap.KEY_FORMS
    assert store.export_columns, f"{name} declares nothing to show the member"
    names = [c.name for c in store.export_columns]
    assert len(names) == len(set(names)), f"{name}: a column is declared twice"
    for c in store.export_columns:
        assert c.description.get("nb") and c.description.get("en"), f"{name}.{c.name}"
    if store.note is not None:
        assert store.note.get("nb") and store.note.get("en")


@pytest.mark.parametrize("name", sorted(STORES))
def test_no_member_key_is_ever_an_exported_column(name):
    """The member knows their own key; the other member's key in a pair must never show."""
    store = STORES[name]
    shown = {c.name for c in store.export_columns} | {c.sql or "" for c in store.export_columns}
    assert not set(store.member_keys) & shown
    assert not set(datamap.MEMBER_KEY_COLUMNS) & {c.name for c in store.export_columns}


@pytest.mark.parametrize("name", sorted(STORES))
def test_export_mode_fits_the_kind(name):
    store = STORES[name]
    allowed = {
        "sql": {"rows"},
        "firestore": {"documents", "document"},
        "pubsub": {"in_transit"},
        "logging": {"outside"},
        "backup": {"outside"},
    }[store.kind]
    assert store.export in allowed
    if store.kind == "sql":
        assert store.order_by, f"{name} needs a sort key to page by"
    if store.export == "document":
        assert store.member_key == "document id"
    if store.kind != "sql":
        assert all(c.sql is None for c in store.export_columns), "sql= only means something in SQL"


@pytest.mark.parametrize("name", sorted(STORES))
def test_sort_key_is_never_a_member_key(name):
    store = STORES[name]
    assert not set(store.order_by) & set(datamap.MEMBER_KEY_COLUMNS)


def test_only_rows_about_two_members_have_roles():
    for store in datamap.STORES:
        if store.other_keys:
            assert set(store.roles.values()) == {"mentee", "mentor"} or len(store.roles) > 1
        else:
            assert store.roles == {}


def test_the_audit_trail_is_found_by_pseudonym():
    assert datamap.by_name("audit_events").key_form == "pseudonym"


def test_every_reader_is_described_in_both_languages():
    codes = {r for s in datamap.STORES for r in s.readers} | set(datamap.REGISTER.readers)
    for code in codes:
        assert code in datamap.READERS, f"reader {code!r} has no description"
        assert datamap.READERS[code]["nb"] and datamap.READERS[code]["en"]


def test_every_kind_has_a_source_label():
    assert set(datamap.SOURCES) == set(datamap.KINDS)


def test_the_existing_views_of_the_map_are_unchanged_by_kind():
    assert all(s.kind == "sql" for s in datamap.sql_tables().values())
    assert all(s.kind == "firestore" for s in datamap.firestore_collections().values())
    assert set(datamap.pubsub_topics()) == {
        "newsletter-sync",
        "message-fanout",
        "message-delivery",
        "privacy-jobs",
    }


def test_message_types_are_real_topics_and_every_topic_is_declared():
    """A Pub/Sub topic carrying member keys is a store too (queued messages, R5)."""
    m = manifest.load()
    topics = {fn.topic for fn in m.functions if fn.kind == "pubsub"}
    assert set(datamap.pubsub_topics()) | datamap.TOPICS_WITHOUT_MEMBER_KEY == topics
    assert not set(datamap.pubsub_topics()) & datamap.TOPICS_WITHOUT_MEMBER_KEY
    published = {t for fn in m.functions for t in fn.publishes if not t.endswith("-dead-letter")}
    assert published <= topics


def test_the_privacy_function_may_read_every_declared_table_and_nothing_more():
    privacy = manifest.load().by_name("privacy")
    assert privacy.db_privileges == {t: ("SELECT",) for t in datamap.sql_tables()}
    assert {"db", "oidc", "register", "firestore"} <= set(privacy.uses)


def test_the_openapi_store_parameter_lists_every_pageable_store():
    doc = json.loads((ROOT / "functions" / "openapi.json").read_text())
    params = doc["paths"]["/v1/privacy/access"]["get"]["parameters"]
    store = next(p for p in params if p.get("name") == "store")
    assert sorted(store["schema"]["enum"]) == sorted(
        s.name
        for s in (*datamap.STORES, *datamap.views())
        if s.export not in ("in_transit", "outside")
    )
