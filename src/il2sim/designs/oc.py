"""The one operating-characteristics schema, for every design and method (simulated or exact).

:class:`OperatingCharacteristics` has the same fields whatever the design, the rules wrapped
around it, the patient source or the method; ``to_dict()`` is what ``--json`` prints (the keys
are documented once, in ``docs/json.md``).  Monte Carlo standard errors (``*_se``) are given for
every estimated quantity of a simulation and are None for exact results.  Design- and
method-specific diagnostics go in ``details`` (CRM kernel: ``mean_final_beta``; exact A+B:
``n_states``, ``total_probability``).

Definitions (percentages 0..100; per-dose lists indexed by level 1..n, list index 0 = level 1):
``selection_pct`` % of trials selecting each level, ``none_selected_pct`` selecting none;
``patients_per_dose``/``dlts_per_dose`` mean patients/DLTs per level per trial;
``stopped_early_pct`` % of trials the design stopped before a cap (100 for A+B designs, which
always stop by their own rule); ``stopped_for_toxicity_pct`` % stopped by the design with no
dose selected; ``obd_selection_pct`` (efficacy-toxicity designs: the selection is the optimal
biological dose; else None) and ``efficacy_per_dose`` mean efficacious patients per level; ``overdosed_pct`` 100 x patients at doses with truth > target / all patients,
pooled over trials (None without a target); ``mean_duration_days`` mean time of the final
decision (None without an accrual process).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from il2sim.designs.kernels import Caps, SimulatedTrials

__all__ = ["OC_KEYS", "OperatingCharacteristics", "summarise"]

FloatTuple = tuple[float, ...]


@dataclass(frozen=True)
class OperatingCharacteristics:
    """Operating characteristics of a design under a true toxicity curve (see module doc).

    ``method`` is ``"simulation"`` or ``"exact"``; ``n_trials`` the trials finished (None for
    exact), ``n_trials_requested`` those asked for, ``interrupted`` True when Ctrl-C ended the
    run early; ``max_cohorts``/``max_patients`` the caps given (None = none).
    """

    design: str
    method: str
    truth: FloatTuple
    target: float | None
    cohort_size: int
    max_cohorts: int | None
    max_patients: int | None
    n_trials: int | None
    n_trials_requested: int | None
    interrupted: bool
    seed: int | None
    selection_pct: FloatTuple
    selection_pct_se: FloatTuple | None
    none_selected_pct: float
    none_selected_pct_se: float | None
    patients_per_dose: FloatTuple
    patients_per_dose_se: FloatTuple | None
    dlts_per_dose: FloatTuple
    dlts_per_dose_se: FloatTuple | None
    mean_patients: float
    mean_patients_se: float | None
    mean_dlts: float
    mean_dlts_se: float | None
    stopped_early_pct: float
    stopped_early_pct_se: float | None
    stopped_for_toxicity_pct: float
    stopped_for_toxicity_pct_se: float | None
    overdosed_pct: float | None
    overdosed_pct_se: float | None
    mean_duration_days: float | None
    mean_duration_days_se: float | None
    obd_selection_pct: FloatTuple | None = None
    efficacy_per_dose: FloatTuple | None = None
    efficacy_per_dose_se: FloatTuple | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every key of :data:`OC_KEYS`, in that order."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = (
                list(v) if isinstance(v, tuple) else (dict(v) if isinstance(v, dict) else v)
            )
        return out


#: The keys of every operating-characteristics JSON object, in order.
OC_KEYS: tuple[str, ...] = tuple(f.name for f in fields(OperatingCharacteristics))


def _tup(x: npt.ArrayLike) -> FloatTuple:
    return tuple(float(v) for v in np.asarray(x, dtype=float).ravel())


def _se_pct(p: npt.ArrayLike, n: int) -> npt.NDArray[np.float64]:
    """SE of percentages from proportions ``p`` over ``n`` trials: 100 sqrt(p (1 - p) / n)."""
    q = np.asarray(p, dtype=float)
    return np.asarray(100.0 * np.sqrt(q * (1 - q) / max(n, 1)))


def _se_mean(x: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """SE of the mean over axis 0: sample SD (ddof 1) / sqrt(n); NaN for fewer than 2."""
    n = x.shape[0]
    if n < 2:
        return np.full(x.shape[1:], np.nan)
    return np.asarray(x.std(axis=0, ddof=1) / np.sqrt(n))


def _none_if_nan(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _overdosed(
    npd: npt.NDArray[np.int64], truth: npt.NDArray[np.float64], target: float | None
) -> tuple[float | None, float | None]:
    """Pooled ratio 100 sum(over) / sum(all) and its delta-method SE over trials."""
    if target is None:
        return None, None
    tot = npd.sum(axis=1).astype(float)
    over = npd[:, truth > target].sum(axis=1).astype(float)
    total = float(tot.sum())
    if total <= 0:
        return 0.0, None
    r = float(over.sum()) / total
    n = tot.size
    if n < 2:
        return 100.0 * r, None
    resid = over - r * tot
    se = float(np.sqrt(resid.var(ddof=1) / n) / tot.mean())
    return 100.0 * r, 100.0 * se


def summarise(
    trials: SimulatedTrials,
    *,
    design: str,
    truth: npt.ArrayLike,
    target: float | None,
    cohort_size: int,
    caps: Caps,
    seed: int | None,
    n_requested: int,
    interrupted: bool = False,
    with_duration: bool = False,
    details: dict[str, Any] | None = None,
) -> OperatingCharacteristics:
    """Simulated operating characteristics from per-trial results (the one summariser)."""
    p = np.asarray(truth, dtype=float)
    nt = trials.n_trials
    if nt < 1:
        raise ValueError("no finished trials to summarise")
    k = p.size
    npd, ypd = trials.n_per_dose, trials.dlt_per_dose
    counts = np.bincount(trials.selected, minlength=k + 1)[: k + 1]
    sel = counts / nt
    tot = npd.sum(axis=1)
    dl = ypd.sum(axis=1)
    stopped = ~trials.capped
    tox = stopped & (trials.selected == 0)
    over, over_se = _overdosed(npd, p, target)
    dur: float | None = None
    dur_se: float | None = None
    if with_duration:
        dur = float(trials.duration_days.mean())
        dur_se = _none_if_nan(float(_se_mean(trials.duration_days)))
    return OperatingCharacteristics(
        design=design,
        method="simulation",
        truth=_tup(p),
        target=None if target is None else float(target),
        cohort_size=int(cohort_size),
        max_cohorts=caps.max_cohorts,
        max_patients=caps.max_patients,
        n_trials=nt,
        n_trials_requested=int(n_requested),
        interrupted=bool(interrupted),
        seed=seed,
        selection_pct=_tup(100.0 * counts[1:] / nt),
        selection_pct_se=_tup(_se_pct(sel[1:], nt)),
        none_selected_pct=float(100.0 * counts[0] / nt),
        none_selected_pct_se=float(_se_pct(sel[0], nt)),
        patients_per_dose=_tup(npd.mean(axis=0)),
        patients_per_dose_se=_tup(_se_mean(npd)),
        dlts_per_dose=_tup(ypd.mean(axis=0)),
        dlts_per_dose_se=_tup(_se_mean(ypd)),
        mean_patients=float(tot.mean()),
        mean_patients_se=_none_if_nan(float(_se_mean(tot))),
        mean_dlts=float(dl.mean()),
        mean_dlts_se=_none_if_nan(float(_se_mean(dl))),
        stopped_early_pct=float(100.0 * stopped.sum() / nt),
        stopped_early_pct_se=float(_se_pct(stopped.mean(), nt)),
        stopped_for_toxicity_pct=float(100.0 * tox.sum() / nt),
        stopped_for_toxicity_pct_se=float(_se_pct(tox.mean(), nt)),
        overdosed_pct=over,
        overdosed_pct_se=over_se,
        mean_duration_days=dur,
        mean_duration_days_se=dur_se,
        obd_selection_pct=None if trials.eff_per_dose is None else _tup(100.0 * counts[1:] / nt),
        efficacy_per_dose=None if trials.eff_per_dose is None else _tup(
            trials.eff_per_dose.mean(axis=0)),
        efficacy_per_dose_se=None if trials.eff_per_dose is None else _tup(
            _se_mean(trials.eff_per_dose)),
        details=dict(details or {}),
    )
