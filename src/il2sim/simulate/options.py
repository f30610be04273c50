"""Solver options: one frozen value passed to :func:`il2sim.simulate.simulate`.

Every solver setting lives here (no solver constant elsewhere); named presets:

* :data:`FAST` (``solver="fast"``, the default): the exponential RK4 kernel with Krogstad's
  stages, the dose input of the depots integrated exactly, the peak refined by a sub-step,
  and the adaptive step controller (per patient, error estimate ``FAST.error_estimate``,
  restarted at every dose and infusion switch so that results do not depend on when the
  regimen starts),
  local tolerance ``rtol`` tuned against the stored reference metrics on 50 patients for each
  of the 10 regimens of issue 10 (``tests/test_simulate_agreement.py``, ``docs/model.md``);
  on model v2 ``"fast"`` stands for :data:`FAST_V2` (tighter ``rtol``, tuned the same way on
  v2's reference metrics; :data:`MODEL_PRESETS`, :func:`resolve` with the model's name);
* :data:`FIXED` (``solver="fixed"``): the kernel of il2sim v0.1 (Cox & Matthews stages) on
  v0.1's fixed grid (steps ``grid_dt_day`` for half a day after s.c./i.m. doses, twice that
  elsewhere, a quarter of it in the day after an i.v. bolus or infusion switch): the golden
  outputs of v0.1 to rounding, and up to 1.6e-3 off the reference (6 of 10 regimens miss
  1e-4);
* :data:`ADAPTIVE` (``solver="adaptive"``): the first adaptive controller (Krogstad stages,
  step doubling, depot input in N, Hermite peaks), kept for comparison in the benchmarks;
* :data:`TRIAL`: the fixed grid at 1/32 day used by trials, pools and the toxicity calibration
  (on the seed regimen it changes daily peak IL-2 by < 0.2% and NK counts by < 1%,
  ``tests/test_trial.py``);
* :data:`REFERENCE` (``solver="reference"``): scipy ``solve_ivp`` Radau, rtol 1e-10, absolute
  tolerance 1e-6 IU for the drug amounts and 1e-12 for the other states, analytic Jacobian;
* :data:`REFERENCE_LSODA` (``solver="reference-lsoda"``): scipy ``odeint`` (LSODA) with the
  same tolerances, ~50x faster (its loop is compiled); records the stored test data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from il2sim.errors import InputError

#: Step methods: adaptive or fixed-grid exponential RK4 (numba), or scipy Radau.
METHODS: tuple[str, ...] = ("etd4-adaptive", "etd4-fixed", "radau", "lsoda")
#: Stages of the exponential RK4 kernel: Krogstad (2005) or Cox & Matthews (2002, v0.1).
SCHEMES: tuple[str, ...] = ("krogstad", "cox-matthews")
#: Error estimates of the adaptive controller: step doubling (Richardson; 3 ETDRK4 steps per
#: 2 accepted) or the embedded second-order solution (Krogstad's stage c; free).
ERROR_ESTIMATES: tuple[str, ...] = ("doubling", "embedded")


@dataclass(frozen=True)
class SolverOptions:
    """How to integrate.  Times in days.

    ``method``: one of :data:`METHODS`.  ``rtol``: local relative tolerance (adaptive step
    controller; Radau's ``rtol``).  ``dt_max_day``/``dt_min_day``/``dt_init_day``: step limits
    and first step of the adaptive controller; ``iv_dt_max_day`` (None: ``dt_max_day``) the
    largest step within ``grid_iv_window_day`` after an i.v. bolus or an infusion switch,
    where ``iv_rtol_factor`` also tightens ``rtol``.  ``grid_dt_day``: base step of the fixed grid.
    ``ref_atol_amount``/``ref_atol``: Radau's absolute tolerances for the drug-mass states and
    the others.  ``output_step_day``: spacing of the default output grid.  ``grid_*``: shape
    of the fixed grid (:func:`il2sim.simulate.grid.build_grid`).
    """

    method: str = "etd4-fixed"
    scheme: str = "cox-matthews"
    rtol: float = 1.5e-5
    dt_max_day: float = 0.25
    dt_min_day: float = 1e-6
    dt_init_day: float = 1.0 / 96.0
    grid_dt_day: float = 1.0 / 96.0
    ref_atol_amount: float = 1e-6
    ref_atol: float = 1e-12
    output_step_day: float = 0.25
    grid_depot_window_day: float = 0.5
    grid_coarse_factor: float = 2.0
    grid_iv_factor: float = 4.0
    grid_iv_window_day: float = 1.0
    grid_refine_powers: tuple[int, ...] = tuple(range(-8, 3))
    exact_input: bool = False
    refine_peaks: bool = False
    error_estimate: str = "doubling"
    restart_at_doses: bool = False
    iv_rtol_factor: float = 1.0
    iv_dt_max_day: float | None = None
    controller_safety: float = 0.9
    max_growth_levels: int = 2

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(
                f"must be one of {', '.join(METHODS)}, got {self.method!r}", field="method"
            )
        for name in (
            "rtol",
            "dt_max_day",
            "dt_min_day",
            "dt_init_day",
            "grid_dt_day",
            "ref_atol_amount",
            "ref_atol",
            "output_step_day",
            "grid_depot_window_day",
            "grid_coarse_factor",
            "grid_iv_factor",
            "grid_iv_window_day",
            "iv_rtol_factor",
            "iv_dt_max_day",
            "controller_safety",
        ):
            v = getattr(self, name)
            if v is None and name == "iv_dt_max_day":  # optional: dt_max_day everywhere
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or not (
                math.isfinite(v) and v > 0
            ):
                raise InputError(f"must be a positive number, got {v!r}", field=name, value=v)
        if self.scheme not in SCHEMES:
            raise InputError(
                f"must be one of {', '.join(SCHEMES)}, got {self.scheme!r}", field="scheme"
            )
        for name in ("exact_input", "refine_peaks", "restart_at_doses"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"must be true or false, got {getattr(self, name)!r}", field=name)
        if (
            isinstance(self.max_growth_levels, bool)
            or not isinstance(self.max_growth_levels, int)
            or not 1 <= self.max_growth_levels <= 8
        ):
            raise InputError(
                f"must be an integer from 1 to 8, got {self.max_growth_levels!r}",
                field="max_growth_levels",
                value=self.max_growth_levels,
            )
        if self.error_estimate not in ERROR_ESTIMATES:
            raise InputError(
                f"must be one of {', '.join(ERROR_ESTIMATES)}, got {self.error_estimate!r}",
                field="error_estimate",
            )
        if self.error_estimate == "embedded" and self.scheme != "krogstad":
            raise InputError(
                "the embedded error estimate needs Krogstad's stages (scheme='krogstad')",
                field="error_estimate",
            )
        if self.exact_input and self.scheme != "krogstad":
            raise InputError(
                "the exact dose input needs Krogstad's stages (scheme='krogstad')",
                field="exact_input",
            )
        if self.dt_min_day > self.dt_max_day:
            raise InputError(
                f"must not exceed dt_max_day={self.dt_max_day!r}, got {self.dt_min_day!r}",
                field="dt_min_day",
            )

    @property
    def kernel(self) -> bool:
        """True for the numba kernel (fixed or adaptive)."""
        return self.method.startswith("etd4")

    @property
    def adaptive(self) -> bool:
        """True for the adaptive step controller."""
        return self.method == "etd4-adaptive"

    def with_(self, **changes: object) -> SolverOptions:
        """A copy with ``changes`` (validated)."""
        return replace(self, **changes)  # type: ignore[arg-type]


#: il2sim v0.1: exponential RK4 (Cox & Matthews) on the v0.1 fixed grid (step 1/96 day).
FIXED = SolverOptions()
#: The first adaptive controller (Krogstad stages, step doubling; before the exact input).
#: ``dt_max_day`` 1/8: with 1/4-day steps in the smooth decay after a 6-h infusion the NK peak
#: increase over 2 days (~0.02-0.2%, a difference of nearly equal counts) was off by 1.4e-4.
ADAPTIVE = SolverOptions(method="etd4-adaptive", scheme="krogstad", dt_max_day=0.125)
#: Default: adaptive steps (embedded estimate) with the exact depot input and refined peaks,
#: restarted at every dose and infusion switch; ``rtol`` 6e-3, halved for a day after an i.v.
#: bolus or infusion switch, tuned on the stored reference metrics (50 patients x 10 regimens,
#: tests/test_simulate_agreement.py: worst 7.6e-5, CD56bright after the i.v. bolus; 7.4e-5
#: first-dose Cmax at 1.75 MIU/m2 s.c.).  rtol 6e-3 everywhere gives 2.8e-4 on the NK increase
#: after the bolus, so the i.v. window keeps 3e-3 (the stop-19 default).  The estimate is that
#: of a second-order solution, hence the loose-looking rtol.  ``dt_max_day`` 1/16: with 1/8-day
#: steps the NK increase after the 6-h infusion was off by 2.7e-4 whatever rtol (the NK
#: chain's error there is not what the estimate sees).
FAST = ADAPTIVE.with_(
    exact_input=True,
    refine_peaks=True,
    error_estimate="embedded",
    rtol=6e-3,
    dt_max_day=1 / 16,
    restart_at_doses=True,
    iv_rtol_factor=0.5,
)
#: Trials, pools and the toxicity calibration: the v0.1 fixed grid at 1/32 day.
TRIAL = SolverOptions(method="etd4-fixed", scheme="cox-matthews", grid_dt_day=1.0 / 32.0)
#: The reference solver.
REFERENCE = SolverOptions(method="radau", rtol=1e-10)
#: Second reference: scipy odeint (LSODA), same tolerances (records the stored test data).
REFERENCE_LSODA = SolverOptions(method="lsoda", rtol=1e-10)
#: Named presets (``simulate(..., solver=name)``, ``il2sim simulate --solver name``).
PRESETS: dict[str, SolverOptions] = {
    "fast": FAST,
    "fixed": FIXED,
    "adaptive": ADAPTIVE,
    "trial": TRIAL,
    "reference": REFERENCE,
    "reference-lsoda": REFERENCE_LSODA,
}
#: Model v2's ``fast`` (issue 11): the same scheme at ``rtol`` 3e-3, a quarter of it (7.5e-4)
#: for a day after an i.v. bolus or infusion switch.  With v1's ``FAST`` (6e-3, 3e-3) v2 missed
#: 1e-4 on 6 of the 10 regimens (worst 8.1e-4, CD56bright after the 6-h infusion); tuned on the
#: stored v2 reference metrics (50 patients x 10 regimens, tests/test_simulate_agreement.py):
#: all ten met, worst 6.5e-5 (first-day AUC of 20 MIU/m2 s.c.), 7.0e-5 (c.i.v. first-day
#: AUC); 11,015 + 192 rejected steps per patient for 90 days of 1.25 MIU/m2 s.c. against
#: 8,987 + 170 with ``FAST`` (rtol 1e-3 also meets it, worst 2.9e-5, at 16,705 steps).
#: rtol 3.5e-3 (iv factor 0.25) misses the 20 MIU/m2 first-day AUC (1.1e-4), rtol 3e-3 with
#: the factor 0.5 the c.i.v. first-day AUC (1.4e-4, stop 21).
FAST_V2 = FAST.with_(rtol=3e-3, iv_rtol_factor=0.25)
#: Per-model presets: the options a preset name stands for on a model (by the name its
#: parameter table gives, :attr:`il2sim.model.parameters.Parameters.model`) where they differ
#: from :data:`PRESETS`.  Runtime settings only: the kernel is the same.
MODEL_PRESETS: dict[str, dict[str, SolverOptions]] = {"v2": {"fast": FAST_V2}}


def preset(name: str, model: str | None = None) -> SolverOptions:
    """The options of preset ``name`` on model ``model`` (None: :data:`PRESETS`)."""
    return resolve(name, model)[1]


def resolve(solver: str | SolverOptions, model: str | None = None) -> tuple[str, SolverOptions]:
    """(name, options) for a preset name or an options value; ``model`` (``"v1"``, ``"v2"``)
    picks that model's options for a preset name (:data:`MODEL_PRESETS`)."""
    own = MODEL_PRESETS.get(model or "", {})
    if isinstance(solver, SolverOptions):
        for name, opts in (*own.items(), *PRESETS.items()):
            if opts == solver:
                return name, solver
        return solver.method, solver
    if isinstance(solver, str) and solver in PRESETS:
        return solver, own.get(solver, PRESETS[solver])
    raise InputError(f"must be one of {', '.join(PRESETS)}, got {solver!r}", field="solver")
