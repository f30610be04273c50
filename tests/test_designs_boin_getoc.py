"""BOIN as ``BOIN::get.oc`` 2.7.2 runs it: every option on the package's own histories and OC.

References (copied into ``tests/data/r_reference/``, produced in /work/research/i13 with BOIN
2.7.2 = cran/BOIN tag 2.7.2, commit 6c3a0c2, R 4.2.2):

- ``boin_getoc_histories.json``: trial histories from ``get.oc(..., ntrial=1000, seed=6, <opt>)``
  (the call is stored with each case), each row the package's decision after a cohort, logged
  by a copy of ``R/get.oc.R`` with logging calls only (its OC are ``identical()`` to get.oc's).
  Options covered: titration (with and without a DLT, and ignoring ``startdose``), n.earlystop
  (stay / not stay / top dose), extrasafe (and its nesting inside the elimination check at
  target 0.5), cutoff.eli = 0.90 (lowest and a higher dose eliminated), start dose 3, the last
  cohort left to select.mtd.
- ``boin_getoc_oc.json``: ``BOIN::get.oc(target=0.3, p.true=..., ncohort=10|20, cohortsize=3,
  ntrial=10000, seed=6, <opt>)`` for 3 truths x 8 option settings, with Monte Carlo SEs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from il2sim.designs import Outcomes, build_design, simulate_trials
from il2sim.designs.boin import BOIN, select_mtd

DATA = Path(__file__).parent / "data" / "r_reference"
HIST = json.loads((DATA / "boin_getoc_histories.json").read_text())["cases"]
OC = json.loads((DATA / "boin_getoc_oc.json").read_text())["runs"]

_R_OPTS = {
    "titration": ("titration", lambda v: v == "TRUE"),
    "n.earlystop": ("n_earlystop", int),
    "extrasafe": ("extrasafe", lambda v: v == "TRUE"),
    "offset": ("offset", float),
    "cutoff.eli": ("elimination_cutoff", float),
    "startdose": ("start_dose", int),
    "boundMTD": ("bound_mtd", lambda v: v == "TRUE"),
}


def _design_of(call: str) -> tuple[BOIN, list[float]]:
    """The BOIN design of an R ``get.oc(...)`` call, and its p.true."""
    target = float(re.search(r"target=([\d.]+)", call).group(1))  # type: ignore[union-attr]
    p = [float(v) for v in re.search(r"p.true=c\(([^)]*)\)", call).group(1).split(",")]  # type: ignore[union-attr]
    cs = int(re.search(r"cohortsize=(\d+)", call).group(1))  # type: ignore[union-attr]
    opts: dict[str, Any] = {}
    for key, (name, conv) in _R_OPTS.items():
        m = re.search(rf"[ ,]{re.escape(key)}=([\w.]+)", call)
        if m:
            opts[name] = conv(m.group(1))
    return BOIN(target, len(p), cohort_size=cs, **opts), p


def _ints(s: str) -> np.ndarray:
    return np.array([int(v) for v in s.split(",")], dtype=np.int64)


def _histories() -> list[tuple[str, int, list[dict[str, Any]], str]]:
    out = []
    for name, case in HIST.items():
        if not isinstance(case, dict) or "histories" not in case:
            continue
        for h in case["histories"]:
            out.append((name, int(h[0]["trial"]), h, case["call"]))
    return out


@pytest.mark.parametrize(("name", "trial", "rows", "call"), _histories())
def test_fit_replays_get_oc_histories(
    name: str, trial: int, rows: list[dict[str, Any]], call: str
) -> None:
    """fit().decision() after each cohort equals the package's decision, row by row."""
    des, _ = _design_of(call)
    k = des.n_doses
    out = Outcomes()
    n_prev = np.zeros(k, dtype=np.int64)
    y_prev = np.zeros(k, dtype=np.int64)
    for row in rows:
        n, y = _ints(row["n"]), _ints(row["y"])
        ev = row["event"]
        if ev == "final":
            dec = des.fit(out).decision()
            want = None if row["next_dose"] == 99 else row["next_dose"]
            assert dec.mtd == want, (name, trial, "final MTD")
            continue
        if ev == "titration_end":
            # one patient per dose from dose 1, DLT (if any) at the last one
            for j in range(k):
                if n[j] == 0:
                    break
                assert des.fit(out).decision().next_dose == j + 1
                assert des.fit(out).decision().cohort_size == 1
                out = out.add_cohort(j + 1, [int(y[j])])
            dec = des.fit(out).decision()
            assert (dec.stop, dec.next_dose) == (False, row["next_dose"]), (name, trial, ev)
            assert dec.cohort_size == des.cohort_size - 1
            n_prev, y_prev = n, y
            continue
        d = int(row["dose_treated"])
        add_n = int(n[d - 1] - n_prev[d - 1])
        add_y = int(y[d - 1] - y_prev[d - 1])
        assert (n - n_prev).sum() == add_n and add_n > 0
        out = out.add_cohort(d, [1] * add_y + [0] * (add_n - add_y))
        n_prev, y_prev = n, y
        assert np.array_equal(out.n_per_dose(k), n) and np.array_equal(out.dlt_per_dose(k), y)
        dec = des.fit(out).decision()
        if ev == "decision":
            assert (dec.stop, dec.next_dose) == (False, row["next_dose"]), (name, trial, row)
        elif ev in ("stop_extrasafe", "stop_lowest_dose_eliminated"):
            assert dec.stop and dec.mtd is None, (name, trial, row)
        elif ev == "stop_n.earlystop":
            assert dec.stop and dec.mtd is not None, (name, trial, row)
        else:  # stop_max_sample_size: get.oc does not decide after the last cohort
            assert ev == "stop_max_sample_size"


