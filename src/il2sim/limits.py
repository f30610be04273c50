"""Resource limits, each with its reason: estimated before allocating, refused with a message
that names the limit, the estimate and the option that streams or chunks instead.

Every limit is listed in :data:`LIMITS` (and in ``docs/limits.md``); a limit marked
``overridable`` can be raised (or lowered) for one process with the environment variable
``IL2SIM_LIMIT_<NAME>`` (e.g. ``IL2SIM_LIMIT_HORIZON_DAYS=7300``).  The checks are pure
arithmetic on the request (no allocation), so a refused request costs nothing.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from il2sim.errors import InputError

__all__ = ["LIMITS", "Limit", "LimitError", "check", "limit"]


class LimitError(InputError):
    """A request over a resource limit (exit code 2, like any bad input)."""


@dataclass(frozen=True)
class Limit:
    """One resource limit: its default, what it counts, why it exists, what to do instead."""

    name: str
    default: float
    counts: str
    why: str
    instead: str = ""
    overridable: bool = True

    @property
    def env(self) -> str:
        """The environment variable that overrides the limit."""
        return f"IL2SIM_LIMIT_{self.name.upper()}"


_GB = "about {:.3g} GB"

LIMITS: dict[str, Limit] = {
    lim.name: lim
    for lim in (
        Limit(
            "horizon_days",
            3650.0,
            "simulated days",
            "the output grid and the solver's work grow with the horizon; ten years covers any "
            "IL-2 course (the seed trial ran 90 days)",
        ),
        Limit(
            "patients",
            1e8,
            "virtual patients in one simulate run",
            "10^8 patients take about a day on two cores even streamed",
            "run a sweep (il2sim sweep) in chunks on a Dask cluster",
        ),
        Limit(
            "stored_values",
            5e8,
            "values kept in memory (patients x states x output times)",
            "5x10^8 doubles are 4 GB, a sixth of the 24 GB machine",
            "fewer patients, a shorter horizon or a coarser output grid; il2sim simulate "
            "without --out streams more than 20 000 patients",
        ),
        Limit(
            "trials",
            1e8,
            "simulated trials in one run",
            "10^8 trials hold 10^8 results in memory",
            "run a sweep (il2sim sweep) with chunk_size and chunks",
        ),
        Limit(
            "cohorts",
            1000.0,
            "cohorts per trial (design simulate; a trial conducted on the server) or per "
            "decision table (design boundaries)",
            "a dose-finding trial has tens of cohorts; the kernels cap a trial at 1000 cohorts "
            "and size their arrays by it",
        ),
        Limit(
            "trial_cohorts",
            2e9,
            "trials x cohorts per trial (design simulate)",
            "the kernels allocate and loop over every trial's cohorts",
            "fewer --trials per run, summed by a sweep",
        ),
        Limit(
            "n_doses",
            100.0,
            "dose levels of a design",
            "designs fit one parameter per level or a model over all of them; 100 levels is "
            "far beyond any dose-finding trial",
        ),
        Limit(
            "pool_patients",
            1e6,
            "simulated patients in the replicate pools (levels x pool size)",
            "each pool patient is simulated over the whole course and kept in memory (10^6 "
            "patients take about an hour)",
            "a smaller --pool-size (replicates resample the pools)",
        ),
        Limit(
            "administrations",
            1e5,
            "dose events one regimen text expands to",
            "about 11 years of hourly doses; counted from the text before any event is built, "
            "so x99999999999 is refused at once instead of exhausting memory",
        ),
        Limit(
            "sweep_tasks",
            1e6,
            "chunks of one sweep (grid points x chunks per point)",
            "the store and the scheduler keep one entry per chunk; counted before any point is "
            "built (10 axes of 100 values would list 10^20 points)",
            "fewer axis values, or a larger chunk_size with fewer chunks",
        ),
        Limit(
            "grid_values",
            1e6,
            "values a sweep grid file holds after its YAML aliases are expanded",
            "a few lines of nested aliases expand to billions of values and exhaust memory",
        ),
        Limit(
            "model_evaluations",
            1e6,
            "model evaluations of a sensitivity analysis (Sobol: N x (parameters + 2); "
            "Morris: N x (parameters + 1))",
            "each evaluation simulates one virtual patient over the whole regimen (about 0.07 s "
            "for the default 90-day course, so 10^6 take about 10 hours on two cores), and the "
            "sample matrix is held in memory (--n 10^12 asked for 146 TB)",
            "a smaller --n, or fewer --params",
        ),
        Limit(
            "sensitivity_factor",
            1000.0,
            "fold width of a sensitivity interval [value/f, value*f] (--factor)",
            "three decades either side of the value cover any plausible parameter uncertainty; "
            "wider intervals put parameters far outside their physical range, where the "
            "solver's steps shrink (--factor 1e7 made each model evaluation about 9 times "
            "slower)",
        ),
        Limit(
            "path_nodes",
            100_000.0,
            "nodes of a dose-path tree (an upper bound before fitting)",
            "each node refits the design (a CRM fit is a quadrature); the tree grows as "
            "(cohort size + 1)^cohorts ahead",
            "fewer --cohorts-ahead, or paths from a later point (--outcomes)",
        ),
    )
}


def limit(name: str) -> float:
    """The limit in force: ``IL2SIM_LIMIT_<NAME>`` when set (a positive number), else the
    default."""
    lim = LIMITS[name]
    raw = os.environ.get(lim.env) if lim.overridable else None
    if raw is None or raw.strip() == "":
        return lim.default
    try:
        val = float(raw)
    except ValueError:
        val = math.nan
    if not (math.isfinite(val) and val > 0):
        raise InputError(f"must be a positive number, got {raw!r}", field=lim.env, value=raw)
    return val


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if x < 1e7 else f"{x:.3g}"


def check(name: str, estimate: float, detail: str = "", *, field: str | None = None) -> None:
    """Refuse ``estimate`` (of what ``LIMITS[name]`` counts) above the limit in force.

    ``detail`` says how the estimate was formed (``"1e12 patients x 24 states x 2161
    times"``); ``field`` the option the user should change (default: the limit's name).
    """
    cap = limit(name)
    if not estimate <= cap:  # also refuses NaN
        lim = LIMITS[name]
        how = f" ({detail})" if detail else ""
        instead = f"; instead: {lim.instead}" if lim.instead else ""
        over = f"; override with {lim.env}=N" if lim.overridable else ""
        raise LimitError(
            f"needs {_fmt(estimate)} {lim.counts}{how}, over the limit of {_fmt(cap)}: "
            f"{lim.why}{instead}{over}",
            field=field or name,
            value=estimate,
        )
