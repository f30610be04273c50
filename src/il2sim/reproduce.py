"""Reproduce the seed trial in silico: each reported result beside the model's.

The seed (Meropol et al. 1996, Clin Cancer Res 2:669; abstract) treated 38 patients with daily
s.c. IL-2 for 90 days at seven levels from 0.4 to 1.75 MIU/m2.  il2sim assumes the levels
0.40, 0.60, 0.80, 1.00, 1.25, 1.50, 1.75 MIU/m2/day and a 4+5 A+B design (cohorts of 4 to 9;
Lin & Shih 2001), runs one representative trial (written as SDTM) and ``n_replicates`` replicate
trials drawn from per-level pools of simulated patients (:mod:`il2sim.trial.replicates`), and
compares.  The REPORTED column holds the seed's numbers (constants below, cited); every MODEL
number is computed here.  Each row states the rule that decides agree/disagree.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from il2sim.calibrate import TARGET_T95_DAY
from il2sim.model.toxicity import AE_TYPES, ToxicityParameters, load_toxicity_parameters
from il2sim.simulate.summary import mean_t95_day
from il2sim.trial.replicates import Pools, ReplicateResults, build_pools, run_replicates
from il2sim.trial.run import Trial, run_trial
from il2sim.trial.schedule import Schedule
from il2sim.trial.sdtm import build_sdtm, write_sdtm

__all__ = [
    "SEED_DOSES_MIU_PER_M2",
    "ReproduceResult",
    "ResultRow",
    "jt_pvalue",
    "reproduce",
]

#: Assumed dose levels of the seed (only the range 0.4-1.75 and the count 7 are published).
SEED_DOSES_MIU_PER_M2: tuple[float, ...] = (0.40, 0.60, 0.80, 1.00, 1.25, 1.50, 1.75)
#: Seed's reported values (Meropol et al. 1996 abstract).
SEED_MTD_MIU_PER_M2 = 1.25
SEED_PATIENTS = 38
SEED_NK_RANGE_PCT = (154.0, 530.0)
SEED_BRIGHT_RANGE_PCT = (368.0, 2763.0)
SEED_NK_P = 0.01  # "P < 0.01"
SEED_BRIGHT_P = 0.015  # "P = 0.015"
SEED_IL2_PEAK_PM = 10.0  # "peak IL-2 levels < 10 pM (2.3 IU/ml)"
SEED_ADA = (3, 38)  # "Three patients developed nonneutralizing anti-IL-2 antibodies"
#: The seed's reported values in the form :func:`il2sim.report.write_report` draws them.
SEED_REFERENCE: dict[str, Any] = {
    "source": "Meropol 1996",
    "doses_miu_per_m2": list(SEED_DOSES_MIU_PER_M2),
    "mtd_miu_per_m2": SEED_MTD_MIU_PER_M2,
    "il2_peak_limit_pm": SEED_IL2_PEAK_PM,
    "antibody_positive": list(SEED_ADA),
    "peak_pct_increase": {
        "NKCELLS": {"lowest": SEED_NK_RANGE_PCT[0], "highest": SEED_NK_RANGE_PCT[1]},
        "NKBRIGHT": {"lowest": SEED_BRIGHT_RANGE_PCT[0], "highest": SEED_BRIGHT_RANGE_PCT[1]},
    },
}
#: Factor within which a model range end agrees with the reported one (il2sim's rule).
RANGE_FACTOR = 1.5


@dataclass(frozen=True)
class ResultRow:
    """One reported result beside the model's."""

    name: str
    reported: str
    model: str
    agree: bool
    rule: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "reported": self.reported,
            "model": self.model,
            "agree": self.agree,
            "rule": self.rule,
        }