#: select.mtd 2.7.2 on crafted inputs (research/i13 boin_options.md, out/boin_select.json):
#: (npts, ntox, options, MTD (None = 99)).
SELECT_CASES = [
    ((3, 3, 15, 9, 0), (0, 0, 4, 4, 0), {}, 3),
    ((6, 5, 0, 0, 0), (0, 2, 0, 0, 0), {}, 2),
    ((6, 5, 0, 0, 0), (0, 2, 0, 0, 0), {"bound_mtd": True}, 1),
    ((3, 0, 0, 0, 0), (2, 0, 0, 0, 0), {}, 1),
    ((3, 0, 0, 0, 0), (2, 0, 0, 0, 0), {"bound_mtd": True}, None),
    ((6, 14, 0, 0, 0), (1, 5, 0, 0, 0), {"bound_mtd": True}, 2),
    ((6, 13, 0, 0, 0), (1, 5, 0, 0, 0), {"bound_mtd": True}, 1),
    ((6, 13, 0, 0, 0), (1, 5, 0, 0, 0), {}, 2),
    ((3, 3, 6, 3, 0), (0, 0, 2, 3, 0), {}, 3),
    ((3, 10, 8, 0, 0), (0, 0, 4, 0, 0), {}, 3),
    ((3, 10, 8, 0, 0), (0, 0, 4, 0, 0), {"elimination_cutoff": 0.90}, 2),
    ((3, 0, 0, 0, 0), (2, 0, 0, 0, 0), {"extrasafe": True, "offset": 0.05}, None),
    ((3, 0, 0, 0, 0), (2, 0, 0, 0, 0), {"extrasafe": True, "offset": 0.03}, 1),
    ((3, 3, 0, 0, 0), (0, 2, 0, 0, 0), {"extrasafe": True}, 1),
    ((3, 3, 0, 0, 0), (0, 0, 0, 0, 0), {}, 2),
    ((3, 3, 0, 0, 0), (2, 2, 0, 0, 0), {}, 1),
    ((3, 6, 9, 3, 0), (1, 1, 3, 2, 0), {}, 3),
    ((3, 0, 6, 0, 0), (0, 0, 2, 0, 0), {}, 3),
    ((3, 0, 0, 0, 0), (3, 0, 0, 0, 0), {}, None),
]


