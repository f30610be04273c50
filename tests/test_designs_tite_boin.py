"""TITE-BOIN (Yuan et al. 2018) against the CRAN package TITEgBOIN 0.4.0 (the runnable R
implementation; BOIN 2.7.2 has none): its decision table, its conduct examples and its
simulated operating characteristics.  References copied into
``tests/data/r_reference/titegboin.json`` from /work/research/i13 (tite_boin.md, scripts/tite_boin.R).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from il2sim.designs import Outcomes, build_design, simulate_trials

REF = json.loads((Path(__file__).parent / "data" / "r_reference" / "titegboin.json").read_text())


def _outcomes(n: list[int], npend: list[int], y: list[int], ft: list[float], d: int,
              window: float) -> Outcomes:  # fmt: skip
    """Patients per dose (the current dose ``d`` last): y DLTs, ``npend`` pending sharing the
    follow-up ``ft`` equally, the rest complete."""
    dose: list[int] = []
    dlt: list[int] = []
    fu: list[float] = []
    order = [j for j in range(len(n)) if j != d - 1] + [d - 1]
    for j in order:
        for i in range(n[j]):
            dose.append(j + 1)
            dlt.append(1 if i < y[j] else 0)
            pending = npend[j] and i >= n[j] - npend[j]
            fu.append(ft[j] / npend[j] if pending else np.inf)
    return Outcomes(np.array(dose), np.array(dlt), np.arange(1, len(dose) + 1), np.array(fu))


def _vec(call: str, name: str) -> list[float]:
    m = re.search(rf"[ (,]{re.escape(name)}=c\(([^)]*)\)", call)
    assert m is not None
    return [float(v) for v in m.group(1).split(",")]


def _opt(call: str, name: str) -> str | None:
    m = re.search(rf"[ (,]{re.escape(name)}=([\w.]+)", call)
    return m.group(1) if m else None


@pytest.mark.parametrize("case", REF["conduct"], ids=[c["label"][:40] for c in REF["conduct"]])
def test_conduct_examples(case: dict[str, Any]) -> None:
    """next_TITE_QuasiBOIN's next dose, suspension and stop flags."""
    call, res = case["call"], case["result"]
    n = [int(v) for v in _vec(call, "n")]
    opts: dict[str, Any] = {}
    if _opt(call, "extrasafe") == "TRUE":
        opts["extrasafe"] = True
        opts["offset"] = float(_opt(call, "offset") or 0.05)
    if _opt(call, "n.earlystop"):
        opts["n_earlystop"] = int(_opt(call, "n.earlystop") or 100)
    des = build_design("tite-boin", target=0.3, n_doses=len(n), window_days=28, **opts)
    d = int(_opt(call, "d") or 1)
    o = _outcomes(n, [int(v) for v in _vec(call, "npend")], [int(v) for v in _vec(call, "y")],
                  _vec(call, "ft"), d, 28.0)  # fmt: skip
    dec = des.fit(o).decision()
    if res["earlystop"]:
        assert dec.stop and dec.mtd is None
    elif res["stop"]:
        assert dec.stop and dec.mtd is not None
    else:
        assert not dec.stop
        assert dec.wait == bool(res["pending"])
        assert dec.next_dose == res["d"]


def _label(dec: Any, d: int) -> str:
    if dec.wait:
        return "suspend"
    if dec.reason == "dose eliminated":
        return "eliminate"
    return {1: "escalate", 0: "stay", -1: "de-escalate"}[int(np.sign(dec.next_dose - d))]


@pytest.mark.parametrize(
    "row", REF["decision_table"]["rows"],
    ids=[f"n{r['n']}c{r['pending']}y{r['dlt']}" for r in REF["decision_table"]["rows"]],
)  # fmt: skip
def test_decision_table(row: dict[str, Any]) -> None:
    """For every (n, pending, DLTs) the decision at each STFT on a 0.01 grid equals the
    package's (the decision whose STFT threshold is the largest <= STFT); middle of 3 doses."""
    des = build_design("tite-boin", target=0.3, n_doses=3, window_days=28)
    n, c, y = row["n"], row["pending"], row["dlt"]
    cuts = sorted(row["decisions"].items(), key=lambda kv: kv[1])
    grid = [0.0] if c == 0 else [s / 100 for s in range(0, 100 * c) if s / 100 / c < 1]
    for stft in grid:
        want = [k for k, v in cuts if v <= stft + 1e-9][-1]
        o = _outcomes([0, n, 0], [0, c, 0], [0, y, 0], [0, stft * 28.0, 0], 2, 28.0)
        assert _label(des.fit(o).decision(), 2) == want, (row, stft)


def test_oc_within_monte_carlo_error_of_titegboin() -> None:
    """get_oc_TITE_QuasiBOIN(target=0.3, prob=c(.05,.15,.30,.45,.60), TITE=TRUE, ncohort=10,
    cohortsize=3, maxt=28, accrual=3/28, maxpen=0.5, alpha1=0.5, alpha2=0.5, cutoff.eli=0.95,
    ntrial=10000, seed=6) vs 1,500 trials here: selection, patients per dose and duration
    within 4 combined SEs.  TITEgBOIN draws DLT days from a Weibull with half of the DLTs in
    the second half of the window (alpha1 = alpha2 = 0.5); here they are uniform in the window,
    which is the same split (half in each half); the shapes differ slightly."""
    ref = REF["oc"]["S1"]
    des = build_design("tite-boin", target=0.3, n_doses=5, window_days=28,
                       accrual_per_window=3, accrual="poisson")  # fmt: skip
    n_o, n_r = 1500, int(ref["ntrial"])
    oc = simulate_trials(des, [0.05, 0.15, 0.30, 0.45, 0.60], n_o, 7, max_cohorts=10)
    for i in range(5):
        pool = (oc.selection_pct[i] * n_o + ref["selpercent"][i] * n_r) / (n_o + n_r) / 100
        if pool * n_o >= 10:
            se = 100 * np.sqrt(pool * (1 - pool) * (1 / n_o + 1 / n_r))
            assert abs(oc.selection_pct[i] - ref["selpercent"][i]) <= 4 * se, i
        assert oc.patients_per_dose_se is not None
        se_n = np.hypot(oc.patients_per_dose_se[i], ref["npatients_se"][i])
        assert abs(oc.patients_per_dose[i] - ref["npatients"][i]) <= 4 * se_n, i
    assert oc.mean_duration_days is not None and oc.mean_duration_days_se is not None
    se_d = np.hypot(oc.mean_duration_days_se, ref["duration_se"])
    assert abs(oc.mean_duration_days - ref["duration"]) <= 4 * se_d
