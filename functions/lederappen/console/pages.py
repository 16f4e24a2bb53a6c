"""The console's pages. Each one calls the very handler of the `/v1/admin/...` route it mirrors
(`call()` below builds the same core.http.Request the API edge would, with the signed-in staff
user as principal), so validation, rules, audit entries and outbox publishing are the API's,
not a second copy. A form becomes the route's JSON body and is decoded with the route's body
type, so a bad field gets the API's own error, shown in the page.

Nothing here reads the database or another service by itself: no page can show what the API
does not. The one page that computes without the API is the message preview, and it only
renders the editor's own draft with the same code that builds the push (notifications.push).
"""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from ..core import problems, validation
from ..core.http import Reply, Request
from . import oidc, texts
from . import session as session_mod
from .app import HOME, Ctx, Page, Redirect, page, static_file


def call(
    ctx: Ctx,
    handler: Callable[[Request], Any],
    *,
    params: dict | None = None,
    query: dict | None = None,
    body: Any = None,
    body_type: type | None = None,
    headers: dict | None = None,
) -> Any:
    """Runs an API route's handler as the signed-in staff user; its answer's body."""
    decoded: Any = None
    if body_type is not None:
        decoded = validation.decode(msgspec.json.encode(body), body_type)
    request = Request(
        ctx.principal,
        dict(params or {}),
        {k: v for k, v in (query or {}).items() if v not in (None, "")},
        dict(headers or {}),
        decoded,
        ctx.locale,
        ctx.settings,
    )
    result = handler(request)
    return result.body if isinstance(result, Reply) else result


def _errors(problem: problems.Problem, locale: str) -> list[str]:
    body = problem.body(locale)
    found = [
        (f"{e['field']}: " if e.get("field") else "") + str(e.get("message", ""))
        for e in body.get("errors") or []
    ]
    return found or [body.get("detail") or body["title"]]


def _local_time(raw: str | None, field: str) -> str | None:
    """A datetime-local field (Oslo time) as RFC 3339 in UTC; None when empty."""
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise validation.field_error(field, "format", "Ugyldig tidspunkt.", "Invalid time.")
    if value.tzinfo is None:
        value = value.replace(tzinfo=texts.OSLO)
    return value.astimezone(UTC).isoformat()


def _local_input(value: str | None) -> str:
    """An RFC 3339 time as the value of a datetime-local field (Oslo time)."""
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(texts.OSLO).strftime("%Y-%m-%dT%H:%M")


def _done(path: str, what: str) -> Redirect:
    return Redirect(f"{path}?{urllib.parse.urlencode({'done': what})}")


# -- sign-in, sign-out, static files, overview -------------------------------------------------


def _safe_next(raw: str | None) -> str:
    if (
        raw
        and raw.startswith("/staff/")
        and not raw.startswith("//")
        and "\\" not in raw
        and not raw.startswith("/staff/login")
        and not raw.startswith("/staff/callback")
    ):
        return raw
    return HOME


@page("GET", "/staff/login")
def login(ctx: Ctx):
    verifier, challenge = oidc.pkce_pair()
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    console = ctx.console
    cookie = console.sessions.dump_signin(
        {
            "state": state,
            "nonce": nonce,
            "verifier": verifier,
            "next": _safe_next(ctx.args.get("next")),
        }
    )
    target = console.provider.authorization_url(state, nonce, challenge)
    return Redirect(target, 302), [
        (
            session_mod.SIGNIN_COOKIE,
            cookie,
            {
                "max_age": session_mod.SIGNIN_SECONDS,
                "path": session_mod.PATH,
                "secure": True,
                "httponly": True,
                "samesite": "Lax",
            },
        )
    ]


