"""The CLI's one model handle: ``--model v1|v2`` (default v1; :mod:`il2sim.model.models`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from il2sim.errors import InputError
from il2sim.model.models import DEFAULT_MODEL, MODEL_NAMES
from il2sim.model.parameters import Parameters, load_parameters

__all__ = ["ModelOption", "ParametersOption", "StudyModelOption", "check_model", "model_parameters",
           "model_table_path", "parameter_file", "require_v2"]

_HELP = "Model: v1 (default; v0.1 biology) or v2 (Tregs, Tconv, CD8; receptors from cells)."

#: ``--model`` with the default model v1.
ModelOption = Annotated[str, typer.Option("--model-version", help=_HELP)]
#: ``--model`` of the study commands (calibrate, validate): v2 is the model the training
#: studies calibrate.
StudyModelOption = Annotated[
    str, typer.Option("--model-version", help="Model: v2 (default; the study-calibrated model).")
]

#: ``--parameters FILE`` of the commands that simulate patients (simulate, trial).
ParametersOption = Annotated[
    Path | None, typer.Option("--parameters", help="Parameter table (TOML, e.g. an il2sim fit's).")
]


def parameter_file(path: Path | None) -> Parameters | None:
    """The table ``--parameters`` names (the reader checks the file: name, folder, missing;
    exit 2), None when none is given (the model's packaged table)."""
    return None if path is None else load_parameters(path)


def check_model(name: str) -> str:
    """``name`` if it is a model (else InputError naming ``model``, exit 2)."""
    if name not in MODEL_NAMES:
        raise InputError(f"unknown model {name!r} (known: {', '.join(MODEL_NAMES)})",
                         field="model-version", value=name)
    return name


def require_v2(name: str, what: str) -> str:
    """The study commands run v2 only: v1's values are v0.1's seed calibration, and the study
    library has T-cell endpoints v1 does not declare."""
    if check_model(name) != "v2":
        raise InputError(f"{what} runs model v2 only (v1 keeps v0.1's seed calibration; the "
                         "study library has Treg/Tconv/CD8 endpoints v1 does not declare)",
                         field="model-version", value=name)
    return name


def model_parameters(name: str, table: Parameters | None = None) -> Parameters:
    """The parameter set of ``--model name``: the packaged table, or ``table`` (a
    ``--parameters`` file) when it names the same model (else InputError: one handle)."""
    from il2sim.model.models import load_model_parameters

    check_model(name)
    if table is None:
        return load_model_parameters(name)
    if table.model != name:
        raise InputError(f"the parameter table is model {table.model}'s; pass --model-version "
                         f"{table.model} (the model is {name})", field="model-version", value=name)
    return table


def model_table_path(name: str, parameters: str | None) -> str | None:
    """The parameter-table path that runs ``--model-version name``, for commands that take a
    path (``sensitivity``): ``parameters`` when it names that model (checked: one handle), the
    packaged table of ``name`` when none is given (None for the default model v1)."""
    from il2sim.model.models import model_table
    from il2sim.model.parameters import load_parameters

    check_model(name)
    if parameters is None:
        return None if name == DEFAULT_MODEL else str(model_table(name))
    model_parameters(name, load_parameters(parameters))  # the reader checks the file
    return parameters


assert DEFAULT_MODEL == "v1"
