"""Terraform (terraform/) and the function manifest agree, and the infrastructure keeps the
privacy policy's section 6 promises. Checked without a cloud: every .tf file is parsed with
python-hcl2, the per-function derivation in terraform/manifest.tf is done again here in Python
from manifest.json (for the real manifest and for one with every kind of function), and
checkov scans the directory.

How the proof fits together:
  1. the resources are keyed by locals of manifest.tf (for_each = local.<set>) and read the
     manifest's fields (each.value.schedule, each.value.dead_letter_topic, ...), checked on
     the parsed HCL;
  2. `derive()` below computes those locals from manifest.json the same way; for every
     function it must yield a service account and the trigger its kind needs;
  3. where a `terraform` binary exists, manifest.tf (which uses no provider) is evaluated with
     `terraform console` and must equal `derive()` exactly.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest
from lederappen.core import config, manifest

ROOT = Path(__file__).resolve().parents[2]
TF = ROOT / "terraform"
MANIFEST_JSON = ROOT / "functions" / "manifest.json"


# --- parsing ----------------------------------------------------------------------------------


def _hcl2():
    import hcl2

    if not hasattr(hcl2, "SerializationOptions"):
        pytest.fail(
            "The importable `hcl2` is not python-hcl2 >= 7 (probably bc-python-hcl2, which "
            "checkov installs under the same name). Keep checkov in its own virtualenv "
            "(.venv/checkov, terraform/requirements-checkov.txt) and reinstall python-hcl2."
        )
    return hcl2


def parse(path: Path) -> dict:
    hcl2 = _hcl2()
    with open(path, encoding="utf-8") as fh:
        return hcl2.load(
            fh, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True)
        )


def tf_files(directory: Path = TF) -> list[Path]:
    return sorted(p for p in directory.rglob("*.tf") if ".terraform" not in p.parts)


class Module:
    """The blocks of one Terraform module (a directory), merged across its files."""

    def __init__(self, directory: Path):
        self.files = sorted(directory.glob("*.tf"))
        self.text = {p.name: p.read_text(encoding="utf-8") for p in self.files}
        self.resources: dict[tuple[str, str], dict] = {}
        self.data: dict[tuple[str, str], dict] = {}
        self.locals: dict[str, object] = {}
        self.variables: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}
        self.terraform: list[dict] = []
        self.providers: dict[str, dict] = {}
        for path in self.files:
            doc = parse(path)
            for block in doc.get("resource", []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        assert (rtype, name) not in self.resources, f"duplicate {rtype}.{name}"
                        self.resources[(rtype, name)] = body | {"__file__": path.name}
            for block in doc.get("data", []):
                for dtype, named in block.items():
                    for name, body in named.items():
                        self.data[(dtype, name)] = body
            for block in doc.get("locals", []):
                for k, v in block.items():
                    if not k.startswith("__"):
                        assert k not in self.locals, f"local {k} defined twice"
                        self.locals[k] = v
            for block in doc.get("variable", []):
                self.variables.update(block)
            for block in doc.get("output", []):
                self.outputs.update(block)
            self.terraform.extend(doc.get("terraform", []))
            for block in doc.get("provider", []):
                self.providers.update(block)

    def resource(self, rtype: str, name: str) -> dict:
        assert (rtype, name) in self.resources, f"terraform/ has no {rtype}.{name}"
        return self.resources[(rtype, name)]

    def of_type(self, rtype: str) -> dict[str, dict]:
        return {n: b for (t, n), b in self.resources.items() if t == rtype}


@lru_cache(maxsize=1)
def root() -> Module:
    return Module(TF)


def _single_interpolation(value: str) -> bool:
    """True when the whole string is one "${...}" (not a template such as "${a}-${b}")."""
    if not (value.startswith("${") and value.endswith("}")):
        return False
    depth = 0
    for i, ch in enumerate(value[1:], start=1):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0:
            return i == len(value) - 1
    return False


def expr(value) -> str:
    """The expression inside a lone "${...}", whitespace-normalised; anything else as str()."""
    if isinstance(value, str) and _single_interpolation(value):
        value = value[2:-1]
    return " ".join(str(value).split())


def blocks(body: dict, name: str) -> list[dict]:
    """Static nested blocks `name { ... }` of a body."""
    found = body.get(name, [])
    return found if isinstance(found, list) else [found]


def one(body: dict, name: str) -> dict:
    found = blocks(body, name)
    assert len(found) == 1, f"expected one {name} block, found {len(found)}"
    return found[0]


def dynamic(body: dict, name: str) -> dict:
    """The `dynamic "name"` block of a body."""
    for d in body.get("dynamic", []):
        if name in d:
            return d[name]
    raise AssertionError(f"no dynamic {name!r} block")


def comments(body: dict) -> list[str]:
    return [c["value"] for c in body.get("__comments__", [])]


# --- the same derivation as terraform/manifest.tf, in Python -----------------------------------

ACCOUNT_PREFIXES = {"function": "fn-", "scheduler": "sch-", "push": "psh-"}


def account_id(name: str, prefix: str) -> str:
    if len(prefix + name) <= 30:
        return prefix + name
    return f"{prefix}{name[: 23 - len(prefix)]}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def load_settings() -> list[dict]:
    return json.loads((TF / "config_settings.json").read_text())["settings"]


def derive(raw: dict, settings: list[dict]) -> dict:
    """terraform/manifest.tf's locals, computed from a manifest dict."""
    d = raw["defaults"]
    functions = {}
    for f in raw["functions"]:
        routes = f.get("routes", [])
        jobs = [r for r in routes if r["auth"] == "job"]
        cpu = f.get("cpu", d["cpu"])
        functions[f["name"]] = {
            "name": f["name"],
            "entry_point": f["entry_point"],
            "kind": f["kind"],
            "description": f.get("description", ""),
            "routes": routes,
            "uses": f.get("uses", []),
            "sections": ["common", *f.get("uses", [])],
            "db_privileges": f.get("db_privileges", {}),
            "publishes": f.get("publishes", []),
            "pulls": f.get("pulls", []),
            "topic": f.get("topic"),
            "dead_letter_topic": f.get("dead_letter_topic"),
            "max_delivery_attempts": f.get("max_delivery_attempts", 5),
            "ack_deadline_seconds": f.get("ack_deadline_seconds", 60),
            "schedule": f.get("schedule"),
            "time_zone": f.get("time_zone", "Europe/Oslo"),
            "runtime": d["runtime"],
            "memory": f.get("memory", d["memory"]),
            "cpu": cpu if isinstance(cpu, str) else format(cpu, "g"),
            "timeout_seconds": f.get("timeout_seconds", d["timeout_seconds"]),
            "min_instances": f.get("min_instances", d["min_instances"]),
            "max_instances": f.get("max_instances", d["max_instances"]),
            "concurrency": f.get("concurrency", d["concurrency"]),
            "job_path": jobs[0]["path"] if jobs else "",
            "job_method": jobs[0]["method"] if jobs else "POST",
        }

    def kind(k):
        return {n: f for n, f in functions.items() if f["kind"] == k}

    def using(section):
        return {n: f for n, f in functions.items() if section in f["uses"]}

    topics = sorted(
        {
            t
            for f in functions.values()
            for t in [f["topic"], f["dead_letter_topic"], *f["publishes"]]
            if t
        }
    )
    not_in_cloud = ["DB_PASSWORD"]
    secret_settings = sorted(
        s["env"] for s in settings if s["secret"] and s["env"] not in not_in_cloud
    )
    secret_envs = {
        n: sorted(
            s["env"]
            for s in settings
            if s["secret"] and s["section"] in f["sections"] and s["env"] in secret_settings
        )
        for n, f in functions.items()
    }
    http_routes = [
        {"function": n, "method": r["method"], "path": r["path"], "auth": r["auth"]}
        for n, f in kind("http").items()
        for r in f["routes"]
    ]
    paths = list(dict.fromkeys(r["path"] for r in http_routes))
    lb_paths = {
        p: {
            "functions": list(dict.fromkeys(r["function"] for r in http_routes if r["path"] == p)),
            "template": re.sub(r"\{[^}]+\}", "*", p),
            "literal": "{" not in p,
        }
        for p in paths
    }
    staff = {
        f"{r['method']} {r['path']}": r
        | {"regex": "^" + re.sub(r"\{[^}]+\}", "[^/]+", r["path"].replace(".", "[.]")) + "$"}
        for r in http_routes
        if r["auth"].startswith("staff:") and not r["path"].startswith("/staff/")
    }
    console = (
        {"/staff/": {"regex": "^/staff/.*$"}}
        if any(r["path"].startswith("/staff/") for r in http_routes)
        else {}
    )
    return {
        "functions": functions,
        "http_functions": sorted(kind("http")),
        "scheduled_functions": sorted(kind("scheduled")),
        "pubsub_functions": sorted(kind("pubsub")),
        "db_functions": sorted(using("db")),
        "firestore_functions": sorted(using("firestore")),
        "fcm_functions": sorted(using("fcm")),
        "account_ids": {
            k: {n: account_id(n, p) for n in functions} for k, p in ACCOUNT_PREFIXES.items()
        },
        "topics": topics,
        "dead_letter_topics": sorted({f["dead_letter_topic"] for f in kind("pubsub").values()}),
        "publisher_grants": sorted(
            f"{n}/{t}" for n, f in functions.items() for t in f["publishes"]
        ),
        "subscriber_grants": sorted(f"{n}/{s}" for n, f in functions.items() for s in f["pulls"]),
        "secret_env_names": sorted(secret_settings),
        "function_secret_envs": secret_envs,
        "function_plain_env_names": {
            n: [s["env"] for s in settings if not s["secret"] and s["section"] in f["sections"]]
            for n, f in functions.items()
        },
        "secret_grants": sorted(f"{n}/{e}" for n, envs in secret_envs.items() for e in envs),
        "lb_paths": lb_paths,
        "lb_path_order": sorted(p for p, v in lb_paths.items() if v["literal"])
        + sorted(p for p, v in lb_paths.items() if not v["literal"]),
        "staff_routes": staff,
        "console_paths": console,
    }


