"""functions/openapi.json is the generator's output, wholly: paths, parameters, request and
response schemas come from the routes' declarations (`Api.route`) and the msgspec types the
code decodes and answers with, so the document cannot drift from the code."""

import json

from infra.scripts import openapi as generator


def test_the_checked_in_document_is_what_the_generator_makes():
    current = generator.DOC_PATH.read_text(encoding="utf-8")
    fresh = generator.render(generator.generate())
    assert fresh == current, (
        "functions/openapi.json differs from a fresh generation: run `make openapi` "
        "(python -m infra.scripts.openapi) and commit the result"
    )


def test_every_request_body_points_at_the_type_its_route_decodes_with():
    doc = json.loads(generator.DOC_PATH.read_text(encoding="utf-8"))
    for route, endpoint in generator._endpoints():
        if route.auth == "job":  # Cloud Scheduler's, not the app's: not in the document
            continue
        op = doc["paths"][route.path][route.method.lower()]
        if hasattr(endpoint.body, "__struct_fields__"):
            ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"], (route.method, route.path)


def test_every_route_declares_its_operation_and_answers():
    """operation_id, summary and the answers are stated at the route, so the document has
    them; the operation's description is the handler's docstring."""
    for route, endpoint in generator._endpoints():
        if route.auth == "job":
            continue
        assert endpoint.operation_id and endpoint.summary, (route.method, route.path)
        assert endpoint.responses, (route.method, route.path)


def test_the_generator_does_not_read_the_document():
    import inspect

    assert "DOC_PATH" not in inspect.getsource(generator.generate)


def test_schema_names_are_unique_and_the_problem_schema_is_generated():
    doc = json.loads(generator.DOC_PATH.read_text(encoding="utf-8"))
    names = list(doc["components"]["schemas"])
    assert len(names) == len(set(names))
    assert "Problem" in doc["components"]["schemas"]
    assert "x-generated-schemas" not in doc["components"]
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
