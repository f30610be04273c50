"""Request dependencies shared by the JSON API and the pages: the database, who is asking
(session cookie), the CSRF check, role requirements, the JSON body, and the session cookie.

Order of checks on a state-changing request: session (401) -> CSRF token (403) -> role (403)
-> input (422) -> state (404/409).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import Response

from il2sim.serve import security, service
from il2sim.serve.db import Database
from il2sim.serve.service import Principal, ServeError

__all__ = [
    "client_address",
    "csrf_user",
    "current_user",
    "form_user",
    "get_db",
    "json_body",
    "optional_user",
    "requires",
    "set_session_cookie",
]


def get_db(request: Request) -> Database:
    """The app's database."""
    db: Database = request.app.state.db
    return db


def optional_user(request: Request) -> Principal | None:
    """The logged-in user, or None."""
    return service.authenticate(get_db(request), request.cookies.get(security.COOKIE))


def current_user(request: Request) -> Principal:
    """The logged-in user (401 otherwise)."""
    who = optional_user(request)
    if who is None:
        raise ServeError(401, "log in first", "session")
    return who


def csrf_user(request: Request, who: Principal = Depends(current_user)) -> Principal:
    """The logged-in user of a state-changing JSON request with a valid ``X-CSRF-Token``."""
    if not security.tokens_equal(request.headers.get("x-csrf-token"), who.csrf_token):
        raise ServeError(403, "missing or wrong X-CSRF-Token header", "csrf_token")
    return who


def requires(role: str) -> Any:
    """A dependency: the CSRF-checked user of a JSON request, who must have ``role``."""

    def dep(who: Principal = Depends(csrf_user)) -> Principal:
        who.require(role)
        return who

    return dep


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object (415 if not JSON, 422 if malformed or not an object)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ServeError(415, f"send application/json, got {ctype or 'nothing'!r}", "content_type")
    raw = await request.body()
    if len(raw) > 256_000:
        raise ServeError(413, "request body over 256 kB", "body")

    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise ServeError(422, f"malformed JSON: {exc}", "body") from None
    if not isinstance(data, dict):
        raise ServeError(422, "expected a JSON object", "body")
    return data


async def form_user(request: Request) -> tuple[Principal, dict[str, str]]:
    """(user, form fields) of a state-changing form post with a valid ``csrf_token`` field."""
    from starlette.concurrency import run_in_threadpool

    who = await run_in_threadpool(current_user, request)
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if not security.tokens_equal(fields.get("csrf_token"), who.csrf_token):
        raise ServeError(403, "missing or wrong CSRF token in the form", "csrf_token")
    return who, fields


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Set the session cookie: HttpOnly, SameSite=Strict, Secure under HTTPS."""
    response.set_cookie(security.COOKIE, token, max_age=int(security.SESSION_TTL_S),
                        httponly=True, samesite="strict", secure=bool(request.app.state.https),
                        path="/")  # fmt: skip


def client_address(request: Request) -> str:
    """The client's address (for rate limiting)."""
    return request.client.host if request.client else "unknown"