def real_manifest() -> dict:
    return json.loads(MANIFEST_JSON.read_text())


def every_kind_manifest() -> dict:
    """The real manifest plus one function of every kind and shape that later work will add.

    It must pass the runtime's own manifest validation, so it is a manifest that could ship.
    """
    raw = copy.deepcopy(real_manifest())
    raw["functions"] += [
        {
            "name": "notifications-sender-with-a-long-name",
            "entry_point": "send_notifications",
            "kind": "pubsub",
            "uses": ["firestore", "fcm", "job_oidc"],
            "topic": "notifications",
            "dead_letter_topic": "notifications-dead-letter",
            "max_delivery_attempts": 7,
            "ack_deadline_seconds": 120,
            "timeout_seconds": 60,
        },
        {
            "name": "deletion-worker",
            "entry_point": "deletion_worker",
            "kind": "pubsub",
            "uses": ["db", "firestore", "job_oidc"],
            "db_privileges": {"processing_restrictions": ["SELECT", "DELETE"]},
            "topic": "deletion-jobs",
            "dead_letter_topic": "deletion-jobs-dead-letter",
        },
        {
            "name": "deletion-scheduler",
            "entry_point": "deletion_scheduler",
            "kind": "scheduled",
            "uses": ["db", "pubsub", "job_oidc"],
            "db_privileges": {"processing_restrictions": ["SELECT"]},
            "schedule": "15 3 * * *",
            "time_zone": "Europe/Oslo",
            "publishes": ["deletion-jobs"],
            "routes": [{"method": "POST", "path": "/jobs/deletion", "auth": "job"}],
        },
        {
            "name": "staff-requests-example",
            "entry_point": "staff_requests_example",
            "kind": "http",
            "uses": ["db", "oidc"],
            "db_privileges": {},
            "routes": [
                {
                    "method": "GET",
                    "path": "/v1/staff/requests/{request_id}",
                    "auth": "staff:privacy_officer",
                },
                {
                    "method": "GET",
                    "path": "/v1/staff/processing-record.json",
                    "auth": "staff:privacy_officer",
                },
                {"method": "DELETE", "path": "/v1/devices/{device_id}/tokens", "auth": "member"},
            ],
        },
    ]
    manifest.parse(raw)  # raises if the runtime would refuse it
    return raw


MANIFESTS = {"real manifest": real_manifest, "manifest with every kind": every_kind_manifest}


@pytest.fixture(params=list(MANIFESTS), ids=list(MANIFESTS))
def derived(request):
    raw = MANIFESTS[request.param]()
    return raw, derive(raw, load_settings())


# --- files, versions, backend, variables --------------------------------------------------------


def test_every_tf_and_tfvars_file_parses_with_python_hcl2():
    files = tf_files() + sorted(TF.rglob("*.tfvars"))
    assert len(files) >= 10
    for path in files:
        assert isinstance(parse(path), dict), path


def test_terraform_1_6_and_the_google_google_beta_archive_providers_are_pinned_with_tilde():
    blocks_ = root().terraform
    versions = [b for b in blocks_ if "required_providers" in b]
    assert len(versions) == 1
    assert expr(versions[0]["required_version"]) == ">= 1.6"
    providers = versions[0]["required_providers"][0]
    assert {k for k in providers if not k.startswith("__")} == {"google", "google-beta", "archive"}
    for name in ("google", "google-beta", "archive"):
        assert providers[name]["source"] == f"hashicorp/{name}"
        assert providers[name]["version"].startswith("~> ")


