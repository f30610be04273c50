"""EffTox operating characteristics: il2sim against R trialr's ``efftox_simulate``.

Reads the per-trial R results (``tests/data/r_reference/trialr_efftox_oc.json``, made by
``benchmarks/reference/efftox_oc.R``) and il2sim's (``tests/data/efftox_oc_il2sim.json``, made
by ``benchmarks/reference/efftox_oc_il2sim.py``) and compares, per dose, the selection % and the
mean patients treated, and the % of trials stopped with no dose: two-sample z with both Monte
Carlo SEs, and a test of the whole selection distribution (no dose, 1..5): Pearson's chi-square
of the 2 x 6 table, its p-value from the chi-square law (5 df) and from 20,000 parametric draws
under the pooled distribution (the small cells make the asymptotic one rough).
``tests/test_designs_efftox_oc.py`` asserts the result; ``python tests/efftox_oc_stats.py``
prints the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2, chi2_contingency

DATA = Path(__file__).parent / "data"
R_FILE = DATA / "r_reference" / "trialr_efftox_oc.json"
IL2SIM_FILE = DATA / "efftox_oc_il2sim.json"
N_DOSES = 5
COHORT = 3

Arr = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Trials:
    """Per-trial results: ``selected`` (0 = no dose) and patients per dose (trials x doses)."""

    selected: npt.NDArray[np.int64]
    patients: Arr

    @property
    def n(self) -> int:
        return int(self.selected.size)

    def selection_counts(self) -> npt.NDArray[np.int64]:
        """Trials selecting no dose, dose 1, ..., dose 5."""
        return np.bincount(self.selected, minlength=N_DOSES + 1)


def _patients(levels: list[int]) -> list[float]:
    return [float(levels.count(d)) for d in range(1, N_DOSES + 1)]


def r_trials(path: Path = R_FILE) -> Trials:
    """The R trials of every seed in the file (``rec`` 0 = NA, no dose)."""
    ref = json.loads(path.read_text())
    rows = [t for run in ref["runs"] for t in run["trials"]]
    sel = np.array([int(t["rec"]) for t in rows], dtype=np.int64)
    pat = np.array([_patients([int(c) for c in t["doses"]]) for t in rows])
    return Trials(sel, pat)


def il2sim_trials(path: Path = IL2SIM_FILE) -> Trials:
    """il2sim's stored trials (cohorts of 3)."""
    res = json.loads(path.read_text())
    sel = np.array([int(c) for c in res["selected"]], dtype=np.int64)
    pat = np.array([_patients([int(c) for c in s]) for s in res["cohorts"]]) * COHORT
    return Trials(sel, pat)


def _z_prop(k1: float, n1: int, k2: float, n2: int) -> float:
    """Two-sample z of proportions (pooled SE; 0 when both are 0 or 1)."""
    p1, p2, pool = k1 / n1, k2 / n2, (k1 + k2) / (n1 + n2)
    se = np.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    return 0.0 if se == 0 else float((p1 - p2) / se)


def _mc_pvalue(table: npt.NDArray[np.int64], stat: float, reps: int, seed: int) -> float:
    """P(chi-square >= stat) when both samples are multinomial with the pooled proportions."""
    rng = np.random.default_rng(seed)
    cols = table.sum(axis=0)
    keep = cols > 0
    pool = cols[keep] / cols.sum()
    rows = table.sum(axis=1)
    a = rng.multinomial(rows[0], pool, size=reps).astype(float)
    b = rng.multinomial(rows[1], pool, size=reps).astype(float)
    tot = a + b
    n = rows.sum()
    s = np.zeros(reps)
    for x, r in ((a, rows[0]), (b, rows[1])):
        e = tot * r / n
        with np.errstate(invalid="ignore", divide="ignore"):
            s += np.where(e > 0, (x - e) ** 2 / np.where(e > 0, e, 1.0), 0.0).sum(axis=1)
    return float((np.sum(s >= stat - 1e-9) + 1) / (reps + 1))


