"""The audited state of each entity (the one definition the service writes into the audit
trail and :mod:`~il2sim.serve.audit` checks the tables against)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from il2sim.serve.models import Cohort, Decision, Patient, Trial, User

__all__ = ["snapshot"]


def snapshot(obj: Any, patients: list[Patient] | None = None) -> dict[str, Any]:
    """The audited state of a trial, cohort (with its patients), decision or user."""
    if isinstance(obj, Trial):
        return {
            "id": obj.id,
            "name": obj.name,
            "design": obj.design,
            "protocol": json.loads(obj.protocol_json),
            "protocol_sha256": obj.protocol_sha256,
            "frozen_at": obj.frozen_at,
            "status": obj.status,
            "created_by": obj.created_by,
        }
    if isinstance(obj, Cohort):
        return {
            "id": obj.id,
            "trial_id": obj.trial_id,
            "cohort": obj.seq,
            "dose_level": obj.dose_level,
            "outcomes": obj.outcomes,
            "dlt_days": json.loads(obj.dlt_days_json),
            "entered_by": obj.entered_by,
            "recommendation": {
                "next_dose": obj.rec_next_dose,
                "stop": bool(obj.rec_stop),
                "reason": obj.rec_reason,
                "mtd": obj.rec_mtd,
                "cohort_size": obj.rec_cohort_size,
            },
            "estimates": json.loads(obj.rec_estimates_json),
            "deviation": obj.deviation,
            "patients": [
                [p.patient_no, p.outcome, bool(p.dlt), p.dlt_day] for p in (patients or [])
            ],
        }
    if isinstance(obj, Decision):
        return {
            "id": obj.id,
            "trial_id": obj.trial_id,
            "cohort": obj.cohort_seq,
            "action": obj.action,
            "next_dose": obj.next_dose,
            "stop": bool(obj.stop),
            "mtd": obj.mtd,
            "reason": obj.reason,
            "decided_by": obj.decided_by,
        }
    if isinstance(obj, User):
        return {
            "username": obj.username,
            "role": obj.role,
            "disabled": bool(obj.disabled),
            "password_hash_sha256": hashlib.sha256(obj.password_hash.encode()).hexdigest(),
        }
    raise TypeError(f"no snapshot for {type(obj).__name__}")  # pragma: no cover
