"""Trial analysis: the same on a simulated trial (``il2sim trial``) and on a real one.

``analyze(path)`` loads an SDTM or ADaM folder (:mod:`.load`: SDTM is turned into ADaM by
:mod:`il2sim.cdisc`, so both give the same endpoints), computes per-subject endpoints
(:mod:`.endpoints`), dose-response statistics (:mod:`.stats`) and safety tables
(:mod:`.safety`), and returns one frozen :class:`AnalysisResult`.

This package never imports ``il2sim.simulate``: it only reads data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from il2sim.analysis.endpoints import (
    il2_samples,
    nk_visits,
    subject_endpoints,
    worst_grade_by_term,
)
from il2sim.analysis.load import SdtmData, TrialData, load_sdtm, load_trial
from il2sim.analysis.safety import (
    ae_incidence,
    antibody_incidence,
    dlt_by_level,
    mtd_from_decisions,
)
from il2sim.analysis.stats import (
    JonckheereResult,
    LevelSummary,
    LogDoseFit,
    SpearmanResult,
    jonckheere_terpstra,
    log_dose_fit,
    spearman,
    summarize_by_level,
)
from il2sim.errors import DataError

__all__ = [
    "AnalysisResult",
    "DoseResponse",
    "JonckheereResult",
    "LevelSummary",
    "LogDoseFit",
    "SdtmData",
    "SpearmanResult",
    "TrialData",
    "analyze",
    "jonckheere_terpstra",
    "load_sdtm",
    "load_trial",
    "log_dose_fit",
    "spearman",
    "summarize_by_level",
]


def _records(df: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if df is None:
        return None
    clean = df.astype(object).where(pd.notna(df), None)
    return [
        {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in clean.to_dict(orient="records")
    ]


@dataclass(frozen=True)
class DoseResponse:
    """Dose-response of one endpoint (peak % increase of one CP test) across dose levels."""

    test: str
    endpoint: str
    summary: tuple[LevelSummary, ...]
    jonckheere: JonckheereResult | None
    spearman: SpearmanResult | None
    log_dose: LogDoseFit | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``--json``."""
        return {
            "test": self.test,
            "endpoint": self.endpoint,
            "summary": [s.to_dict() for s in self.summary],
            "jonckheere_terpstra": self.jonckheere.to_dict() if self.jonckheere else None,
            "spearman": self.spearman.to_dict() if self.spearman else None,
            "log_dose_fit": self.log_dose.to_dict() if self.log_dose else None,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class AnalysisResult:
    """Everything ``il2sim analyze`` computes for one trial folder.

    Tables are pandas DataFrames (do not mutate them); ``tables()`` names them for CSV export.
    Units: doses MIU/m2, counts cells/ul, IL-2 pM, time study days.
    """

    path: str
    n_subjects: int
    dose_levels_miu_per_m2: tuple[float, ...]
    subjects: pd.DataFrame
    nk_visits: pd.DataFrame
    dose_response: tuple[DoseResponse, ...]
    il2_samples: pd.DataFrame | None
    ae_worst: pd.DataFrame | None
    ae_table: pd.DataFrame | None
    dlt_table: pd.DataFrame
    mtd: dict[str, Any]
    antibodies: pd.DataFrame | None
    replicates: dict[str, Any] | None
    notes: tuple[str, ...] = field(default_factory=tuple)
    standard: str = "SDTM"
    efficacy: dict[str, Any] | None = None

    def response(self, test: str) -> DoseResponse | None:
        """The :class:`DoseResponse` of ``test`` (``NKCELLS`` or ``NKBRIGHT``), if analysed."""
        return next((d for d in self.dose_response if d.test == test), None)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by file stem (for ``--out``)."""
        out: dict[str, pd.DataFrame] = {
            "subjects": self.subjects,
            "nk_visits": self.nk_visits,
            "dlt_by_level": self.dlt_table,
        }
        for d in self.dose_response:
            out[f"summary_{d.test.lower()}"] = pd.DataFrame([s.to_dict() for s in d.summary])
        if self.il2_samples is not None:
            out["il2_samples"] = self.il2_samples
        if self.ae_worst is not None:
            out["ae_worst_grade"] = self.ae_worst
        if self.ae_table is not None:
            out["ae_incidence"] = self.ae_table
        if self.antibodies is not None:
            out["antibodies"] = self.antibodies
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``--json`` (NaN becomes ``None``)."""
        return {
            "path": self.path,
            "standard": self.standard,
            "n_subjects": self.n_subjects,
            "dose_levels_miu_per_m2": list(self.dose_levels_miu_per_m2),
            "mtd": dict(self.mtd),
            "dose_response": [d.to_dict() for d in self.dose_response],
            "dlt_by_level": _records(self.dlt_table),
            "ae_incidence": _records(self.ae_table),
            "antibodies": _records(self.antibodies),
            "subjects": _records(self.subjects),
            "replicates": self.replicates,
            "notes": list(self.notes),
        } | ({} if self.efficacy is None else {"efficacy": self.efficacy})


def _dose_response(subjects: pd.DataFrame, test: str) -> DoseResponse:
    col = f"{test}_peak_pct_increase"
    ok = subjects[subjects[col].notna()]
    summary = summarize_by_level(
        subjects[col].to_numpy(),
        subjects["level"].to_numpy(),
        subjects["dose_miu_per_m2"].to_numpy(dtype=float),
    )
    notes: list[str] = []
    jt = sp = fit = None
    groups = [g[col].to_numpy() for _, g in ok.groupby("level", sort=True)]
    if len(groups) >= 2:
        jt = jonckheere_terpstra(groups, alternative="increasing")
    else:
        notes.append(f"{test}: fewer than 2 dose levels with data; no trend test")
    try:
        sp = spearman(ok["dose_miu_per_m2"].to_numpy(), ok[col].to_numpy())
        fit = log_dose_fit(ok["dose_miu_per_m2"].to_numpy(), ok[col].to_numpy())
    except DataError as exc:
        notes.append(f"{test}: {exc}")
    return DoseResponse(
        test=test,
        endpoint="peak % increase from baseline",
        summary=summary,
        jonckheere=jt,
        spearman=sp,
        log_dose=fit,
        notes=tuple(notes),
    )


def _dose_of_level(subjects: pd.DataFrame) -> dict[int, float]:
    pairs = subjects[["level", "dose_miu_per_m2"]].drop_duplicates()
    return {int(a): float(b) for a, b in zip(pairs["level"], pairs["dose_miu_per_m2"], strict=True)}


def analyze(path: str | Path, test_codes: Mapping[str, str] | None = None) -> AnalysisResult:
    """Analyse the SDTM or ADaM folder ``path`` (see :func:`il2sim.analysis.load.load_trial`).

    ``test_codes`` maps ``NKCELLS``/``NKBRIGHT`` to the study's CP test codes.
    """
    data = load_trial(path, test_codes)
    return analyze_data(data)


def analyze_data(data: TrialData) -> AnalysisResult:
    """Analyse an already loaded :class:`TrialData` (``efficacy``: the response rate of the
    model-defined efficacy endpoint, from ADRS, :func:`il2sim.cdisc.efficacy.efficacy_rate`)."""
    from il2sim.cdisc.efficacy import efficacy_rate

    notes = list(data.notes)
    subjects = subject_endpoints(data)
    visits = pd.concat(
        [nk_visits(data, t).assign(test=t) for t in data.cell_tests], ignore_index=True
    )
    responses = []
    for test in data.cell_tests:
        if subjects[f"{test}_peak_pct_increase"].notna().any():
            dr = _dose_response(subjects, test)
            responses.append(dr)
            notes.extend(dr.notes)
        elif (data.adcp["PARAMCD"] == test).any():
            notes.append(f"{test}: no subject has both a baseline and a later value")
    n_no_base = int(subjects["NKCELLS_baseline_cells_per_ul"].isna().sum())
    if n_no_base:
        notes.append(f"NKCELLS: {n_no_base} subject(s) without a baseline (day <= 1) value")
    return AnalysisResult(
        path=data.path,
        n_subjects=len(subjects),
        dose_levels_miu_per_m2=data.dose_levels_miu_per_m2,
        subjects=subjects,
        nk_visits=visits,
        dose_response=tuple(responses),
        il2_samples=il2_samples(data),
        ae_worst=worst_grade_by_term(data),
        ae_table=ae_incidence(data),
        dlt_table=dlt_by_level(data),
        mtd=mtd_from_decisions(data.decisions, _dose_of_level(subjects)),
        antibodies=antibody_incidence(data),
        replicates=data.replicates,
        notes=tuple(notes),
        standard=data.standard,
        efficacy=efficacy_rate(data.adsl, data.adrs),
    )
