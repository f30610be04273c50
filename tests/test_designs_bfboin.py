"""BF-BOIN (Zhao, Yuan, Korn & Freidlin 2024, Clin Cancer Res 30:673) against R ``bfboin``
0.1.1 (openpharma/bfboin 03a1b83): 40 simulated trials logged event by event from the
package's own ``sim.one.trial`` (every arrival's assignment: escalation, backfill at a dose,
turned away; every cohort decision; the final MTD) replayed through ``BFBOIN.fit()``; and the
OC of ``get.oc.bf`` (10,000 trials, scenarios of the paper's Table 3) against the controller.
References in ``tests/data/r_reference/bfboin.json`` with their calls."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from il2sim.designs import Outcomes, build_design
from il2sim.designs.bfboin import BFBOIN
from il2sim.designs.controller import Caps, TrialController
from il2sim.designs.sources import BernoulliSource
from il2sim.designs.spec import DesignSpec
from il2sim.errors import DesignError

REF = json.loads((Path(__file__).parent / "data" / "r_reference" / "bfboin.json").read_text())


class _History:
    """The patients of a traced trial (window 1 month, as the package)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, float, int, int, bool, float, int]] = []

    def add(self, ev: dict[str, Any], backfill: bool, cohort: int) -> None:
        ts = ev["tstar"] if ev["dlt"] else math.inf
        self.rows.append((ev["d"], ts, ev["dlt"], ev.get("resp", 0), backfill, ev["t"], cohort))

    def view(self, now: float) -> Outcomes:
        d, ts, y, r, b, e, c = (np.array(v) for v in zip(*self.rows, strict=True))
        obs = (y > 0) & (e + ts <= now)
        fu = np.where(obs, ts, np.minimum(now - e, 1.0))
        ef = (r > 0) & (e + 1.0 <= now)
        return Outcomes(d.astype(int), obs.astype(int), c.astype(int), fu, e, ef.astype(int),
                        b.astype(bool), now)  # fmt: skip


def _replay(trial: dict[str, Any]) -> list[str]:
    a = trial["args"]
    des = BFBOIN(target=a["target"], n_doses=len(a["p.true"]), cohort_size=3,
                 n_earlystop=a["n.earlystop"], extrasafe=a["extrasafe"], window_days=1.0,
                 n_cap=a["n.cap"])  # fmt: skip
    h = _History()
    errors: list[str] = []
    cohort, after_eval = 0, True
    for i, ev in enumerate(trial["trace"]):
        kind = ev["ev"]
        dec = des.fit(h.view(ev["t"])).decision() if (h.rows and kind != "esc") or (
            kind == "esc" and not after_eval) else None  # fmt: skip
        if kind == "esc":
            if after_eval:
                cohort += 1
                after_eval = False
            elif dec is None or dec.next_dose != ev["d"] or dec.backfill or dec.wait or dec.stop:
                errors.append(f"{i} esc {ev} -> {dec}")
            h.add(ev, False, cohort)
        elif kind == "eval":
            assert dec is not None
            if dec.stop or dec.next_dose != ev["newd"] or dec.backfill or dec.wait:
                errors.append(f"{i} eval {ev} -> {dec}")
            after_eval = True
        elif kind == "bf":
            if dec is None or not dec.backfill or dec.next_dose != ev["d"]:
                errors.append(f"{i} bf {ev} -> {dec}")
            h.add(ev, True, 10**6 + i)
        elif kind == "away":
            if dec is None or not dec.wait:
                errors.append(f"{i} away {ev} -> {dec}")
        else:  # end: stopped at an arrival (no eval before) or after the last cohort
            if not after_eval and (dec is None or not dec.stop):
                errors.append(f"{i} stop {ev} -> {dec}")
            mtd = None if ev["earlystop"] == 1 else des.fit(h.view(math.inf)).final_mtd()
            want = None if ev["dselect"] == 99 else ev["dselect"]
            if mtd != want:
                errors.append(f"final MTD {mtd} != {want}")
    return errors


@pytest.mark.parametrize("trial", REF["traces"]["trials"], ids=lambda t: f"case{t['case']}-{t['seed']}")
def test_bfboin_traces_replay_decision_by_decision(trial: dict[str, Any]) -> None:
    """Every arrival of a bfboin trial (assignment to the cohort, to a backfill dose, turned
    away), every cohort decision (incl. pooled conflicts, elimination, n_earlystop, extrasafe)
    and the final select.mtd equal the package's."""
    assert _replay(trial) == []


def _oc(k: str, n_trials: int) -> dict[str, Any]:
    sc = REF["oc"]["scenarios"][k]
    des = build_design("bf-boin", n_doses=5, target=0.25, n_earlystop=9)
    src = BernoulliSource(tuple(sc["p_dlt"]), tuple(sc["p_response"]))
    sim = TrialController(des, src, Caps(10, None)).run(n_trials, 20240, keep_records=True)
    sel = np.array([r.selected or 0 for r in sim.records])
    n_eval = []
    for r in sim.records:  # bfboin counts backfill patients finished by the end (module doc)
        end = r.duration_days  # the last cohort's last DLT or window end
        n = 0
        for c in r.cohorts:
            days = c.entry_days + np.minimum(np.asarray(c.dlt_days), 30.0)
            n += c.size if not c.decision.backfill else int((days < end).sum())
        n_eval.append(n)
    return {"sel": sel, "n": np.array(n_eval, float), "dur": sim.trials.duration_days / 30.0}


def test_oc_within_monte_carlo_error_of_get_oc_bf() -> None:
    """Scenario 2 of Zhao et al. (Table 3): selection %, mean N (patients finished by the end,
    as bfboin counts) and duration (months) within 4 combined SEs of 10,000 bfboin trials."""
    sc = REF["oc"]["scenarios"]["2"]
    n_trials = 300
    got = _oc("2", n_trials)
    for j in range(5):
        p, q = np.mean(got["sel"] == j + 1), sc["selpercent"][j] / 100
        se = math.hypot(math.sqrt(q * (1 - q) / n_trials), sc["selpercent_se"][j] / 100)
        assert abs(p - q) <= 4 * se + 1e-12, (j, 100 * p, 100 * q)
    for key, ref, ref_se in (("n", sc["totaln"], sc["totaln_se"]),
                             ("dur", sc["duration_months"], sc["duration_se"])):  # fmt: skip
        v = got[key]
        se = math.hypot(v.std(ddof=1) / math.sqrt(n_trials), ref_se)
        assert abs(v.mean() - ref) <= 4 * se, (key, v.mean(), ref, se)


def test_backfill_option_builds_bf_boin_and_refuses_other_designs() -> None:
    des = DesignSpec("boin", target=0.25, n_doses=5, backfill=True).build()
    assert isinstance(des, BFBOIN) and des.backfill
    with pytest.raises(DesignError) as ei:
        DesignSpec("crm", target=0.25, skeleton="0.1,0.2,0.3", backfill=True).build()
    assert ei.value.field == "backfill"
    with pytest.raises(DesignError):
        build_design("bf-boin", n_doses=5, target=0.25, max_patients=30)
