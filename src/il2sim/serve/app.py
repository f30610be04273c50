"""The FastAPI application: error answers, security headers, and the two routers (:mod:`~il2sim.serve.api` JSON, :mod:`~il2sim.serve.pages` HTML).

Errors never show a traceback: under ``/api`` they are one JSON line ``{"error": "field:
message", "field": "field"}`` with a 4xx status; pages show the same line on an error page.
The request dependencies (who is asking, CSRF, roles) are in :mod:`~il2sim.serve.deps`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from il2sim.serve.db import Database
from il2sim.serve.service import ServeError

__all__ = ["create_app"]

log = logging.getLogger("il2sim.serve")
_HERE = Path(__file__).parent
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")  # fmt: skip


def templates() -> Environment:
    """The Jinja2 environment (autoescaping on for every template)."""
    return Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=True)


def _error(request: Request, status: int, message: str, field: str | None) -> Response:
    if request.url.path.startswith("/api"):
        headers = {"Retry-After": "60"} if status == 429 else None
        return JSONResponse({"error": message, "field": field}, status_code=status,
                            headers=headers)  # fmt: skip
    if status == 401 and request.method == "GET":
        return Response(status_code=303, headers={"Location": "/login"})
    env: Environment = request.app.state.templates
    html = env.get_template("error.html").render(status=status, message=message, who=None)
    return HTMLResponse(html, status_code=status)


def create_app(
    db: Database, *, https: bool = False, allowed_hosts: list[str] | None = None
) -> FastAPI:
    """The web application on ``db``; ``https`` marks cookies ``Secure``."""
    from il2sim.serve import api, pages

    app = FastAPI(title="il2sim serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.db = db
    app.state.https = https
    app.state.templates = templates()

    @app.exception_handler(ServeError)
    async def _serve_error(request: Request, exc: ServeError) -> Response:
        return _error(request, exc.status, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        err = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
        return _error(request, 422, f"{field}: {err.get('msg', 'invalid')}", field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail), None)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(request, 500, "internal error (logged on the server)", None)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        if https:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    if allowed_hosts is not None and allowed_hosts != ["*"]:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    return app