def test_state_is_in_a_gcs_backend_with_a_prefix_and_the_bucket_given_at_init():
    backends = [b["backend"] for b in root().terraform if "backend" in b]
    assert len(backends) == 1
    gcs = backends[0][0]["gcs"]
    assert gcs.get("prefix") and "bucket" not in gcs
    for env in ("dev", "prod"):
        assert re.search(
            r'^bucket\s*=\s*"[a-z0-9._-]+"',
            (TF / "environments" / f"{env}.gcs.tfbackend").read_text(),
            re.MULTILINE,
        )


@pytest.mark.parametrize("directory", [TF, TF / "bootstrap"], ids=["root", "bootstrap"])
def test_every_reference_names_a_declared_variable_local_resource_or_data_source(directory):
    """What `terraform validate` would catch first, without needing the providers."""
    module = Module(directory)
    code = "\n".join(re.sub(r"(?m)^\s*#.*$", "", t) for t in module.text.values())
    declared = {f"{t}.{n}" for t, n in module.resources} | {f"data.{t}.{n}" for t, n in module.data}
    for name in set(re.findall(r"\bvar\.([a-z0-9_]+)", code)):
        assert name in module.variables, f"var.{name} is not declared"
    for name in set(re.findall(r"\blocal\.([a-z0-9_]+)", code)):
        assert name in module.locals, f"local.{name} is not defined"
    for ref in set(
        re.findall(
            r"\b(data\.[a-z0-9_]+\.[a-z0-9_]+|(?:google|terraform)_[a-z0-9_]+\.[a-z0-9_]+)", code
        )
    ):
        assert ref in declared, f"{ref} is not declared"


def test_every_variable_is_typed_and_described_and_inputs_that_can_be_wrong_are_validated():
    variables = root().variables
    for name, body in variables.items():
        assert body.get("type"), f"variable {name} has no type"
        assert len(body.get("description", "")) > 20, f"variable {name} has no real description"
    for name in (
        "project_id",
        "environment",
        "region",
        "api_domain",
        "admin_allowed_cidrs",
        "staff_allowed_cidrs",
        "kms_key_name",
        "db_admin_group",
        "firestore_location",
        "sql_database_version",
        "message_retention",
        "alert_emails",
    ):
        assert variables[name].get("validation"), f"variable {name} should be validated"
    assert variables["region"]["default"] == "europe-north1"


def test_the_example_tfvars_set_only_declared_variables_every_required_one_and_no_secret():
    variables = root().variables
    required = {n for n, b in variables.items() if "default" not in b}
    secret_like = re.compile(
        r"(secret|password|passwd|token|api_key|private_key|pseudonym)", re.IGNORECASE
    )
    for env in ("dev", "prod"):
        values = parse(TF / "environments" / f"{env}.tfvars")
        values = {k: v for k, v in values.items() if not k.startswith("__")}
        assert set(values) <= set(variables), (
            f"{env}.tfvars sets undeclared {set(values) - set(variables)}"
        )
        assert required <= set(values), f"{env}.tfvars misses {required - set(values)}"
        assert values["environment"] == env
        assert not [k for k in values if secret_like.search(k)], f"{env}.tfvars names a secret"
    for name in variables:
        assert not secret_like.search(name), f"variable {name} looks like it carries a secret"


# --- the manifest drives everything --------------------------------------------------------------


def test_functions_come_from_manifest_json_through_jsondecode_not_a_list_kept_by_hand():
    locals_ = root().locals
    assert (
        expr(locals_["manifest"]) == 'jsondecode(file("${path.module}/../functions/manifest.json"))'
    )
    assert expr(locals_["functions"]).startswith("{for f in local.manifest.functions : f.name => {")
    fn = root().resource("google_cloudfunctions2_function", "function")
    assert expr(fn["for_each"]) == "local.functions"
    # No manifest function is named by hand anywhere in the resources, locals or outputs.
    names = {f.name for f in manifest.load().functions}
    for path in tf_files():
        if path.name == "variables.tf":
            continue  # default_http_function names the 404 fallback, validated against the manifest
        text = path.read_text()
        for name in names:
            assert f'"{name}"' not in text, f"{path.name} names function {name!r} by hand"


PER_FUNCTION = {
    # resource: the manifest-derived map it is keyed by
    ("google_service_account", "function"): "local.functions",
    ("google_cloudfunctions2_function", "function"): "local.functions",
    ("google_logging_metric", "function_errors"): "local.functions",
    ("google_monitoring_alert_policy", "function_errors"): "local.functions",
    ("google_compute_region_network_endpoint_group", "function"): "local.http_functions",
    ("google_compute_backend_service", "function"): "local.http_functions",
    ("google_cloud_run_v2_service_iam_member", "http_public"): "local.http_functions",
    ("google_service_account", "scheduler"): "local.scheduled_functions",
    ("google_cloud_scheduler_job", "job"): "local.scheduled_functions",
    ("google_cloud_run_v2_service_iam_member", "scheduler_invoker"): "local.scheduled_functions",
    ("google_service_account", "push"): "local.pubsub_functions",
    ("google_pubsub_subscription", "push"): "local.pubsub_functions",
    ("google_cloud_run_v2_service_iam_member", "push_invoker"): "local.pubsub_functions",
    (
        "google_service_account_iam_member",
        "pubsub_agent_mints_push_token",
    ): "local.pubsub_functions",
    ("google_pubsub_subscription_iam_member", "pubsub_agent_acks_source"): "local.pubsub_functions",
    ("google_monitoring_alert_policy", "dead_letters"): "local.pubsub_functions",
    ("google_pubsub_topic", "topic"): "local.topics",
    ("google_pubsub_subscription", "dead_letter_inspect"): "local.dead_letter_topics",
    ("google_pubsub_topic_iam_member", "pubsub_agent_dead_letters"): "local.dead_letter_topics",
    ("google_pubsub_topic_iam_member", "publisher"): "local.publisher_grants",
    ("google_pubsub_subscription_iam_member", "function_pulls"): "local.subscriber_grants",
    ("google_secret_manager_secret", "setting"): "local.secret_env_names",
    ("google_secret_manager_secret_iam_member", "function"): "local.secret_grants",
    ("google_sql_user", "function"): "local.db_functions",
    ("google_project_iam_member", "firestore"): "local.firestore_functions",
    ("google_project_iam_member", "fcm_sender"): "local.fcm_functions",
}

FILTERS = {
    # local: the predicate that selects its functions, as written in manifest.tf
    "http_functions": 'f.kind == "http"',
    "scheduled_functions": 'f.kind == "scheduled"',
    "pubsub_functions": 'f.kind == "pubsub"',
    "db_functions": 'contains(f.uses, "db")',
    "firestore_functions": 'contains(f.uses, "firestore")',
    "fcm_functions": 'contains(f.uses, "fcm")',
}


def test_every_per_function_resource_is_keyed_by_a_map_derived_from_the_manifest():
    for (rtype, name), local in PER_FUNCTION.items():
        assert expr(root().resource(rtype, name)["for_each"]) == local, f"{rtype}.{name}"
    for local, predicate in FILTERS.items():
        assert (
            expr(root().locals[local]) == f"{{for n, f in local.functions : n => f if {predicate}}}"
        )


