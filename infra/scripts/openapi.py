"""Generates the schemas of functions/openapi.json from the msgspec types the code uses.

    python -m infra.scripts.openapi          # `make openapi`: rewrite functions/openapi.json
    python -m infra.scripts.openapi --check  # exit 1 when the file differs from a fresh run

What is generated (msgspec.json.schema_components), so it cannot drift from what the code
validates:
- every request body: the type each route decodes with (`Api.route(..., body=Type)`), with
  every type it nests; an operation's `requestBody` schema points at it;
- the Problem schema (`problems.ProblemDocument`) every error response uses, and its
  `type` URIs from the Problem classes;
- integer path parameters declared with `Api.route(..., params={...})`;
- from the manifest (functions/manifest.json), for every public route: the function serving
  it (`x-function`), its auth (`security`: none for `public`, the bearer token otherwise) and
  the errors that follow from the route's shape: 401 and 403 with a token, 404 with a path
  parameter, 413, 415 and 422 with a JSON body.
Component names are the class names; where two classes share one, the feature's name is put
in front (`notifications.admin.Draft` -> `NotificationsDraft`), so every name is unique and
stays the same from run to run. Schemas nothing refers to any more are dropped.

Still kept by hand in the document (issue 20, next step): paths' summaries, query parameters
and response schemas. tests/unit/test_openapi_generated.py fails when the checked-in
document is not this script's output.
"""

from __future__ import annotations

import argparse
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
            out["description"] = inspect.cleandoc(out["description"])
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


def _struct_infos(types: list[type]):
    import msgspec.inspect as mi

    seen: dict[type, Any] = {}

    def walk(t):
        if isinstance(t, mi.StructType):
            if t.cls in seen:
                return
            seen[t.cls] = t
            for f in t.fields:
                walk(f.type)
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


def _strict_structs(types: list[type]) -> set[str]:
    """Component keys (as msgspec names them) of Structs that refuse unknown fields."""
    infos = _struct_infos(types)
    by_name: dict[str, list[type]] = {}
    for cls in infos:
        by_name.setdefault(cls.__name__, []).append(cls)
    out = set()
    for cls, info in infos.items():
        if not info.forbid_unknown_fields:
            continue
        if len(by_name[cls.__name__]) == 1:
            out.add(cls.__name__)
        else:
            out.add(f"{cls.__module__}.{cls.__qualname__}".replace("<locals>", "_locals_"))
    return out


def _module_of(name: str, types: list[type]) -> str:
    for cls in _struct_infos(types):
        if cls.__name__ == name:
            return cls.__module__
    return "lederappen.core"


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


def generate(current: dict) -> dict:
    import msgspec

    if str(ROOT / "functions") not in sys.path:
        sys.path.insert(0, str(ROOT / "functions"))

    from lederappen.core.problems import ProblemDocument

    doc = json.loads(json.dumps(current))
    endpoints = _endpoints()
    bodies = [
        e.body
        for _, e in endpoints
        if isinstance(e.body, type) and issubclass(e.body, msgspec.Struct)
    ]
    types = [ProblemDocument, *dict.fromkeys(bodies)]
    refs, components = msgspec.json.schema_components(types, ref_template=REF)
    strict = _strict_structs(types)

    schemas = doc["components"]["schemas"]
    for name in doc["components"].get("x-generated-schemas", []):
        schemas.pop(name, None)
    # The request bodies now point at generated schemas; hand-kept ones only they used go.
    for route, endpoint in endpoints:
        op = doc["paths"].get(route.path, {}).get(route.method.lower())
        if op is not None and isinstance(endpoint.body, type) and endpoint.body in types:
            op.get("requestBody", {}).get("content", {}).pop("application/json", None)
    hand_kept = _reachable(doc) - {"Problem"}

    # Unique, stable names: the class name; the feature's name in front where two classes
    # share one, or where a hand-kept schema (a response) already has it.
    names: dict[str, str] = {}
    for key in components:
        module, _, short = key.rpartition(".")
        if not module:
            module = _module_of(key, types)
        short = RENAMES.get(short, short)
        if "." in key or short in hand_kept:
            feature = module.split(".")[1] if module.startswith("lederappen.") else module
            short = "".join(p.capitalize() for p in re.split(r"[_.]", feature)) + short
        names[key] = short
    assert len(set(names.values())) == len(names), "generated schema names must be unique"
    generated = {}
    for key, schema in components.items():
        schema = _clean(_rename_refs(schema, names))
        if key in strict and schema.get("type") == "object":
            schema["additionalProperties"] = False
        generated[names[key]] = schema
    ref_of = {t: _rename_refs(r, names)["$ref"] for t, r in zip(types, refs)}

    for route, endpoint in endpoints:
        op = doc["paths"].get(route.path, {}).get(route.method.lower())
        if op is None:
            continue
        if endpoint.body in ref_of:
            body = op.setdefault("requestBody", {"required": True, "content": {}})
            body["required"] = True
            media = body["content"].setdefault("application/json", {})
            media["schema"] = {"$ref": ref_of[endpoint.body]}
        for name, type_ in endpoint.params.items():
            for param in op.get("parameters", []):
                if param.get("in") == "path" and param.get("name") == name:
                    param["schema"] = _clean(msgspec.json.schema(type_))
    _from_manifest(doc, endpoints)
    schemas.update(generated)
    keep = _reachable(doc)
    doc["components"]["schemas"] = {k: v for k, v in sorted(schemas.items()) if k in keep}
    doc["components"]["x-generated-schemas"] = sorted(set(generated) & keep)
    return doc


def _problem(status: str) -> dict:
    return {"$ref": f"#/components/responses/Problem{status}"}


def _from_manifest(doc: dict, endpoints: list[tuple[Any, Any]]) -> None:
    missing = []
    for route, endpoint in endpoints:
        if route.auth == "job":  # Cloud Scheduler's routes are not the app's
            continue
        op = doc["paths"].get(route.path, {}).get(route.method.lower())
        if op is None:
            missing.append(f"{route.method} {route.path}")
            continue
        fn = next(f for f in _manifest().functions if route in f.routes)
        op["x-function"] = fn.name
        responses = op.setdefault("responses", {})
        if route.auth == "public":
            op["security"] = []
            responses.pop("401", None)
            responses.pop("403", None)
        else:
            op["security"] = [{"bearer": []}]
            responses.setdefault("401", _problem("401"))
            responses.setdefault("403", _problem("403"))
        if "{" in route.path:
            responses.setdefault("404", _problem("404"))
        if isinstance(endpoint.body, type) and endpoint.body is not bytes:
            for status in ("413", "415", "422"):
                responses.setdefault(status, _problem(status))
        op["responses"] = dict(sorted(responses.items()))
    assert not missing, f"routes in manifest.json without an operation in openapi.json: {missing}"


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
    current = DOC_PATH.read_text(encoding="utf-8")
    fresh = render(generate(json.loads(current)))
    if args.check:
        if fresh != current:
            print(f"functions/openapi.json is not up to date: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(fresh, encoding="utf-8")
    print(f"wrote {DOC_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
