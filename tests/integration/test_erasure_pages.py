"""Erasure reads a batch's Firestore documents in pages (erasure._member_documents), so a range
holding many documents is many short requests instead of one that can outlast its deadline.
Against the real emulator, with pages of two documents."""

import uuid

import pytest
from lederappen.privacy import erasure

from tests.support.firestore import emulator_client

pytestmark = pytest.mark.stack


@pytest.fixture
def collection(stack):
    c = emulator_client(stack).collection(f"erasure-pages-{uuid.uuid4().hex[:8]}")
    yield c
    for ref in c.list_documents():
        ref.delete()


@pytest.mark.parametrize("erased", [["ep-2"], ["ep-1", "ep-3"]], ids=["one", "batch"])
def test_every_document_of_the_members_is_found_across_pages(collection, monkeypatch, erased):
    monkeypatch.setattr(erasure, "_PAGE", 2)
    for member, n in (("ep-1", 3), ("ep-2", 5), ("ep-3", 2), ("ep-4", 1)):
        for i in range(n):
            collection.document(f"{member}-{i}").set({"member_id": member, "i": i})
    ordered = sorted(erased)
    found = list(erasure._member_documents(collection, "member_id", ordered, set(erased)))
    expected = {r.id for r in collection.list_documents() if r.id.rsplit("-", 1)[0] in erased}
    assert sorted(ref.id for ref, _ in found) == sorted(expected)
    assert len(found) == len(expected)  # no document twice across a page boundary
    assert {member for _, member in found} == set(erased)
