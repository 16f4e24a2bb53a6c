"""Fire a scheduled function by hand, exactly as Cloud Scheduler would.

    python -m infra.local.fire <function-name> [--state-dir .local] [--body '{"k": 1}']

In production, Cloud Scheduler calls a scheduled function's job route with a Google-signed
OIDC token whose audience is the function's URL and whose e-mail is the scheduler's service
account; the function accepts only that (JOB_OIDC_* settings, `auth: job` routes). Locally,
the lederne stand-in plays Google's token issuer (`POST /google/token`), and the running
stack's `stack.json` says where everything listens. This command:

1. reads `<state-dir>/stack.json` (written by `python -m infra.local.stack up`);
2. gets a job token for scheduler@lederappen-local.iam.gserviceaccount.com with the
   function's JOB_OIDC_AUDIENCE (`http://127.0.0.1:<function port>/`);
3. sends the function's first route (method and path from the manifest) straight to the
   function, not through the gateway (job routes are not public), with
   `Authorization: Bearer <token>` and Cloud Scheduler's User-Agent;
4. prints the status and the body, and exits 0 on 2xx, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass

from .stack import DEFAULT_STATE_DIR, LOCAL_HTTP, SCHEDULER_EMAIL, StackError, running_state

USER_AGENT = "Google-Cloud-Scheduler"


@dataclass(frozen=True)
class FireRequest:
    method: str
    url: str
    headers: dict
    body: bytes | None


def job_target(state: dict, function_name: str) -> dict:
    """The function's entry in stack.json; raises StackError unless it is scheduled and up."""
    functions = state.get("functions", {})
    fn = functions.get(function_name)
    if fn is None:
        raise StackError(
            f"{function_name!r} is not served by this stack; it serves "
            + (", ".join(sorted(functions)) or "no functions")
        )
    if fn["kind"] != "scheduled":
        scheduled = sorted(n for n, f in functions.items() if f["kind"] == "scheduled")
        raise StackError(
            f"{function_name!r} is a {fn['kind']} function, not a scheduled one; scheduled: "
            + (", ".join(scheduled) or "none in the manifest yet")
        )
    if not fn.get("routes"):
        raise StackError(f"{function_name!r} has no route to call")
    return fn


def build_request(
    state: dict, function_name: str, token: str, body: str | None = None
) -> FireRequest:
    """The request Cloud Scheduler sends to the function's first route."""
    fn = job_target(state, function_name)
    route = fn["routes"][0]
    headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT}
    data = None
    if body is not None:
        data = body.encode("utf-8")
        headers["Content-Type"] = "application/json"
    return FireRequest(route["method"], fn["url"].rstrip("/") + route["path"], headers, data)


def fetch_job_token(state: dict, audience: str, timeout: float = 5.0) -> str:
    """A Google-style OIDC token from the lederne stand-in, as the scheduler's account."""
    url = state["urls"]["lederne"].rstrip("/") + "/google/token"
    payload = json.dumps(
        {"email": state.get("job_invoker_email", SCHEDULER_EMAIL), "audience": audience}
    ).encode()
    req = urllib.request.Request(
        url, data=payload, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with LOCAL_HTTP.open(req, timeout=timeout) as resp:
            return json.load(resp)["id_token"]
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:500].decode("utf-8", "replace")
        raise StackError(f"the job token endpoint answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise StackError(
            f"the lederne stand-in at {url} does not answer ({exc}); is the stack up?"
        ) from None


def send(request: FireRequest, timeout: float = 60.0) -> tuple[int, bytes]:
    req = urllib.request.Request(
        request.url, data=request.body, method=request.method, headers=request.headers
    )
    try:
        with LOCAL_HTTP.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.fire", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("function", help="name of a scheduled function in the manifest")
    parser.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR))
    parser.add_argument("--body", default=None, help="JSON body to send (default: none)")
    args = parser.parse_args(argv)
    state = running_state(args.state_dir)
    if state is None:
        return 1
    try:
        fn = job_target(state, args.function)
        token = fetch_job_token(state, fn["job_audience"])
        request = build_request(state, args.function, token, args.body)
        status, body = send(request)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"error: {args.function} did not answer: {exc}", file=sys.stderr)
        return 1
    print(f"{request.method} {request.url} -> {status}")
    if body:
        print(body.decode("utf-8", "replace"))
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
