"""Generates functions/openapi.json, wholly, from the code.

    python -m infra.scripts.openapi          # `make openapi`: write functions/openapi.json
    python -m infra.scripts.openapi --check  # exit 1 when the file differs from a fresh run

The generator reads no earlier document: every part comes from the code, so the document
cannot drift from what the code decodes and answers.
- Each operation from its route's declaration (`Api.route` in core/http.py): operationId,
  summary, the answers (`response`/`returns`/`status`, `responses` with `Out`, their headers
  and media types), the problems beyond the shape-given ones (`errors`), the query parameters
  (the fields of the `query` Struct), request headers, path parameter types (`params`,
  `path_params`), and the request body's media types; its description is the handler's
  docstring. The tag is `admin` under /v1/admin/, else the handler's feature.
- From the manifest (functions/manifest.json), for every public route: the function serving
  it (`x-function`), its auth (`security`: none for `public`, the bearer token otherwise) and
  the errors that follow from the route's shape: 401 and 403 with a token, 404 with a path
  parameter, 413, 415 and 422 with a JSON body. Cloud Scheduler's routes are left out.
- Every schema by msgspec.json.schema_components from the msgspec types: request bodies,
  response types (the features' schemas.py), the Problem schema (`problems.ProblemDocument`)
  with its `type` URIs, query and path parameter types. A Struct's docstring is its
  description; `forbid_unknown_fields` is `additionalProperties: false`. What msgspec cannot
  state is said next to the type: `openapi_extra` (a class attribute, merged into its
  schema, e.g. SalaryPosition's if/then/else) and, for a union msgspec cannot decode
  (SalaryCell), `openapi_schema`.
- The frame (info, servers, the bearer scheme, the shared problem answers) from FRAME,
  SECURITY_SCHEMES and PROBLEMS below, the shared headers from core/http.py.
Component names are the class names; where two classes share one, the one in a feature's
schemas.py keeps it and the others get their feature's name in front
(`notifications.admin.Draft` -> `NotificationsDraft`), so every name is unique and stays the
same from run to run. Schemas nothing refers to are dropped.

To add a route: declare it with `Api.route(...)` (see README, API), put its response types in
the feature's schemas.py, run `make openapi` and commit the result.
tests/unit/test_openapi_generated.py fails when the checked-in document is not this output.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import importlib
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "functions" / "openapi.json"
COMMAND = "make openapi"
#: Generated component names that differ from the class name.
RENAMES = {"ProblemDocument": "Problem", "FieldError": "ProblemFieldError"}
REF = "#/components/schemas/{name}"
#: `format` is only an annotation in JSON Schema 2020-12 (an empty string is a valid
#: "date-time" to a validator); the pattern says what msgspec's RFC 3339 parser accepts.
DATE_TIME_PATTERN = (
    r"^[1-9]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt]([01]\d|2[0-3])"
    r":[0-5]\d:[0-5]\d(\.\d{1,9})?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)


def _endpoints() -> list[tuple[Any, Any]]:
    """(manifest route, core.http.Endpoint) of every HTTP route, in manifest order."""
    importlib.import_module("main")
    from lederappen.core import entry
    from lederappen.core import manifest as manifest_mod

    out = []
    for fn in manifest_mod.load().functions:
        module = entry.HTTP_MODULES.get(fn.entry_point)
        if module is None:
            continue
        api = importlib.import_module(module).api
        declared = {(e.method, e.path): e for e in api.endpoints}
        for route in fn.routes:
            out.append((route, declared[(route.method, route.path)]))
    return out


def _clean(node: Any) -> Any:
    """Docstrings as plain descriptions; msgspec's `title` (the class name) dropped."""
    if isinstance(node, dict):
        out = {k: _clean(v) for k, v in node.items() if k != "title" or not isinstance(v, str)}
        if isinstance(out.get("description"), str):
            out["description"] = _text(out["description"])
        if isinstance(out.get("enum"), list) and len(out["enum"]) == 1:
            out["const"] = out.pop("enum")[0]  # Literal[True]: what clients read as a constant
        if out.get("format") == "date-time" and out.get("type") == "string":
            out.setdefault("pattern", DATE_TIME_PATTERN)
        return out
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def _rename_refs(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/schemas/"):
                v = REF.format(name=names.get(v.rsplit("/", 1)[1], v.rsplit("/", 1)[1]))
            out[k] = _rename_refs(v, names)
        return out
    if isinstance(node, list):
        return [_rename_refs(v, names) for v in node]
    return node


def _classes(types: list[Any]) -> dict[type, Any]:
    """Every Struct and Enum class the types use, transitively (msgspec.inspect infos)."""
    import msgspec.inspect as mi

    seen: dict[type, Any] = {}

    def walk(t):
        if isinstance(t, mi.Metadata):
            walk(t.type)
        elif isinstance(t, mi.StructType):
            if t.cls in seen:
                return
            seen[t.cls] = t
            for f in t.fields:
                walk(f.type)
        elif isinstance(t, mi.EnumType):
            seen.setdefault(t.cls, t)
        elif isinstance(t, mi.UnionType):
            for x in t.types:
                walk(x)
        elif isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
            walk(t.item_type)
        elif isinstance(t, mi.DictType):
            walk(t.value_type)
        elif isinstance(t, mi.TupleType):
            for x in t.item_types:
                walk(x)

    for info in mi.multi_type_info(types):
        walk(info)
    return seen


def _component_keys(classes: dict[type, Any]) -> dict[str, type]:
    """msgspec's component key of each class: its name, or its full path where two share one."""
    by_name: dict[str, list[type]] = {}
    for cls in classes:
        by_name.setdefault(cls.__name__, []).append(cls)
    out = {}
    for cls in classes:
        if len(by_name[cls.__name__]) == 1:
            out[cls.__name__] = cls
        else:
            out[f"{cls.__module__}.{cls.__qualname__}".replace("<locals>", "_locals_")] = cls
    return out


def _text(doc: str) -> str:
    """A docstring as a description: dedented, and each paragraph's hard-wrapped lines joined
    (a line starting a list item stays a line of its own)."""
    out: list[str] = []
    for line in inspect.cleandoc(doc).split("\n"):
        item = re.match(r"^\s*([-*]|\d+\.)\s", line)
        if out and out[-1] and line.strip() and not item:
            out[-1] = out[-1] + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


def _schemas_modules() -> list[Any]:
    """The features' schemas.py modules (their types are components even where only a
    raw `extra_json_schema` refers to them)."""
    import pkgutil

    import lederappen

    out = []
    for info in pkgutil.iter_modules(lederappen.__path__):
        try:
            out.append(importlib.import_module(f"lederappen.{info.name}.schemas"))
        except ModuleNotFoundError:
            continue
    return out


def _reachable(doc: dict) -> set[str]:
    """Component schema names referred to from outside `components.schemas`, transitively."""
    schemas = doc["components"]["schemas"]
    seen: set[str] = set()

    def refs(node: Any):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref" and isinstance(v, str) and v.startswith("#/components/schemas/"):
                    yield v.rsplit("/", 1)[1]
                else:
                    yield from refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from refs(v)

    roots = {k: v for k, v in doc.items() if k != "components"}
    roots["components"] = {k: v for k, v in doc["components"].items() if k != "schemas"}
    todo = list(refs(roots))
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        todo.extend(refs(schemas[name]))
    return seen


#: What the document says of the API as a whole.
FRAME = {
    "openapi": "3.1.0",
    "info": {
        "title": "Lederappen backend API",
        "version": "1.0.0",
        "summary": "Backend of Lederappen, the member app of Lederne.",
        "description": "JSON over HTTPS. Errors are application/problem+json (RFC 9457) with a "
        "stable `type`. User-facing text is Norwegian (bokmål) or English by Accept-Language. "
        "Member endpoints need Lederne's OpenID Connect ID token as a bearer token.",
        "contact": {"name": "Lederne", "email": "post@lederne.no"},
    },
    "servers": [
        {
            "url": "https://api.lederne.no",
            "description": "Production (HTTPS load balancer in front of the Cloud Functions)",
        },
        {"url": "http://127.0.0.1:8080", "description": "Local stack gateway"},
    ],
    "security": [{"bearer": []}],
}
SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Lederne's OpenID Connect ID token (RS256). Verified on every call: "
        "signature (JWKS), issuer, audience, expiry. Members carry role `member`; staff "
        "endpoints need role `staff` plus the named role: `privacy_officer` (consent terms), "
        "`survey_manager` (salary survey rounds) or `operations` (dead-lettered Pub/Sub "
        "messages: inspect, replay, discard).",
    }
}
#: The shared problem answers (components.responses), by status.
PROBLEMS = {
    401: "Missing, malformed, expired or foreign token (type .../unauthenticated).",
    403: "Valid token without the needed role (type .../forbidden).",
    404: "Not found, or another member's resource (type .../not-found).",
    409: "Conflict with the current state (type .../conflict).",
    412: "If-Match does not match: the data changed elsewhere (type .../precondition-failed).",
    413: "Body larger than allowed (type .../payload-too-large).",
    415: "Body is not JSON (type .../unsupported-media-type).",
    422: "Invalid content; `errors` names each field (type .../validation-failed).",
    428: "If-Match is missing (type .../precondition-required).",
    503: "A dependency (database, member register, identity provider) is down or slow "
    "(type .../dependency-unavailable).",
}
BINARY = {"type": "string", "format": "binary"}