@dataclass(frozen=True)
class ReproduceResult:
    """The comparison table, MTD selection and run details."""

    results: tuple[ResultRow, ...]
    mtd_selected_pct: dict[str, float]
    representative: dict[str, Any]
    replicates: dict[str, Any]
    seed: int
    n_replicates: int
    out_dir: str | None
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``results`` and ``mtd_selected_pct`` plus details."""
        return {
            "results": [r.to_dict() for r in self.results],
            "mtd_selected_pct": self.mtd_selected_pct,
            "none_selected_pct": self.replicates.get("none_selected_pct"),
            "n_agree": sum(r.agree for r in self.results),
            "n_results": len(self.results),
            "seed": self.seed,
            "n_replicates": self.n_replicates,
            "representative_trial": self.representative,
            "replicates": self.replicates,
            "out_dir": self.out_dir,
            "files": list(self.files),
            "notes": list(self.notes),
        }


def jt_pvalue(groups: Sequence[npt.ArrayLike]) -> float:
    """One-sided (increasing) Jonckheere-Terpstra P value, normal approximation with the
    tie-corrected variance: :func:`il2sim.analysis.stats.jonckheere_terpstra`, the same test
    the analysis module applies to trial data."""
    gs = [np.asarray(g, dtype=float) for g in groups]
    gs = [g[np.isfinite(g)] for g in gs]
    gs = [g for g in gs if g.size]
    if len(gs) < 2:
        return math.nan
    from il2sim.analysis.stats import jonckheere_terpstra

    return float(jonckheere_terpstra(gs, alternative="increasing", method="normal").pvalue)


def _fmt_range(lo: float, hi: float) -> str:
    return f"{lo:.0f}% to {hi:.0f}%"


def _observed_peak_pct(domains: dict[str, pd.DataFrame], test: str) -> pd.DataFrame:
    """Per subject: level and peak post-baseline % increase of CP ``test`` (observed data)."""
    cp = domains["CP"]
    cp = cp[cp["CPTESTCD"] == test]
    base = cp[cp["CPBLFL"] == "Y"].set_index("USUBJID")["CPSTRESN"]
    post = cp[cp["CPBLFL"] != "Y"].groupby("USUBJID")["CPSTRESN"].max()
    lvl = domains["DM"].set_index("USUBJID")["ARMCD"].str.slice(1).astype(int)
    pct = 100.0 * (post / base.reindex(post.index) - 1.0)
    return pd.DataFrame({"level": lvl.reindex(pct.index), "pct": pct})


def _compare(
    trial: Trial,
    domains: dict[str, pd.DataFrame],
    pools: Pools,
    reps: ReplicateResults,
    tox: ToxicityParameters,
) -> tuple[list[ResultRow], dict[str, Any]]:
    doses = pools.doses_miu_per_m2
    nd = len(doses)
    rows: list[ResultRow] = []
    sel = reps.mtd_selected_pct()
    by_dose = dict(sel)
    modal = max(by_dose, key=lambda k: by_dose[k])
    rows.append(
        ResultRow(
            "MTD (MIU/m2/day)",
            f"{SEED_MTD_MIU_PER_M2:g}",
            f"{modal} (selected in {by_dose[modal]:.1f}% of {reps.n_replicates} replicates; "
            f"representative trial: {trial.mtd_miu_per_m2})",
            float(modal) == SEED_MTD_MIU_PER_M2,
            "agree if the dose selected most often over the replicates is 1.25",
        )
    )
    n_tot = reps.n_per_level.sum(axis=1)
    p5, p95 = np.percentile(n_tot, [5, 95])
    rows.append(
        ResultRow(
            "patients treated",
            str(SEED_PATIENTS),
            f"mean {n_tot.mean():.1f} (5-95%: {p5:.0f}-{p95:.0f}); representative trial "
            f"{trial.n_patients}",
            bool(p5 <= SEED_PATIENTS <= p95),
            "agree if 38 lies within the 5th-95th percentile of patients per replicate trial",
        )
    )
    # NK and CD56bright ranges and dose-response P values
    lo_i, hi_i = 0, nd - 1
    for label, values, rep_rng, rep_p, p_rule in (
        ("NK (CD3-CD56+)", pools.nk_pct, SEED_NK_RANGE_PCT, SEED_NK_P, "<"),
        ("CD56bright NK", pools.bright_pct, SEED_BRIGHT_RANGE_PCT, SEED_BRIGHT_P, "="),
    ):
        lo, hi = float(np.mean(values[lo_i])), float(np.mean(values[hi_i]))
        ok = all(
            1.0 / RANGE_FACTOR <= m / r <= RANGE_FACTOR
            for m, r in ((lo, rep_rng[0]), (hi, rep_rng[1]))
        )
        rows.append(
            ResultRow(
                f"{label} mean peak increase over baseline, lowest to highest level",
                _fmt_range(*rep_rng),
                _fmt_range(lo, hi) + f" (pools of {pools.pool_size} per level)",
                ok,
                f"agree if each end is within a factor {RANGE_FACTOR:g} of the reported one",
            )
        )
        pvals = np.array(
            [
                jt_pvalue([values[j][reps.patients[r][j]] for j in range(nd)])
                for r in range(reps.n_replicates)
            ]
        )
        med = float(np.nanmedian(pvals))
        frac = float(np.nanmean(pvals < 0.05))
        test = "NKCELLS" if label.startswith("NK") else "NKBRIGHT"
        obs = _observed_peak_pct(domains, test)
        p_rep = jt_pvalue([obs.loc[obs["level"] == j + 1, "pct"].to_numpy() for j in range(nd)])
        reported = f"P < {rep_p:g}" if p_rule == "<" else f"P = {rep_p:g}"
        thr = rep_p if p_rule == "<" else 0.05
        rows.append(
            ResultRow(
                f"{label} increase dose dependent (Jonckheere-Terpstra, one-sided)",
                reported,
                f"median P {med:.3g} over replicates ({100 * frac:.0f}% with P < 0.05); "
                f"representative trial P {p_rep:.3g}",
                bool(med < thr),
                f"agree if the median replicate P is below {thr:g}",
            )
        )
    # timing of the NK peak
    weeks = np.array(pools.schedule.visit_weeks)
    peak_weeks: list[int] = []
    sustained: list[bool] = []
    for c in pools.cohorts:
        mean_curve = c.nk_visit_per_ul.mean(axis=0)
        k = int(np.argmax(mean_curve))
        peak_weeks.append(int(weeks[k]))
        sustained.append(bool(mean_curve[-1] >= 0.85 * mean_curve[k]))
    ok_t = all(6 <= w <= 8 for w in peak_weeks) and all(sustained)
    rows.append(
        ResultRow(
            "time of NK peak",
            "weeks 6-8, sustained through week 12",
            f"peak of the mean NK count at week(s) {sorted(set(peak_weeks))} across levels; "
            f"week 12 >= 85% of peak at {sum(sustained)}/{len(sustained)} levels",
            ok_t,
            "agree if the mean NK count peaks at week 6-8 at every level and week 12 is at "
            "least 85% of the peak",
        )
    )
    # the same fact read as the calibration target (science.md section 6): the population-mean
    # NK count reaches 95% of its 90-day maximum between day 42 and day 56, and the week-12
    # level is at least 85% of the maximum (a plateau, not a peak, at weeks 6-8)
    # (visit days are study days; model time = study day - 1; linear between visits)
    t95 = [
        mean_t95_day(np.asarray(c.visit_days, dtype=float) - 1.0, c.nk_visit_per_ul)
        for c in pools.cohorts
    ]
    end_ratio = [
        float(c.nk_visit_per_ul.mean(axis=0)[-1] / c.nk_visit_per_ul.mean(axis=0).max())
        for c in pools.cohorts
    ]
    rows.append(
        ResultRow(
            "NK plateau (calibration reading of the timing)",
            "95% of maximum by weeks 6-8, sustained through week 12",
            f"95% of the mean NK maximum over visits reached on day {min(t95):.0f} to "
            f"{max(t95):.0f}; week-12 level {100 * min(end_ratio):.0f}% to {100 * max(end_ratio):.0f}% of maximum",
            bool(all(TARGET_T95_DAY[0] <= t <= TARGET_T95_DAY[1] for t in t95))
            and bool(min(end_ratio) >= 0.85),
            f"agree if the population-mean NK count first reaches 95% of its maximum between day "
            f"{TARGET_T95_DAY[0]:g} and {TARGET_T95_DAY[1]:g} at every level and ends at >= 85% "
            "of it",
        )
    )
    # IL-2 peak
    mtd_j = doses.index(SEED_MTD_MIU_PER_M2) if SEED_MTD_MIU_PER_M2 in doses else nd - 1
    med_peak = [float(np.median(c.il2_peak_pm)) for c in pools.cohorts[: mtd_j + 1]]
    rows.append(
        ResultRow(
            "peak serum IL-2 at levels up to the MTD (pM)",
            f"< {SEED_IL2_PEAK_PM:g} (2.3 IU/ml)",
            f"median individual peak {min(med_peak):.2f} to {max(med_peak):.2f} pM",
            bool(max(med_peak) < SEED_IL2_PEAK_PM),
            "agree if the median peak (daily maximum over 90 days) is below 10 pM at every "
            "level up to 1.25",
        )
    )
    # antibodies
    ada_counts = np.array(
        [
            sum(int(pools.ada[j][reps.patients[r][j]].sum()) for j in range(nd))
            for r in range(reps.n_replicates)
        ]
    )
    p_ada = float(np.mean(np.concatenate(pools.ada)))
    from scipy.stats import binom

    lo_a, hi_a = binom.ppf([0.05, 0.95], SEED_ADA[1], p_ada)
    rep_ada = sum(int(c.result.ada_positive(89.0).sum()) for c in trial.cohorts)
    rows.append(
        ResultRow(
            "patients with anti-IL-2 antibodies (non-neutralising)",
            f"{SEED_ADA[0]}/{SEED_ADA[1]}",
            f"{p_ada * SEED_ADA[1]:.1f}/38 expected (90% range {lo_a:.0f}-{hi_a:.0f}); "
            f"replicate mean {ada_counts.mean():.1f} per trial; representative trial "
            f"{rep_ada}/{trial.n_patients}",
            bool(lo_a <= SEED_ADA[0] <= hi_a),
            "agree if 3 lies within the 5-95% range of Binomial(38, model incidence by day 90)",
        )
    )
    # AE profile
    codes = [a.code for a in AE_TYPES]
    dlt_types = np.concatenate(
        [c.dlt.ae_index[c.dlt.dlt] for c in pools.cohorts[mtd_j + 1 :]] or [np.zeros(0, int)]
    )
    shares = {codes[k]: float(np.mean(dlt_types == k)) for k in range(len(codes))}
    systemic = shares["FEVER"] + shares["FATIGUE"] + shares["VOMIT"] + shares["HYPERGLY"]
    top = ", ".join(f"{k} {100 * v:.0f}%" for k, v in sorted(shares.items(), key=lambda x: -x[1]))
    rows.append(
        ResultRow(
            "dose-limiting toxicities above the MTD",
            "constitutional, vomiting, hyperglycemia",
            f"DLT causes at 1.5-1.75: {top}",
            bool(dlt_types.size > 0 and systemic >= 0.9),
            "agree if constitutional (fever, fatigue), vomiting and hyperglycemia cause >= 90% "
            "of DLTs above the MTD",
        )
    )
    severe, mild_isr, mild_const, n_low = [], [], [], []
    kf, kt, ki = codes.index("FEVER"), codes.index("FATIGUE"), codes.index("ISR")
    for r in range(reps.n_replicates):
        m = int(reps.mtd_level[r])
        if m == 0:
            continue
        g = np.concatenate([pools.max_grade[j][reps.patients[r][j]] for j in range(m)])
        if g.size == 0:
            continue
        severe.append(int(np.sum(g.max(axis=1) >= 3)))
        mild_isr.append(float(np.mean((g[:, ki] >= 1) & (g[:, ki] <= 2))))
        mild_const.append(float(np.mean(np.isin(g[:, [kf, kt]].max(axis=1), (1, 2)))))
        n_low.append(g.shape[0])
    sev = np.array(severe) if severe else np.zeros(1)
    rows.append(
        ResultRow(
            "severe (grade >= 3) toxicity at or below the MTD",
            "none",
            f"median {np.median(sev):.0f} patients per trial (mean {sev.mean():.2f} of "
            f"{np.mean(n_low) if n_low else 0:.0f} treated at or below the selected MTD)",
            bool(np.median(sev) <= 1),
            "agree if the median replicate has at most 1 patient with grade >= 3 at or below "
            "the selected MTD (a 4+5 design accepts 1 DLT in 9 at the MTD)",
        )
    )
    for label, vals in (
        ("mild local skin reaction at or below the MTD", mild_isr),
        ("mild constitutional side effects at or below the MTD", mild_const),
    ):
        v = float(np.mean(vals)) if vals else math.nan
        rows.append(
            ResultRow(
                label,
                "common",
                f"{100 * v:.0f}% of patients (worst grade 1-2)",
                bool(v >= 0.3),
                "agree if at least 30% of patients at or below the selected MTD have it",
            )
        )
    extra = {
        "pool_dlt_rate_per_level": [float(np.mean(x)) for x in pools.dlt],
        "pool_dlt_probability_per_level": [float(np.mean(c.dlt_prob)) for c in pools.cohorts],
        "ada_incidence_model": p_ada,
        "toxicity_parameters": tox.to_dict(),
    }
    return rows, extra


def reproduce(
    out_dir: str | Path | None = "il2sim-reproduce",
    n_replicates: int = 1000,
    seed: int = 1,
    pool_size: int = 600,
    parameters: Any = None,
    tox: ToxicityParameters | None = None,
    xpt: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> ReproduceResult:
    """Run the representative trial and the replicates, compare with the seed, write files.

    Writes into ``out_dir`` (None: write nothing): the representative trial's SDTM domains
    (CSV and Parquet, XPT with ``xpt``), ``reproduce.csv``/``reproduce.json`` (the table) and
    ``replicates.json`` (replicate summary).
    """
    from il2sim.designs.registry import build_design

    t = tox or load_toxicity_parameters()
    doses = SEED_DOSES_MIU_PER_M2
    design = build_design("a+b", n_doses=len(doses), a=4, b=5)
    sch = Schedule()
    trial = run_trial(design, doses, seed, parameters=parameters, tox=t, schedule=sch)
    domains = build_sdtm(trial)
    pools = build_pools(
        doses,
        pool_size,
        seed,
        parameters=parameters,
        tox=t,
        schedule=sch,
        progress=(lambda j, n: progress("pools", j, n)) if progress else None,
    )
    reps = run_replicates(
        design,
        pools,
        n_replicates,
        seed,
        progress=(lambda r, n: progress("replicates", r, n)) if progress else None,
    )
    rows, extra = _compare(trial, domains, pools, reps, t)
    rep_summary = reps.to_dict(pools) | extra
    notes = [
        "dose levels 0.40, 0.60, 0.80, 1.00, 1.25, 1.50, 1.75 MIU/m2/day and the 4+5 design "
        "(c=0, d=1, e=1) are assumptions (the abstract gives only the range and cohort sizes)",
        f"replicate trials draw patients from pools of {pool_size} simulated patients per level",
    ]
    from il2sim.model.toxicity import toxicity_is_current

    if not toxicity_is_current(t, parameters):
        notes.append(
            "the toxicity table was calibrated against other model parameters: run "
            "`il2sim calibrate` (or il2sim.model.toxicity.calibrate_and_write) to refit it"
        )
    if reps.n_replicates < n_replicates:
        notes.append(f"interrupted: {reps.n_replicates} of {n_replicates} replicates finished")
    result = ReproduceResult(
        results=tuple(rows),
        mtd_selected_pct=reps.mtd_selected_pct(),
        representative=trial.to_dict(),
        replicates=rep_summary,
        seed=seed,
        n_replicates=reps.n_replicates,
        out_dir=str(out_dir) if out_dir is not None else None,
        notes=tuple(notes),
    )
    if out_dir is None:
        return result
    files = [str(p) for p in write_sdtm(domains, out_dir, xpt=xpt)]
    files += _write_tables(result, Path(out_dir))
    return replace(result, files=tuple(files))


def _write_tables(result: ReproduceResult, out: Path) -> list[str]:
    from il2sim._files import write_atomic
    from il2sim._json import to_jsonable

    table = pd.DataFrame([r.to_dict() for r in result.results])
    write_atomic(out / "reproduce.csv", lambda p: table.to_csv(p, index=False, lineterminator="\n"))

    def json_writer(obj: Any) -> Callable[[Path], None]:
        def write(p: Path) -> None:
            p.write_text(json.dumps(to_jsonable(obj), indent=2) + "\n")

        return write

    write_atomic(out / "reproduce.json", json_writer(result.to_dict()))
    write_atomic(out / "replicates.json", json_writer(result.replicates))
    return [str(out / n) for n in ("reproduce.csv", "reproduce.json", "replicates.json")]