@page("GET", "/staff/callback")
def callback(ctx: Ctx):
    console = ctx.console
    pending = console.sessions.load_signin(ctx.request.cookies.get(session_mod.SIGNIN_COOKIE))
    clear = [(session_mod.SIGNIN_COOKIE, "", {"path": session_mod.PATH, "samesite": "Lax"})]
    code, state = ctx.args.get("code"), ctx.args.get("state")
    if (
        pending is None
        or not code
        or not state
        or ctx.args.get("error")
        or not secrets.compare_digest(str(pending.get("state", "")), state)
    ):
        raise oidc.SignInFailed()
    claims = console.provider.verify(
        console.provider.redeem(code, pending["verifier"]), pending["nonce"]
    )
    claimed = claims.get("roles")
    roles: list[Any] = claimed if isinstance(claimed, list) else []
    if "staff" not in roles:
        # A member (or anybody without the staff role) gets no session and no page.
        return Page(
            "error.html",
            {"problem": problems.Forbidden(texts.NO_ACCESS).body(ctx.locale)},
            status=403,
            title=ctx.t("sign_in"),
        ), clear
    sess = console.sessions.start(str(claims["sub"]), [str(r) for r in roles])
    return (
        Page("signing_in.html", {"next": _safe_next(pending.get("next"))}, title=ctx.t("sign_in")),
        clear + [console.session_cookie(sess)],
    )


@page("POST", "/staff/logout")
def logout(ctx: Ctx):
    """Ends the session: its id is revoked until it would have expired (a copied cookie then
    opens nothing) and the cookie is cleared."""
    assert ctx.session is not None
    sessions = ctx.console.sessions
    ctx.console.revoked.revoke(
        ctx.session.sid,
        datetime.fromtimestamp(sessions.ends_at(ctx.session), UTC),
        datetime.fromtimestamp(sessions.clock(), UTC),
    )
    ctx.session = None  # no refreshed session cookie on the way out
    return (
        Page("signed_out.html", title=ctx.t("signed_out.title")),
        [(session_mod.COOKIE, "", {"path": session_mod.PATH})],
    )


@page("GET", "/staff/static/{name}")
def static(ctx: Ctx):
    found = static_file(ctx.params["name"])
    if found is None:
        raise problems.NotFound()
    return found


@page("GET", "/staff/home")
def home(ctx: Ctx):
    links = [
        (path, texts.t(key, ctx.locale))
        for path, key in texts.NAV[1:]
        if ctx.console.allowed(ctx.principal, path)
    ]
    return Page("home.html", {"links": links}, title=ctx.t("home.title"))


# -- privacy officer ---------------------------------------------------------------------------


def _privacy():
    from ..privacy import admin

    return admin


@page("GET", "/staff/privacy/requests")
def privacy_requests(ctx: Ctx):
    admin = _privacy()
    status = ctx.args.get("status") or ""
    answer = call(
        ctx,
        admin.list_requests,
        query={"status": status, "limit": "50", "cursor": ctx.args.get("cursor")},
    )
    return Page(
        "privacy_requests.html",
        {
            "items": answer["items"],
            "status": status,
            "statuses": admin.STATUSES,
            "next_cursor": answer["next_cursor"],
        },
        title=ctx.t("req.title"),
    )


@page("POST", "/staff/privacy/requests/{request_id}/approve")
def privacy_approve(ctx: Ctx):
    call(ctx, _privacy().approve, params=ctx.params)
    return _done("/staff/privacy/requests", "approved")


@page("POST", "/staff/privacy/requests/{request_id}/reject")
def privacy_reject(ctx: Ctx):
    admin = _privacy()
    call(
        ctx,
        admin.reject,
        params=ctx.params,
        body={"reason": ctx.form.get("reason", "")},
        body_type=admin.Rejection,
    )
    return _done("/staff/privacy/requests", "rejected")


@page("GET", "/staff/privacy/membership-end")
def membership_end(ctx: Ctx):
    admin = _privacy()
    preview = call(ctx, admin.membership_end_preview, query={"limit": "50"})
    runs = call(ctx, admin.membership_end_runs, query={"limit": "10"})
    return Page(
        "membership_end.html", {"preview": preview, "runs": runs["items"]}, title=ctx.t("me.title")
    )


@page("POST", "/staff/privacy/membership-end/runs")
def membership_end_run(ctx: Ctx):
    call(ctx, _privacy().membership_end_start)
    return _done("/staff/privacy/membership-end", "run")


@page("GET", "/staff/privacy/record")
def processing_record(ctx: Ctx):
    from ..privacy import api

    return Page(
        "record.html", {"rec": call(ctx, api.get_processing_record)}, title=ctx.t("rec.title")
    )


