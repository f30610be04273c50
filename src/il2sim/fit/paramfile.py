"""The parameter file a fit writes, and the parameter table in force (``il2sim params``).

The file is a complete il2sim parameter table (the schema of ``model/parameters.toml``:
``value``, ``unit``, ``bpv_cv``, ``source`` per entry), so ``simulate``, ``trial`` and
``validate`` load it with :func:`il2sim.model.parameters.load_parameters`.  It holds the
fitted model: fitted parameters at their estimates with the estimated variability
(``bpv_cv = sqrt(exp(omega^2) - 1)``) and a source naming the fit and its 95% interval; every
other model parameter at its typical value with ``bpv_cv = 0`` (the fit held it fixed, and the
estimated variabilities absorb whatever variability it had).  Residual errors and
correlations, which the table schema has no place for, are in ``fit.json`` beside it.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any

from il2sim.fit.result import FitResult
from il2sim.model.parameters import Parameters, load_parameters

__all__ = ["parameter_table", "write_parameter_file"]


def parameter_table(parameters: Parameters) -> dict[str, dict[str, Any]]:
    """``{NAME: {value, unit, cv, source}}`` (the ``il2sim params --json`` object)."""
    return {
        n: {"value": s.value, "unit": s.unit, "cv": s.bpv_cv, "source": s.source}
        for n, s in parameters.specs.items()
    }


def fitted_parameters(result: FitResult, base: Parameters, data_label: str) -> Parameters:
    """``base`` updated with the fit (see the module docstring)."""
    from dataclasses import replace

    from il2sim.model.parameters import DEFAULT_TABLE, ParameterSpec, read_table

    model_names = set(read_table(DEFAULT_TABLE))
    date = _dt.date.today().isoformat()
    specs: dict[str, ParameterSpec] = {}
    for name, spec in base.specs.items():
        if name in result.parameters:
            est = result.parameters[name]
            sd = result.omega.get(name, {}).get("sd", 0.0)
            cv = math.sqrt(math.expm1(sd * sd)) if sd > 0 else 0.0
            lo, hi = est.ci95
            src = (f"fit: il2sim fit {data_label} ({result.method}, {result.n_subjects} "
                   f"subjects, {date}); 95% CI {lo:.4g}-{hi:.4g}; table value was "
                   f"{spec.value:.6g}")
            specs[name] = replace(spec, value=float(est.estimate), bpv_cv=min(cv, 9.99), source=src)
        else:
            held = name in model_names and spec.bpv_cv > 0
            specs[name] = replace(spec, bpv_cv=0.0) if held else spec
    return Parameters(specs)


def write_parameter_file(result: FitResult, path: str | Path, data_label: str,
                         base: Parameters | None = None) -> Path:
    """Write the fitted parameter table (TOML) to ``path`` atomically."""
    import tomli_w

    from il2sim._files import write_text_atomic

    p = fitted_parameters(result, base or load_parameters(), data_label)
    body = {n: {"value": s.value, "unit": s.unit, "bpv_cv": s.bpv_cv, "source": s.source}
            for n, s in p.specs.items()}
    head = (f"# il2sim parameter table written by `il2sim fit {data_label}`.\n"
            "# Fitted entries carry the estimate and the estimated variability; the others their\n"
            "# typical value without variability (held fixed in the fit).  Load it with\n"
            "# `il2sim simulate|trial --parameters FILE`.  Residual errors: fit.json.\n\n")
    target = Path(path)
    write_text_atomic(target, head + tomli_w.dumps(body))
    return target
