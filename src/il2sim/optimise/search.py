"""``il2sim optimise``: the regimen with the highest P(efficacy) subject to P(DLT) <= target.

The search runs on the sweep machinery (:func:`il2sim.sweep.run_sweep`, runner kind
``regimen``): one grid point per candidate regimen (:mod:`.space`), one chunk of ``patients``
virtual patients each, the store in ``OUT/store`` (Parquet).  So it resumes (rerun the same
command: regimens already in the store are not run again), can run on Dask
(``--workers``/``--scheduler``), and follows the interruption contract (a first Ctrl-C stops
after the regimen in hand; what finished is summarised and written flagged
``"interrupted": true``).

Every regimen is evaluated on the SAME virtual patients (``population_seed`` = the search's
seed: common random numbers, so differences between regimens are not sampling noise between
populations) by :func:`il2sim.trial.regimens.evaluate_regimen`; P(DLT) is the toxicity
layer's and equals ``il2sim simulate --patients N --seed S``'s ``dlt_probability``.

Selection: among regimens with P(DLT) <= target (point estimate), the highest P(efficacy);
ties go to the lower P(DLT), then the earlier candidate.  ``pick_conservative`` applies the
same rule to regimens whose P(DLT) upper bootstrap bound is within the target.  The Pareto
front: regimens not dominated in (higher P(efficacy), lower P(DLT)).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from il2sim._files import write_atomic
from il2sim._interrupt import interrupt_fields
from il2sim._json import to_jsonable
from il2sim.optimise.space import SearchSpace

__all__ = ["OptimiseResult", "optimise", "pareto_front", "pick"]


def pareto_front(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows not dominated: no other row has P(eff) >= and P(DLT) <= with one strict."""
    front = []
    for r in rows:
        dominated = any(
            o["p_eff"] >= r["p_eff"] and o["p_dlt"] <= r["p_dlt"]
            and (o["p_eff"] > r["p_eff"] or o["p_dlt"] < r["p_dlt"])
            for o in rows
        )  # fmt: skip
        if not dominated:
            front.append(r)
    return sorted(front, key=lambda r: (r["p_dlt"], r["p_eff"]))


def pick(rows: Sequence[dict[str, Any]], target: float, bound: str = "p_dlt") -> dict[str, Any] | None:
    """The highest P(eff) among rows with ``row[bound] <= target`` (ties: lower P(DLT), then
    candidate order); None if no row qualifies."""
    ok = [(k, r) for k, r in enumerate(rows) if r[bound] <= target]
    if not ok:
        return None
    return min(ok, key=lambda kr: (-kr[1]["p_eff"], kr[1]["p_dlt"], kr[0]))[1]


@dataclass(frozen=True)
class OptimiseResult:
    """A finished (or interrupted) search: every evaluated regimen, the front and the picks."""

    rows: tuple[dict[str, Any], ...]
    settings: dict[str, Any]
    done: int
    asked: int
    out_dir: Path | None = None
    files: tuple[Path, ...] = ()

    @property
    def reference(self) -> dict[str, Any] | None:
        """The reference regimen's row (if evaluated)."""
        ref = self.settings["reference"]
        return next((r for r in self.rows if r["regimen"] == ref), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (keys in ``docs/json.md``, ``il2sim optimise``)."""
        target = float(self.settings["dlt_target"])
        rows = list(self.rows)
        best = pick(rows, target)
        safe = pick(rows, target, "p_dlt_hi")
        ref = self.reference
        return {
            **self.settings,
            "n_regimens": len(rows),
            "regimens": rows,
            "pareto_front": [r["regimen"] for r in pareto_front(rows)],
            "pick": best,
            "pick_conservative": safe,
            "reference_result": ref,
            "pick_beats_reference": (
                None if best is None or ref is None else bool(best["p_eff"] >= ref["p_eff"])
            ),
            "out_dir": None if self.out_dir is None else str(self.out_dir),
            "files": [str(f) for f in self.files],
        } | interrupt_fields(self.done, self.asked)


def _rows(store_summary: Any) -> list[dict[str, Any]]:
    rows = []
    for p in store_summary.points:
        if p["chunks_done"] < 1:
            continue
        m = p["metrics"]
        rows.append({"regimen": p["params"]["regimen"], "index": p["index"], **{
            k: (None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
            for k, v in m.items()
        }})  # fmt: skip
        rows[-1]["n"] = int(rows[-1]["n"])
    return rows


def optimise(
    space: SearchSpace,
    efficacy: str,
    dlt_target: float,
    patients: int,
    seed: int,
    out_dir: str | Path,
    *,
    n_boot: int = 1000,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> OptimiseResult:
    """Evaluate every regimen of ``space`` not yet in ``out_dir/store`` (see the module),
    then write ``optimise.json``, ``pareto.csv``, ``pareto.png`` and ``report.md`` there.
    ``progress(done, total)``: regimens in the store after each one (the library draws nothing)."""
    from il2sim import checks
    from il2sim.sweep import Grid, Store, run_sweep
    from il2sim.trial.efficacy import parse_efficacy

    eff = parse_efficacy(efficacy, last_day=space.days)
    target = checks.probability(dlt_target, "dlt_target", open_interval=True)
    n = checks.count(patients, "patients", maximum=10**6)
    s = checks.seed(seed)
    nb = checks.count(n_boot, "n_boot", maximum=10**5)
    out = checks.output_folder(out_dir, "out")
    texts = space.texts()
    grid = Grid(
        kind="regimen", seed=s, chunk_size=n, chunks=1,
        fixed={"efficacy": eff.text, "population_seed": s, "boot_seed": s, "n_boot": nb,
               "horizon_day": float(space.days)},
        axes={"regimen": list(texts)},
    )  # fmt: skip
    run = run_sweep(grid, out / "store", workers=workers, scheduler=scheduler, progress=progress)
    rows = _rows(Store(out / "store").summary())
    settings = {
        "efficacy": eff.to_dict(), "dlt_target": target, "patients": n, "seed": s,
        "n_boot": nb, "reference": space.reference, "days": space.days,
        "doses_per_m2": list(space.doses_per_m2), "flat_doses": list(space.flat_doses),
        "intervals": list(space.intervals), "routes": list(space.routes),
        "interval_method": "P(eff): Wilson 95% (p_eff_lo/hi) and bootstrap; P(DLT): "
                           "bootstrap percentile 95% (p_dlt_lo/hi), over virtual patients",
    }  # fmt: skip
    done = run.already_done + run.ran
    res = OptimiseResult(tuple(rows), settings, done, grid.n_tasks, out)
    if run.interrupted and not rows:
        raise KeyboardInterrupt  # nothing finished: nothing to write
    return _write(res, out)


def _write(res: OptimiseResult, out: Path) -> OptimiseResult:
    from il2sim.optimise.report import pareto_figure, pareto_markdown, write_csv

    data = res.to_dict()
    files = [out / "optimise.json", out / "pareto.csv", out / "pareto.png", out / "report.md"]
    data["files"] = [str(f) for f in files]
    data["out_dir"] = str(out)

    def js(p: Path) -> None:
        p.write_text(json.dumps(to_jsonable(data), indent=2) + "\n")

    def png(p: Path) -> None:
        p.write_bytes(pareto_figure(data))

    def md(p: Path) -> None:
        p.write_text(pareto_markdown(data, files[2].name))

    write_atomic(files[1], lambda p: write_csv(data, p))
    write_atomic(files[2], png)
    write_atomic(files[3], md)
    write_atomic(files[0], js)  # last: optimise.json present = the report files are in place
    return OptimiseResult(res.rows, res.settings, res.done, res.asked, out, tuple(files))