@page("GET", "/staff/privacy/audit")
def audit_trail(ctx: Ctx):
    return Page("audit.html", {"member_id": "", "found": None}, title=ctx.t("audit.title"))


@page("POST", "/staff/privacy/audit")
def audit_trail_found(ctx: Ctx):
    """The look-up is a POST (the member number stays out of the URL), like the API's."""
    admin = _privacy()
    member_id = (ctx.form.get("member_id") or "").strip()
    query: dict[str, Any] = {"member_id": member_id, "limit": 50}
    if ctx.form.get("cursor"):
        query["cursor"] = ctx.form["cursor"]
    found = call(ctx, admin.audit_trail, body=query, body_type=admin.TrailQuery)
    return Page("audit.html", {"member_id": member_id, "found": found}, title=ctx.t("audit.title"))


# -- editor ------------------------------------------------------------------------------------


def _messages():
    from ..notifications import admin

    return admin


FORM_FIELDS = (
    "category",
    "title_nb",
    "title_en",
    "body_nb",
    "body_en",
    "audience_kind",
    "audience_value",
    "member_id",
    "deep_link",
    "sensitive",
    "send_at",
)


def _draft_body(form) -> dict[str, Any]:
    get = lambda k: (form.get(k) or "").strip()
    audience: dict[str, Any] = {"kind": get("audience_kind") or "all"}
    if get("audience_value"):
        audience["value"] = get("audience_value")
    if get("member_id"):
        audience["member_id"] = get("member_id")
    body: dict[str, Any] = {
        "category": get("category"),
        "title": {"nb": get("title_nb"), "en": get("title_en")},
        "body": {"nb": get("body_nb"), "en": get("body_en")},
        "audience": audience,
    }
    if get("deep_link"):
        body["deep_link"] = get("deep_link")
    if get("sensitive") in ("yes", "no"):
        body["sensitive"] = get("sensitive") == "yes"
    send_at = _local_time(get("send_at"), "send_at")
    if send_at:
        body["send_at"] = send_at
    return body


def _compose(
    ctx: Ctx,
    values: dict[str, str],
    errors: list[str] | None = None,
    status: int = 200,
    preview: dict | None = None,
    audience: dict | None = None,
) -> Page:
    from ..core.public_cache import topic_ids
    from ..core.vocabulary import COUNTIES
    from ..notifications.message import CATEGORIES

    try:
        interests = sorted(topic_ids(ctx.settings))
    except problems.Problem:
        interests = []
    return Page(
        "message_new.html",
        {
            "values": values,
            "errors": errors or [],
            "categories": CATEGORIES,
            "interests": interests,
            "counties": sorted(COUNTIES.items()),
            "idem": values.get("idem") or secrets.token_urlsafe(18),
            "preview": preview if preview is not None else _preview(ctx, values),
            "audience": audience,
        },
        status=status,
        title=ctx.t("msg.new"),
    )


def _preview(ctx: Ctx, form) -> dict[str, Any]:
    """The lock-screen push (both languages) and the inbox item of the draft, and its size."""
    from ..notifications import push

    admin = _messages()
    if not all(
        (form.get(k) or "").strip()
        for k in ("title_nb", "title_en", "body_nb", "body_en", "category")
    ):
        return {"incomplete": True}
    try:
        draft = validation.decode(msgspec.json.encode(_draft_body(form)), admin.Draft)
    except problems.Problem as problem:
        return {"errors": _errors(problem, ctx.locale)}
    message = admin.draft_message(draft)
    locks = {
        lang: push.wire(message, "preview", lang, "preview")["notification"]
        for lang in ("nb", "en")
    }
    size = push.largest_payload(message)
    return {
        "lock": locks,
        "sensitive": message.sensitive,
        "inbox": {
            "title": msgspec.structs.asdict(message.title),
            "body": msgspec.structs.asdict(message.body),
        },
        "size": size,
        "limit": push.MAX_PAYLOAD_BYTES,
        "fits": size <= push.MAX_PAYLOAD_BYTES,
    }


@page("GET", "/staff/messages")
def messages(ctx: Ctx):
    answer = call(
        ctx, _messages().list_messages, query={"limit": "50", "cursor": ctx.args.get("cursor")}
    )
    return Page(
        "messages.html",
        {"items": answer["items"], "next_cursor": answer["next_cursor"]},
        title=ctx.t("msg.title"),
    )


@page("GET", "/staff/messages/new")
def message_new(ctx: Ctx):
    return _compose(
        ctx,
        {"audience_kind": "all", "category": "news", "sensitive": "auto"},
        preview={"incomplete": True},
    )


@page("POST", "/staff/messages/preview")
def message_preview(ctx: Ctx):
    values = {k: ctx.form.get(k, "") for k in (*FORM_FIELDS, "idem")}
    if ctx.request.headers.get("HX-Request"):
        return Page("_preview.html", {"preview": _preview(ctx, values)})
    return _compose(ctx, values)


def _audience(ctx: Ctx, form) -> dict[str, Any]:
    """The audience's size now, from the API's count (`POST /v1/admin/message-audience`),
    or its errors in the user's language."""
    admin = _messages()
    try:
        draft = _draft_body(form)
        return call(
            ctx,
            admin.count_audience,
            body={"category": draft["category"], "audience": draft["audience"]},
            body_type=admin.AudienceQuery,
        )
    except problems.ValidationFailed as problem:
        return {"errors": _errors(problem, ctx.locale)}


@page("POST", "/staff/messages/audience")
def message_audience(ctx: Ctx):
    values = {k: ctx.form.get(k, "") for k in (*FORM_FIELDS, "idem")}
    audience = _audience(ctx, values)
    if ctx.request.headers.get("HX-Request"):
        return Page("_audience.html", {"audience": audience})
    return _compose(ctx, values, audience=audience)


@page("POST", "/staff/messages")
def message_send(ctx: Ctx):
    admin = _messages()
    values = {k: ctx.form.get(k, "") for k in (*FORM_FIELDS, "idem")}
    try:
        created = call(
            ctx,
            admin.create_message,
            body=_draft_body(ctx.form),
            body_type=admin.Draft,
            headers={"Idempotency-Key": values["idem"]} if values["idem"] else None,
        )
    except problems.ValidationFailed as problem:
        return _compose(ctx, values, _errors(problem, ctx.locale), status=422)
    return _done(f"/staff/messages/{created['id']}", "sent")


@page("GET", "/staff/messages/{message_id}")
def message_detail(ctx: Ctx):
    m = call(ctx, _messages().get_message, params=ctx.params)
    f = m["figures"]
    outcomes = [(ctx.t("out.delivered"), f["eligible"])] + [
        (ctx.t(f"out.{k}"), v) for k, v in f["skipped"].items()
    ]
    pushes = [(ctx.t(f"push.{k}"), v) for k, v in f["push"].items()]
    return Page(
        "message.html",
        {"m": m, "f": f, "outcomes": outcomes, "pushes": pushes},
        title=m["title"][ctx.locale],
    )


@page("POST", "/staff/messages/{message_id}/cancel")
def message_cancel(ctx: Ctx):
    call(ctx, _messages().cancel_message, params=ctx.params)
    return _done(f"/staff/messages/{ctx.params['message_id']}", "cancelled")


# -- operations ------------------------------------------------------------------------------


def _dead_letters():
    from ..deadletters import api

    return api


@page("GET", "/staff/dead-letters")
def dead_letters(ctx: Ctx):
    api = _dead_letters()
    state = ctx.args.get("state") or "open"
    answer = call(
        ctx,
        api.list_dead_letters,
        query={
            "state": "" if state == "all" else state,
            "limit": "50",
            "cursor": ctx.args.get("cursor"),
        },
    )
    return Page(
        "dead_letters.html",
        {
            "items": answer["items"],
            "state": state,
            "states": api.STATES,
            "next_cursor": answer["next_cursor"],
        },
        title=ctx.t("dl.title"),
    )


@page("GET", "/staff/dead-letters/{id}")
def dead_letter(ctx: Ctx):
    import json

    d = call(ctx, _dead_letters().get_dead_letter, params=ctx.params)
    shown = d["payload"]
    if not isinstance(shown, str):
        shown = json.dumps(shown, indent=2, ensure_ascii=False)
    return Page(
        "dead_letter.html", {"d": d, "payload": shown}, title=f"{ctx.t('dl.title')} #{d['id']}"
    )


@page("POST", "/staff/dead-letters/{id}/replay")
def dead_letter_replay(ctx: Ctx):
    call(ctx, _dead_letters().replay, params=ctx.params)
    return _done(f"/staff/dead-letters/{ctx.params['id']}", "replayed")


@page("POST", "/staff/dead-letters/{id}/discard")
def dead_letter_discard(ctx: Ctx):
    call(ctx, _dead_letters().discard, params=ctx.params)
    return _done(f"/staff/dead-letters/{ctx.params['id']}", "discarded")


# -- mentor coordinator --------------------------------------------------------------------------


def _mentoring():
    from ..mentoring import admin

    return admin


@page("GET", "/staff/mentoring")
def mentoring(ctx: Ctx):
    f = call(ctx, _mentoring().get_figures)
    proposals = [(ctx.t(f"ps.{k}"), v) for k, v in f["proposals"].items()]
    return Page("mentoring.html", {"f": f, "proposals": proposals}, title=ctx.t("mt.title"))


@page("POST", "/staff/mentoring/rounds")
def mentoring_round(ctx: Ctx):
    call(ctx, _mentoring().start_round)
    return _done("/staff/mentoring", "round")


# -- survey manager ------------------------------------------------------------------------------


def _salary():
    from ..salary import admin

    return admin


def _round_form(form, *, create: bool) -> dict[str, Any]:
    from ..salary.vocabulary import QUESTIONS

    get = lambda k: (form.get(k) or "").strip()
    body: dict[str, Any] = {}
    if create:
        try:
            body["year"] = int(get("year"))
        except ValueError:
            raise validation.field_error("year", "integer", "Oppgi et årstall.", "Give a year.")
        body["questions"] = [q for q in form.getlist("questions") if q in QUESTIONS]
    if get("title_nb") or get("title_en") or create:
        body["title"] = {"nb": get("title_nb"), "en": get("title_en")}
    for name in ("opens_at", "closes_at"):
        value = _local_time(get(name), name)
        if value or create:
            body[name] = value
    return body


@page("GET", "/staff/salary-rounds")
def salary_rounds(ctx: Ctx):
    from ..salary import releases
    from ..salary.vocabulary import QUESTIONS

    items = call(ctx, _salary().list_rounds)["items"]
    for r in items:
        r["opens_input"], r["closes_input"] = (
            _local_input(r["opens_at"]),
            _local_input(r["closes_at"]),
        )
        if r["status"] == "closed":
            r["releases"] = call(ctx, releases.list_releases, params={"year": str(r["year"])})[
                "items"
            ]
        if r["status"] != "upcoming":
            # answers over time, from the API's per-day counts (GET .../answer-counts)
            r["days"] = call(ctx, _salary().answer_counts, params={"year": str(r["year"])})["days"]
    chart = [(str(r["year"]), r["answers"]) for r in sorted(items, key=lambda r: r["year"])]
    return Page(
        "salary_rounds.html",
        {
            "items": items,
            "chart": chart,
            "questions": [
                (q, spec["required"], spec.get("label")) for q, spec in QUESTIONS.items()
            ],
            "next_year": max([r["year"] for r in items], default=datetime.now().year - 1) + 1,
        },
        title=ctx.t("sr.title"),
    )


@page("POST", "/staff/salary-rounds")
def salary_round_create(ctx: Ctx):
    admin = _salary()
    call(
        ctx, admin.create_round, body=_round_form(ctx.form, create=True), body_type=admin.RoundDraft
    )
    return _done("/staff/salary-rounds", "created")


@page("POST", "/staff/salary-rounds/{year}")
def salary_round_update(ctx: Ctx):
    admin = _salary()
    if ctx.form.get("close_now"):
        changes: dict[str, Any] = {"closes_at": datetime.now(UTC).isoformat()}
    else:
        changes = _round_form(ctx.form, create=False)
    call(
        ctx,
        admin.update_round,
        params=ctx.params,
        body=changes,
        body_type=admin.RoundChanges,
        headers={"If-Match": f'"{ctx.form.get("version", "")}"'},
    )
    return _done("/staff/salary-rounds", "updated")
