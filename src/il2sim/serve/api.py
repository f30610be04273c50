"""The JSON API (``/api``).  Mutating requests need the session cookie and the header
``X-CSRF-Token`` (the token ``POST /api/login`` returns).  Dose levels are numbered from 1.

=======================================  =====================================================
``POST /api/login`` {username, password}  sets the cookie; {csrf_token, username, role}
``POST /api/logout``                      ends the session
``GET  /api/me``                          {username, role, csrf_token}
``GET  /api/trials``                      the trial list
``POST /api/trials`` {name, design, options, doses, ...}         -> 201 {id, protocol_sha256}
``PUT  /api/trials/{id}/protocol`` {...}  amend before the first patient (409 after)
``GET  /api/trials/{id}``                 the trial: protocol, cohorts, recommendation, ...
``POST /api/trials/{id}/cohorts`` {dose_level, outcomes[, dlt_days, cohort]}
                                          -> 201 {cohort, recommendation: {next_dose, stop,
                                          reason, mtd, cohort_size}}; 409 on a duplicate
``POST /api/trials/{id}/decisions`` {action: follow|override[, next_dose, stop, mtd, reason,
                                          cohort]} -> 201 {decision}
``GET  /api/trials/{id}/paths``           dose transition pathways (next two cohorts)
``GET  /api/trials/{id}/oc``              operating characteristics of the protocol
``GET  /api/trials/{id}/audit``           the trial's audit rows
``GET  /api/trials/{id}/export.json``     the trial and its audit rows, as a file
``GET  /api/trials/{id}/export/sdtm.zip`` SDTM files (CSV + Parquet)
``GET  /api/users``, ``POST /api/users`` {username, role, password},
``POST /api/users/{name}/disable``        account management (admins)
=======================================  =====================================================
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from il2sim.serve import conduct, export, service, views
from il2sim.serve.deps import (
    client_address,
    csrf_user,
    current_user,
    get_db,
    json_body,
    requires,
    set_session_cookie,
)
from il2sim.serve.service import Principal, ServeError

router = APIRouter(prefix="/api")
_statistician = requires("statistician")
_investigator = requires("investigator")
_admin = requires("admin")


@router.post("/login")
def login(request: Request, body: dict[str, Any] = Depends(json_body)) -> Response:
    """Log in; the session cookie is set and the CSRF token returned."""
    token, who = service.login(get_db(request), body.get("username", ""),
                               body.get("password", ""), client_address(request))  # fmt: skip
    resp = JSONResponse({"csrf_token": who.csrf_token, "username": who.username, "role": who.role})
    set_session_cookie(request, resp, token)
    return resp


@router.post("/logout")
def logout(request: Request, who: Principal = Depends(csrf_user)) -> Response:
    """End this session."""
    from il2sim.serve.security import COOKIE

    service.logout(get_db(request), request.cookies.get(COOKIE, ""), who)
    resp = JSONResponse({"ok": True})
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/me")
def me(who: Principal = Depends(current_user)) -> dict[str, Any]:
    """Who is logged in (and the session's CSRF token)."""
    return {"username": who.username, "role": who.role, "csrf_token": who.csrf_token}


@router.get("/trials")
def trials(request: Request, who: Principal = Depends(current_user)) -> list[dict[str, Any]]:
    """Every trial."""
    return views.list_trials(get_db(request))


@router.post("/trials", status_code=201)
def create_trial(
    request: Request,
    who: Principal = Depends(_statistician),
    body: dict[str, Any] = Depends(json_body),
) -> dict[str, Any]:
    """Create a trial from a protocol (statisticians)."""
    db = get_db(request)
    tid = conduct.create_trial(db, who, body)
    return {"id": tid, "protocol_sha256": views.trial_state(db, tid)["protocol_sha256"]}


@router.put("/trials/{trial_id}/protocol")
def amend(
    request: Request,
    trial_id: int,
    who: Principal = Depends(_statistician),
    body: dict[str, Any] = Depends(json_body),
) -> dict[str, Any]:
    """Replace the protocol before the first patient (statisticians)."""
    return {"protocol_sha256": conduct.update_protocol(get_db(request), who, trial_id, body)}


@router.get("/trials/{trial_id}")
def trial(
    request: Request, trial_id: int, who: Principal = Depends(current_user)
) -> dict[str, Any]:
    """The trial's state."""
    return views.trial_state(get_db(request), trial_id)


@router.post("/trials/{trial_id}/cohorts", status_code=201)
def add_cohort(
    request: Request,
    trial_id: int,
    who: Principal = Depends(_investigator),
    body: dict[str, Any] = Depends(json_body),
) -> dict[str, Any]:
    """Enter the next cohort (investigators, statisticians); returns the recommendation."""
    _only(body, {"dose_level", "outcomes", "dlt_days", "cohort"})
    seq, rec = conduct.add_cohort(get_db(request), who, trial_id, body.get("dose_level"),
                                  body.get("outcomes"), body.get("dlt_days"),
                                  body.get("cohort"))  # fmt: skip
    return {"cohort": seq, "recommendation": rec.to_dict()}


@router.post("/trials/{trial_id}/decisions", status_code=201)
def add_decision(
    request: Request,
    trial_id: int,
    who: Principal = Depends(_statistician),
    body: dict[str, Any] = Depends(json_body),
) -> dict[str, Any]:
    """Record the decision after the latest cohort (statisticians)."""
    _only(body, {"action", "cohort", "next_dose", "stop", "mtd", "reason"})
    dec = conduct.record_decision(get_db(request), who, trial_id, body.get("action"),
                                  body.get("cohort"), body.get("next_dose"),
                                  body.get("stop", False), body.get("reason", ""),
                                  body.get("mtd"))  # fmt: skip
    return {"decision": dec}


@router.get("/trials/{trial_id}/paths")
def paths(
    request: Request, trial_id: int, cohorts_ahead: int = 2, who: Principal = Depends(current_user)
) -> dict[str, Any]:
    """Dose transition pathways from the current data."""
    return views.trial_paths(get_db(request), trial_id, cohorts_ahead)


@router.get("/trials/{trial_id}/oc")
def oc(request: Request, trial_id: int, who: Principal = Depends(current_user)) -> dict[str, Any]:
    """Operating characteristics of the protocol."""
    return views.trial_oc(get_db(request), trial_id)


@router.get("/trials/{trial_id}/audit")
def trial_audit(
    request: Request, trial_id: int, who: Principal = Depends(current_user)
) -> list[dict[str, Any]]:
    """The trial's audit rows, oldest first."""
    return views.trial_audit(get_db(request), trial_id)


@router.get("/trials/{trial_id}/export.json")
def export_json(
    request: Request, trial_id: int, who: Principal = Depends(current_user)
) -> Response:
    """The trial and its audit rows as a JSON file."""
    db = get_db(request)
    body = export.json_export(views.trial_state(db, trial_id), views.trial_audit(db, trial_id),
                              who.username)  # fmt: skip
    return Response(body, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="il2sim-trial-{trial_id}.json"'})  # fmt: skip


@router.get("/trials/{trial_id}/export/sdtm.zip")
def export_sdtm(
    request: Request, trial_id: int, who: Principal = Depends(current_user)
) -> Response:
    """The trial as SDTM files in a zip."""
    data = export.sdtm_zip(views.trial_state(get_db(request), trial_id))
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="il2sim-trial-{trial_id}-sdtm.zip"'})  # fmt: skip


@router.get("/users")
def users(request: Request, who: Principal = Depends(current_user)) -> list[dict[str, Any]]:
    """Every account (admins)."""
    who.require("admin")
    return service.list_users(get_db(request))


@router.post("/users", status_code=201)
def add_user(
    request: Request, who: Principal = Depends(_admin), body: dict[str, Any] = Depends(json_body)
) -> dict[str, Any]:
    """Add an account (admins)."""
    _only(body, {"username", "role", "password"})
    user = service.create_user(get_db(request), who.username, body.get("username", ""),
                               body.get("role", ""), body.get("password", ""))  # fmt: skip
    return {"username": user.username, "role": user.role}


@router.post("/users/{username}/disable")
def disable(request: Request, username: str, who: Principal = Depends(_admin)) -> dict[str, Any]:
    """Disable an account (admins)."""
    service.disable_user(get_db(request), who.username, username)
    return {"username": username, "disabled": True}


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise ServeError(422, f"unknown field (fields: {', '.join(sorted(allowed))})", extra[0])
