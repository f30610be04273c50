"""Trial conduct: create a trial from a protocol, enter cohorts (the design's recommendation is
computed and stored in the same transaction), record the team's decisions, read the state.

Conflicts: the client may send the cohort number it means to enter (``cohort``); the server
enters cohort ``n + 1`` only, so a stale or concurrent duplicate gets HTTP 409, and
``UNIQUE(trial_id, seq)`` in the database guarantees it even past the application.
The protocol is frozen (its hash fixed) with the first patient; edits after that get 409.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from il2sim import checks
from il2sim.errors import InputError
from il2sim.limits import LIMITS, limit
from il2sim.serve import audit, engine
from il2sim.serve.db import Database
from il2sim.serve.models import Cohort, Decision, Patient, Trial
from il2sim.serve.protocol import Protocol, build_protocol
from il2sim.serve.service import Principal, ServeError, snapshot

__all__ = ["add_cohort", "create_trial", "record_decision", "update_protocol"]

_LETTERS_RE = re.compile(r"^\s*(\d*)\s*([NTEBntebNTEB]{1,30})\s*$", re.ASCII)
#: The default cap on cohorts per trial; the cap in force is ``limit("cohorts")``.
MAX_COHORTS = int(LIMITS["cohorts"].default)


def _user_error(exc: Exception) -> ServeError:
    field = getattr(exc, "field", None)
    msg = str(exc)
    if field and msg.startswith(f"{field}: "):
        msg = msg[len(field) + 2 :]
    return ServeError(422, msg, field)


def _protocol(raw: Mapping[str, Any]) -> Protocol:
    try:
        return build_protocol(raw)
    except engine.USER_ERRORS as exc:
        raise _user_error(exc) from None


def create_trial(db: Database, who: Principal, raw: Mapping[str, Any]) -> int:
    """Create a trial (statisticians); returns its id."""
    who.require("statistician")
    proto = _protocol(raw)
    with db.write() as s:
        trial = Trial(
            name=proto.data["name"],
            design=proto.data["design"],
            protocol_json=proto.json,
            protocol_sha256=proto.sha256,
            frozen_at=None,
            status="open",
            created_by=who.username,
            created_at=audit.now_iso(),
        )
        s.add(trial)
        s.flush()
        audit.append(s, who.username, "create trial", "trial", trial.id, trial_id=trial.id,
                     after=snapshot(trial))  # fmt: skip
        return int(trial.id)


def _trial(s: Any, trial_id: int) -> Trial:
    trial = s.get(Trial, trial_id)
    if trial is None:
        raise ServeError(404, f"no trial {trial_id}", "trial")
    return trial


def update_protocol(db: Database, who: Principal, trial_id: int, raw: Mapping[str, Any]) -> str:
    """Replace the protocol before the first patient (409 once frozen); returns its hash."""
    who.require("statistician")
    proto = _protocol(raw)
    with db.write() as s:
        trial = _trial(s, trial_id)
        if trial.frozen_at is not None:
            raise ServeError(
                409, f"frozen at {trial.frozen_at} (sha256 {trial.protocol_sha256})", "protocol"
            )
        before = snapshot(trial)
        trial.name, trial.design = proto.data["name"], proto.data["design"]
        trial.protocol_json, trial.protocol_sha256 = proto.json, proto.sha256
        s.flush()
        audit.append(s, who.username, "amend protocol", "trial", trial.id, trial_id=trial.id,
                     before=before, after=snapshot(trial))  # fmt: skip
        return proto.sha256


def _checked(check: Any, value: Any, field: str, **kw: Any) -> Any:
    """``check(value, field, **kw)`` (an :mod:`il2sim.checks` checker); its InputError becomes
    HTTP 422 naming the field and the value."""
    try:
        return check(value, field, **kw)
    except InputError as exc:
        raise _user_error(exc) from None


def parse_outcomes(outcomes: Any, dose_level: Any, n_doses: int) -> tuple[int, str]:
    """(dose level, letters) from ``"NNT"`` or ``"2NNT"`` and a dose level (from 1)."""
    if not isinstance(outcomes, str):
        raise ServeError(422, f"expected letters N/T (E/B), got {outcomes!r}", "outcomes")
    m = _LETTERS_RE.match(outcomes)
    if m is None:
        raise ServeError(
            422,
            f"expected one letter per patient, N (no DLT) or T (DLT), e.g. 'NNT', got {outcomes!r}",
            "outcomes",
        )
    prefix, letters = m.group(1), m.group(2).upper()
    level: Any = dose_level if dose_level not in (None, "") else (prefix or None)
    if level is None:
        raise ServeError(422, f"expected a dose level from 1, got {dose_level!r}", "dose_level")
    lv = _checked(checks.whole, level, "dose_level", minimum=1, maximum=n_doses)
    if prefix and int(prefix) != lv:
        raise ServeError(422, f"starts with level {prefix} but dose_level is {lv}", "outcomes")
    return lv, letters


def parse_dlt_days(raw: Any, letters: str) -> list[float | None]:
    """DLT day per patient (None where no DLT); a day is only allowed on a T/B patient."""
    if raw in (None, "", []):
        return [None] * len(letters)
    if not isinstance(raw, list) or len(raw) != len(letters):
        raise ServeError(422, f"give one entry per patient ({len(letters)})", "dlt_days")
    out: list[float | None] = []
    for k, (v, ch) in enumerate(zip(raw, letters, strict=True), start=1):
        if v in (None, ""):
            out.append(None)
            continue
        try:
            x = checks.number(v, "dlt_days", minimum=0.0, maximum=3650.0)
        except InputError:
            raise ServeError(422, f"patient {k}: must be a day in 0..3650, got {v!r}",
                             "dlt_days") from None  # fmt: skip
        if ch not in "TB":
            raise ServeError(422, f"patient {k} has no DLT ({ch}) but a DLT day", "dlt_days")
        out.append(x)
    return out


def _deviation(s: Any, trial: Trial, seq: int, level: int, n: int, start: int) -> str:
    notes = []
    if seq == 1:
        if level != start:
            notes.append(f"first cohort at level {level}, the design starts at {start}")
        return "; ".join(notes)
    prev = s.scalar(select(Cohort).where(Cohort.trial_id == trial.id, Cohort.seq == seq - 1))
    dec = s.scalar(select(Decision).where(Decision.trial_id == trial.id,
                                          Decision.cohort_seq == seq - 1))  # fmt: skip
    if dec is None:
        notes.append(f"no decision recorded after cohort {seq - 1}")
        if prev is not None and prev.rec_next_dose is not None and prev.rec_next_dose != level:
            notes.append(f"level {level} differs from the recommendation ({prev.rec_next_dose})")
    elif dec.next_dose is not None and dec.next_dose != level:
        notes.append(f"level {level} differs from the decision after cohort {seq - 1} "
                     f"({dec.next_dose})")  # fmt: skip
    if prev is not None and prev.rec_cohort_size and prev.rec_cohort_size != n:
        notes.append(f"{n} patients, the design asked for {prev.rec_cohort_size}")
    return "; ".join(notes)


def add_cohort(
    db: Database,
    who: Principal,
    trial_id: int,
    dose_level: Any,
    outcomes: Any,
    dlt_days: Any = None,
    cohort: Any = None,
) -> tuple[int, engine.Recommendation]:
    """Enter the next cohort (investigators and statisticians); returns (number, recommendation)."""
    who.require("investigator")
    if cohort not in (None, ""):
        cohort = _checked(checks.whole, cohort, "cohort", minimum=1, maximum=int(limit("cohorts")))
    try:
        with db.write() as s:
            trial = _trial(s, trial_id)
            proto = json.loads(trial.protocol_json)
            level, letters = parse_outcomes(outcomes, dose_level, len(proto["doses"]))
            days = parse_dlt_days(dlt_days, letters)
            if trial.status != "open":
                raise ServeError(409, "the trial has stopped", "trial")
            rows = s.execute(select(Cohort.seq, Cohort.dose_level, Cohort.outcomes)
                             .where(Cohort.trial_id == trial_id)
                             .order_by(Cohort.seq)).all()  # fmt: skip
            seq = len(rows) + 1
            if cohort not in (None, "") and int(cohort) != seq:
                what = "was already entered" if int(cohort) < seq else "is not next"
                raise ServeError(409, f"cohort {int(cohort)} {what}; cohort {seq} is next",
                                 "cohort")  # fmt: skip
            cap = int(limit("cohorts"))
            if seq > cap:
                raise ServeError(409, f"at most {cap} cohorts (limit cohorts, docs/limits.md)",
                                 "cohort")  # fmt: skip
            history = [(int(r.dose_level), str(r.outcomes)) for r in rows] + [(level, letters)]
            try:
                design = Protocol(proto).design()
                rec = engine.recommend(design, engine.outcome_text(history))
                start = (engine.recommend(design, "").next_dose or 1) if seq == 1 else 1
            except engine.USER_ERRORS as exc:
                raise _user_error(exc) from None
            if trial.frozen_at is None:
                before = snapshot(trial)
                trial.frozen_at = audit.now_iso()
                s.flush()
                audit.append(s, who.username, "freeze protocol", "trial", trial.id,
                             trial_id=trial.id, before=before, after=snapshot(trial))  # fmt: skip
            dlt_flags = [ch in "TB" for ch in letters]
            row = Cohort(
                trial_id=trial_id, seq=seq, dose_level=level, outcomes=letters,
                dlt_days_json=audit.canonical(days), n_patients=len(letters),
                n_dlt=sum(dlt_flags), entered_by=who.username, entered_at=audit.now_iso(),
                rec_next_dose=rec.next_dose, rec_stop=rec.stop, rec_reason=rec.reason,
                rec_mtd=rec.mtd, rec_cohort_size=rec.cohort_size,
                rec_estimates_json=audit.canonical(rec.estimates),
                deviation=_deviation(s, trial, seq, level, len(letters), start),
            )  # fmt: skip
            s.add(row)
            s.flush()
            first = int(s.scalar(select(func.count()).select_from(Patient)
                                 .where(Patient.trial_id == trial_id)) or 0)  # fmt: skip
            patients = [
                Patient(trial_id=trial_id, cohort_id=row.id, patient_no=first + k + 1,
                        dose_level=level, outcome=ch, dlt=flag, dlt_day=day)
                for k, (ch, flag, day) in enumerate(zip(letters, dlt_flags, days, strict=True))
            ]  # fmt: skip
            s.add_all(patients)
            s.flush()
            audit.append(s, who.username, "enter cohort", "cohort", row.id, trial_id=trial_id,
                         after=snapshot(row, patients))  # fmt: skip
    except IntegrityError:
        raise ServeError(409, "this cohort was entered at the same time by someone else",
                         "cohort") from None  # fmt: skip
    return seq, rec


def record_decision(
    db: Database,
    who: Principal,
    trial_id: int,
    action: Any,
    cohort: Any = None,
    next_dose: Any = None,
    stop: Any = False,
    reason: Any = "",
    mtd: Any = None,
) -> dict[str, Any]:
    """Record the decision after the latest cohort: ``follow`` or ``override`` (a reason is
    required); returns the decision."""
    who.require("statistician")
    if action not in ("follow", "override"):
        raise ServeError(422, f"choose follow or override, got {action!r}", "action")
    reason = _checked(checks.text, reason, "reason", maximum=2000, multiline=True)
    if not isinstance(stop, bool):
        raise ServeError(422, f"expected true or false, got {stop!r}", "stop")

    def _level(v: Any, name: str, n: int) -> int | None:
        if v in (None, ""):
            return None
        return _checked(checks.whole, v, name, minimum=1, maximum=n)

    try:
        with db.write() as s:
            trial = _trial(s, trial_id)
            n = len(json.loads(trial.protocol_json)["doses"])
            last = s.scalar(select(Cohort).where(Cohort.trial_id == trial_id)
                            .order_by(Cohort.seq.desc()).limit(1))  # fmt: skip
            if last is None:
                raise ServeError(409, "no cohort entered yet", "cohort")
            k = last.seq if cohort in (None, "") else _level(cohort, "cohort", 10**6)
            if k != last.seq:
                raise ServeError(409, f"decisions are for the latest cohort ({last.seq}), got {k}",
                                 "cohort")  # fmt: skip
            if s.scalar(select(Decision).where(Decision.trial_id == trial_id,
                                               Decision.cohort_seq == k)) is not None:  # fmt: skip
                raise ServeError(409, f"a decision after cohort {k} is already recorded", "cohort")
            nd, md = _level(next_dose, "next_dose", n), _level(mtd, "mtd", n)
            if action == "follow":
                if (nd is not None and nd != last.rec_next_dose) or (stop and not last.rec_stop):
                    raise ServeError(422, "differs from the recommendation; use override",
                                     "next_dose")  # fmt: skip
                nd, stop_, md = last.rec_next_dose, bool(last.rec_stop), last.rec_mtd
            else:
                if not reason.strip():
                    raise ServeError(422, "an override needs a reason", "reason")
                stop_ = bool(stop)
                if stop_:
                    nd = None
                elif nd is None:
                    raise ServeError(422, "give the next dose level (or stop)", "next_dose")
                if nd == last.rec_next_dose and stop_ == bool(last.rec_stop) and not stop_:
                    raise ServeError(422, "equals the recommendation; use follow", "next_dose")
            dec = Decision(trial_id=trial_id, cohort_seq=k, action=action, next_dose=nd,
                           stop=stop_, mtd=md if stop_ else None, reason=reason.strip(),
                           decided_by=who.username, decided_at=audit.now_iso())  # fmt: skip
            s.add(dec)
            s.flush()
            audit.append(s, who.username, "record decision", "decision", dec.id,
                         trial_id=trial_id, after=snapshot(dec))  # fmt: skip
            if stop_:
                before = snapshot(trial)
                trial.status = "stopped"
                s.flush()
                audit.append(s, who.username, "stop trial", "trial", trial.id, trial_id=trial.id,
                             before=before, after=snapshot(trial))  # fmt: skip
            return snapshot(dec)
    except IntegrityError:
        raise ServeError(409, "a decision was recorded at the same time", "cohort") from None
