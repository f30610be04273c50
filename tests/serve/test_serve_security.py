"""Security: every mutating endpoint refuses the unauthenticated, the wrong role and a
missing or wrong CSRF token without changing anything; user text is escaped; SQL
metacharacters are stored verbatim; logins are rate-limited; cookies are locked down."""

from __future__ import annotations

from typing import Any

import pytest
from serve_helpers import BOIN_PROTOCOL, PASSWORD, client_for, login
from sqlalchemy import func, select

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
#: Who may call each mutating route (the rest get 403).
ALLOWED: dict[str, set[str]] = {
    "/api/logout": {"stat", "inv", "view", "adm"},
    "/logout": {"stat", "inv", "view", "adm"},
    "/api/trials": {"stat"},
    "/trials": {"stat"},
    "/api/trials/{trial_id}/protocol": {"stat"},
    "/api/trials/{trial_id}/cohorts": {"stat", "inv"},
    "/trials/{trial_id}/cohorts": {"stat", "inv"},
    "/api/trials/{trial_id}/decisions": {"stat"},
    "/trials/{trial_id}/decisions": {"stat"},
    "/api/users": {"adm"},
    "/admin/users": {"adm"},
    "/api/users/{username}/disable": {"adm"},
    "/admin/users/{username}/disable": {"adm"},
}
LOGIN_ROUTES = {"/api/login", "/login"}


def _state(db: Any) -> tuple[Any, ...]:
    """Everything a request could change (row counts, audit head, users' flags, protocols)."""
    from il2sim.serve import models as m

    with db.read() as s:
        counts = tuple(int(s.scalar(select(func.count()).select_from(t)) or 0)
                       for t in (m.User, m.Trial, m.Cohort, m.Patient, m.Decision, m.AuditRow))  # fmt: skip
        head = s.get(m.AuditHead, 1)
        users = tuple(
            (u.username, u.disabled) for u in s.scalars(select(m.User).order_by(m.User.id))
        )
        trials = tuple((t.protocol_sha256, t.status, t.frozen_at)
                       for t in s.scalars(select(m.Trial).order_by(m.Trial.id)))  # fmt: skip
        return (*counts, head.last_id if head else 0, users, trials)


def _flat(routes: Any) -> list[Any]:
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)  # FastAPI keeps included routers nested
        out.extend(_flat(inner.routes) if inner is not None else [r])
    return out


def _routes(app: Any) -> list[tuple[str, str]]:
    out = []
    for r in _flat(app.routes):
        for method in sorted((getattr(r, "methods", None) or set()) & MUTATING):
            out.append((method, r.path))
    assert len(out) > 10
    return out


def _body(path: str) -> dict[str, Any]:
    if path.endswith("/cohorts"):
        return {"dose_level": 2, "outcomes": "NNN"}
    if path.endswith("/decisions"):
        return {"action": "follow"}
    if path.endswith("/protocol") or path in ("/api/trials", "/trials"):
        return {**BOIN_PROTOCOL, "name": "intruder"}
    if path in ("/api/users", "/admin/users"):
        return {"username": "mallory", "role": "admin", "password": "mallory-password"}
    return {}


def _call(c: Any, method: str, path: str, tid: int, csrf: str | None) -> Any:
    url = path.replace("{trial_id}", str(tid)).replace("{username}", "inv")
    body = _body(path)
    if path.startswith("/api"):
        headers = {} if csrf is None else {"X-CSRF-Token": csrf}
        return c.request(method, url, json=body, headers=headers, follow_redirects=False)
    form = {k: (v if isinstance(v, str) else str(v)) for k, v in body.items()
            if not isinstance(v, dict | list)}  # fmt: skip
    if path in ("/trials",):
        form["doses"] = "0.4,0.6,0.8"
    if csrf is not None:
        form["csrf_token"] = csrf
    return c.request(method, url, data=form, follow_redirects=False)


@pytest.fixture
def seeded(app: Any) -> tuple[Any, int]:
    """The app with one trial, one cohort entered and awaiting a decision."""
    c = client_for(app)
    h = login(c, "stat")
    tid = c.post("/api/trials", json=BOIN_PROTOCOL, headers=h).json()["id"]
    assert c.post(f"/api/trials/{tid}/cohorts", json={"dose_level": 1, "outcomes": "NNN"},
                  headers=h).status_code == 201  # fmt: skip
    return app, int(tid)


def test_every_mutating_route_is_listed(app: Any) -> None:
    paths = {p for _, p in _routes(app)}
    assert paths == set(ALLOWED) | LOGIN_ROUTES


def test_unauthenticated_and_csrf_refused_change_nothing(seeded: tuple[Any, int]) -> None:
    app, tid = seeded
    db = app.state.db
    before = _state(db)
    anon = client_for(app)
    for method, path in _routes(app):
        if path in LOGIN_ROUTES:
            continue
        r = _call(anon, method, path, tid, csrf=None)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert _state(db) == before
    for name in ("stat", "inv", "view", "adm"):
        c = client_for(app)
        login(c, name)
        before = _state(db)  # after the login's own audit row
        for method, path in _routes(app):
            if path in LOGIN_ROUTES:
                continue
            for csrf in (None, "wrong-token"):
                r = _call(c, method, path, tid, csrf=csrf)
                assert r.status_code == 403, (name, method, path, csrf, r.status_code, r.text)
                assert "csrf" in r.text.lower()
                assert _state(db) == before, (name, method, path)


