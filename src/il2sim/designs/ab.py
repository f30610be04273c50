"""A+B escalation designs (Lin & Shih 2001, Biostatistics 2:203), covering 3+3 and the seed's 4+5.

At a dose, ``A`` patients are treated.  With ``x`` DLTs among them: escalate if ``x <= c``; the
dose is too toxic if ``x > d``; otherwise ``B`` more are treated and, with ``y`` DLTs among all
``A + B``, escalate if ``y <= e``, else the dose is too toxic.  3+3 is ``A=3, B=3, c=0, d=1,
e=1``.

Two variants, as in Lin & Shih (their "without" and "with dose de-escalation"):

* ``expand_lower=False`` ("3+3a", variant A): stop at the first too-toxic dose ``k`` and declare
  ``k - 1`` the MTD (no dose when ``k`` is the lowest treated dose).
* ``expand_lower=True`` ("3+3b", variant B): the declared MTD needs ``A + B`` patients; if dose
  ``k - 1`` had only ``A``, ``B`` more are treated there, and if it proves too toxic (``> e``
  DLTs of ``A + B``) the design moves down again.

Escalating past the highest dose declares the highest dose the MTD (no expansion there), which
reproduces the exact 3+3 tables in the reference numbers (dose-finding.md).

The decision depends only on the patients and DLTs per dose, so exact operating
characteristics come from enumerating count states with binomial cohort probabilities
(:func:`exact_oc`); no simulation is needed.  The compiled simulator is in ``ab_kernel``.

Seed-design assumption (Meropol et al. 1996: "cohorts of 4 to 9", 4+5): ``A=4, B=5, c=0, d=1,
e=1`` -- escalate after 0/4, expand after 1/4, stop after >= 2/4; after 9 escalate if <= 1/9.
The paper gives only the cohort sizes; c, d, e are our choice, mirroring 3+3 (Lin & Shih's
rule of thumb: at most one DLT in the expanded cohort).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy.stats import binom

from il2sim.designs._ab_rules import decide, scan
from il2sim.designs.base import Decision, Design, Fit, Outcomes, check_target, check_truth
from il2sim.designs.oc import OperatingCharacteristics
from il2sim.designs.rules import Rule
from il2sim.errors import DesignError

if TYPE_CHECKING:
    from il2sim.designs.ab_kernel import ABKernel

__all__ = ["ABDesign", "ABFit", "decide", "exact_oc", "four_plus_five", "three_plus_three"]



@dataclass(frozen=True)
class ABDesign(Design):
    """An A+B design (Lin & Shih 2001) over ``n_doses`` levels.

    ``a``, ``b``: patients in the first and the expansion cohort; ``c``, ``d``, ``e``: DLT
    thresholds (escalate if ``<= c`` of A, too toxic if ``> d`` of A, escalate if ``<= e`` of
    A+B).  ``expand_lower``: variant B (the MTD must have A+B patients).  ``target`` is only
    used to count overdosed patients in operating characteristics (A+B designs have none).
    """

    n_doses: int
    a: int = 3
    b: int = 3
    c: int = 0
    d: int = 1
    e: int = 1
    expand_lower: bool = False
    start_dose: int = 1
    target: float | None = None

    def __post_init__(self) -> None:
        if int(self.n_doses) < 1:
            raise DesignError(f"must be >= 1, got {self.n_doses}", field="n_doses")
        if self.a < 1:
            raise DesignError(f"must be >= 1, got {self.a}", field="a")
        if self.b < 0:
            raise DesignError(f"must be >= 0, got {self.b}", field="b")
        if not (0 <= self.c <= self.d < self.a):
            raise DesignError(
                f"need 0 <= c <= d < a, got c={self.c}, d={self.d}, a={self.a}", field="c"
            )
        if self.b == 0 and self.d != self.c:
            raise DesignError(f"with b=0 need d == c, got c={self.c}, d={self.d}", field="d")
        if self.b > 0 and not (self.c <= self.e < self.a + self.b):
            raise DesignError(
                f"need c <= e < a+b, got c={self.c}, e={self.e}, a+b={self.a + self.b}",
                field="e",
            )
        if not (1 <= self.start_dose <= self.n_doses):
            raise DesignError(
                f"must be in 1..{self.n_doses}, got {self.start_dose}", field="start_dose"
            )
        if self.target is not None:
            check_target(self.target)

    @property
    def cohort_size(self) -> int:  # type: ignore[override]
        """Size of the first cohort at a dose (``a``)."""
        return self.a

    @property
    def name(self) -> str:
        """``"3+3a"``, ``"3+3b"`` or ``"A+B(a,b,c,d,e)"``."""
        if (self.a, self.b, self.c, self.d, self.e) == (3, 3, 0, 1, 1):
            return "3+3b" if self.expand_lower else "3+3a"
        v = "b" if self.expand_lower else "a"
        return f"a+b({self.a},{self.b},{self.c},{self.d},{self.e}){v}"

    @property
    def params(self) -> npt.NDArray[np.int64]:
        """``[a, b, c, d, e, expand_lower, start_dose]`` for the numba kernels."""
        return np.array(
            [self.a, self.b, self.c, self.d, self.e, int(self.expand_lower), self.start_dose],
            dtype=np.int64,
        )

    def fit(self, outcomes: Outcomes) -> ABFit:
        """Fit to outcomes so far (the decision replays the rules on per-dose counts)."""
        self.check_outcomes(outcomes)
        return ABFit(self, outcomes)

    def kernel(self) -> ABKernel:
        """The compiled simulator (same decisions as :meth:`fit`)."""
        from il2sim.designs.ab_kernel import ABKernel

        return ABKernel(self)


_REASONS = (
    "treat at dose {dose}",
    "expand dose {dose} by {size}",
    "highest dose passed: MTD is the highest dose",
    "dose {toxic} too toxic: MTD is the dose below",
    "dose {toxic} too toxic: MTD is dose {mtd} with {ab} patients",
    "no dose acceptable",
    "dose {toxic} too toxic: expand dose {dose} by {size}",
)


class ABFit(Fit):
    """An :class:`ABDesign` fitted to outcomes."""

    def __init__(self, design: ABDesign, outcomes: Outcomes) -> None:
        self.design = design
        self.outcomes = outcomes

    def decision(self) -> Decision:
        """Next dose and cohort size (``a`` or ``b``), or stop with the MTD (None = none)."""
        des = self.design
        assert isinstance(des, ABDesign)
        n = self.outcomes.n_per_dose(des.n_doses)
        y = self.outcomes.dlt_per_dose(des.n_doses)
        p = des.params
        nxt, size, mtd, code = decide(n, y, p)
        toxic, passed = scan(n, y, p)
        reason = _REASONS[code].format(
            dose=nxt, size=size, toxic=toxic or None, mtd=mtd, ab=des.a + des.b
        )
        if nxt == 0:
            return Decision(None, True, reason, mtd=mtd or None, cohort_size=None)
        # While continuing, the MTD "if stopped now" is the highest passed dose below any toxic one.
        return Decision(int(nxt), False, reason, mtd=int(passed) or None, cohort_size=size)


def three_plus_three(n_doses: int, expand_lower: bool = False, **kw: Any) -> ABDesign:
    """The 3+3 design: A+B with A=3, B=3, c=0, d=1, e=1 (variant A or B)."""
    return ABDesign(n_doses=n_doses, a=3, b=3, c=0, d=1, e=1, expand_lower=expand_lower, **kw)


def four_plus_five(n_doses: int, expand_lower: bool = False, **kw: Any) -> ABDesign:
    """The seed trial's 4+5 (Meropol et al. 1996, cohorts of 4 to 9): A=4, B=5, c=0, d=1, e=1.

    c, d, e are the seed-design assumption documented in the module docstring.
    """
    return ABDesign(n_doses=n_doses, a=4, b=5, c=0, d=1, e=1, expand_lower=expand_lower, **kw)


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
            "exact operating characteristics need an A+B design (3+3, 3+3a, 3+3b, 4+5, a+b) "
            "without rules, "
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
