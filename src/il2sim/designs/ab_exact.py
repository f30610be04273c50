"""Exact operating characteristics of A+B designs by enumeration (Lin & Shih 2001).

The A+B decision depends only on the patients and DLTs per dose, so the trial is a Markov chain
on count states: each state is (patients, DLTs) per dose with its probability, and a cohort of
size m at dose j moves it by Binomial(m, truth[j]) DLTs.  Enumerating the chain until every
state has stopped gives the exact selection probabilities and expected patients/DLTs; no
simulation is needed.  The result uses the one OC schema (:mod:`il2sim.designs.oc`) with every
``*_se`` None.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import binom

from il2sim.designs.ab import ABDesign, decide
from il2sim.designs.base import Design, check_target, check_truth
from il2sim.designs.oc import OperatingCharacteristics
from il2sim.designs.rules import Rule
from il2sim.errors import DesignError

__all__ = ["exact_oc"]

_AB_NAMES = "3+3, 3+3a, 3+3b, 4+5, a+b"


def exact_oc(design: Design, truth: Any, target: float | None = None) -> OperatingCharacteristics:
    """Exact operating characteristics of an A+B design by enumeration of count states.

    Returns selection % (MTD declared at each dose and "none" = below dose 1), expected
    patients and DLTs per dose, E[N] in ``mean_patients``.  ``overdosed_pct`` = 100 *
    E[patients at doses with truth > target] / E[N] (None without a target).
    ``stopped_early_pct`` is 100 and ``stopped_for_toxicity_pct`` equals
    ``none_selected_pct``: an A+B design always stops by its own rule (no cap).  Other designs
    (or an A+B design wrapped in rules) raise :class:`DesignError`.
    """
    if isinstance(design, Rule) or not isinstance(design, ABDesign):
        raise DesignError(
            f"exact operating characteristics need an A+B design ({_AB_NAMES}) without rules, "
            f"got {design.name!r}; use 'il2sim design simulate'",
            field="design",
            value=design.name,
        )
    p_true = check_truth(truth)
    if p_true.size != design.n_doses:
        raise DesignError(
            f"has {p_true.size} doses but the design has {design.n_doses}", field="truth"
        )
    tgt = target if target is not None else design.target
    if tgt is not None:
        check_target(tgt)
    nd = design.n_doses
    params = design.params
    frontier: dict[tuple[tuple[int, ...], tuple[int, ...]], float] = {((0,) * nd, (0,) * nd): 1.0}
    sel = np.zeros(nd + 1)
    en = np.zeros(nd)
    ey = np.zeros(nd)
    n_states = 0
    pmf_cache: dict[tuple[int, int], npt.NDArray[np.float64]] = {}
    while frontier:
        nxt_frontier: dict[tuple[tuple[int, ...], tuple[int, ...]], float] = {}
        for (ns, ys), pr in frontier.items():
            n_states += 1
            n = np.array(ns, dtype=np.int64)
            y = np.array(ys, dtype=np.int64)
            dose, size, mtd, _ = decide(n, y, params)
            if dose == 0:
                sel[mtd] += pr
                en += pr * n
                ey += pr * y
                continue
            key = (int(dose), int(size))
            if key not in pmf_cache:
                pmf_cache[key] = binom.pmf(np.arange(size + 1), size, p_true[dose - 1])
            pmf = pmf_cache[key]
            for x in range(size + 1):
                if pmf[x] == 0.0:
                    continue
                n2 = list(ns)
                y2 = list(ys)
                n2[dose - 1] += int(size)
                y2[dose - 1] += x
                st = (tuple(n2), tuple(y2))
                nxt_frontier[st] = nxt_frontier.get(st, 0.0) + pr * float(pmf[x])
        frontier = nxt_frontier
    mean_n = float(en.sum())
    overdosed = None
    if tgt is not None:
        overdosed = 100.0 * float(en[p_true > tgt].sum()) / mean_n
    return OperatingCharacteristics(
        design=design.name,
        method="exact",
        truth=tuple(float(v) for v in p_true),
        target=tgt,
        cohort_size=design.cohort_size,
        max_cohorts=None,
        max_patients=None,
        n_trials=None,
        n_trials_requested=None,
        interrupted=False,
        seed=None,
        selection_pct=tuple(float(100 * v) for v in sel[1:]),
        selection_pct_se=None,
        none_selected_pct=float(100 * sel[0]),
        none_selected_pct_se=None,
        patients_per_dose=tuple(float(v) for v in en),
        patients_per_dose_se=None,
        dlts_per_dose=tuple(float(v) for v in ey),
        dlts_per_dose_se=None,
        mean_patients=mean_n,
        mean_patients_se=None,
        mean_dlts=float(ey.sum()),
        mean_dlts_se=None,
        stopped_early_pct=100.0,
        stopped_early_pct_se=None,
        stopped_for_toxicity_pct=float(100 * sel[0]),
        stopped_for_toxicity_pct_se=None,
        overdosed_pct=overdosed,
        overdosed_pct_se=None,
        mean_duration_days=None,
        mean_duration_days_se=None,
        details={"n_states": n_states, "total_probability": float(sel.sum())},
    )
