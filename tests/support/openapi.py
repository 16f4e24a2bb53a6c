"""Checks real responses against functions/openapi.json (OpenAPI 3.1 = JSON Schema 2020-12).

Every e2e call goes through `check()`: the status must be documented for that operation,
the content type must match, and the body must validate against the documented schema.
So a response that drifts from the document fails the test that made it.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import jsonschema

DOC_PATH = Path(__file__).resolve().parents[2] / "functions" / "openapi.json"


@lru_cache(maxsize=1)
def document() -> dict:
    return json.loads(DOC_PATH.read_text())


@lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern, str]]:
    out = []
    for template in document()["paths"]:
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        out.append((re.compile(pattern), template))
    return out


def template_for(path: str) -> str | None:
    for pattern, template in _templates():
        if pattern.match(path):
            return template
    return None


def _resolve(node: dict) -> dict:
    while "$ref" in node:
        ptr = node["$ref"].lstrip("#/").split("/")
        target = document()
        for part in ptr:
            target = target[part]
        node = target
    return node


def check(method: str, path: str, status: int, content_type: str, body: bytes) -> None:
    """Raises AssertionError when the response is not what the document promises."""
    template = template_for(path.split("?", 1)[0])
    if template is None:
        # Unknown paths are answered by the gateway/function with a generic problem.
        assert status == 404 and content_type.startswith("application/problem+json")
        return
    op = document()["paths"][template].get(method.lower())
    if op is None:
        assert status == 405, f"{method} {template} is undocumented but answered {status}"
        return
    responses = op["responses"]
    spec = responses.get(str(status)) or responses.get("default")
    assert spec is not None, f"{method} {template}: status {status} is not documented"
    spec = _resolve(spec)
    content = spec.get("content")
    if not content:
        assert not body, f"{method} {template} {status}: body where none is documented"
        return
    media = content_type.split(";")[0].strip()
    assert media in content, f"{method} {template} {status}: {media} not documented"
    schema = content[media].get("schema")
    if schema is None or not (media == "application/json" or media.endswith("+json")):
        return  # an image or a page: its bytes are not JSON
    wrapper = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document()["components"],
        **schema,
    }
    jsonschema.validate(
        json.loads(body),
        wrapper,
        cls=jsonschema.Draft202012Validator,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )
