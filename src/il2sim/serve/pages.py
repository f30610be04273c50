"""Server-rendered pages (Jinja2, autoescaped).  Forms post with a hidden ``csrf_token``;
the login form, before any session exists, uses a double-submit token (cookie + field).
Database work runs in the thread pool, never on the event loop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from il2sim.serve import conduct, engine, security, service, views
from il2sim.serve.deps import (
    client_address,
    current_user,
    form_user,
    get_db,
    optional_user,
    set_session_cookie,
)
from il2sim.serve.models import ROLES
from il2sim.serve.service import Principal, ServeError

router = APIRouter()


def _render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    html = request.app.state.templates.get_template(name).render(**ctx)
    return HTMLResponse(html, status_code=status)


def _see(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@router.get("/", include_in_schema=False)
def index() -> Response:
    """The trial list."""
    return _see("/trials")


@router.get("/login")
def login_page(request: Request) -> Response:
    """The login form (sets the double-submit token cookie)."""
    token = security.new_token()
    resp = _render(request, "login.html", who=None, login_csrf=token, error=None)
    resp.set_cookie(security.LOGIN_COOKIE, token, httponly=True, samesite="strict",
                    secure=bool(request.app.state.https), path="/login")  # fmt: skip
    return resp


@router.post("/login")
async def login_post(request: Request) -> Response:
    """Check the login form; on success set the session cookie and go to the trials."""
    form = await request.form()
    f = {k: v for k, v in form.items() if isinstance(v, str)}
    if not security.tokens_equal(f.get("csrf_token"), request.cookies.get(security.LOGIN_COOKIE)):
        raise ServeError(403, "missing or wrong CSRF token in the login form", "csrf_token")
    try:
        token, _ = await run_in_threadpool(service.login, get_db(request), f.get("username", ""),
                                           f.get("password", ""), client_address(request))  # fmt: skip
    except ServeError as exc:
        if exc.status not in (401, 429):
            raise
        return _render(request, "login.html", status=exc.status, who=None,
                       login_csrf=f.get("csrf_token"), error=exc.message)  # fmt: skip
    resp = _see("/trials")
    set_session_cookie(request, resp, token)
    resp.delete_cookie(security.LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
async def logout_post(request: Request) -> Response:
    """End the session."""
    who, _ = await form_user(request)
    await run_in_threadpool(service.logout, get_db(request),
                            request.cookies.get(security.COOKIE, ""), who)  # fmt: skip
    resp = _see("/login")
    resp.delete_cookie(security.COOKIE, path="/")
    return resp


def _who_or_login(request: Request) -> Principal | None:
    return optional_user(request)


@router.get("/trials")
def trials_page(request: Request) -> Response:
    """The trial list, and the protocol form for statisticians."""
    who = _who_or_login(request)
    if who is None:
        return _see("/login")
    return _render(request, "trials.html", who=who, trials=views.list_trials(get_db(request)),
                   designs=engine.design_names())  # fmt: skip


def _protocol_from_form(f: dict[str, str]) -> dict[str, Any]:
    rules = {k: f[k] for k in ("max_patients", "stop_n_mtd", "stop_tox_threshold")
             if f.get(k, "").strip()}  # fmt: skip
    scenarios = []
    for k, line in enumerate(f.get("scenarios", "").splitlines(), start=1):
        if line.strip():
            name, _, truth = line.rpartition(":")
            scenarios.append({"name": name.strip() or f"scenario {k}", "truth": truth.strip()})
    raw: dict[str, Any] = {
        "name": f.get("name", ""), "design": f.get("design", ""),
        "options": f.get("options", ""), "doses": f.get("doses", ""),
        "dose_unit": f.get("dose_unit", ""), "regimen": f.get("regimen", ""),
        "target": f.get("target") or None, "cohort_size": f.get("cohort_size") or None,
        "max_cohorts": f.get("max_cohorts") or None, "stopping_rules": rules,
        "scenarios": scenarios,
    }  # fmt: skip
    return raw


@router.post("/trials")
async def create_trial_post(request: Request) -> Response:
    """Create a trial from the protocol form."""
    who, f = await form_user(request)
    tid = await run_in_threadpool(conduct.create_trial, get_db(request), who,
                                  _protocol_from_form(f))  # fmt: skip
    return _see(f"/trials/{tid}")


@router.get("/trials/{trial_id}")
def trial_page(request: Request, trial_id: int) -> Response:
    """The trial: recommendation, forms, plot, cohorts, pathways, OC, protocol."""
    who = _who_or_login(request)
    if who is None:
        return _see("/login")
    db = get_db(request)
    state = views.trial_state(db, trial_id)
    try:
        paths: dict[str, Any] | None = views.trial_paths(db, trial_id)
        paths_error = None
    except ServeError as exc:
        paths, paths_error = None, exc.message
    return _render(request, "trial.html", who=who, t=state, paths=paths,
                   paths_error=paths_error, oc=views.trial_oc(db, trial_id))  # fmt: skip


@router.get("/trials/{trial_id}/plot.svg")
def plot_svg(request: Request, trial_id: int) -> Response:
    """The escalation plot."""
    from il2sim.serve.plot import escalation_svg

    current_user(request)
    svg = escalation_svg(views.trial_state(get_db(request), trial_id))
    return Response(svg, media_type="image/svg+xml",
                    headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})  # fmt: skip


@router.get("/trials/{trial_id}/audit")
def audit_page(request: Request, trial_id: int) -> Response:
    """The trial's audit rows."""
    who = _who_or_login(request)
    if who is None:
        return _see("/login")
    db = get_db(request)
    return _render(request, "audit.html", who=who, t=views.trial_state(db, trial_id),
                   rows=views.trial_audit(db, trial_id))  # fmt: skip


@router.post("/trials/{trial_id}/cohorts")
async def cohort_post(request: Request, trial_id: int) -> Response:
    """Enter a cohort from the form."""
    who, f = await form_user(request)
    days_text = f.get("dlt_days", "").strip()
    days = [d.strip() or None for d in days_text.split(",")] if days_text else None
    await run_in_threadpool(conduct.add_cohort, get_db(request), who, trial_id,
                            f.get("dose_level"), f.get("outcomes", ""), days,
                            f.get("cohort") or None)  # fmt: skip
    return _see(f"/trials/{trial_id}")


@router.post("/trials/{trial_id}/decisions")
async def decision_post(request: Request, trial_id: int) -> Response:
    """Record a decision from the form."""
    who, f = await form_user(request)
    await run_in_threadpool(conduct.record_decision, get_db(request), who, trial_id,
                            f.get("action"), f.get("cohort") or None, f.get("next_dose") or None,
                            f.get("stop") == "yes", f.get("reason", ""),
                            f.get("mtd") or None)  # fmt: skip
    return _see(f"/trials/{trial_id}")


@router.get("/admin/users")
def users_page(request: Request) -> Response:
    """Account management (admins)."""
    who = _who_or_login(request)
    if who is None:
        return _see("/login")
    who.require("admin")
    return _render(request, "users.html", who=who, users=service.list_users(get_db(request)),
                   roles=ROLES)  # fmt: skip


@router.post("/admin/users")
async def users_post(request: Request) -> Response:
    """Add an account from the form (admins)."""
    who, f = await form_user(request)
    who.require("admin")
    await run_in_threadpool(service.create_user, get_db(request), who.username,
                            f.get("username", ""), f.get("role", ""), f.get("password", ""))  # fmt: skip
    return _see("/admin/users")


@router.post("/admin/users/{username}/disable")
async def disable_post(request: Request, username: str) -> Response:
    """Disable an account (admins)."""
    who, _ = await form_user(request)
    who.require("admin")
    await run_in_threadpool(service.disable_user, get_db(request), who.username, username)
    return _see("/admin/users")