def compare(ours: Trials, ref: Trials, reps: int = 20_000, seed: int = 13) -> dict[str, Any]:
    """Per-dose z (selection, patients), the no-dose z, and the selection-distribution test."""
    ko, kr = ours.selection_counts(), ref.selection_counts()
    z_sel = [_z_prop(ko[j], ours.n, kr[j], ref.n) for j in range(1, N_DOSES + 1)]
    mo, mr = ours.patients.mean(axis=0), ref.patients.mean(axis=0)
    se_n = np.sqrt(ours.patients.var(axis=0, ddof=1) / ours.n
                   + ref.patients.var(axis=0, ddof=1) / ref.n)  # fmt: skip
    z_n = np.where(se_n > 0, (mo - mr) / np.where(se_n > 0, se_n, 1.0), 0.0)
    table = np.vstack([ko, kr])
    keep = table.sum(axis=0) > 0
    stat, p_asym, dof, _ = chi2_contingency(table[:, keep], correction=False)
    return {
        "n_ours": ours.n, "n_ref": ref.n,
        "sel_pct_ours": (100 * ko / ours.n).tolist(), "sel_pct_ref": (100 * kr / ref.n).tolist(),
        "z_sel": z_sel, "z_none": _z_prop(ko[0], ours.n, kr[0], ref.n),
        "patients_ours": mo.tolist(), "patients_ref": mr.tolist(), "z_patients": z_n.tolist(),
        "chi2": float(stat), "dof": int(dof), "p_chi2": float(p_asym),
        "p_chi2_check": float(chi2.sf(stat, dof)),
        "p_mc": _mc_pvalue(table[:, keep], float(stat), reps, seed),
    }  # fmt: skip


def replay(rows: list[dict[str, Any]], des: Any = None) -> tuple[int, list[dict[str, Any]]]:
    """trialr's decisions replayed on its own data: after each cohort of each R trial (file
    rows), il2sim's EffTox (default design) fitted to the data trialr had.  Returns the number
    of decisions and, for each one where il2sim's choice differs from trialr's next dose (or
    final recommendation, 0 = none), the trial, cohort, both choices and il2sim's plug-in
    utilities and acceptable set."""
    from il2sim.designs import Outcomes
    from il2sim.designs.efftox import EffTox

    des = des or EffTox(n_doses=N_DOSES, doses=(1.0, 2.0, 4.0, 6.6, 10.0))
    n, diff = 0, []
    for ti, t in enumerate(rows):
        pat = zip(t["doses"], t["eff"], t["tox"], strict=True)
        cells = [f"{d}{'NETB'[int(e) + 2 * int(x)]}" for d, e, x in pat]
        for k in range(COHORT, len(cells) + 1, COHORT):
            fit = des.fit(Outcomes.parse(" ".join(cells[:k])))
            dec = fit.decision()
            ours = 0 if dec.stop else int(dec.next_dose)
            theirs = int(t["doses"][k]) if k < len(cells) else int(t["rec"])
            n += 1
            if ours != theirs:
                s = fit.summary
                diff.append({"trial": ti, "cohort": k // COHORT, "ours": ours, "theirs": theirs,
                             "utility": s["utility"].tolist(),
                             "acceptable": s["acceptable"].tolist()})  # fmt: skip
    return n, diff


def r_rows(path: Path = R_FILE) -> list[dict[str, Any]]:
    """The R trials of every seed in the file, as stored."""
    return [t for run in json.loads(path.read_text())["runs"] for t in run["trials"]]


def table(res: dict[str, Any]) -> str:
    """The comparison as a markdown table."""
    lines = [
        f"il2sim n = {res['n_ours']} trials, trialr n = {res['n_ref']} trials",
        "",
        "| | none | dose 1 | dose 2 | dose 3 | dose 4 | dose 5 |",
        "|---|---|---|---|---|---|---|",
    ]
    fmt = lambda v: " | ".join(f"{x:.1f}" for x in v)  # noqa: E731
    lines.append(f"| selected % il2sim | {fmt(res['sel_pct_ours'])} |")
    lines.append(f"| selected % trialr | {fmt(res['sel_pct_ref'])} |")
    zs = [res["z_none"], *res["z_sel"]]
    lines.append("| z (selection) | " + " | ".join(f"{z:+.2f}" for z in zs) + " |")
    lines.append(f"| patients il2sim | - | {fmt(res['patients_ours'])} |")
    lines.append(f"| patients trialr | - | {fmt(res['patients_ref'])} |")
    zp = " | ".join(f"{z:+.2f}" for z in res["z_patients"])
    lines.append(f"| z (patients) | - | {zp} |")
    lines.append("")
    lines.append(f"chi-square {res['chi2']:.2f} on {res['dof']} df, p = {res['p_chi2']:.3f} "
                 f"(parametric Monte Carlo p = {res['p_mc']:.3f})")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(table(compare(il2sim_trials(), r_trials())))
    if "--replay" in sys.argv:  # every R decision (~25 ms a fit)
        n_dec, diffs = replay(r_rows())
        print(f"\nR decisions replayed: {n_dec}, il2sim chose differently: {len(diffs)}")
        for d in diffs:
            u = d["utility"]
            print(f"  trial {d['trial']} cohort {d['cohort']}: il2sim {d['ours']} trialr "
                  f"{d['theirs']}, utilities {u[d['ours'] - 1]:.3f} / {u[d['theirs'] - 1]:.3f}")
