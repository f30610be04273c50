"""Read-only views of trials: the state (cohorts, recommendations, decisions), the trial
list, the audit rows of a trial, dose transition pathways and operating characteristics.

Operating characteristics are computed once per protocol version (they depend only on the
protocol and its seed) and cached in ``oc_cache``; the computation runs outside any writing
transaction.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from il2sim.serve import audit, engine
from il2sim.serve.db import Database
from il2sim.serve.models import AuditRow, Cohort, Decision, OcCache, Trial
from il2sim.serve.protocol import Protocol
from il2sim.serve.service import ServeError

__all__ = ["list_trials", "trial_audit", "trial_oc", "trial_paths", "trial_state"]


def list_trials(db: Database) -> list[dict[str, Any]]:
    """Every trial with its number of cohorts and patients."""
    with db.read() as s:
        out = []
        for t in s.scalars(select(Trial).order_by(Trial.id)):
            coh = s.execute(select(Cohort.n_patients).where(Cohort.trial_id == t.id)).all()
            out.append({
                "id": t.id, "name": t.name, "design": t.design, "status": t.status,
                "frozen": t.frozen_at is not None, "cohorts": len(coh),
                "patients": sum(int(c[0]) for c in coh), "created_at": t.created_at,
            })  # fmt: skip
        return out


def _load(db: Database, trial_id: int) -> tuple[Trial, list[Cohort], dict[int, Decision]]:
    with db.read() as s:
        trial = s.get(Trial, trial_id)
        if trial is None:
            raise ServeError(404, f"no trial {trial_id}", "trial")
        cohorts = list(s.scalars(select(Cohort).where(Cohort.trial_id == trial_id)
                                 .order_by(Cohort.seq)))  # fmt: skip
        decisions = {d.cohort_seq: d for d in s.scalars(
            select(Decision).where(Decision.trial_id == trial_id))}  # fmt: skip
        return trial, cohorts, decisions


def _dose(proto: dict[str, Any], level: int | None) -> str | None:
    if level is None:
        return None
    return f"{proto['doses'][level - 1]:g} {proto['dose_unit']}"


def trial_state(db: Database, trial_id: int) -> dict[str, Any]:
    """The trial as ``GET /api/trials/{id}`` returns it (dose levels from 1)."""
    trial, cohorts, decisions = _load(db, trial_id)
    proto = json.loads(trial.protocol_json)
    rows = []
    for c in cohorts:
        d = decisions.get(c.seq)
        rows.append({
            "cohort": c.seq, "dose_level": c.dose_level, "dose": _dose(proto, c.dose_level),
            "outcomes": c.outcomes, "dlt_days": json.loads(c.dlt_days_json),
            "n_patients": c.n_patients, "n_dlt": c.n_dlt, "entered_by": c.entered_by,
            "entered_at": c.entered_at, "deviation": c.deviation,
            "recommendation": {"next_dose": c.rec_next_dose, "stop": bool(c.rec_stop),
                               "reason": c.rec_reason, "mtd": c.rec_mtd,
                               "cohort_size": c.rec_cohort_size},
            "estimates": json.loads(c.rec_estimates_json),
            "decision": None if d is None else {
                "action": d.action, "next_dose": d.next_dose, "stop": bool(d.stop),
                "mtd": d.mtd, "reason": d.reason, "decided_by": d.decided_by,
                "decided_at": d.decided_at},
        })  # fmt: skip
    history = [(c.dose_level, c.outcomes) for c in cohorts]
    text = engine.outcome_text(history)
    if rows:
        current = rows[-1]["recommendation"]
    else:
        try:
            current = engine.recommend(Protocol(proto).design(), "").to_dict()
        except engine.USER_ERRORS as exc:  # pragma: no cover - protocols are validated
            current = {"next_dose": None, "stop": True, "reason": str(exc), "mtd": None,
                       "cohort_size": None}  # fmt: skip
    cmd = ["il2sim", "design", "next", *engine.cli_args(proto["design"], proto["options"],
           len(proto["doses"])), "--outcomes", text]  # fmt: skip
    return {
        "id": trial.id, "name": trial.name, "design": trial.design, "status": trial.status,
        "protocol": proto, "protocol_sha256": trial.protocol_sha256,
        "frozen_at": trial.frozen_at, "created_by": trial.created_by,
        "created_at": trial.created_at, "cohorts": rows, "outcomes": text,
        "n_patients": sum(c.n_patients for c in cohorts),
        "recommendation": {**current, "dose": _dose(proto, current.get("next_dose"))},
        "next_cohort": len(cohorts) + 1,
        "awaiting_decision": bool(rows) and rows[-1]["decision"] is None,
        "design_next_command": shlex.join(cmd),
    }  # fmt: skip


def trial_paths(db: Database, trial_id: int, cohorts_ahead: int = 2) -> dict[str, Any]:
    """Dose transition pathways of the next ``cohorts_ahead`` cohorts from the current data."""
    if not 1 <= cohorts_ahead <= 3:
        raise ServeError(422, f"must be 1..3, got {cohorts_ahead}", "cohorts_ahead")
    trial, cohorts, _ = _load(db, trial_id)
    proto = json.loads(trial.protocol_json)
    text = engine.outcome_text([(c.dose_level, c.outcomes) for c in cohorts])
    try:
        return engine.dose_paths(Protocol(proto).design(), text, cohorts_ahead)
    except engine.USER_ERRORS as exc:
        raise ServeError(422, str(exc), "paths") from None


def trial_oc(db: Database, trial_id: int) -> dict[str, Any]:
    """Operating characteristics of the protocol under each of its scenarios (cached)."""
    with db.read() as s:
        trial = s.get(Trial, trial_id)
        if trial is None:
            raise ServeError(404, f"no trial {trial_id}", "trial")
        key, proto_json = trial.protocol_sha256, trial.protocol_json
        hit = s.get(OcCache, (trial_id, key))
        if hit is not None:
            return dict(json.loads(hit.result_json))
    proto = json.loads(proto_json)
    results = []
    for sc in proto["scenarios"]:
        try:
            oc = engine.operating_characteristics(
                proto["design"], proto["options"], len(proto["doses"]), sc["truth"],
                proto["oc_trials"], proto["oc_seed"], proto["max_cohorts"])  # fmt: skip
            results.append({"name": sc["name"], "truth": sc["truth"], "oc": oc, "error": None})
        except engine.USER_ERRORS as exc:
            results.append({"name": sc["name"], "truth": sc["truth"], "oc": None,
                            "error": str(exc)})  # fmt: skip
    out = {"protocol_sha256": key, "n_trials": proto["oc_trials"], "seed": proto["oc_seed"],
           "scenarios": results}  # fmt: skip
    try:
        with db.write() as s:
            if s.get(OcCache, (trial_id, key)) is None:
                s.add(OcCache(trial_id=trial_id, protocol_sha256=key,
                              result_json=audit.canonical(out)))  # fmt: skip
    except IntegrityError:  # computed twice at once: the first one stays
        pass
    return out


def trial_audit(db: Database, trial_id: int) -> list[dict[str, Any]]:
    """The audit rows about one trial, oldest first."""
    with db.read() as s:
        if s.get(Trial, trial_id) is None:
            raise ServeError(404, f"no trial {trial_id}", "trial")
        return [audit.audit_dict(r) for r in s.scalars(
            select(AuditRow).where(AuditRow.trial_id == trial_id).order_by(AuditRow.id))]  # fmt: skip
