"""``il2sim sensitivity`` as a library call: parameters and their intervals (a fit's 95% CIs
from the parameter file's source text when it has them, else ``[value/f, value*f]``),
SALib Sobol or Morris on :class:`il2sim.fit.sensitivity.Il2simOutputs`, a figure."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from il2sim.errors import InputError
from il2sim.fit.sensitivity import (
    Il2simOutputs,
    SensitivityResult,
    il2sim_outputs,
    morris,
    sobol,
)
from il2sim.limits import check as check_limit
from il2sim.model.parameters import Parameters, load_parameters

__all__ = ["DEFAULT_SENSITIVITY_PARAMS", "default_sensitivity_params", "run_sensitivity"]

#: Parameters the default set starts from (kept where the model's table has them): the PK and
#: NK parameters the fit estimates by default; the table's calibrated rows are added to them.
DEFAULT_SENSITIVITY_PARAMS: tuple[str, ...] = (
    "f_sc", "ka_per_day", "cl_renal_ml_per_min", "emax_production", "nk_loss_per_day",
    "marrow_transit_day",
)


def default_sensitivity_params(base: Parameters) -> tuple[str, ...]:
    """The default parameters for the model of table ``base``: those of
    :data:`DEFAULT_SENSITIVITY_PARAMS` that the table has, then its calibrated rows (so the
    set follows the model: v1's ``receptor_pool_scale``, v2's saturable s.c. loss and Treg
    Emax), each with a positive value."""
    names = [n for n in (*DEFAULT_SENSITIVITY_PARAMS, *base.calibrated_names())
             if n in base and base.value(n) > 0]
    return tuple(dict.fromkeys(names))


_CI = re.compile(r"95% CI ([0-9.eE+-]+)-([0-9.eE+-]+)")


def run_sensitivity(method: str, params: str | None, regimen: str, n: int, factor: float,
                    parameters: str | None, workers: int | None, scheduler: str | None,
                    seed: int, out: Path | None,
                    progress: Callable[[int, int], None] | None = None,
                    ) -> tuple[SensitivityResult, list[Path]]:
    """Run and (with ``out``) write sensitivity.json and sensitivity.png; ``progress(done,
    total)`` after each chunk of model runs."""
    from il2sim.regimen.spec import parse_spec

    m = method.strip().lower()
    if m not in ("sobol", "morris"):
        raise InputError(f"must be sobol or morris, got {method!r}", field="method", value=method)
    parse_spec(regimen)  # bad regimen -> InputError before any work
    base = load_parameters(parameters) if parameters else load_parameters()  # checks the file
    names = default_sensitivity_params(base) if not params else tuple(
        t.strip() for t in params.split(",") if t.strip())
    bounds = []
    for nm in names:
        if nm not in base:
            raise InputError(f"unknown parameter {nm!r} (see `il2sim params`)", field="params", value=nm)
        v = base.value(nm)
        if v <= 0:
            raise InputError(f"{nm!r} needs a positive value for a log-uniform interval", field="params",
                             value=nm)
        hit = _CI.search(base.spec(nm).source)
        bounds.append((float(hit.group(1)), float(hit.group(2))) if hit else (v / factor, v * factor))
    extra = 2 if m == "sobol" else 1  # model evaluations: N x (D + 2) or N x (D + 1)
    check_limit("model_evaluations", n * (len(names) + extra),
                f"--n {n} x ({len(names)} parameters + {extra})", field="n")  # fmt: skip
    fn = Il2simOutputs(regimen, tuple(names), parameters)
    run = sobol if m == "sobol" else morris
    res = run(fn, names, bounds, il2sim_outputs(base.model), n=n, seed=seed, scale=["log"] * len(names),
              workers=workers, scheduler=scheduler, progress=progress)
    paths: list[Path] = []
    if out is not None:
        from il2sim._files import write_atomic, write_text_atomic
        from il2sim._json import to_jsonable
        from il2sim.fit.figures import png_bytes, sensitivity_figure

        out.mkdir(parents=True, exist_ok=True)
        paths.append(out / "sensitivity.json")
        write_text_atomic(paths[-1], json.dumps(to_jsonable(res.to_dict() | {"regimen": regimen}),
                                                indent=2) + "\n")
        png = png_bytes(sensitivity_figure(res))
        paths.append(out / "sensitivity.png")
        def _write(p: Path) -> None:
            p.write_bytes(png)

        write_atomic(paths[-1], _write)
    return res, paths
