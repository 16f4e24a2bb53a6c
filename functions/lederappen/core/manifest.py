"""The function manifest (`functions/manifest.json`) as typed Python objects.

The manifest is the single list of Cloud Functions. The runtime reads its own entry from it
(routes, who may call each route, which configuration sections it needs), the local stack
serves and wires what it lists, the tests and the OpenAPI check compare against it, and
Terraform deploys it with `jsondecode`. JSON keeps it readable by all of them with no
extra parser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "manifest.json"

KINDS = ("http", "pubsub", "scheduled")
#: Who may call a route. ``staff:<role>`` needs a staff token carrying that role; ``staff``
#: any staff token. Routes under ``/staff/`` (the console) check the same modes against the
#: roles of the signed-in session instead of a bearer token.
AUTH_MODES = ("public", "member", "job", "staff")
STAFF_ROLES = (
    "privacy_officer",
    "editor",
    "member_service",
    "survey_manager",
    "operations",
    "mentor_coordinator",
)
#: Configuration sections a function may declare in ``uses`` (see core.config).
SECTIONS = (
    "db",
    "oidc",
    "register",
    "pubsub",
    "firestore",
    "fcm",
    "job_oidc",
    "installation",
    "console",
)
_NAME = re.compile(r"^[a-z][a-z0-9-]{1,40}[a-z0-9]$")
_PATH = re.compile(r"^/(v1|jobs|staff)(/[a-z0-9_.{}:-]+)+$")


class ManifestError(ValueError):
    """Raised when manifest.json is malformed; the message names every problem found."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    auth: str

    @property
    def staff_role(self) -> str | None:
        return self.auth.split(":", 1)[1] if self.auth.startswith("staff:") else None


@dataclass(frozen=True)
class Function:
    name: str
    entry_point: str
    kind: str
    description: str
    uses: tuple[str, ...]
    routes: tuple[Route, ...] = ()
    topic: str | None = None
    dead_letter_topic: str | None = None
    max_delivery_attempts: int = 5
    ack_deadline_seconds: int = 60
    schedule: str | None = None
    time_zone: str = "Europe/Oslo"
    limits: dict = field(default_factory=dict)
    #: Table -> privileges this function's database user gets (least privilege, S1).
    db_privileges: dict = field(default_factory=dict)
    #: Topics this function publishes to (Terraform grants roles/pubsub.publisher on each).
    publishes: tuple[str, ...] = ()
    #: Pull subscriptions this function consumes (only `<dead-letter-topic>-inspect` ones);
    #: Terraform grants roles/pubsub.subscriber on each.
    pulls: tuple[str, ...] = ()

    @property
    def is_http(self) -> bool:
        """HTTP and scheduled functions are both served over HTTP."""
        return self.kind in ("http", "scheduled")


@dataclass(frozen=True)
class Manifest:
    functions: tuple[Function, ...]
    defaults: dict

    def by_entry_point(self, entry_point: str) -> Function:
        for fn in self.functions:
            if fn.entry_point == entry_point:
                return fn
        raise KeyError(entry_point)

    def by_name(self, name: str) -> Function:
        for fn in self.functions:
            if fn.name == name:
                return fn
        raise KeyError(name)

    def routes(self) -> list[tuple[Function, Route]]:
        return [(fn, r) for fn in self.functions for r in fn.routes]

    def topics(self) -> list[str]:
        out: list[str] = []
        for fn in self.functions:
            for t in (fn.topic, fn.dead_letter_topic):
                if t and t not in out:
                    out.append(t)
        return out


