"""The append-only, hash-chained audit trail and its verifier.

Each change writes one :class:`~il2sim.serve.models.AuditRow` in the same transaction as the
change: who (``actor``), when (``at``, UTC), what (``action`` on ``entity``/``entity_id``) and
the entity's state before and after (canonical JSON).  Row ``k`` stores
``hash_k = SHA-256(canonical JSON of {id, at, actor, action, entity, entity_id, trial_id,
before, after, prev_hash = hash_(k-1)})`` with 64 zeros before row 1, so altering any stored
field, removing a row, or reordering rows breaks the chain from that row on.

:func:`verify` checks, in order: ids run 1, 2, 3, ... without gaps; each ``prev_hash`` equals
the previous row's hash; each hash recomputes; the head row names the last row; and every
cohort, patient, decision, trial and user row still equals the state its last audit row
recorded (so a table edited behind the application's back, or a removed last row, is found).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from il2sim.serve.models import AuditHead, AuditRow, Cohort, Decision, Patient, Trial, User

__all__ = ["GENESIS", "VerifyResult", "append", "canonical", "now_iso", "row_hash", "verify"]

GENESIS = "0" * 64


def canonical(obj: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, UTF-8 characters kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def now_iso() -> str:
    """Now, UTC, ISO 8601 with microseconds and ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: The fields of a row as stored, in the order of the hashed payload and of :func:`audit_dict`.
_FIELDS = ("id", "at", "actor", "action", "entity", "entity_id", "trial_id")


def _fields(row: AuditRow, before: Any, after: Any) -> dict[str, Any]:
    out = {name: getattr(row, name) for name in _FIELDS}
    out.update(before=before, after=after, prev_hash=row.prev_hash)
    return out


def row_hash(row: AuditRow) -> str:
    """The hash that ``row`` should carry, from its stored fields and ``prev_hash``."""
    payload = _fields(row, row.before_json, row.after_json)
    return hashlib.sha256(canonical(payload).encode("utf-8")).hexdigest()


def append(
    s: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    *,
    trial_id: int | None = None,
    before: Any = None,
    after: Any = None,
) -> AuditRow:
    """Append one row in the caller's (writing) transaction and move the head."""
    head = s.get(AuditHead, 1)
    if head is None:  # pragma: no cover - created by the first migration
        raise RuntimeError("audit_head row missing; run the migrations")
    row = AuditRow(
        id=head.last_id + 1,
        at=now_iso(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        trial_id=trial_id,
        before_json=canonical(before),
        after_json=canonical(after),
        prev_hash=head.last_hash,
        hash="",
    )
    row.hash = row_hash(row)
    s.add(row)
    head.last_id = row.id
    head.last_hash = row.hash
    s.flush()
    return row


def audit_dict(row: AuditRow) -> dict[str, Any]:
    """JSON-ready form of a row (before/after decoded)."""
    out = _fields(row, json.loads(row.before_json), json.loads(row.after_json))
    out["hash"] = row.hash
    return out


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`: ``ok``, rows checked, the first bad row and why."""

    ok: bool
    n_rows: int
    last_hash: str
    bad_row: int | None = None
    problem: str = ""

    def message(self) -> str:
        """One line for the terminal."""
        if self.ok:
            return f"audit chain intact: {self.n_rows} rows, last hash {self.last_hash}"
        if self.bad_row is None:
            return f"audit trail incomplete: {self.problem}"
        return f"audit chain broken at row {self.bad_row}: {self.problem}"


def _state_checks(
    s: Session, last_after: dict[tuple[str, str], tuple[int, str]]
) -> Iterable[tuple[int | None, str]]:
    """(row id, problem) for entity rows that differ from their last audit state."""
    from il2sim.serve.snapshot import snapshot  # the one definition of each entity's state

    patients: dict[int, list[Patient]] = {}
    for p in s.scalars(select(Patient).order_by(Patient.patient_no)):
        patients.setdefault(p.cohort_id, []).append(p)
    tables: list[tuple[str, type[Any], Callable[[Any], str]]] = [
        ("trial", Trial, lambda r: str(r.id)),
        ("cohort", Cohort, lambda r: str(r.id)),
        ("decision", Decision, lambda r: str(r.id)),
        ("user", User, lambda r: str(r.username)),
    ]
    for entity, model, key in tables:
        for obj in s.scalars(select(model).order_by(model.id)):
            k = (entity, key(obj))
            if k not in last_after:
                yield None, f"{entity} {k[1]} has no audit row (entered behind the audit trail)"
                continue
            rid, after = last_after[k]
            state = snapshot(obj, patients.pop(obj.id, [])) if entity == "cohort" else snapshot(obj)
            if canonical(state) != after:
                yield rid, f"{entity} {k[1]} differs from the state audit row {rid} recorded"
    for cohort_id in patients:
        yield None, f"patients of cohort id {cohort_id} have no cohort (entered behind the trail)"


def verify(s: Session) -> VerifyResult:
    """Verify the chain and the data against it (read-only)."""
    prev = GENESIS
    expected_id = 1
    n = 0
    last_after: dict[tuple[str, str], tuple[int, str]] = {}
    for row in s.scalars(select(AuditRow).order_by(AuditRow.id)).yield_per(2000):
        n += 1
        if row.id != expected_id:
            return VerifyResult(
                False,
                n - 1,
                prev,
                expected_id,
                f"row {expected_id} is missing (removed); the next row is {row.id}",
            )
        if row.prev_hash != prev:
            return VerifyResult(
                False,
                n - 1,
                prev,
                row.id,
                "its prev_hash does not match the previous row's "
                "hash (a row before it was altered or removed)",
            )
        if row_hash(row) != row.hash:
            return VerifyResult(
                False, n - 1, prev, row.id, "its contents do not match its hash (altered)"
            )
        if row.after_json != "null":
            last_after[(row.entity, row.entity_id)] = (row.id, row.after_json)
        prev = row.hash
        expected_id += 1
    head = s.get(AuditHead, 1)
    if head is None or head.last_id != n or head.last_hash != prev:
        last = head.last_id if head is not None else 0
        missing = n + 1 if last > n else n
        return VerifyResult(
            False,
            n,
            prev,
            missing,
            f"the chain head names row {last} with another hash; "
            f"rows after {n} were removed or the head was altered",
        )
    for rid, problem in _state_checks(s, last_after):
        return VerifyResult(False, n, prev, rid, problem)
    return VerifyResult(True, n, prev)
