"""``il2sim vpc`` as a library call: read the data, load the fitted model, simulate the
dataset's design ``n_sim`` times, tabulate (:mod:`il2sim.fit.vpc`) and draw."""

from __future__ import annotations

from pathlib import Path

from il2sim.fit.vpc import VpcResult, vpc

__all__ = ["run_vpc"]


def run_vpc(data_path: str, parameters: str, n_sim: int, pc: bool, max_bins: int, seed: int,
            out: Path | None) -> tuple[VpcResult, list[Path], list[str], int]:
    """VPC result, written files (vpc.csv, one PNG per observation type), notes and the
    number of replicates simulated: under :func:`il2sim._interrupt.interruptible` a first
    Ctrl-C stops between chunks of replicates and the VPC is made of those that finished
    (at least one chunk), flagged by the caller."""
    from il2sim._interrupt import stop_requested
    from il2sim.fit.predictive import simulate_replicates
    from il2sim.fit.reading import read_dataset
    from il2sim.fit.workflow import load_fitted

    pm, design, notes = load_fitted(parameters, read_dataset(data_path))
    data = design.data
    sims, cens = simulate_replicates(pm, data, n_sim, seed, stop=stop_requested)
    pred = pm.pred(data) if pc else None
    res = vpc(data, sims, cens, strata=design.dose_level, pred=pred, max_bins=max_bins,
              strata_name="dose")
    paths: list[Path] = []
    if out is not None:
        from il2sim._files import write_atomic, write_text_atomic
        from il2sim.fit import figures as F

        out.mkdir(parents=True, exist_ok=True)
        paths.append(out / "vpc.csv")
        write_text_atomic(paths[-1], res.table.to_csv(index=False))
        for t in data.type_names:
            png = F.png_bytes(F.vpc_figure(res, t))
            paths.append(out / f"vpc_{t}.png")
            def _write(p: Path, b: bytes = png) -> None:
                p.write_bytes(b)

            write_atomic(paths[-1], _write)
    return res, paths, notes, int(sims.shape[0])