def test_the_function_resource_takes_entry_point_runtime_account_and_limits_from_the_manifest():
    fn = root().resource("google_cloudfunctions2_function", "function")
    build = one(fn, "build_config")
    assert expr(build["entry_point"]) == "each.value.entry_point"
    assert expr(build["runtime"]) == "each.value.runtime"
    storage = one(one(build, "source"), "storage_source")
    assert expr(storage["object"]) == "google_storage_bucket_object.source.name"
    service = one(fn, "service_config")
    assert (
        expr(service["service_account_email"]) == "google_service_account.function[each.key].email"
    )
    assert {
        k: expr(service[k])
        for k in (
            "available_memory",
            "available_cpu",
            "timeout_seconds",
            "min_instance_count",
            "max_instance_count",
            "max_instance_request_concurrency",
        )
    } == {
        "available_memory": "each.value.memory",
        "available_cpu": "each.value.cpu",
        "timeout_seconds": "each.value.timeout_seconds",
        "min_instance_count": "each.value.min_instances",
        "max_instance_count": "each.value.max_instances",
        "max_instance_request_concurrency": "each.value.concurrency",
    }
    assert "event_trigger" not in fn, "pubsub functions are fed by a push subscription (pubsub.tf)"
    sa = root().resource("google_service_account", "function")
    assert expr(sa["account_id"]) == "local.account_ids.function[each.key]"


def test_derived_limits_are_the_ones_the_runtime_reads_from_the_manifest():
    d = derive(real_manifest(), load_settings())
    for fn in manifest.load().functions:
        got = d["functions"][fn.name]
        assert {
            k: got[k]
            for k in (
                "memory",
                "timeout_seconds",
                "min_instances",
                "max_instances",
                "concurrency",
                "runtime",
            )
        } == {
            k: fn.limits[k]
            for k in (
                "memory",
                "timeout_seconds",
                "min_instances",
                "max_instances",
                "concurrency",
                "runtime",
            )
        }
        assert got["cpu"] == str(fn.limits["cpu"])
        assert got["entry_point"] == fn.entry_point


def test_service_account_ids_are_derived_like_infra_grants_and_fit_google_limits(derived):
    from infra import grants

    assert "account_prefixes" in root().locals
    assert {
        k: v for k, v in root().locals["account_prefixes"].items() if not k.startswith("__")
    } == ACCOUNT_PREFIXES
    rule = expr(root().locals["account_ids"])
    assert 'length("${prefix}${name}") <= 30' in rule
    assert "substr(name, 0, 23 - length(prefix))" in rule and "substr(sha256(name), 0, 6)" in rule
    _raw, d = derived
    pattern = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")
    for kind, ids in d["account_ids"].items():
        assert len(set(ids.values())) == len(ids), f"{kind} account ids collide"
        for name, acc in ids.items():
            assert pattern.match(acc), acc
    for name in d["functions"]:
        assert d["account_ids"]["function"][name] == grants.account_id(name)


def test_every_function_gets_a_service_account_and_exactly_the_trigger_its_kind_needs(derived):
    raw, d = derived
    assert set(d["account_ids"]["function"]) == {f["name"] for f in raw["functions"]}
    for name, f in d["functions"].items():
        kind = f["kind"]
        assert (name in d["http_functions"]) == (kind == "http")
        assert (name in d["scheduled_functions"]) == (kind == "scheduled")
        assert (name in d["pubsub_functions"]) == (kind == "pubsub")
        if kind == "http":
            assert f["routes"], name
            for r in f["routes"]:
                assert d["lb_paths"][r["path"]]["functions"] == [name]
        if kind == "scheduled":
            assert f["schedule"] and f["time_zone"]
            assert f["job_path"] in [r["path"] for r in f["routes"] if r["auth"] == "job"]
        if kind == "pubsub":
            assert f["topic"] in d["topics"] and f["dead_letter_topic"] in d["dead_letter_topics"]
            assert 5 <= f["max_delivery_attempts"] <= 100
            assert f["ack_deadline_seconds"] >= f["timeout_seconds"]


def test_http_functions_are_reachable_only_through_the_load_balancer_and_cloud_armor():
    fn = root().resource("google_cloudfunctions2_function", "function")
    assert (
        expr(one(fn, "service_config")["ingress_settings"])
        == 'each.value.kind == "http" ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_INTERNAL_ONLY"'
    )
    public = root().resource("google_cloud_run_v2_service_iam_member", "http_public")
    assert public["member"] == "allUsers" and public["role"] == "roles/run.invoker"
    for (rtype, name), body in root().resources.items():
        if (rtype, name) != ("google_cloud_run_v2_service_iam_member", "http_public"):
            assert body.get("member") not in ("allUsers", "allAuthenticatedUsers"), (
                f"{rtype}.{name}"
            )
    neg = root().resource("google_compute_region_network_endpoint_group", "function")
    assert (
        expr(one(neg, "cloud_run")["service"])
        == "google_cloudfunctions2_function.function[each.key].name"
    )
    backend = root().resource("google_compute_backend_service", "function")
    assert expr(backend["security_policy"]) == "google_compute_security_policy.api.id"
    assert backend["load_balancing_scheme"] == "EXTERNAL_MANAGED"
    url_map = root().resource("google_compute_url_map", "api")
    rules = dynamic(one(url_map, "path_matcher"), "route_rules")
    assert expr(rules["for_each"]) == "local.lb_path_order"
    match = one(rules["content"][0], "match_rules")
    assert "local.lb_paths[route_rules.value].template" in expr(match["path_template_match"])
    assert expr(root().locals["lb_paths"]).count('replace(p, "/\\\\{[^}]+\\\\}/", "*")') == 1


def test_route_paths_become_load_balancer_templates_one_function_per_path(derived):
    _raw, d = derived
    for p, v in d["lb_paths"].items():
        assert len(v["functions"]) == 1, f"{p} is served by {v['functions']}"
        assert "{" not in v["template"] and v["template"].count("*") == p.count("{")
    if "/v1/devices/{device_id}/tokens" in d["lb_paths"]:
        assert d["lb_paths"]["/v1/devices/{device_id}/tokens"]["template"] == "/v1/devices/*/tokens"
    order = d["lb_path_order"]
    assert set(order) == set(d["lb_paths"])
    literals = [p for p in order if d["lb_paths"][p]["literal"]]
    assert order[: len(literals)] == literals, "literal paths must be matched before templates"


