"""The library behind ``il2sim trial``: one function per mode of the command.

:func:`conduct_trial` runs one in-silico trial and writes its datasets; :func:`replicate_trials`
runs replicate trials from pools of simulated patients and summarises them in the one
operating-characteristics schema (plus the trial's NK endpoints).  The CLI only parses options,
calls one of these and prints the result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from il2sim._files import write_atomic
from il2sim._json import to_jsonable
from il2sim.designs import Design
from il2sim.errors import DesignError
from il2sim.trial.replicates import Pools, ReplicateResults, build_pools, run_replicates
from il2sim.trial.run import DEFAULT_MAX_PATIENTS, Trial, run_trial
from il2sim.trial.settings import CohortSettings

__all__ = ["ReplicateOutput", "TrialOutput", "TrialWriter", "conduct_trial", "replicate_trials"]

#: ``progress(task, done, total)`` for the CLI's bars.
TaskProgress = Callable[[str, int, int], None]
#: ``writer(trial, out_dir) -> files written`` (e.g. :func:`il2sim.cdisc.write_trial`).
TrialWriter = Callable[[Trial, Path], Sequence[Path]]


@dataclass(frozen=True)
class TrialOutput:
    """One in-silico trial and the files written for it."""

    trial: Trial
    out_dir: Path
    files: tuple[Path, ...]

    def to_dict(self) -> dict[str, Any]:
        """The trial's summary plus ``out_dir`` and ``files`` (``docs/json.md``)."""
        return self.trial.to_dict() | {
            "out_dir": str(self.out_dir),
            "files": [str(f) for f in self.files],
        }


def conduct_trial(
    design: Design,
    doses_miu_per_m2: Sequence[float],
    seed: int,
    out_dir: Path,
    settings: CohortSettings | None = None,
    max_patients: int = DEFAULT_MAX_PATIENTS,
    writer: TrialWriter | None = None,
) -> TrialOutput:
    """Run one in-silico trial (:func:`il2sim.trial.run_trial`) with ``settings`` and write its
    datasets into ``out_dir`` with ``writer`` (None: nothing is written)."""
    from il2sim import checks

    checks.seed(seed)
    trial = run_trial(design, doses_miu_per_m2, seed, settings, max_patients=max_patients)
    files = () if writer is None else tuple(writer(trial, Path(out_dir)))
    return TrialOutput(trial, Path(out_dir), files)


@dataclass(frozen=True)
class ReplicateOutput:
    """Replicate trials, the pools they drew from and the summary file written (if any)."""

    results: ReplicateResults
    pools: Pools
    file: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """The OC schema plus the trial's keys (``docs/json.md``)."""
        return self.results.to_dict(self.pools)


def replicate_trials(
    design: Design,
    doses_miu_per_m2: Sequence[float],
    n_trials: int,
    seed: int,
    pool_size: int = 600,
    settings: CohortSettings | None = None,
    max_patients: int = DEFAULT_MAX_PATIENTS,
    out_dir: Path | None = None,
    progress: TaskProgress | None = None,
) -> ReplicateOutput:
    """Simulate ``pool_size`` patients per level with ``settings``, run ``n_trials`` replicate
    trials from the pools (:func:`il2sim.trial.run_replicates`) and, with ``out_dir``, write
    ``replicates.json`` there (atomically).  ``settings.efficacy`` (an
    :class:`~il2sim.trial.efficacy.EfficacyDefinition`): each pool patient's response, drawn
    with the patient (efficacy-toxicity designs decide on it; docs/json.md keys)."""
    from il2sim import checks, limits

    checks.seed(seed)
    checks.count(n_trials, "trials")
    limits.check("trials", n_trials, field="trials")

    def report(task: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, total: progress(task, done, total)

    if design.uses_efficacy and (settings is None or settings.efficacy is None):  # before pools
        raise DesignError(
            f"design {design.name} needs an efficacy definition (e.g. nk_fold>=3@day56)",
            field="efficacy",
        )
    pools = build_pools(doses_miu_per_m2, pool_size, seed, settings, report("simulating pools"))
    reps = run_replicates(
        design, pools, n_trials, seed, max_patients=max_patients,
        progress=report("replicate trials"),
    )  # fmt: skip
    out = ReplicateOutput(reps, pools)
    if out_dir is None:
        return out
    path = Path(out_dir) / "replicates.json"
    summary = out.to_dict()

    def write(p: Path) -> None:
        p.write_text(json.dumps(to_jsonable(summary), indent=2) + "\n")

    write_atomic(path, write)
    return ReplicateOutput(reps, pools, path)
