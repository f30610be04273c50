"""The JSON API end to end on SQLite and PostgreSQL: protocol, freeze, cohorts with stored
recommendations, decisions, conflicts, one-line errors, exports."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pandas as pd
import pytest
from serve_helpers import BOIN_PROTOCOL, client_for, login


def _trial(client: Any, h: dict[str, str], **over: Any) -> int:
    r = client.post("/api/trials", json={**BOIN_PROTOCOL, **over}, headers=h)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_conduct_flow(app: Any) -> None:
    c = client_for(app)
    h = login(c, "stat")
    tid = _trial(c, h)
    state = c.get(f"/api/trials/{tid}").json()
    assert state["frozen_at"] is None and state["recommendation"]["next_dose"] == 1
    # the protocol may change before the first patient
    r = c.put(f"/api/trials/{tid}/protocol", json={**BOIN_PROTOCOL, "name": "BOIN amended"},
              headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    sha = r.json()["protocol_sha256"]
    # BOIN, target 0.25: escalate on 0/3, de-escalate on 2/3 (lambda_e 0.197, lambda_d 0.298)
    expect = [(1, "NNN", 2, "escalate"), (2, "NTT", 1, "de-escalate"), (1, "NNN", 2, "escalate")]
    for k, (level, letters, nxt, reason) in enumerate(expect, start=1):
        r = c.post(f"/api/trials/{tid}/cohorts",
                   json={"dose_level": level, "outcomes": letters, "cohort": k}, headers=h)  # fmt: skip
        assert r.status_code == 201, r.text
        rec = r.json()["recommendation"]
        assert (r.json()["cohort"], rec["next_dose"], rec["stop"], rec["reason"]) == (
            k, nxt, False, reason)  # fmt: skip
        if k == 1:
            assert c.get(f"/api/trials/{tid}").json()["frozen_at"] is not None
    state = c.get(f"/api/trials/{tid}").json()
    assert state["protocol_sha256"] == sha and state["outcomes"] == "1NNN 2NTT 1NNN"
    assert state["n_patients"] == 9 and state["awaiting_decision"]
    # frozen now
    r = c.put(f"/api/trials/{tid}/protocol", json=BOIN_PROTOCOL, headers=h)
    assert r.status_code == 409 and "frozen" in r.json()["error"]
    # the same cohort number again: conflict, nothing stored
    r = c.post(f"/api/trials/{tid}/cohorts", json={"dose_level": 2, "outcomes": "NNN", "cohort": 3},
               headers=h)  # fmt: skip
    assert r.status_code == 409 and r.json()["field"] == "cohort"
    assert len(c.get(f"/api/trials/{tid}").json()["cohorts"]) == 3
    # decisions: override needs a reason; follow copies the recommendation
    r = c.post(f"/api/trials/{tid}/decisions", json={"action": "override", "next_dose": 1},
               headers=h)  # fmt: skip
    assert r.status_code == 422 and r.json()["field"] == "reason"
    r = c.post(f"/api/trials/{tid}/decisions", json={"action": "follow"}, headers=h)
    assert r.status_code == 201 and r.json()["decision"]["next_dose"] == 2
    r = c.post(f"/api/trials/{tid}/decisions", json={"action": "follow"}, headers=h)
    assert r.status_code == 409
    # the next cohort at another dose is entered but flagged
    r = c.post(f"/api/trials/{tid}/cohorts", json={"dose_level": 3, "outcomes": "NNN"}, headers=h)
    assert r.status_code == 201
    last = c.get(f"/api/trials/{tid}").json()["cohorts"][-1]
    assert "differs from the decision" in last["deviation"]
    r = c.post(f"/api/trials/{tid}/decisions",
               json={"action": "override", "stop": True, "mtd": 2, "reason": "safety review"},
               headers=h)  # fmt: skip
    assert r.status_code == 201
    assert c.get(f"/api/trials/{tid}").json()["status"] == "stopped"
    r = c.post(f"/api/trials/{tid}/cohorts", json={"dose_level": 2, "outcomes": "NNN"}, headers=h)
    assert r.status_code == 409
    actions = [a["action"] for a in c.get(f"/api/trials/{tid}/audit").json()]
    assert actions == ["create trial", "amend protocol", "freeze protocol", "enter cohort",
                       "enter cohort", "enter cohort", "record decision", "enter cohort",
                       "record decision", "stop trial"]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"dose_level": 0, "outcomes": "NNN"}, "dose_level"),
        ({"dose_level": 6, "outcomes": "NNN"}, "dose_level"),
        ({"dose_level": "two", "outcomes": "NNN"}, "dose_level"),
        ({"dose_level": 1, "outcomes": "NNX"}, "outcomes"),
        ({"dose_level": 1, "outcomes": ""}, "outcomes"),
        ({"dose_level": 2, "outcomes": "1NNN"}, "outcomes"),
        ({"dose_level": 1, "outcomes": "NNT", "dlt_days": [None, 3, None]}, "dlt_days"),
        ({"dose_level": 1, "outcomes": "NNT", "dlt_days": [1, 2]}, "dlt_days"),
        ({"dose_level": 1, "outcomes": "NNT", "dlt_days": [None, None, -1]}, "dlt_days"),
        ({"dose_level": 1, "outcomes": "NNN", "cohort": "x"}, "cohort"),
        ({"dose_level": 1, "outcomes": "NNN", "colour": "red"}, "colour"),
    ],
)
def test_bad_cohorts_are_422_naming_the_field(
    sqlite_url: str, body: dict[str, Any], field: str
) -> None:
    from serve_helpers import PASSWORD

    from il2sim.serve import service
    from il2sim.serve.app import create_app
    from il2sim.serve.db import open_database

    db = open_database(sqlite_url)
    service.create_user(db, "test", "stat", "statistician", PASSWORD)
    c = client_for(create_app(db))
    h = login(c, "stat")
    tid = _trial(c, h)
    r = c.post(f"/api/trials/{tid}/cohorts", json=body, headers=h)
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["field"] == field and "\n" not in err["error"] and "Traceback" not in r.text
    assert c.get(f"/api/trials/{tid}").json()["cohorts"] == []


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"design": "bogus"}, "design"),
        ({"doses": [0.4, -1]}, "doses"),
        ({"doses": [0.8, 0.4]}, "doses"),
        ({"doses": []}, "doses"),
        ({"dose_unit": "furlongs"}, "dose_unit"),
        ({"options": {"target": 1.5}}, "options.target"),  # the option as given (i16: option_rules)
        ({"options": {"colour": 1}}, "options.colour"),
        ({"options": "--target"}, "options"),
        ({"cohort_size": "three"}, "options.cohort_size"),
        ({"target": 0.3}, "target"),
        ({"regimen": "{dose} sc qd x"}, "regimen"),
        ({"name": ""}, "name"),
        ({"scenarios": [{"truth": [0.1, 0.2]}]}, "scenarios"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_protocols_are_422_naming_the_field(
    sqlite_url: str, over: dict[str, Any], field: str
) -> None:
    from serve_helpers import PASSWORD

    from il2sim.serve import service
    from il2sim.serve.app import create_app
    from il2sim.serve.db import open_database

    db = open_database(sqlite_url)
    service.create_user(db, "test", "stat", "statistician", PASSWORD)
    c = client_for(create_app(db))
    h = login(c, "stat")
    r = c.post("/api/trials", json={**BOIN_PROTOCOL, **over}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field, r.json()
    assert c.get("/api/trials").json() == []


def test_malformed_requests(sqlite_url: str) -> None:
    from serve_helpers import PASSWORD

    from il2sim.serve import service
    from il2sim.serve.app import create_app
    from il2sim.serve.db import open_database

    db = open_database(sqlite_url)
    service.create_user(db, "test", "stat", "statistician", PASSWORD)
    c = client_for(create_app(db))
    h = login(c, "stat")
    r = c.post(
        "/api/trials", content=b"{not json", headers={**h, "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["field"] == "body"
    r = c.post("/api/trials", content=b"name=x", headers={**h, "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = c.get("/api/trials/abc")
    assert r.status_code == 422 and "trial_id" in r.json()["error"]
    assert c.get("/api/trials/999").status_code == 404
    assert c.get("/api/nothing").status_code == 404


def test_protocol_options_as_cli_text_and_exports(app: Any) -> None:
    c = client_for(app)
    h = login(c, "stat")
    tid = _trial(c, h, design="crm", options="--skeleton 0.05,0.12,0.25,0.4,0.55 --no-skip",
                 target=0.25, scenarios=[{"name": "flat", "truth": [0.05, 0.1, 0.25, 0.4, 0.5]}])  # fmt: skip
    proto = c.get(f"/api/trials/{tid}").json()["protocol"]
    assert proto["options"] == {"skeleton": [0.05, 0.12, 0.25, 0.4, 0.55], "no_skip": True,
                                "target": 0.25, "cohort_size": 3}  # fmt: skip
    for lv, o in [(1, "NNN"), (2, "NNT"), (2, "NNN")]:
        assert c.post(f"/api/trials/{tid}/cohorts", json={"dose_level": lv, "outcomes": o,
                      "dlt_days": [None, None, 12] if "T" in o else None}, headers=h).status_code == 201  # fmt: skip
    oc = c.get(f"/api/trials/{tid}/oc").json()
    sc = oc["scenarios"][0]
    assert (
        sc["error"] is None
        and abs(sum(sc["oc"]["selection_pct"]) + sc["oc"]["none_selected_pct"] - 100) < 1e-6
    )
    assert oc == c.get(f"/api/trials/{tid}/oc").json()  # cached, identical
    paths = c.get(f"/api/trials/{tid}/paths").json()
    assert paths["start"] == "1NNN 2NNT 2NNN" and paths["cohorts_ahead"] == 2
    assert len([n for n in paths["nodes"] if n["depth"] == 1]) == 4  # 0..3 DLTs of 3
    z = zipfile.ZipFile(io.BytesIO(c.get(f"/api/trials/{tid}/export/sdtm.zip").content))
    names = {n.split("/")[-1] for n in z.namelist()}
    assert {"dm.csv", "ex.csv", "ae.csv", "suppae.csv", "ts.csv", "decision.csv", "dm.parquet",
            "define.xml"} <= names  # fmt: skip
    dm = pd.read_csv(z.open(next(n for n in z.namelist() if n.endswith("/dm.csv"))))
    ae = pd.read_csv(z.open(next(n for n in z.namelist() if n.endswith("/ae.csv"))))
    supp = pd.read_csv(z.open(next(n for n in z.namelist() if n.endswith("/suppae.csv"))))
    dec = pd.read_csv(z.open(next(n for n in z.namelist() if n.endswith("/decision.csv"))),
                      keep_default_na=False)
    assert len(dm) == 9 and list(ae["AESTDY"]) == [13.0]
    assert list(supp["QNAM"]) == ["AEDLT"] and list(supp["QVAL"]) == ["Y"]
    assert list(dec["COHORT"]) == [1, 2, 3] and set(dec["TEAMACT"]) <= {"", "FOLLOW", "OVERRIDE"}
    doc = json.loads(c.get(f"/api/trials/{tid}/export.json").content)
    assert doc["trial"]["id"] == tid and len(doc["audit"]) == 5 and doc["exported_by"] == "stat"


def test_html_pages_render(app: Any) -> None:
    c = client_for(app)
    assert c.get("/trials", follow_redirects=False).status_code == 303
    h = login(c, "stat")
    tid = _trial(c, h)
    c.post(f"/api/trials/{tid}/cohorts", json={"dose_level": 1, "outcomes": "NNN"}, headers=h)
    page = c.get(f"/trials/{tid}")
    assert page.status_code == 200 and "Current recommendation" in page.text
    assert "Dose transition pathways" in page.text and "Operating characteristics" in page.text
    svg = c.get(f"/trials/{tid}/plot.svg")
    assert svg.status_code == 200 and svg.content.lstrip().startswith(b"<?xml")
    assert "content-security-policy" in page.headers
    assert c.get(f"/trials/{tid}/audit").status_code == 200