def test_staff_routes_pass_cloud_armor_only_from_the_staff_networks(derived):
    policy = root().resource("google_compute_security_policy", "api")
    dyn = [d["rule"] for d in policy.get("dynamic", []) if "rule" in d]
    by_for_each = {expr(r["for_each"]): r for r in dyn}
    allow, deny = by_for_each["local.staff_allow_rules"], by_for_each["local.staff_deny_rules"]
    assert allow["content"][0]["action"] == "allow"
    assert (
        "inIpRange(origin.ip, '${rule.value.cidr}')"
        in allow["content"][0]["match"][0]["expr"][0]["expression"]
    )
    assert expr(deny["content"][0]["action"]) == "deny(403)"
    assert "var.staff_allowed_cidrs" in expr(root().locals["staff_allow_rules"])
    throttle = [r for r in blocks(policy, "rule") if r.get("action") == "throttle"]
    assert (
        throttle
        and throttle[0]["rate_limit_options"][0]["rate_limit_threshold"][0]["count"]
        == "${var.rate_limit_requests_per_minute}"
    )
    assert min(r["priority"] for r in throttle) > 5000, (
        "staff rules must be evaluated before the throttle"
    )
    _raw, d = derived
    staff = [
        (n, r)
        for n, f in d["functions"].items()
        for r in f["routes"]
        if r["auth"].startswith("staff:") and not r["path"].startswith("/staff/")
    ]
    assert sorted(d["staff_routes"]) == sorted(f"{r['method']} {r['path']}" for _, r in staff)
    for r in d["staff_routes"].values():
        rx = re.compile(r["regex"])
        concrete = re.sub(r"\{[^}]+\}", "abc-123", r["path"])
        assert (
            rx.match(concrete) and not rx.match(concrete + "/x") and not rx.match("/x" + concrete)
        )


def test_the_staff_console_passes_cloud_armor_only_from_the_staff_networks(derived):
    policy = root().resource("google_compute_security_policy", "api")
    dyn = {expr(d["rule"]["for_each"]): d["rule"] for d in policy.get("dynamic", []) if "rule" in d}
    allow, deny = dyn["local.console_allow_rules"], dyn["local.console_deny_rules"]
    assert allow["content"][0]["action"] == "allow"
    assert (
        "inIpRange(origin.ip, '${rule.value.cidr}')"
        in allow["content"][0]["match"][0]["expr"][0]["expression"]
    )
    assert expr(deny["content"][0]["action"]) == "deny(403)"
    assert "var.staff_allowed_cidrs" in expr(root().locals["console_allow_rules"])
    _raw, d = derived
    console = [
        r for f in d["functions"].values() for r in f["routes"] if r["path"].startswith("/staff/")
    ]
    assert bool(console) == bool(d["console_paths"])
    for r in console:  # every console page, its sign-in pages too, is behind the rule
        concrete = re.sub(r"\{[^}]+\}", "abc-123", r["path"])
        assert re.match(d["console_paths"]["/staff/"]["regex"], concrete)
    assert not re.match("^/staff/.*$", "/v1/staff/x")


def test_scheduled_functions_are_called_by_their_scheduler_job_with_an_oidc_token():
    job = root().resource("google_cloud_scheduler_job", "job")
    assert expr(job["schedule"]) == "each.value.schedule"
    assert expr(job["time_zone"]) == "each.value.time_zone"
    target = one(job, "http_target")
    assert expr(target["uri"]) == "${local.function_urls[each.key]}${each.value.job_path}"
    assert expr(target["http_method"]) == "each.value.job_method"
    oidc = one(target, "oidc_token")
    assert expr(oidc["service_account_email"]) == "google_service_account.scheduler[each.key].email"
    assert expr(oidc["audience"]) == "local.function_urls[each.key]"
    invoker = root().resource("google_cloud_run_v2_service_iam_member", "scheduler_invoker")
    assert expr(invoker["name"]) == "google_cloudfunctions2_function.function[each.key].name"
    assert (
        expr(invoker["member"])
        == "serviceAccount:${google_service_account.scheduler[each.key].email}"
    )
    # The function is told the audience and the one invoker it must accept.
    per_fn = expr(root().locals["env_values_per_function"])
    assert "JOB_OIDC_AUDIENCE = local.function_urls[n]" in per_fn
    assert 'f.kind == "scheduled" ? lookup(local.scheduler_sa_emails, n, null)' in per_fn
    assert 'f.kind == "pubsub" ? lookup(local.push_sa_emails, n, null)' in per_fn


def test_pubsub_functions_get_a_push_subscription_with_retry_and_a_dead_letter_path():
    sub = root().resource("google_pubsub_subscription", "push")
    assert expr(sub["topic"]) == "google_pubsub_topic.topic[each.value.topic].id"
    assert expr(sub["ack_deadline_seconds"]) == "each.value.ack_deadline_seconds"
    assert expr(sub["message_retention_duration"]) == "var.message_retention"
    dlp = one(sub, "dead_letter_policy")
    assert (
        expr(dlp["dead_letter_topic"])
        == "google_pubsub_topic.topic[each.value.dead_letter_topic].id"
    )
    assert expr(dlp["max_delivery_attempts"]) == "each.value.max_delivery_attempts"
    retry = one(sub, "retry_policy")
    assert retry["minimum_backoff"] and retry["maximum_backoff"]
    push = one(sub, "push_config")
    endpoint = expr(push["push_endpoint"]).removeprefix("(").removesuffix(")")
    assert endpoint.startswith(
        'each.value.job_path != "" ? "${local.function_urls[each.key]}${each.value.job_path}"'
    )
    assert endpoint.endswith(
        ': "${local.function_urls[each.key]}/projects/${var.project_id}/topics/${each.value.topic}"'
    )
    oidc = one(push, "oidc_token")
    assert expr(oidc["service_account_email"]) == "google_service_account.push[each.key].email"
    assert expr(oidc["audience"]) == "local.function_urls[each.key]"
    # Pub/Sub's own agent may forward to the dead-letter topic and ack the source.
    agent = "serviceAccount:${google_project_service_identity.pubsub.email}"
    dl = root().resource("google_pubsub_topic_iam_member", "pubsub_agent_dead_letters")
    assert (dl["role"], expr(dl["member"])) == ("roles/pubsub.publisher", agent)
    ack = root().resource("google_pubsub_subscription_iam_member", "pubsub_agent_acks_source")
    assert (ack["role"], expr(ack["member"])) == ("roles/pubsub.subscriber", agent)
    inspect = root().resource("google_pubsub_subscription", "dead_letter_inspect")
    assert expr(inspect["name"]) == "${each.key}-inspect"
    assert expr(inspect["message_retention_duration"]) == "var.dead_letter_retention"
    alert = root().resource("google_monitoring_alert_policy", "dead_letters")
    filters = " ".join(
        expr(c["condition_threshold"][0]["filter"]) for c in blocks(alert, "conditions")
    )
    assert (
        "subscription/dead_letter_message_count" in filters
        and "google_pubsub_subscription.push[each.key].name" in filters
    )