class _Schemas:
    """The component schemas of every type the routes use, named uniquely and stably."""

    def __init__(self, types: list[Any]):
        import msgspec

        types = list(dict.fromkeys(types))
        refs, components = msgspec.json.schema_components(types, ref_template=REF)
        keys = _component_keys(_classes(types))
        shorts: dict[str, list[str]] = {}
        for key in components:
            shorts.setdefault(
                RENAMES.get(key.rpartition(".")[2], key.rpartition(".")[2]), []
            ).append(key)
        names: dict[str, str] = {}
        for key in components:
            cls = keys[key]
            short = RENAMES.get(cls.__name__, cls.__name__)
            clash = len(shorts[short]) > 1
            # On a clash the response type of a feature's schemas.py keeps the name, the
            # others get their feature's name in front (notifications.admin.Draft ->
            # NotificationsDraft).
            if clash and not cls.__module__.endswith(".schemas"):
                module = cls.__module__
                feature = module.split(".")[1] if module.startswith("lederappen.") else module
                short = "".join(p.capitalize() for p in re.split(r"[_.]", feature)) + short
            names[key] = short
        assert len(set(names.values())) == len(names), "generated schema names must be unique"
        self.components = {}
        for key, schema in components.items():
            cls = keys[key]
            schema = _clean(_rename_refs(schema, names))
            info = _classes([cls])[cls]
            if getattr(info, "forbid_unknown_fields", False) and schema.get("type") == "object":
                schema["additionalProperties"] = False
            if hasattr(cls, "openapi_schema"):
                schema = {**cls.openapi_schema}
            if hasattr(cls, "openapi_extra"):
                schema.update(cls.openapi_extra)
            self.components[names[key]] = schema
        self.ref = {repr(t): _clean(_rename_refs(r, names)) for t, r in zip(types, refs)}

    def of(self, type_: Any) -> dict:
        return json.loads(json.dumps(self.ref[repr(type_)]))


