"""functions/openapi.json is the generator's output: its request-body and Problem schemas are
the msgspec types the code decodes with, so the document cannot drift from the code."""

import json

from infra.scripts import openapi as generator


def test_the_checked_in_document_is_what_the_generator_makes():
    current = generator.DOC_PATH.read_text(encoding="utf-8")
    fresh = generator.render(generator.generate(json.loads(current)))
    assert fresh == current, (
        "functions/openapi.json differs from a fresh generation: run `make openapi` "
        "(python -m infra.scripts.openapi) and commit the result"
    )


def test_every_request_body_points_at_the_type_its_route_decodes_with():
    doc = json.loads(generator.DOC_PATH.read_text(encoding="utf-8"))
    generated = set(doc["components"]["x-generated-schemas"])
    for route, endpoint in generator._endpoints():
        if route.auth == "job":  # Cloud Scheduler's, not the app's: not in the document
            continue
        op = doc["paths"][route.path][route.method.lower()]
        if isinstance(endpoint.body, type) and endpoint.body not in (bytes, dict):
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in generated, (route.method, route.path)


def test_schema_names_are_unique_and_the_problem_schema_is_generated():
    doc = json.loads(generator.DOC_PATH.read_text(encoding="utf-8"))
    names = list(doc["components"]["schemas"])
    assert len(names) == len(set(names))
    assert "Problem" in doc["components"]["x-generated-schemas"]
    problem = doc["components"]["schemas"]["Problem"]
    from lederappen.core import problems
    from lederappen.core.problems import TYPE_BASE

    types = {TYPE_BASE + p.slug for p in problems.ALL}
    assert set(problem["properties"]["type"]["enum"]) == types


def test_a_changed_body_type_is_a_drift_named_with_the_command(monkeypatch, capsys):
    import dataclasses
    from typing import Annotated

    import msgspec
    from lederappen.consents import api as consents_api

    class ConsentChange(consents_api.ConsentChange, forbid_unknown_fields=True, kw_only=True):
        app_version: Annotated[str, msgspec.Meta(max_length=41)] | None = None

    endpoints = list(consents_api.api.endpoints)
    i = next(i for i, e in enumerate(endpoints) if e.body is consents_api.ConsentChange)
    endpoints[i] = dataclasses.replace(endpoints[i], body=ConsentChange)
    monkeypatch.setattr(consents_api.api, "endpoints", endpoints)
    assert generator.main(["--check"]) == 1
    assert "make openapi" in capsys.readouterr().err