def test_a_push_carries_the_token_its_function_verifies_and_only_that_identity_may_invoke(derived):
    """Defence in depth (S1): the code verifies the push's OIDC token (core/events.py) against
    JOB_OIDC_ISSUER, JOB_OIDC_AUDIENCE and JOB_INVOKER_EMAILS; Terraform must sign pushes with
    exactly that audience and service account, and let only that account invoke."""
    _raw, d = derived
    for name in d["pubsub_functions"]:
        f = d["functions"][name]
        assert "job_oidc" in f["uses"], f"{name}: cannot verify its push token"
        env = d["function_plain_env_names"][name]
        assert {
            "JOB_OIDC_ISSUER",
            "JOB_OIDC_JWKS_URL",
            "JOB_OIDC_AUDIENCE",
            "JOB_INVOKER_EMAILS",
        } <= set(env), name
        assert d["account_ids"]["push"][name] == account_id(name, "psh-")
        # The local stack signs its relayed pushes as the same account id.
        from infra.local.stack import push_account_email

        assert push_account_email(name).split("@")[0] == d["account_ids"]["push"][name]
    issuer = next(s for s in config.SETTINGS if s.env == "JOB_OIDC_ISSUER")
    assert issuer.default == "https://accounts.google.com"  # Google signs push tokens
    assert "JOB_OIDC_ISSUER" not in root().locals["env_values"]  # so production uses Google
    push = one(root().resource("google_pubsub_subscription", "push"), "push_config")
    oidc = one(push, "oidc_token")
    per_fn = expr(root().locals["env_values_per_function"])
    # audience: the same string the function is told (JOB_OIDC_AUDIENCE)
    assert expr(oidc["audience"]) == "local.function_urls[each.key]"
    assert "JOB_OIDC_AUDIENCE = local.function_urls[n]" in per_fn
    # service account: the one the function accepts (JOB_INVOKER_EMAILS) and the only invoker
    assert expr(oidc["service_account_email"]) == "google_service_account.push[each.key].email"
    assert (
        "push_sa_emails      = { for k, sa in google_service_account.push : k => sa.email }"
        in (TF / "iam.tf").read_text()
    )
    assert 'f.kind == "pubsub" ? lookup(local.push_sa_emails, n, null)' in per_fn
    invoker = root().resource("google_cloud_run_v2_service_iam_member", "push_invoker")
    assert expr(invoker["for_each"]) == "local.pubsub_functions"
    assert invoker["role"] == "roles/run.invoker"
    assert expr(invoker["name"]) == "google_cloudfunctions2_function.function[each.key].name"
    assert (
        expr(invoker["member"]) == "serviceAccount:${google_service_account.push[each.key].email}"
    )
    members = [
        expr(b.get("member", ""))
        for t in (
            "google_cloud_run_v2_service_iam_member",
            "google_cloudfunctions2_function_iam_member",
        )
        for b in root().of_type(t).values()
    ]
    assert sum("google_service_account.push[" in m for m in members) == 1, (
        "a push identity may invoke its own function only"
    )
    # Pub/Sub functions are reachable only internally; no one else is an invoker.
    fn = root().resource("google_cloudfunctions2_function", "function")
    assert (
        expr(one(fn, "service_config")["ingress_settings"])
        == 'each.value.kind == "http" ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_INTERNAL_ONLY"'
    )


def test_every_topic_the_manifest_names_exists_and_only_its_publishers_may_publish(derived):
    raw, d = derived
    for f in raw["functions"]:
        for t in [f.get("topic"), f.get("dead_letter_topic"), *f.get("publishes", [])]:
            if t:
                assert t in d["topics"]
    assert d["publisher_grants"] == sorted(
        f"{f['name']}/{t}" for f in raw["functions"] for t in f.get("publishes", [])
    )
    pub = root().resource("google_pubsub_topic_iam_member", "publisher")
    assert pub["role"] == "roles/pubsub.publisher"
    assert expr(pub["topic"]) == "google_pubsub_topic.topic[each.value.topic].name"
    assert (
        expr(pub["member"])
        == "serviceAccount:${google_service_account.function[each.value.function].email}"
    )
    topic = root().resource("google_pubsub_topic", "topic")
    assert one(topic, "message_storage_policy")["allowed_persistence_regions"] == ["${var.region}"]


def test_functions_may_pull_only_the_inspect_subscriptions_they_list(derived):
    raw, d = derived
    assert d["subscriber_grants"] == sorted(
        f"{f['name']}/{s}" for f in raw["functions"] for s in f.get("pulls", [])
    )
    for grant in d["subscriber_grants"]:
        assert grant.endswith("-inspect")
        assert grant.split("/", 1)[1].removesuffix("-inspect") in d["dead_letter_topics"]
    pull = root().resource("google_pubsub_subscription_iam_member", "function_pulls")
    assert pull["role"] == "roles/pubsub.subscriber"
    assert (
        expr(pull["subscription"])
        == "google_pubsub_subscription.dead_letter_inspect[each.value.dead_letter_topic].name"
    )
    assert (
        expr(pull["member"])
        == "serviceAccount:${google_service_account.function[each.value.function].email}"
    )


# --- secrets -----------------------------------------------------------------------------------


