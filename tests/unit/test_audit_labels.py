"""The audit trail's codes have words for the member: every category, action and purpose the
code writes (found in the source, so a new audit call without a label fails here), and every
category of the data map, in bokmål and English."""

import ast
from pathlib import Path

import pytest
from lederappen.core import audit, datamap

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "lederappen"
TABLES = {
    "category": audit.CATEGORY_LABELS,
    "action": audit.ACTION_LABELS,
    "purpose": audit.PURPOSE_LABELS,
}


def _strings(node: ast.AST) -> list[str]:
    """The string literals an argument can be (a literal, or either side of `a if c else b`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _codes_in_source() -> dict[str, set[tuple[str, str]]]:
    """Per kind (category, action, purpose): (code, file) written by `audit.record(_many)`
    calls, and the literal arguments of the modules' own `_audit(...)` helpers (an action, or
    a category, whichever table knows it)."""
    found: dict[str, set[tuple[str, str]]] = {k: set() for k in (*TABLES, "helper")}
    for path in sorted(SOURCE.rglob("*.py")):
        where = str(path.relative_to(SOURCE))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and _name(node.func) in ("record", "record_many")
                and isinstance(node.func, ast.Attribute)
                and _name(node.func.value) == "audit"
            ):
                for kw in node.keywords:
                    if kw.arg in TABLES:
                        found[kw.arg].update((s, where) for s in _strings(kw.value))
            elif isinstance(node, ast.Call) and _name(node.func) == "_audit":
                for arg in [*node.args, *(kw.value for kw in node.keywords)]:
                    found["helper"].update((s, where) for s in _strings(arg))
            elif isinstance(node, ast.FunctionDef) and node.name == "_audit":
                for default in [*node.args.defaults, *node.args.kw_defaults]:
                    if default is not None:
                        found["helper"].update((s, where) for s in _strings(default))
    return found


FOUND = _codes_in_source()


def test_the_source_writes_audit_codes_this_test_can_see():
    assert len(FOUND["action"]) + len(FOUND["helper"]) >= 10
    assert ("shared_with_newsletter_system", "newsletter/events.py") in FOUND["action"]


@pytest.mark.parametrize("kind", list(TABLES))
def test_every_code_an_audit_call_writes_has_a_label(kind):
    missing = sorted((code, where) for code, where in FOUND[kind] if code not in TABLES[kind])
    assert missing == []


def test_every_literal_given_to_an_audit_helper_has_a_label():
    known = set(audit.ACTION_LABELS) | set(audit.CATEGORY_LABELS) | set(audit.PURPOSE_LABELS)
    assert sorted((c, w) for c, w in FOUND["helper"] if c not in known) == []


def test_every_category_an_audit_call_writes_is_a_data_map_category():
    """The trail speaks the data map's words, so the member can match an entry to what the
    access view and the processing record say about that category."""
    categories = {s.category for s in datamap.STORES} | {datamap.REGISTER.category}
    assert sorted({(c, w) for c, w in FOUND["category"] if c not in categories}) == []


def test_every_data_map_category_has_a_label():
    categories = {s.category for s in datamap.STORES} | {datamap.REGISTER.category}
    assert sorted(categories - set(audit.CATEGORY_LABELS)) == []


@pytest.mark.parametrize("kind", list(TABLES))
def test_every_label_says_it_in_both_languages(kind):
    for code, words in TABLES[kind].items():
        assert set(words) == {"nb", "en"}, code
        assert words["nb"].strip() and words["en"].strip(), code


def test_labels_put_an_entry_in_words_and_let_an_unknown_code_stand_for_itself():
    said = audit.labels("consent", "shared_with_newsletter_system", "newsletter_subscription")
    assert said["action"]["en"] == "Your subscription was sent to Lederne's newsletter system"
    assert said["category"]["nb"].startswith("Samtykker")
    assert audit.labels("x", "y", "z")["action"] == {"nb": "y", "en": "y"}
