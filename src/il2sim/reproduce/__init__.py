"""Reproduce the seed trial in silico: each reported result beside the model's.

The seed (Meropol et al. 1996, Clin Cancer Res 2:669; its facts in :mod:`il2sim.seed`) treated
38 patients with daily s.c. IL-2 for 90 days at seven levels from 0.4 to 1.75 MIU/m2.  il2sim
assumes the levels 0.40, 0.60, 0.80, 1.00, 1.25, 1.50, 1.75 MIU/m2/day and a 4+5 A+B design
(cohorts of 4 to 9; Lin & Shih 2001), runs one representative trial and ``n_replicates``
replicate trials drawn from per-level pools of simulated patients
(:mod:`il2sim.trial.replicates`), and compares.

The representative trial is written as SDTM and ADaM (:func:`il2sim.cdisc.write_trial`) and its
numbers in the table (MTD, patients, dose-response P values, antibodies) are computed by
:func:`il2sim.analysis.analyze` on the written SDTM folder, exactly as on a real trial's.  The
replicate rows summarise the model's pools (true, noise-free counts) with the same endpoint
definition (:mod:`il2sim.baseline`) and the same Jonckheere-Terpstra test
(:func:`il2sim.analysis.stats.jonckheere_terpstra`).  The REPORTED column holds the seed's
numbers; every MODEL number is computed here.  Each row states the rule that decides
agree/disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from il2sim.reproduce.table import SEED, ResultRow, compare_rows, jt_pvalue
from il2sim.toxicity import ToxicityParameters, load_toxicity_parameters
from il2sim.trial.replicates import build_pools, run_replicates
from il2sim.trial.run import run_trial
from il2sim.trial.schedule import Schedule
from il2sim.trial.settings import CohortSettings

__all__ = [
    "SEED",
    "SEED_DOSES_MIU_PER_M2",
    "SEED_REFERENCE",
    "ReproduceResult",
    "ResultRow",
    "jt_pvalue",
    "reproduce",
]

#: Assumed dose levels of the seed (only the range 0.4-1.75 and the count 7 are published).
SEED_DOSES_MIU_PER_M2: tuple[float, ...] = SEED.doses_miu_per_m2
#: The seed's reported values in the form :func:`il2sim.report.write_report` draws them.
SEED_REFERENCE: dict[str, Any] = SEED.reference()


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
    n_replicates_requested: int = 0

    @property
    def interrupted(self) -> bool:
        """True when Ctrl-C ended the replicates early (:mod:`il2sim._interrupt`)."""
        return self.n_replicates < self.n_replicates_requested

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
            "n_replicates_requested": self.n_replicates_requested,
            "interrupted": self.interrupted,
            "representative_trial": self.representative,
            "replicates": self.replicates,
            "out_dir": self.out_dir,
            "files": list(self.files),
            "notes": list(self.notes),
        }


def _stage(
    progress: Callable[[str, int, int], None] | None, stage: str
) -> Callable[[int, int], None] | None:
    """``progress`` as the ``(done, total)`` callback of one named stage (None: none)."""
    if progress is None:
        return None
    report = progress
    return lambda done, total: report(stage, done, total)


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

    Writes into ``out_dir`` (None: write nothing), staged and moved into place whole: the
    representative trial's SDTM and ADaM (``sdtm/``, ``adam/``, each with define.xml; XPT
    with ``xpt``), ``reproduce.csv``/``reproduce.json`` (the table) and ``replicates.json``
    (replicate summary).
    """
    import tempfile

    from il2sim.cdisc import SDTM, trial_datasets, write_package, write_trial
    from il2sim.designs.registry import build_design

    t = tox or load_toxicity_parameters(model=getattr(parameters, "model", "v1"))
    doses = SEED_DOSES_MIU_PER_M2
    design = build_design("a+b", n_doses=len(doses), a=4, b=5)
    sch = Schedule()
    settings = CohortSettings(parameters=parameters, tox=t, schedule=sch)
    trial = run_trial(design, doses, seed, settings)
    pools = build_pools(doses, pool_size, seed, settings, progress=_stage(progress, "pools"))
    reps = run_replicates(design, pools, n_replicates, seed, progress=_stage(progress, "replicates"))
    notes = [
        "dose levels 0.40, 0.60, 0.80, 1.00, 1.25, 1.50, 1.75 MIU/m2/day and the 4+5 design "
        "(c=0, d=1, e=1) are assumptions (the abstract gives only the range and cohort sizes)",
        f"replicate trials draw patients from pools of {pool_size} simulated patients per level",
    ]
    from il2sim.toxicity import toxicity_is_current

    if not toxicity_is_current(t, parameters):
        notes.append(
            "the toxicity table was calibrated against other model parameters: run "
            "`il2sim calibrate` (or il2sim.calibrate.calibrate_and_write) to refit it"
        )
    if reps.n_replicates < n_replicates:
        notes.append(f"interrupted: {reps.n_replicates} of {n_replicates} replicates finished")

    def table_of(folder: Path) -> ReproduceResult:
        """The table, with the representative trial analysed from its SDTM in ``folder``."""
        from il2sim.analysis import analyze

        rows, extra = compare_rows(trial, analyze(folder / "sdtm"), pools, reps, t)
        return ReproduceResult(
            results=tuple(rows),
            mtd_selected_pct=reps.mtd_selected_pct(),
            representative=trial.to_dict(),
            replicates=reps.to_dict(pools) | extra,
            seed=seed,
            n_replicates=reps.n_replicates,
            n_replicates_requested=int(n_replicates),
            out_dir=str(out_dir) if out_dir is not None else None,
            notes=tuple(notes),
        )

    if out_dir is None:
        with tempfile.TemporaryDirectory() as tmp:
            sdtm, _ = trial_datasets(trial)
            write_package(sdtm, SDTM, Path(tmp) / "sdtm", define=False)
            return table_of(Path(tmp))
    done: list[ReproduceResult] = []

    def tables(stage: Path) -> list[Path]:
        done.append(table_of(stage))
        return _write_tables(done[0], stage)

    files = write_trial(trial, out_dir, xpt=xpt, extra=tables)
    return replace(done[0], files=tuple(str(f) for f in files))


def _write_tables(result: ReproduceResult, out: Path) -> list[Path]:
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
    return [out / n for n in ("reproduce.csv", "reproduce.json", "replicates.json")]
