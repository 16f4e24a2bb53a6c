"""A client generated from the OpenAPI document works against the running functions.

openapi-python-client generates a Python client from functions/openapi.json (with no warning:
every schema, the Problem schema included, has a unique name), and the test calls member and
public endpoints through it. Errors arrive as the typed Problem model, not as untyped
exceptions, because every error response refers to the one generated Problem schema.
"""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local import demo_data

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]
MEMBER = demo_data.generate_members(300)[205]["member_id"]


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    proc = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "functions" / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(out / "lederappen_client"),
            "--config",
            str(ROOT / "tests" / "client" / "openapi-python-client.yaml"),
        ],
        cwd=out,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("lederappen_client")
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m.split(".")[0] == "lederappen_client"]:
            del sys.modules[name]


def _module(pkg, name):
    return importlib.import_module(f"{pkg.__name__}.{name}")


def test_the_generated_client_reads_public_and_member_endpoints(stack, token, client_package):
    pkg = client_package
    public = pkg.Client(base_url=stack.urls["gateway"])
    member = pkg.AuthenticatedClient(base_url=stack.urls["gateway"], token=token(MEMBER))
    models = _module(pkg, "models")

    terms = _module(pkg, "api.consents.get_terms_in_force").sync(client=public)
    assert isinstance(terms, models.TermsInForce)
    assert {t.purpose.value for t in terms.terms} >= {"newsletter", "marketing"}

    consents = _module(pkg, "api.consents.get_consents").sync(client=member)
    assert isinstance(consents, models.Consents)
    assert {c.purpose.value for c in consents.consents} >= {"newsletter", "marketing"}

    prefs = _module(pkg, "api.preferences.get_preferences").sync(client=member)
    assert isinstance(prefs, models.Preferences)


def test_a_problem_arrives_as_the_typed_problem_model(stack, token, client_package):
    pkg = client_package
    member = pkg.AuthenticatedClient(base_url=stack.urls["gateway"], token=token(MEMBER))
    models = _module(pkg, "models")
    change = _module(pkg, "api.consents.change_consent")

    body = models.ConsentChange(
        purpose=models.ConsentChangePurpose("marketing"),
        action=models.ConsentChangeAction("give"),
        terms_version=2**31,
    )
    resp = change.sync_detailed(client=member, body=body)
    assert resp.status_code == 422
    problem = resp.parsed
    assert isinstance(problem, models.Problem)
    assert problem.type_.value == "https://api.lederne.no/problems/validation-failed"
    assert problem.status == 422
    assert [e.field for e in problem.errors] == ["terms_version"]
    assert isinstance(problem.errors[0], models.ProblemFieldError)

    missing = _module(pkg, "api.consents.get_terms_version").sync_detailed(
        models.Purpose("marketing"), 999_999, client=pkg.Client(base_url=stack.urls["gateway"])
    )
    assert missing.status_code == 404 and isinstance(missing.parsed, models.Problem)
    assert missing.parsed.type_.value == "https://api.lederne.no/problems/not-found"
