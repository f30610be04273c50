"""The compiled A+B simulator (same ``decide`` as :class:`~il2sim.designs.ab.ABFit`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numba
import numpy as np
import numpy.typing as npt

from il2sim.designs._ab_rules import decide, scan
from il2sim.designs._fast import treat_cohort_nb
from il2sim.designs.kernels import F64, Caps, Kernel, SimulatedTrials

__all__ = ["ABKernel"]


class _ABParams(Protocol):
    """What the kernel needs of an :class:`~il2sim.designs.ab.ABDesign` (a Protocol, so this
    module does not import ``ab``, which builds the kernel)."""

    @property
    def n_doses(self) -> int: ...
    @property
    def a(self) -> int: ...
    @property
    def b(self) -> int: ...
    @property
    def params(self) -> npt.NDArray[np.int64]: ...


@numba.njit(cache=True, nogil=True)
def _sim_kernel(
    truth: Any,
    params: Any,
    u: Any,
    max_cohorts: int,
    max_patients: int,
    record: Any,
) -> None:  # pragma: no cover
    """Per-trial A+B loop into the trial ``record`` (``SimulatedTrials.kernel_record``);
    ``u[t, k]`` is the k-th patient's uniform."""
    n_trials, max_pts = u.shape
    selected, npd, ypd, capped, _, _, _ = record
    for t in range(n_trials):
        n = npd[t]
        y = ypd[t]
        k = 0
        cohorts = 0
        while True:
            dose, size, m, _ = decide(n, y, params)
            if dose == 0:
                selected[t] = m
                break
            if cohorts >= max_cohorts or k >= max_patients or k >= max_pts:
                capped[t] = True
                selected[t] = scan(n, y, params)[1]
                break
            size = min(size, max_patients - k, max_pts - k)
            treat_cohort_nb(u, truth, t, dose - 1, size, k, cohorts, record)
            k += size
            cohorts += 1


@dataclass(frozen=True)
class ABKernel(Kernel):
    """Compiled A+B trials (the same ``decide`` as :class:`ABFit`)."""

    design: _ABParams

    def patient_slots(self, caps: Caps) -> int:
        """``n_doses * (a + b) + a + b`` (more than an A+B trial can treat), or ``max_patients``."""
        d = self.design
        return min(d.n_doses * (d.a + d.b) + d.a + d.b, caps.patients)

    def cohort_slots(self, caps: Caps) -> int:
        """At most two cohorts per dose (``a``, then one expansion to ``a + b``) and one more
        cut by a cap; the kernel treats running out of slots as a cap (never seen: the replay
        tests would show it)."""
        return min(caps.cohorts, 2 * self.design.n_doses + 1)

    def run(self, truth: F64, u: F64, caps: Caps, out: SimulatedTrials) -> None:
        """Simulate ``u.shape[0]`` trials into ``out``."""
        _sim_kernel(
            truth, self.design.params, u, self.cohort_slots(caps), caps.patients,
            out.kernel_record(),
        )  # fmt: skip
