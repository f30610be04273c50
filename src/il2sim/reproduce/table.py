"""The paper-vs-model table of ``il2sim reproduce``: one :class:`ResultRow` per reported result
of the seed (Meropol 1996, :mod:`il2sim.seed`), each with the rule that decides agree/disagree.

The representative trial's numbers come from :func:`il2sim.analysis.analyze` on its written
SDTM (``observed``); the replicate rows summarise the model's pools with the same endpoint
definition (:mod:`il2sim.baseline`) and the same Jonckheere-Terpstra test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim._json import FieldRecord
from il2sim.calibrate import TARGET_T95_DAY
from il2sim.seed import MEROPOL_1996
from il2sim.simulate.summary import mean_t95_day
from il2sim.toxicity import AE_TYPES, ToxicityParameters
from il2sim.trial.replicates import Pools, ReplicateResults
from il2sim.trial.run import Trial

__all__ = ["RANGE_FACTOR", "SEED", "ResultRow", "compare_rows", "jt_pvalue"]

SEED = MEROPOL_1996
#: Factor within which a model range end agrees with the reported one (il2sim's rule).
RANGE_FACTOR = 1.5


@dataclass(frozen=True)
class ResultRow(FieldRecord):
    """One reported result beside the model's."""

    name: str
    reported: str
    model: str
    agree: bool
    rule: str


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


def compare_rows(
    trial: Trial,
    observed: Any,
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
            f"{SEED.mtd_miu_per_m2:g}",
            f"{modal} (selected in {by_dose[modal]:.1f}% of {reps.n_replicates} replicates; "
            f"representative trial: {observed.mtd.get('dose_miu_per_m2')})",
            float(modal) == SEED.mtd_miu_per_m2,
            "agree if the dose selected most often over the replicates is 1.25",
        )
    )
    n_tot = reps.n_per_level.sum(axis=1)
    p5, p95 = np.percentile(n_tot, [5, 95])
    rows.append(
        ResultRow(
            "patients treated",
            str(SEED.n_patients),
            f"mean {n_tot.mean():.1f} (5-95%: {p5:.0f}-{p95:.0f}); representative trial "
            f"{observed.n_subjects}",
            bool(p5 <= SEED.n_patients <= p95),
            "agree if 38 lies within the 5th-95th percentile of patients per replicate trial",
        )
    )
    # NK and CD56bright ranges and dose-response P values
    lo_i, hi_i = 0, nd - 1
    for label, values, rep_rng, (p_rule, rep_p) in (
        ("NK (CD3-CD56+)", pools.nk_pct, SEED.nk_peak_increase_pct, SEED.nk_trend_p),
        ("CD56bright NK", pools.bright_pct, SEED.cd56bright_peak_increase_pct, SEED.cd56bright_trend_p),
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
        dr = observed.response("NKCELLS" if label.startswith("NK") else "NKBRIGHT")
        p_rep = dr.jonckheere.pvalue if dr is not None and dr.jonckheere is not None else math.nan
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
    mtd_j = doses.index(SEED.mtd_miu_per_m2) if SEED.mtd_miu_per_m2 in doses else nd - 1
    med_peak = [float(np.median(c.il2_peak_pm)) for c in pools.cohorts[: mtd_j + 1]]
    rows.append(
        ResultRow(
            "peak serum IL-2 at levels up to the MTD (pM)",
            f"< {SEED.il2_peak_limit_pm:g} ({SEED.il2_peak_limit_iu_per_ml:g} IU/ml)",
            f"median individual peak {min(med_peak):.2f} to {max(med_peak):.2f} pM",
            bool(max(med_peak) < SEED.il2_peak_limit_pm),
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

    k_ada, n_ada = SEED.antibody_positive
    lo_a, hi_a = binom.ppf([0.05, 0.95], n_ada, p_ada)
    rep_ada, rep_n = _observed_antibodies(observed)
    rows.append(
        ResultRow(
            "patients with anti-IL-2 antibodies (non-neutralising)",
            f"{k_ada}/{n_ada}",
            f"{p_ada * n_ada:.1f}/{n_ada} expected (90% range {lo_a:.0f}-{hi_a:.0f}); "
            f"replicate mean {ada_counts.mean():.1f} per trial; representative trial "
            f"{rep_ada}/{rep_n}",
            bool(lo_a <= k_ada <= hi_a),
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
        "toxicity_parameters": tox.to_values(),
    }
    return rows, extra


def _observed_antibodies(observed: Any) -> tuple[int, int]:
    """(positive, treated) for the binding-antibody test of the analysed trial."""
    ab = observed.antibodies
    if ab is None:
        return 0, observed.n_subjects
    tot = ab[(ab["level"] == 0) & (ab["test"] == ab["test"].iloc[0])]
    return int(tot["n_positive"].iloc[0]), int(tot["n_treated"].iloc[0])
