"""CDISC datasets of in-silico and real trials: SDTM, ADaM, define.xml, Dataset-JSON.

One schema (:mod:`.schema`, declarations in :mod:`.sdtm_spec`, :mod:`.adam_spec`, codelists in
:mod:`.terminology`) drives the builder (:mod:`.sdtm`, :mod:`.design`), the ADaM derivation
(:mod:`.adam`, :mod:`.bds`), the writer (:mod:`.write`), define.xml (:mod:`.define`) and the
reader (:mod:`.read`).  Standards: SDTM v2.0 / SDTMIG 3.4, ADaM v2.1 / ADaMIG 1.3,
Define-XML 2.1, Dataset-JSON 1.1, SAS XPT v5.

:func:`write_trial` writes ``DIR/sdtm/`` and ``DIR/adam/`` (each dataset as CSV, Parquet and
Dataset-JSON, XPT on request, and the folder's define.xml), staged beside ``DIR`` and moved
into place whole (:func:`il2sim._files.staged_folder`), so a failed or interrupted run leaves
no partial folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from il2sim.cdisc.adam import AdamOptions, build_adam
from il2sim.cdisc.adam_spec import ADAM
from il2sim.cdisc.schema import Codelist, Dataset, Term, Variable, check_frame, conform
from il2sim.cdisc.sdtm_spec import DOMAINS, SDTM, SDTM_LIVE
from il2sim.cdisc.write import write_package

__all__ = [
    "ADAM",
    "DOMAINS",
    "SDTM",
    "SDTM_LIVE",
    "AdamOptions",
    "Codelist",
    "Dataset",
    "SdtmOptions",
    "Term",
    "Variable",
    "build_adam",
    "build_sdtm",
    "check_frame",
    "conform",
    "trial_datasets",
    "write_package",
    "write_sdtm",
    "write_trial",
]


def __getattr__(name: str) -> Any:
    # the trial builder imports the model; loaded only when asked for (analysis stays light)
    if name in ("SdtmOptions", "build_sdtm"):
        from il2sim.cdisc import sdtm

        return getattr(sdtm, name)
    raise AttributeError(f"module 'il2sim.cdisc' has no attribute {name!r}")


def trial_datasets(
    trial: Any, options: Any = None
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """(SDTM, ADaM) datasets of an in-silico trial; ADaM is derived from the SDTM exactly as
    from a real trial's SDTM (:func:`build_adam`).  ``options``: :class:`SdtmOptions`."""
    from il2sim.cdisc.sdtm import build_sdtm

    sdtm = build_sdtm(trial, options)
    adam, _ = build_adam(sdtm, AdamOptions(dlt_window_day=trial.schedule.dlt_window_day))
    adam["DECISION"] = conform(sdtm["DECISION"], ADAM["DECISION"])
    return sdtm, adam


def write_trial(
    trial: Any,
    out_dir: str | Path,
    xpt: bool = False,
    options: Any = None,
    extra: Callable[[Path], list[Path]] | None = None,
) -> list[Path]:
    """Write ``out_dir/sdtm`` and ``out_dir/adam`` of ``trial`` atomically; ``extra(stage)``
    may add files to the staged folder (they move into place with the datasets).  Returns the
    final paths written."""
    from il2sim._files import staged_folder

    sdtm, adam = trial_datasets(trial, options)
    target = Path(out_dir)
    with staged_folder(target) as stage:
        staged = write_package(sdtm, SDTM, stage / "sdtm", xpt=xpt, study_id=trial.study_id)
        staged += write_package(adam, ADAM, stage / "adam", xpt=xpt, study_id=trial.study_id)
        if extra is not None:
            staged += extra(stage)
    return [target / p.relative_to(stage) for p in staged]


def write_sdtm(
    domains: dict[str, pd.DataFrame],
    out_dir: str | Path,
    xpt: bool = False,
    specs: Mapping[str, Dataset] | None = None,
    strict: bool = True,
) -> list[Path]:
    """Write SDTM ``domains`` (from :func:`build_sdtm`) with define.xml into ``out_dir``,
    atomically (v0.1 API; :func:`write_trial` writes SDTM and ADaM).  ``specs``: the dataset
    declarations (default :data:`SDTM`; a live trial's export uses ``SDTM_LIVE``); each
    domain is conformed to its declaration (declared variables, in order) before writing."""
    from il2sim._files import staged_folder
    spec = SDTM if specs is None else specs
    target = Path(out_dir)
    sid = str(domains["DM"]["STUDYID"].iat[0]) if len(domains["DM"]) else "IL2SIM"
    frames = {name: conform(df, spec[name]) for name, df in domains.items()}
    with staged_folder(target) as stage:
        staged = write_package(frames, spec, stage, xpt=xpt, study_id=sid, strict=strict)
    return [target / p.relative_to(stage) for p in staged]