@pytest.mark.parametrize(("n", "y", "opts", "mtd"), SELECT_CASES)
def test_select_mtd_matches_package(
    n: tuple[int, ...], y: tuple[int, ...], opts: dict[str, Any], mtd: int | None
) -> None:
    """The design's MTD (numba) and the public select_mtd (scipy) give select.mtd's answer."""
    des = BOIN(0.3, 5, **opts)
    b = des.mtd_bound()
    s = select_mtd(
        0.3, n, y, des.elimination_cutoff, des.extrasafe, des.offset,
        bound=None if b == float("inf") else b,
    )  # fmt: skip
    assert s.mtd == mtd
    out = Outcomes()
    for j, (nj, yj) in enumerate(zip(n, y, strict=True)):
        if nj:
            out = out.add_cohort(j + 1, [1] * yj + [0] * (nj - yj))
    assert des.fit(out).decision().mtd == mtd or des.fit(out).decision().stop


@pytest.mark.parametrize("case", HIST["boundMTD_examples_from_trials"])
def test_bound_mtd_on_final_data_of_simulated_trials(case: dict[str, Any]) -> None:
    """select.mtd(boundMTD = FALSE / TRUE) on final data of get.oc trials."""
    for opts, key in (({}, "MTD_default"), ({"bound_mtd": True}, "MTD_boundMTD")):
        des = BOIN(0.3, 5, **opts)
        b = des.mtd_bound()
        s = select_mtd(0.3, case["n"], case["y"], bound=None if b == float("inf") else b)
        assert s.mtd == case[key]


_TRUTH = {
    "truth": [0.05, 0.15, 0.3, 0.45, 0.6],
    "toxic": [0.35, 0.45, 0.55, 0.65, 0.75],
    "flat": [0.02, 0.04, 0.06, 0.08, 0.10],
}


def _oc_cases() -> list[tuple[str, dict[str, Any]]]:
    return [(r["name"], r) for r in OC]


@pytest.mark.parametrize(("name", "ref"), _oc_cases())
def test_oc_within_monte_carlo_error_of_get_oc(name: str, ref: dict[str, Any]) -> None:
    """40,000 kernel trials vs get.oc's 10,000: every selection %, patients and DLTs per dose,
    % with no MTD, mean N and mean DLTs within 4 combined SEs.  Proportions use the pooled
    two-sample SE; cells with fewer than 10 expected trials in the R run are not tested
    (normal approximation invalid)."""
    des, p = _design_of(ref["call"])
    assert p == _TRUTH[name.split("_")[0]]
    nc = int(re.search(r"ncohort=(\d+)", ref["call"]).group(1))  # type: ignore[union-attr]
    n_ours, n_r = 40_000, int(ref["ntrial"])
    oc = simulate_trials(des, p, n_ours, 20261201, max_cohorts=nc)

    def prop(ours: float, r: float) -> None:
        pool = (ours * n_ours + r * n_r) / (n_ours + n_r) / 100
        if pool * n_r < 10:
            return
        se = 100 * np.sqrt(pool * (1 - pool) * (1 / n_ours + 1 / n_r))
        assert abs(ours - r) <= 4 * se, (name, ours, r, se)

    def mean(ours: float, se_o: float | None, r: float, se_r: float) -> None:
        se = float(np.hypot(se_o or 0.0, se_r))
        assert abs(ours - r) <= 4 * se + 1e-9, (name, ours, r, se)

    for i in range(5):
        prop(oc.selection_pct[i], ref["selpercent"][i])
        assert oc.patients_per_dose_se is not None and oc.dlts_per_dose_se is not None
        mean(oc.patients_per_dose[i], oc.patients_per_dose_se[i], ref["npatients"][i],
             ref["npatients_se"][i])  # fmt: skip
        mean(oc.dlts_per_dose[i], oc.dlts_per_dose_se[i], ref["ntox"][i], ref["ntox_se"][i])
    prop(oc.none_selected_pct, ref["percentstop"])
    mean(oc.mean_patients, oc.mean_patients_se, ref["totaln"], ref["totaln_se"])
    mean(oc.mean_dlts, oc.mean_dlts_se, ref["totaltox"], ref["totaltox_se"])