def test_config_settings_json_is_the_current_export_of_the_declared_settings():
    out = subprocess.run(
        [sys.executable, "infra/scripts/export_config.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (TF / "config_settings.json").read_text() == out, (
        "terraform/config_settings.json is stale: run python infra/scripts/export_config.py --write"
    )


def test_secret_settings_reach_functions_only_from_secret_manager():
    secrets = {s.env for s in config.SETTINGS if s.secret}
    env_values = root().locals["env_values"]
    per_function = expr(root().locals["env_values_per_function"])
    plain = {k for k in env_values if not k.startswith("__")} | set(
        re.findall(r"\b([A-Z][A-Z0-9_]+) =", per_function)
    )
    assert plain and not plain & secrets, f"secret settings set as plain env: {plain & secrets}"
    function_env = expr(root().locals["function_env"])
    assert "contains(local.function_plain_env_names[n], k)" in function_env
    assert "!s.secret" in expr(root().locals["function_plain_env_names"])
    fn = root().resource("google_cloudfunctions2_function", "function")
    service = one(fn, "service_config")
    assert expr(service["environment_variables"]) == "local.function_env[each.key]"
    secret_env = dynamic(service, "secret_environment_variables")
    assert expr(secret_env["for_each"]) == "toset(local.function_secret_envs[each.key])"
    assert expr(secret_env["content"][0]["secret"]).startswith(
        "google_secret_manager_secret.setting["
    )
    # Terraform never holds a secret value.
    assert not root().of_type("google_secret_manager_secret_version")
    for path in tf_files():
        assert "secret_data" not in path.read_text(), path.name
    for name, body in root().outputs.items():
        assert "secret_version" not in json.dumps(body), f"output {name}"
    access = root().resource("google_secret_manager_secret_iam_member", "function")
    assert access["role"] == "roles/secretmanager.secretAccessor"
    assert (
        expr(access["member"])
        == "serviceAccount:${google_service_account.function[each.value.function].email}"
    )


def test_every_function_is_given_each_required_setting_of_its_sections(derived):
    """A deployed function validates its settings at start; none may be missing."""
    _raw, d = derived
    provided = {k for k in root().locals["env_values"] if not k.startswith("__")} | {
        "DB_USER",
        "JOB_OIDC_AUDIENCE",
        "JOB_INVOKER_EMAILS",
    }
    for name, f in d["functions"].items():
        for s in config.SETTINGS:
            if s.section not in f["sections"] or s.default is not config.REQUIRED:
                continue
            if s.secret:
                assert s.env in d["function_secret_envs"][name], f"{name}: secret {s.env} not wired"
                assert f"{name}/{s.env}" in d["secret_grants"]
            else:
                assert s.env in provided and s.env in d["function_plain_env_names"][name], (
                    f"{name}: required setting {s.env} is not set by Terraform"
                )
    assert "DB_PASSWORD" not in d["secret_env_names"], (
        "IAM database auth: no DB password in the cloud"
    )
    assert {"PSEUDONYM_KEY", "LEDERNE_API_KEY", "INSTALLATION_ID_KEY"} <= set(d["secret_env_names"])


# --- least privilege ---------------------------------------------------------------------------

BASIC_OR_BROAD = re.compile(r"^roles/(owner|editor|viewer|iam\.|resourcemanager\.|.*[Aa]dmin$)")


def test_no_service_account_is_granted_a_basic_or_project_wide_broad_role():
    assert not root().of_type("google_project_iam_binding") and not root().of_type(
        "google_project_iam_policy"
    )
    for name, body in root().of_type("google_project_iam_member").items():
        role = body["role"]
        assert not BASIC_OR_BROAD.match(role), f"google_project_iam_member.{name} grants {role}"
        if "google_service_account.function" in json.dumps(body):
            # A function's project-level grant is narrowed to one resource, or is the one-permission FCM role.
            assert (
                body.get("condition")
                or expr(role) == "google_project_iam_custom_role.fcm_sender.id"
            ), name
    fcm = root().resource("google_project_iam_custom_role", "fcm_sender")
    assert fcm["permissions"] == ["cloudmessaging.messages.create"]
    sql_grants = expr(root().locals["sql_grants"])
    assert '["roles/cloudsql.client", "roles/cloudsql.instanceUser"]' in sql_grants
    cond = one(root().resource("google_project_iam_member", "sql"), "condition")
    assert expr(cond["expression"]) == "local.sql_instance_condition.expression"
    assert (
        "instances/${google_sql_database_instance.main.name}"
        in root().locals["sql_instance_condition"]["expression"]
    )


def test_each_invoker_may_call_only_its_own_function():
    for name in ("scheduler_invoker", "push_invoker"):
        body = root().resource("google_cloud_run_v2_service_iam_member", name)
        assert body["role"] == "roles/run.invoker"
        assert expr(body["name"]) == "google_cloudfunctions2_function.function[each.key].name"
        assert "[each.key].email" in expr(body["member"])


# --- Cloud SQL and the privacy policy's section 6 -----------------------------------------------


def sql_instance() -> dict:
    return root().resource("google_sql_database_instance", "main")


def flags() -> dict[str, str]:
    settings = one(sql_instance(), "settings")
    assert "dynamic" not in settings or not any("database_flags" in d for d in settings["dynamic"])
    return {f["name"]: f["value"] for f in blocks(settings, "database_flags")}


def test_cloud_sql_requires_tls_backs_up_with_pitr_and_cannot_be_deleted():
    inst = sql_instance()
    settings = one(inst, "settings")
    ip = one(settings, "ip_configuration")
    assert ip["ssl_mode"] in ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED")
    assert expr(ip["private_network"]) == "google_compute_network.main.id"
    backup = one(settings, "backup_configuration")
    assert backup["enabled"] is True and backup["point_in_time_recovery_enabled"] is True
    assert inst["deletion_protection"] is True and settings["deletion_protection_enabled"] is True
    insights = one(settings, "insights_config")
    assert insights["query_insights_enabled"] is True
    assert insights["record_client_address"] is False


def test_cloud_sql_uses_iam_authentication_and_logs_connections_and_lock_waits():
    f = flags()
    for name in (
        "cloudsql.iam_authentication",
        "log_connections",
        "log_disconnections",
        "log_lock_waits",
    ):
        assert f.get(name) == "on", name
    assert f.get("log_min_duration_statement") == "-1", (
        "statement text with data must not be logged"
    )
    for name, body in root().of_type("google_sql_user").items():
        assert body["type"] in ("CLOUD_IAM_SERVICE_ACCOUNT", "CLOUD_IAM_GROUP"), name
        assert "password" not in body, name


def test_people_reach_the_database_only_from_allow_listed_networks():
    ip = one(one(sql_instance(), "settings"), "ip_configuration")
    assert "authorized_networks" not in ip, "no authorized network may be written by hand"
    nets = dynamic(ip, "authorized_networks")
    assert expr(nets["for_each"]) == "var.admin_allowed_cidrs"
    validation = json.dumps(root().variables["admin_allowed_cidrs"]["validation"])
    assert ">= 16" in validation


def test_section_6_promises_are_each_kept_by_a_named_resource():
    text = root().text["sql.tf"]
    # Whitelisted IP address.
    test_people_reach_the_database_only_from_allow_listed_networks()
    # Username, password and 2FA: IAM sign-in of one group, gated on enforced 2-Step Verification.
    gate = root().resource("terraform_data", "db_admins_require_2sv")
    pre = one(one(gate, "lifecycle"), "precondition")
    assert expr(pre["condition"]) == "var.db_admin_group_2sv_enforced"
    admins = root().resource("google_sql_user", "db_admins")
    assert admins["type"] == "CLOUD_IAM_GROUP"
    assert "${terraform_data.db_admins_require_2sv}" in admins["depends_on"]
    login = root().resource("google_project_iam_member", "db_admins_login")
    assert login["role"] == "roles/cloudsql.instanceUser" and login.get("condition")
    assert "2-Step Verification" in text
    # Google-managed AES-256 at rest.
    assert expr(sql_instance()["encryption_key_name"]) == "var.kms_key_name"
    assert "google-managed-aes-256" in expr(root().locals["sql_encryption_at_rest"])
    assert "AES-256" in expr(root().outputs["sql_encryption_at_rest"]["value"])
    # Encrypted traffic: TLS at the database and TLS 1.2+ at the edge, HTTP only redirects.
    assert (
        one(one(sql_instance(), "settings"), "ip_configuration")["ssl_mode"]
        != "ALLOW_UNENCRYPTED_AND_ENCRYPTED"
    )
    ssl = root().resource("google_compute_ssl_policy", "api")
    assert ssl["min_tls_version"] == "TLS_1_2" and ssl["profile"] in ("MODERN", "RESTRICTED")
    assert (
        expr(root().resource("google_compute_target_https_proxy", "api")["ssl_policy"])
        == "google_compute_ssl_policy.api.id"
    )
    assert (
        one(root().resource("google_compute_url_map", "http_redirect"), "default_url_redirect")[
            "https_redirect"
        ]
        is True
    )
    # Least privilege: one identity per function.
    assert (
        expr(root().resource("google_service_account", "function")["for_each"]) == "local.functions"
    )


def test_firestore_is_native_with_point_in_time_recovery_delete_protection_and_declared_indexes():
    db = root().resource("google_firestore_database", "main")
    assert db["type"] == "FIRESTORE_NATIVE"
    assert db["point_in_time_recovery_enablement"] == "POINT_IN_TIME_RECOVERY_ENABLED"
    assert db["delete_protection_state"] == "DELETE_PROTECTION_ENABLED"
    default = root().variables["firestore_indexes"]["default"]
    declared = {
        (i["collection"], tuple((f["field_path"], f["order"]) for f in i["fields"]))
        for i in default
    }
    # device registrations live in PostgreSQL (migration 0018): no Firestore index of theirs
    assert not any(c in ("devices", "device_index") for c, _ in declared)
    assert ("inbox_items", (("member_id", "ASCENDING"), ("created_at", "DESCENDING"))) in declared
    assert ("inbox_items", (("message_id", "ASCENDING"), ("read_at", "ASCENDING"))) in declared
    assert "length(i.fields) > 1" in expr(
        root().resource("google_firestore_index", "index")["for_each"]
    )
    assert "length(i.fields) == 1" in expr(
        root().resource("google_firestore_field", "index")["for_each"]
    )


def test_firestore_deletes_expired_documents_of_every_collection_in_the_data_map():
    from lederappen.core import datamap

    ttl = root().resource("google_firestore_field", "ttl")
    assert ttl["field"] == "expires_at" and "ttl_config" in ttl
    assert set(root().variables["firestore_ttl_collections"]["default"]) == set(
        datamap.firestore_collections()
    )


# --- source, operations, outputs, README -------------------------------------------------------


def test_one_source_archive_of_functions_and_requirements_redeploys_on_change():
    archive = root().data[("archive_file", "source")]
    files = dynamic(archive, "source")
    assert expr(files["for_each"]) == "local.source_files"
    assert [expr(s["filename"]) for s in blocks(archive, "source")] == ["requirements.txt"]
    assert "../requirements.txt" in expr(blocks(archive, "source")[0]["content"])
    assert '!strcontains(f, "__pycache__")' in expr(root().locals["source_files"])
    obj = root().resource("google_storage_bucket_object", "source")
    assert "data.archive_file.source.output_md5" in expr(obj["name"])
    bucket = root().resource("google_storage_bucket", "source")
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert one(bucket, "versioning")["enabled"] is True and blocks(bucket, "lifecycle_rule")
    # file() reads UTF-8 text: everything shipped from functions/ must be text.
    for path in (ROOT / "functions").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith("."):
            path.read_text(encoding="utf-8")


def test_alerts_cover_function_errors_dead_letters_and_failed_deletion_jobs():
    errors = root().resource("google_logging_metric", "function_errors")
    assert "severity>=ERROR" in errors["filter"] and 'service_name=\\"${each.key}\\"' in json.dumps(
        errors["filter"]
    )
    deletion = root().resource("google_logging_metric", "deletion_job_failed")
    assert 'jsonPayload.message=\\"deletion job failed\\"' in json.dumps(deletion["filter"])
    for name in ("function_errors", "dead_letters", "deletion_job_failed"):
        policy = root().resource("google_monitoring_alert_policy", name)
        assert expr(policy["notification_channels"]) == "local.notification_channels"
    assert (
        expr(root().resource("google_monitoring_notification_channel", "email")["for_each"])
        == "toset(var.alert_emails)"
    )


def test_outputs_give_the_app_team_function_urls_and_never_a_secret():
    outputs = root().outputs
    for name in (
        "function_urls",
        "api_base_url",
        "api_routes",
        "load_balancer_ip",
        "sql_instance_connection_name",
        "sql_encryption_at_rest",
    ):
        assert name in outputs and outputs[name].get("description"), name
    for name, body in outputs.items():
        assert "google_secret_manager_secret_version" not in json.dumps(body), name


def test_readme_has_the_deploy_steps_and_documents_every_variable_and_output():
    readme = (TF / "README.md").read_text()
    for step in (
        "terraform init -backend-config=",
        "terraform plan",
        "terraform apply",
        "gcloud secrets versions add",
        "python -m infra.migrate",
        "python -m infra.grants",
        "bootstrap",
        "gcloud services enable",
    ):
        assert step in readme, step
    for name in root().variables:
        assert f"| `{name}` |" in readme, f"README does not document variable {name}"
    for name in root().outputs:
        assert f"| `{name}` |" in readme, f"README does not document output {name}"


# --- evaluation with terraform, when a binary is available -------------------------------------


def _terraform_console(tmp_path: Path, raw: dict, expression: str):
    work = tmp_path / "terraform"
    (tmp_path / "functions").mkdir(parents=True)
    work.mkdir()
    (tmp_path / "functions" / "manifest.json").write_text(json.dumps(raw))
    shutil.copy(TF / "manifest.tf", work)
    shutil.copy(TF / "config_settings.json", work)
    env = {
        **os.environ,
        "CHECKPOINT_DISABLE": "1",
        "TF_CLI_CONFIG_FILE": os.devnull,
        "TF_IN_AUTOMATION": "1",
    }
    subprocess.run(
        ["terraform", "init", "-backend=false", "-input=false"],
        cwd=work,
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    out = subprocess.run(
        ["terraform", "console"],
        cwd=work,
        env=env,
        input=expression,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return json.loads(json.loads(out))


@pytest.mark.skipif(
    shutil.which("terraform") is None, reason="no terraform binary; the parsed-HCL tests still run"
)
@pytest.mark.parametrize("which", list(MANIFESTS))
def test_terraform_evaluates_manifest_tf_exactly_like_the_python_derivation(tmp_path, which):
    raw = MANIFESTS[which]()
    want = derive(raw, load_settings())
    got = _terraform_console(
        tmp_path, raw, "jsonencode({" + ", ".join(f"{k} = local.{k}" for k in want) + "})"
    )
    for key in (
        "http_functions",
        "scheduled_functions",
        "pubsub_functions",
        "db_functions",
        "firestore_functions",
        "fcm_functions",
    ):
        got[key] = sorted(got[key])
    for key in ("publisher_grants", "subscriber_grants", "secret_grants"):
        got[key] = sorted(got[key])
    for key in ("topics", "dead_letter_topics", "secret_env_names"):
        got[key] = sorted(got[key])
    assert got == want


@pytest.mark.skipif(shutil.which("terraform") is None, reason="no terraform binary")
def test_terraform_files_are_formatted():
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-list=true", str(TF)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, f"run terraform fmt -recursive terraform/: {result.stdout}"
