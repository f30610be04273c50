"""The server's request fields go through il2sim.checks (issue 16 item 1): the same rule and
message as the CLI for seeds, counts, doses, probabilities and text; HTTP 422 with one line
naming the field and the value, nothing stored.

Before: ``float()``/``int()``/``str.isdigit()`` took Arabic-Indic and full-width digits,
``1_000`` and subnormals, a NUL byte in a name was stored, ``oc_seed: 0`` silently became 1,
and a cohort number ``"²"`` (``isdigit`` but not ``int``) was an HTTP 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from serve_helpers import BOIN_PROTOCOL, PASSWORD, client_for, login


def _client(sqlite_url: str) -> tuple[Any, dict[str, str]]:
    from il2sim.serve import service
    from il2sim.serve.app import create_app
    from il2sim.serve.db import open_database

    db = open_database(sqlite_url)
    service.create_user(db, "test", "stat", "statistician", PASSWORD)
    c = client_for(create_app(db))
    return c, login(c, "stat")


def _one_line_422(r: Any, field: str, shown: str) -> None:
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["field"] == field, err
    assert "\n" not in err["error"] and "Traceback" not in r.text
    assert err["error"].startswith(f"{field}: ") and shown in err["error"], err


PROTOCOLS = [
    ({"name": "BOIN\x00trial"}, "name", "\\x00"),
    ({"name": "two\nlines"}, "name", "\\n"),
    ({"name": "x" * 201}, "name", "201 characters"),
    ({"doses": ["١.٥ MIU/m2", "2 MIU/m2"]}, "doses", "١.٥"),
    ({"doses": [1e-320, 0.5]}, "doses", "1e-320"),
    ({"doses": ["0.4", "nan"]}, "doses", "nan"),
    ({"options": {"target": "٠.٣"}}, "options.target", "٠.٣"),
    ({"options": {"target": 1e-320}}, "options.target", "1e-320"),
    ({"options": {"cohort_size": "１２"}}, "options.cohort_size", "１２"),
    ({"options": {"cohort_size": "1_000"}}, "options.cohort_size", "1_000"),
    ({"options": {"cohort_size": 0}}, "options.cohort_size", "got 0"),
    ({"oc_seed": -1}, "oc_seed", "got -1"),
    ({"oc_seed": "١"}, "oc_seed", "١"),
    ({"oc_trials": "2e3"}, "oc_trials", "2e3"),
    ({"max_cohorts": "１０"}, "max_cohorts", "１０"),
    ({"scenarios": [{"truth": [0.1, 0.2, "١"]}]}, "scenarios[1].truth", "١"),
    ({"scenarios": [{"truth": [0.1, 0.2, 1.5]}]}, "scenarios[1].truth", "1.5"),
    ({"scenarios": [{"name": "a\x07b", "truth": [0.1, 0.2, 0.3]}]}, "scenarios[1].name", "\\x07"),
    ({"regimen": "{dose} sc\x00 qd x3"}, "regimen", "\\x00"),
]


@pytest.mark.parametrize(("over", "field", "shown"), PROTOCOLS, ids=[p[1] + "-" + str(i) for i, p in enumerate(PROTOCOLS)])  # fmt: skip
def test_protocol_fields_are_checked(
    sqlite_url: str, over: dict[str, Any], field: str, shown: str
) -> None:
    c, h = _client(sqlite_url)
    body = {**BOIN_PROTOCOL, **over}
    if "scenarios" in over:
        body["doses"] = [0.4, 0.6, 0.8]
    r = c.post("/api/trials", json=body, headers=h)
    _one_line_422(r, field, shown)
    assert c.get("/api/trials", headers=h).json() == []


def test_oc_seed_zero_is_a_seed(sqlite_url: str) -> None:
    c, h = _client(sqlite_url)
    r = c.post("/api/trials", json={**BOIN_PROTOCOL, "oc_seed": 0}, headers=h)
    assert r.status_code == 201, r.text
    state = c.get(f"/api/trials/{r.json()['id']}").json()
    assert state["protocol"]["oc_seed"] == 0


COHORTS = [
    ({"dose_level": 1, "outcomes": "NNN", "cohort": "²"}, "cohort", "²"),
    ({"dose_level": 1, "outcomes": "NNN", "cohort": "١"}, "cohort", "١"),
    ({"dose_level": "١", "outcomes": "NNN"}, "dose_level", "١"),
    ({"dose_level": 1.5, "outcomes": "NNN"}, "dose_level", "1.5"),
    ({"dose_level": 1, "outcomes": "NNT", "dlt_days": [None, None, "١٠"]}, "dlt_days", "١٠"),
    ({"dose_level": 1, "outcomes": "NNT", "dlt_days": [None, None, 1e-320]}, "dlt_days", "1e-320"),
]


@pytest.mark.parametrize(("body", "field", "shown"), COHORTS, ids=[c[1] + "-" + str(i) for i, c in enumerate(COHORTS)])  # fmt: skip
def test_cohort_fields_are_checked(
    sqlite_url: str, body: dict[str, Any], field: str, shown: str
) -> None:
    c, h = _client(sqlite_url)
    tid = c.post("/api/trials", json=BOIN_PROTOCOL, headers=h).json()["id"]
    r = c.post(f"/api/trials/{tid}/cohorts", json=body, headers=h)
    _one_line_422(r, field, shown)
    assert c.get(f"/api/trials/{tid}").json()["cohorts"] == []


@pytest.mark.parametrize(
    ("body", "field", "shown"),
    [({"action": "override", "next_dose": "²", "reason": "x"}, "next_dose", "²"),
     ({"action": "override", "next_dose": 1, "reason": "why\x00"}, "reason", "\\x00"),
     ({"action": "follow", "cohort": "１"}, "cohort", "１")],
)  # fmt: skip
def test_decision_fields_are_checked(
    sqlite_url: str, body: dict[str, Any], field: str, shown: str
) -> None:
    c, h = _client(sqlite_url)
    tid = c.post("/api/trials", json=BOIN_PROTOCOL, headers=h).json()["id"]
    r = c.post(f"/api/trials/{tid}/cohorts", json={"dose_level": 1, "outcomes": "NNN"}, headers=h)
    assert r.status_code == 201, r.text
    r = c.post(f"/api/trials/{tid}/decisions", json=body, headers=h)
    _one_line_422(r, field, shown)