def _parse_function(raw: dict, defaults: dict, problems: list[str]) -> Function | None:
    name = raw.get("name", "?")
    where = f"function {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        problems.append(f"{where}: name must be kebab-case (3-42 chars)")
    kind = raw.get("kind")
    if kind not in KINDS:
        problems.append(f"{where}: kind must be one of {KINDS}, got {kind!r}")
    uses = tuple(raw.get("uses", ()))
    for section in uses:
        if section not in SECTIONS:
            problems.append(f"{where}: unknown config section {section!r} in uses")
    routes = []
    for r in raw.get("routes", ()):
        method, path, auth = r.get("method"), r.get("path", ""), r.get("auth", "")
        if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            problems.append(f"{where}: bad method {method!r}")
        if not _PATH.match(path):
            problems.append(f"{where}: path {path!r} must start with /v1, /jobs or /staff")
        if auth not in AUTH_MODES and not (
            auth.startswith("staff:") and auth.split(":", 1)[1] in STAFF_ROLES
        ):
            problems.append(f"{where}: route {path} has unknown auth {auth!r}")
        if path.startswith("/staff/") and "console" not in uses:
            problems.append(f"{where}: route {path} is a console page, so uses must list 'console'")
        if auth != "public" and auth != "job" and "oidc" not in uses:
            problems.append(f"{where}: route {path} needs a token, so uses must list 'oidc'")
        if auth == "job" and "job_oidc" not in uses:
            problems.append(f"{where}: route {path} is job-only, so uses must list 'job_oidc'")
        routes.append(Route(method, path, auth))
    if kind in ("http", "scheduled") and not routes:
        problems.append(f"{where}: an HTTP or scheduled function needs at least one route")
    if kind == "pubsub" and not raw.get("topic"):
        problems.append(f"{where}: a pubsub function needs a topic")
    if kind == "pubsub" and "job_oidc" not in uses:
        problems.append(
            f"{where}: a pubsub function verifies its push's OIDC token, so uses "
            "must list 'job_oidc'"
        )
    if kind == "pubsub" and not raw.get("dead_letter_topic"):
        problems.append(f"{where}: a pubsub function needs a dead_letter_topic")
    if kind == "scheduled" and not raw.get("schedule"):
        problems.append(f"{where}: a scheduled function needs a schedule")
    privileges = raw.get("db_privileges", {})
    for table, privs in privileges.items():
        bad = set(privs) - {"SELECT", "INSERT", "UPDATE", "DELETE"}
        if bad:
            problems.append(
                f"{where}: db_privileges on {table} has unknown privileges {sorted(bad)}"
            )
    if privileges and "db" not in uses:
        problems.append(f"{where}: db_privileges need 'db' in uses")
    if "db" in uses and "db_privileges" not in raw:
        problems.append(f"{where}: uses 'db', so it must declare db_privileges (may be {{}})")
    publishes = tuple(raw.get("publishes", ()))
    pulls = tuple(raw.get("pulls", ()))
    if pulls and "pubsub" not in uses:
        problems.append(f"{where}: pulls needs 'pubsub' in uses")
    if publishes and "pubsub" not in uses:
        problems.append(f"{where}: publishes needs 'pubsub' in uses")
    limit_keys = (
        "memory",
        "cpu",
        "timeout_seconds",
        "min_instances",
        "max_instances",
        "concurrency",
    )
    limits = {k: raw.get(k, defaults.get(k)) for k in limit_keys}
    limits["runtime"] = defaults.get("runtime")
    known = {
        "name",
        "entry_point",
        "kind",
        "description",
        "routes",
        "uses",
        "topic",
        "dead_letter_topic",
        "max_delivery_attempts",
        "ack_deadline_seconds",
        "schedule",
        "time_zone",
        "db_privileges",
        "publishes",
        "pulls",
        *limit_keys,
    }
    for key in raw:
        if key not in known:
            problems.append(f"{where}: unknown key {key!r}")
    if kind not in KINDS:
        return None
    return Function(
        name=name,
        entry_point=raw.get("entry_point", ""),
        kind=kind,
        description=raw.get("description", ""),
        uses=uses,
        routes=tuple(routes),
        topic=raw.get("topic"),
        dead_letter_topic=raw.get("dead_letter_topic"),
        max_delivery_attempts=int(raw.get("max_delivery_attempts", 5)),
        ack_deadline_seconds=int(raw.get("ack_deadline_seconds", 60)),
        schedule=raw.get("schedule"),
        time_zone=raw.get("time_zone", "Europe/Oslo"),
        limits=limits,
        db_privileges={t: tuple(p) for t, p in privileges.items()},
        publishes=publishes,
        pulls=pulls,
    )


def parse(data: dict) -> Manifest:
    """Validates and converts the manifest's JSON; raises ManifestError listing every problem."""
    problems: list[str] = []
    defaults = data.get("defaults", {})
    functions = []
    for raw in data.get("functions", ()):
        fn = _parse_function(raw, defaults, problems)
        if fn is not None:
            functions.append(fn)
    seen: dict[str, str] = {}
    for fn in functions:
        for key in (f"name:{fn.name}", f"entry:{fn.entry_point}"):
            if key in seen:
                problems.append(f"duplicate {key}")
            seen[key] = fn.name
        for r in fn.routes:
            key = f"route:{r.method} {r.path}"
            if key in seen:
                problems.append(f"{key} is served by both {seen[key]!r} and {fn.name!r}")
            seen[key] = fn.name
    inspect = {f"{fn.dead_letter_topic}-inspect" for fn in functions if fn.dead_letter_topic}
    for fn in functions:
        for sub in fn.pulls:
            if sub not in inspect:
                problems.append(
                    f"function {fn.name!r}: pulls {sub!r}, which is not the "
                    "-inspect subscription of any dead_letter_topic"
                )
    if problems:
        raise ManifestError("manifest.json is invalid:\n  - " + "\n  - ".join(problems))
    return Manifest(functions=tuple(functions), defaults=defaults)


@lru_cache(maxsize=1)
def load(path: str | None = None) -> Manifest:
    with open(path or MANIFEST_PATH, encoding="utf-8") as fh:
        return parse(json.load(fh))