def test_wrong_role_refused_changes_nothing(seeded: tuple[Any, int]) -> None:
    app, tid = seeded
    db = app.state.db
    before = _state(db)
    for name in ("stat", "inv", "view", "adm"):
        c = client_for(app)
        csrf = login(c, name)["X-CSRF-Token"]
        before = _state(db)
        for method, path in _routes(app):
            if path in LOGIN_ROUTES or name in ALLOWED[path]:
                continue
            r = _call(c, method, path, tid, csrf=csrf)
            assert r.status_code == 403, (name, method, path, r.status_code, r.text)
            assert _state(db) == before, (name, method, path)
        # the same client still reads
        assert c.get(f"/api/trials/{tid}").status_code == 200


def test_login_form_needs_its_csrf_token(seeded: tuple[Any, int]) -> None:
    app, _ = seeded
    c = client_for(app)
    r = c.post("/login", data={"username": "stat", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    page = c.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post("/login", data={"username": "stat", "password": PASSWORD, "csrf_token": token},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/trials"
    r = c.post("/api/login", content=b"username=stat&password=x",
               headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 415


def test_script_in_user_text_is_escaped(app: Any) -> None:
    c = client_for(app)
    h = login(c, "stat")
    evil = '<script>alert("name")</script>'
    tid = c.post("/api/trials", json={**BOIN_PROTOCOL, "name": evil, "regimen": "<b onmouseover=x>",
                 "scenarios": [{"name": "<img src=x onerror=alert(2)>",
                                "truth": [0.05, 0.1, 0.2, 0.3, 0.4]}]}, headers=h).json()["id"]  # fmt: skip
    c.post(f"/api/trials/{tid}/cohorts", json={"dose_level": 1, "outcomes": "NNN"}, headers=h)
    r = c.post(f"/api/trials/{tid}/decisions", headers=h, json={
        "action": "override", "next_dose": 1, "reason": "<script>alert('reason')</script>"})  # fmt: skip
    assert r.status_code == 201, r.text
    for url in ("/trials", f"/trials/{tid}", f"/trials/{tid}/audit"):
        html = c.get(url).text
        assert (
            "<script>alert" not in html
            and "<img src=x" not in html
            and "<b onmouseover" not in html
        )
    page = c.get(f"/trials/{tid}").text
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt;" in page
    assert c.get(f"/api/trials/{tid}").json()["name"] == evil  # stored as typed


SQL_TEXT = "Robert'); DROP TABLE trials; -- \"q\" \\ % _ ; SELECT * FROM users WHERE '1'='1"


def test_sql_metacharacters_stored_verbatim(app: Any) -> None:
    c = client_for(app)
    h = login(c, "stat")
    tid = c.post("/api/trials", headers=h, json={
        **BOIN_PROTOCOL, "name": SQL_TEXT, "regimen": SQL_TEXT,
        "scenarios": [{"name": SQL_TEXT[:100], "truth": [0.05, 0.1, 0.2, 0.3, 0.4]}]}).json()["id"]  # fmt: skip
    c.post(f"/api/trials/{tid}/cohorts", json={"dose_level": 1, "outcomes": "NNN"}, headers=h)
    c.post(f"/api/trials/{tid}/decisions", headers=h,
           json={"action": "override", "next_dose": 1, "reason": SQL_TEXT})  # fmt: skip
    state = c.get(f"/api/trials/{tid}").json()
    assert state["name"] == SQL_TEXT and state["protocol"]["regimen"] == SQL_TEXT
    assert state["protocol"]["scenarios"][0]["name"] == SQL_TEXT[:100]
    assert state["cohorts"][0]["decision"]["reason"] == SQL_TEXT
    assert [t["name"] for t in c.get("/api/trials").json()] == [SQL_TEXT]
    # a login with SQL in the name is just a wrong login
    r = c.post("/api/login", json={"username": "' OR '1'='1", "password": "' OR '1'='1"})
    assert r.status_code == 401


def test_login_rate_limited(app: Any) -> None:
    c = client_for(app)
    for _ in range(5):
        assert (
            c.post("/api/login", json={"username": "inv", "password": "wrong-password"}).status_code
            == 401
        )
    r = c.post("/api/login", json={"username": "inv", "password": PASSWORD})
    assert r.status_code == 429 and "too many" in r.json()["error"]
    assert c.post("/api/login", json={"username": "stat", "password": PASSWORD}).status_code == 200


def test_cookie_flags(db: Any) -> None:
    from il2sim.serve import service
    from il2sim.serve.app import create_app

    service.create_user(db, "test", "stat", "statistician", PASSWORD)
    for https in (False, True):
        c = client_for(create_app(db, https=https))
        r = c.post("/api/login", json={"username": "stat", "password": PASSWORD})
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert ("Secure" in cookie) is https


def test_disabled_user_loses_sessions(app: Any) -> None:
    c = client_for(app)
    login(c, "inv")
    assert c.get("/api/me").status_code == 200
    a = client_for(app)
    ha = login(a, "adm")
    assert a.post("/api/users/inv/disable", headers=ha).status_code == 200
    assert c.get("/api/me").status_code == 401
    assert c.post("/api/login", json={"username": "inv", "password": PASSWORD}).status_code == 401
