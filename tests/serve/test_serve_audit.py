"""The audit trail: one row per change with before/after, a hash chain that ``il2sim audit
verify`` checks (exit 0 intact; exit 1 naming the first bad row when a row is altered or
removed or a data table is changed behind the trail), and triggers that refuse updates."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from serve_helpers import BOIN_PROTOCOL, client_for, login
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def _verify(url: str) -> tuple[int, str]:
    from typer.testing import CliRunner

    from il2sim.cli.main import app

    r = CliRunner().invoke(app, ["audit", "verify", "--db", url])
    return r.exit_code, r.output


def _fill(app: Any) -> int:
    c = client_for(app)
    h = login(c, "stat")
    tid = c.post("/api/trials", json=BOIN_PROTOCOL, headers=h).json()["id"]
    for level, letters in ((1, "NNN"), (2, "NTN"), (2, "NNN")):
        assert c.post(f"/api/trials/{tid}/cohorts", json={"dose_level": level, "outcomes": letters},
                      headers=h).status_code == 201  # fmt: skip
    assert (
        c.post(f"/api/trials/{tid}/decisions", json={"action": "follow"}, headers=h).status_code
        == 201
    )
    return int(tid)


def _raw(db: Any, *sql: str) -> None:
    """Run SQL behind the application's back, with the append-only triggers switched off."""
    with db.engine.begin() as conn:
        if db.dialect == "sqlite":
            for t in ("audit", "cohorts"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {t}_no_update")
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {t}_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit DISABLE TRIGGER audit_append_only")
            conn.exec_driver_sql("ALTER TABLE cohorts DISABLE TRIGGER cohorts_append_only")
        for q in sql:
            conn.execute(text(q))


def test_intact_chain_verifies(app: Any, db_url: str) -> None:
    _fill(app)
    code, out = _verify(db_url)
    assert code == 0, out
    # users (4) + logins, create, freeze, 3 cohorts, decision
    assert "audit chain intact" in out


def test_every_change_has_who_when_before_after(app: Any) -> None:
    tid = _fill(app)
    rows = client_for(app)
    h = login(rows, "view")
    assert h
    audit = rows.get(f"/api/trials/{tid}/audit").json()
    freeze = next(r for r in audit if r["action"] == "freeze protocol")
    assert freeze["before"]["frozen_at"] is None and freeze["after"]["frozen_at"] is not None
    assert all(r["actor"] == "stat" and r["at"].endswith("Z") for r in audit)
    ids = [r["id"] for r in audit]
    assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("sql", "bad"),
    [
        ("UPDATE audit SET actor = 'mallory' WHERE id = 7", 7),
        (
            "UPDATE audit SET after_json = replace(after_json, 'NTN', 'NNN') WHERE action = 'enter cohort'",
            None,
        ),
        ("DELETE FROM audit WHERE id = 5", 5),
        ("DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)", -1),
        ("UPDATE cohorts SET outcomes = 'NNN' WHERE seq = 2", "cohort"),
    ],
)
def test_tampering_is_found(app: Any, db_url: str, sql: str, bad: Any) -> None:
    from il2sim.serve.models import AuditRow

    _fill(app)
    db = app.state.db
    with db.read() as s:
        n = s.query(AuditRow).count()
        cohort_row = next(r.id for r in s.query(AuditRow).order_by(AuditRow.id)
                          if r.action == "enter cohort" and '"cohort":2' in r.after_json)  # fmt: skip
    _raw(db, sql)
    code, out = _verify(db_url)
    assert code == 1, out
    expected = {None: cohort_row, -1: n, "cohort": cohort_row}.get(bad, bad)
    assert f"row {expected}" in out, out


def test_append_only_triggers(app: Any) -> None:
    _fill(app)
    db = app.state.db
    for sql in ("UPDATE audit SET actor = 'x' WHERE id = 1", "DELETE FROM audit WHERE id = 1",
                "UPDATE cohorts SET outcomes = 'TTT'", "DELETE FROM decisions"):  # fmt: skip
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(sql))


def test_audit_verify_command_line(tmp_path: Any) -> None:
    """The real command: exit 0, then 1 naming the row after tampering; exit 2 on no database."""
    from il2sim.serve import service
    from il2sim.serve.db import open_database

    url = f"sqlite:///{tmp_path / 'a.db'}"
    db = open_database(url)
    service.create_user(db, "test", "stat", "statistician", "correct horse battery")
    service.create_user(db, "test", "inv", "investigator", "correct horse battery")
    cmd = [sys.executable, "-m", "il2sim.cli.main", "audit", "verify", "--db", url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "intact: 2 rows" in r.stdout, r.stderr
    _raw(db, "UPDATE audit SET actor = 'mallory' WHERE id = 2")
    db.dispose()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "row 2" in r.stderr and "altered" in r.stderr, (r.stdout, r.stderr)
    r = subprocess.run([*cmd[:-1], f"sqlite:///{tmp_path / 'none.db'}"], capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "db:" in r.stderr