def test_titration_kernel_replays_fit() -> None:
    """The compiled path (titration, bound_mtd, n_earlystop, extrasafe) gives fit()'s
    decisions trial by trial (the cohort record replayed through fit())."""
    from il2sim.designs.controller import TrialController
    from il2sim.designs.kernels import Caps
    from il2sim.designs.sources import BernoulliSource

    cases = [
        (BOIN(0.3, 5, titration=True), [0.05, 0.15, 0.3, 0.45, 0.6], 10),
        (BOIN(0.3, 5, titration=True), [0.02, 0.04, 0.06, 0.08, 0.1], 10),
        (BOIN(0.3, 5, titration=True, n_earlystop=9, bound_mtd=True), [0.3, 0.4, 0.5, 0.6, 0.7], 8),
        (BOIN(0.5, 5, extrasafe=True), [0.6, 0.7, 0.8, 0.85, 0.9], 10),
        (BOIN(0.3, 5, n_earlystop=12), [0.02, 0.04, 0.06, 0.08, 0.1], 20),
    ]
    for des, p, nc in cases:
        ctl = TrialController(des, BernoulliSource(tuple(p)), Caps(nc))
        sim = ctl.run(300, 5)
        t = sim.trials
        for i in range(t.n_trials):
            out = Outcomes()
            for c in range(t.cohort_dose.shape[1]):
                lv, sz = int(t.cohort_dose[i, c]), int(t.cohort_size[i, c])
                if lv == 0:
                    break
                dec = des.fit(out).decision()
                assert not dec.stop and dec.next_dose == lv, (des, i, c)
                assert sz == min(int(dec.cohort_size or 0), ctl.caps.patients - out.n_patients)
                yy = int(t.cohort_dlt[i, c])
                out = out.add_cohort(lv, [1] * yy + [0] * (sz - yy))
            dec = des.fit(out).decision()
            capped = not dec.stop
            assert bool(t.capped[i]) == capped
            assert int(t.selected[i]) == (dec.mtd or 0)


def test_options_from_the_cli_names() -> None:
    """``-O titration=true -O bound_mtd=true`` reach the design (BOIN get.oc names)."""
    des = build_design("boin", n_doses=5, target=0.3, titration=True, bound_mtd=True)
    assert isinstance(des, BOIN) and des.titrates and des.mtd_bound() == pytest.approx(0.3585, 1e-3)
    assert not BOIN(0.3, 5, cohort_size=1, titration=True).titrates  # get.oc: off for size 1


_BOUND_OPTS = {
    "default": (0.3, {}),
    "cutoff.eli_0.90": (0.3, {"cutoff_eli": 0.90}),
    "target_0.25": (0.25, {}),
}


@pytest.mark.parametrize("key", sorted(_BOUND_OPTS))
def test_boundaries_match_get_boundary(key: str) -> None:
    """The full decision table equals ``get.boundary(...)$full_boundary_tab`` (b.d clipped to
    b.elim, NA where no count eliminates)."""
    from il2sim.designs.boin import boundaries

    ref = HIST["boundaries"][key]
    tab = ref["full_boundary_tab"]
    target, opts = _BOUND_OPTS[key]
    nc = int(re.search(r"ncohort=(\d+)", ref["call"]).group(1))  # type: ignore[union-attr]
    b = boundaries(target, ncohort=nc, cohortsize=3, **opts)
    assert list(b.n) == tab[0]
    assert list(b.escalate) == tab[1]
    assert list(b.deescalate) == tab[2]
    assert [None if v == "NA" else v for v in tab[3]] == list(b.eliminate)
    assert b.lambda_d == pytest.approx(ref["lambda_d"], rel=1e-12)