def _types(endpoints) -> list[Any]:
    import msgspec
    from lederappen.core.problems import ProblemDocument

    out: list[Any] = [ProblemDocument]
    for _, e in endpoints:
        if isinstance(e.body, type) and issubclass(e.body, msgspec.Struct):
            out.append(e.body)
        if e.body_schema is not None:
            out.append(e.body_schema)
        out += [o.type for o in e.responses.values() if o.type not in (None, bytes)]
        out += [cls for _, cls in e.errors.values() if cls is not None]
        out += [h.type for o in e.responses.values() for h in o.headers]
        out += [h.type for h in e.headers]
        out += [*e.params.values(), *e.path_params.values()]
        if e.query is not None:
            out.append(e.query)
    for module in _schemas_modules():
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and (issubclass(value, msgspec.Struct) or issubclass(value, enum.Enum))
            ):
                out.append(value)
    return out


def _split(schema: dict) -> tuple[str | None, dict]:
    schema = dict(schema)
    description = schema.pop("description", None)
    schema.pop("default", None) if schema.get("default", 0) is None else None
    return description, schema


def _header(h, schemas: _Schemas, response: bool = False) -> dict:
    if h.component:
        kind = "headers" if response else "parameters"
        return {"$ref": f"#/components/{kind}/{h.component}"}
    description, schema = _split(schemas.of(h.type))
    description = h.description or description
    out: dict[str, Any] = {}
    if not response:
        out = {"name": h.name, "in": "header", "required": h.required}
    if description:
        out["description"] = description
    out["schema"] = schema
    return out


def _shared_header(h, schemas: _Schemas, response: bool = False) -> dict:
    return _header(dataclasses.replace(h, component=None), schemas, response)


