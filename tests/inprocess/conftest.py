"""Functions in process: functions-framework's `create_app(target, source).test_client()`, the
way the framework tests itself, against PostgreSQL alone (tests/support/postgres_only.py).

Each function gets what it has in production: its own database role holding exactly its
manifest grants (infra/grants.py, the plan Terraform's IAM users get), and tokens verified
against an issuer's JWKS over HTTP (a small issuer on a thread here). No emulator, stand-in or
function process is started, so a test here takes milliseconds; what crosses processes
(Pub/Sub, the gateway, the register) stays in tests/e2e.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from infra import grants
from infra.local import postgres
from infra.local.stack import PROJECT, function_db_role
from tests.support.tokens import Minter, _public_jwk

ROOT = Path(__file__).resolve().parents[2]
AUDIENCE = "lederappen"


@pytest.fixture(scope="session")
def issuer() -> Iterator[Minter]:
    """An OIDC issuer serving its JWKS over HTTP on loopback; signs tokens as it would."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = json.dumps({"keys": [_public_jwk(key)]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            if self.path == "/jwks.json":
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Minter(key, f"http://127.0.0.1:{server.server_port}", AUDIENCE)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def function_roles(sql_cluster: postgres.Cluster) -> dict[str, str]:
    """Every db-using function's own login role with its manifest grants: role -> password."""
    from lederappen.core import manifest

    functions = manifest.load().functions
    passwords = {
        function_db_role(f.name): secrets.token_hex(16) for f in functions if "db" in f.uses
    }
    sql_cluster.login_roles(passwords)
    conn = sql_cluster.connect(postgres.APP_ROLE)
    try:
        conn.autocommit = True
        grants.apply(conn, PROJECT, functions)
    finally:
        conn.close()
    return passwords


@pytest.fixture()
def function_client(
    sql_cluster: postgres.Cluster, issuer: Minter, function_roles: dict[str, str]
) -> Iterator[Callable[[str], Any]]:
    """`function_client("salary")`: a Flask test client of that function, configured only by
    environment variables, as a deployed one is."""
    from lederappen.core import config, db, log, manifest

    saved = dict(os.environ)
    # a function's entry configures pseudonymisation with its key (a module global): the
    # stack-based tests in this process need theirs back afterwards
    saved_key = log._key

    def make(name: str) -> Any:
        import functions_framework

        fn = manifest.load().by_name(name)
        role = function_db_role(name)
        os.environ.update(
            {
                "GOOGLE_CLOUD_PROJECT": PROJECT,
                "PSEUDONYM_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
                "DB_HOST": sql_cluster.host,
                "DB_PORT": str(sql_cluster.port),
                "DB_NAME": postgres.APP_DATABASE,
                "DB_USER": role,
                "DB_PASSWORD": function_roles[role],
                "OIDC_ISSUER": issuer.issuer,
                "OIDC_AUDIENCE": AUDIENCE,
                "OIDC_JWKS_URL": issuer.issuer + "/jwks.json",
                "FUNCTION_TARGET": fn.entry_point,
            }
        )
        config.reset()
        db.reset_pool()
        app = functions_framework.create_app(fn.entry_point, str(ROOT / "functions" / "main.py"))
        return app.test_client()

    try:
        yield make
    finally:
        os.environ.clear()
        os.environ.update(saved)
        log._key = saved_key
        config.reset()
        db.reset_pool()
