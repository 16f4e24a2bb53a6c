"""The manifest is the one list of functions: valid, and main.py exposes exactly its entries."""

import ast
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from lederappen.core import manifest

ROOT = Path(__file__).resolve().parents[2]


def _raw():
    return json.loads((ROOT / "functions" / "manifest.json").read_text())


def test_manifest_loads_and_every_function_names_a_kind_and_config():
    m = manifest.load()
    assert m.functions
    for fn in m.functions:
        assert fn.kind in manifest.KINDS
        assert fn.limits["runtime"] and fn.limits["memory"]


def test_main_py_exposes_exactly_the_manifest_entry_points():
    tree = ast.parse((ROOT / "functions" / "main.py").read_text())
    exposed = {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets}
    assert exposed == {fn.entry_point for fn in manifest.load().functions}


def test_importing_main_does_not_import_feature_dependencies():
    code = (
        "import sys; sys.path.insert(0, 'functions'); import main; "
        "heavy = [m for m in ('pg8000', 'jwt', 'urllib3', 'google.cloud.pubsub_v1', "
        "'google.cloud.firestore', 'google.cloud.sql.connector', 'lederappen.profile.api') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["functions"][0].update(kind="cron"), "kind must be one of"),
        (lambda d: d["functions"][0].update(name="Bad_Name"), "kebab-case"),
        (lambda d: d["functions"][1]["routes"][0].update(auth="admin"), "unknown auth"),
        (lambda d: d["functions"][1]["routes"][0].update(path="/profile"), "must start with /v1"),
        (lambda d: d["functions"][1].update(uses=["db"]), "uses must list 'oidc'"),
        (lambda d: d["functions"].append(copy.deepcopy(d["functions"][1])), "duplicate"),
        (lambda d: d["functions"][0].update(colour="blue"), "unknown key"),
        (
            lambda d: d["functions"].append(
                {"name": "jobs-x", "entry_point": "x", "kind": "pubsub", "uses": []}
            ),
            "needs a topic",
        ),
    ],
)
def test_invalid_manifests_are_refused_with_the_reason(mutate, message):
    data = _raw()
    mutate(data)
    with pytest.raises(manifest.ManifestError, match=message):
        manifest.parse(data)


def test_every_http_route_is_in_the_openapi_document():
    doc = json.loads((ROOT / "functions" / "openapi.json").read_text())
    for fn, route in manifest.load().routes():
        if route.auth == "job" or route.path.startswith("/staff/"):
            continue  # jobs are not public; /staff/ pages are HTML for browsers, not the API
        op = doc["paths"].get(route.path, {}).get(route.method.lower())
        assert op is not None, f"{route.method} {route.path} missing from openapi.json"
        assert op["x-function"] == fn.name
        public = op.get("security") == []
        assert public == (route.auth == "public"), f"{route.path}: security disagrees with manifest"


def test_openapi_lists_no_route_the_manifest_does_not_have():
    doc = json.loads((ROOT / "functions" / "openapi.json").read_text())
    served = {(r.method.lower(), r.path) for _, r in manifest.load().routes()}
    for path, ops in doc["paths"].items():
        for method in ops:
            assert (method, path) in served, f"{method.upper()} {path} is documented but not served"


def test_openapi_document_is_valid_3_1():
    from openapi_spec_validator import validate

    validate(json.loads((ROOT / "functions" / "openapi.json").read_text()))


def test_every_function_a_member_writes_through_can_refuse_a_sign_in_from_before_an_erasure():
    """core/http.py refuses a member's write whose token was issued before the member's
    erasure; it reads the tombstone, so every function with a member write route needs the
    database and may read `erasure_tombstones` (the check is skipped without "db")."""
    writers = [
        fn
        for fn in manifest.load().functions
        if any(r.auth == "member" and r.method not in ("GET", "HEAD") for r in fn.routes)
    ]
    assert len(writers) >= 8
    for fn in writers:
        assert "db" in fn.uses, fn.name
        assert "SELECT" in fn.db_privileges.get("erasure_tombstones", ()), fn.name