def _operation(route, endpoint, fn, schemas: _Schemas) -> dict:
    op: dict[str, Any] = {"operationId": endpoint.operation_id}
    module = endpoint.handler.__module__.split(".")[1]
    op["tags"] = ["admin" if route.path.startswith("/v1/admin/") else module]
    if endpoint.summary:
        op["summary"] = endpoint.summary
    if endpoint.handler.__doc__:
        op["description"] = _text(endpoint.handler.__doc__)
    op["x-function"] = fn.name
    op["security"] = [] if route.auth == "public" else [{"bearer": []}]
    params = []
    for name in re.findall(r"\{(\w+)\}", route.path):
        type_ = endpoint.params.get(name, endpoint.path_params.get(name, str))
        description, schema = _split(schemas.of(type_))
        param: dict[str, Any] = {"name": name, "in": "path", "required": True}
        if description:
            param["description"] = description
        param["schema"] = schema
        params.append(param)
    params += [_header(h, schemas) for h in endpoint.headers]
    if endpoint.query is not None:
        ref = schemas.of(endpoint.query)["$ref"].rsplit("/", 1)[1]
        query = schemas.components[ref]
        for name, schema in query["properties"].items():
            description, schema = _split(schema)
            param = {"name": name, "in": "query", "required": name in query.get("required", [])}
            if description:
                param["description"] = description
            param["schema"] = schema
            params.append(param)
    if params:
        op["parameters"] = params
    body_type = endpoint.body_schema
    if body_type is None and hasattr(endpoint.body, "__struct_fields__"):
        body_type = endpoint.body
    if body_type is not None or endpoint.body is bytes:
        schema = BINARY if body_type is None else schemas.of(body_type)
        op["requestBody"] = {
            "required": True,
            "content": {m: {"schema": schema} for m in endpoint.body_media},
        }
    responses: dict[str, Any] = {}
    for status, out in endpoint.responses.items():
        answer: dict[str, Any] = {"description": out.description}
        if out.headers:
            answer["headers"] = {h.name: _header(h, schemas, True) for h in out.headers}
        if out.type is not None:
            if out.type is bytes:
                answer["content"] = {m: {"schema": BINARY} for m in out.media}
            elif out.media != ("application/json",):
                answer["content"] = {m: {} for m in out.media}
            else:
                answer["content"] = {"application/json": {"schema": schemas.of(out.type)}}
        responses[str(status)] = answer
    shape = set()
    if route.auth != "public":
        shape |= {401, 403}
    if "{" in route.path:
        shape.add(404)
    if isinstance(endpoint.body, type) and endpoint.body is not bytes:
        shape |= {413, 415, 422}
    for status in sorted(shape | set(endpoint.errors)):
        description, cls = endpoint.errors.get(status, (None, None))
        if description is None and cls is None:
            responses[str(status)] = _problem(str(status))
            continue
        from lederappen.core.problems import ProblemDocument

        responses[str(status)] = {
            "description": description or PROBLEMS[status],
            "content": {"application/problem+json": {"schema": schemas.of(cls or ProblemDocument)}},
        }
    op["responses"] = dict(sorted(responses.items()))
    return op


def generate() -> dict:
    if str(ROOT / "functions") not in sys.path:
        sys.path.insert(0, str(ROOT / "functions"))

    from lederappen.core import http
    from lederappen.core.problems import ProblemDocument

    endpoints = _endpoints()
    shared = [http.ACCEPT_LANGUAGE, http.IDEMPOTENCY_KEY, http.IF_MATCH]
    schemas = _Schemas([*_types(endpoints), *(h.type for h in [*shared, http.RETRY_AFTER])])
    problem = schemas.of(ProblemDocument)
    doc: dict[str, Any] = json.loads(json.dumps(FRAME))
    paths: dict[str, dict] = {}
    missing = []
    manifest = _manifest()
    for route, endpoint in endpoints:
        if route.auth == "job":  # Cloud Scheduler's routes are not the app's
            continue
        if not endpoint.operation_id or not endpoint.responses:
            missing.append(f"{route.method} {route.path}")
            continue
        fn = next(f for f in manifest.functions if route in f.routes)
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(
            route, endpoint, fn, schemas
        )
    assert not missing, f"routes without operation_id/response in Api.route: {missing}"
    doc["paths"] = paths
    responses = {}
    for status, description in PROBLEMS.items():
        answer: dict[str, Any] = {"description": description}
        if status == 401:
            answer["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        if status == 503:
            answer["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
        answer["content"] = {"application/problem+json": {"schema": problem}}
        responses[f"Problem{status}"] = answer
    doc["components"] = {
        "securitySchemes": SECURITY_SCHEMES,
        "parameters": {h.component: _shared_header(h, schemas) for h in shared},
        "headers": {"RetryAfter": _shared_header(http.RETRY_AFTER, schemas, True)},
        "responses": responses,
        "schemas": schemas.components,
    }
    keep = _reachable(doc)
    doc["components"]["schemas"] = {
        k: v for k, v in sorted(schemas.components.items()) if k in keep
    }
    return doc


def _problem(status: str) -> dict:
    return {"$ref": f"#/components/responses/Problem{status}"}


def _manifest():
    from lederappen.core import manifest as manifest_mod

    return manifest_mod.load()


def render(doc: dict) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when functions/openapi.json is not the generated output",
    )
    args = parser.parse_args(argv)
    fresh = render(generate())
    if args.check:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if fresh != current:
            print(f"functions/openapi.json is not up to date: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(fresh, encoding="utf-8")
    print(f"wrote {DOC_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
