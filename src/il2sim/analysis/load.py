"""Load a trial folder for analysis: SDTM or ADaM, the same :class:`TrialData` either way.

The analysis always works on ADaM datasets (ADaMIG 1.3): from an ADaM folder (``adsl.*``) it
reads them (:func:`il2sim.cdisc.read.read_package`); from an SDTM folder (``dm.*``; DM, EX and
CP required, AE, PC, IS, SUPPAE, SUPPDM optional) it derives them with
:func:`il2sim.cdisc.adam.build_adam`, exactly as ``il2sim trial`` derives the ADaM it writes.
So an SDTM folder and the ADaM folder derived from it give the same endpoints.  A folder with
``sdtm/`` and ``adam/`` sub-folders (what ``il2sim trial --out`` writes) is read from
``adam/``.  File, variable and value rules: :mod:`il2sim.cdisc.read`; units are converted to
il2sim's (doses MIU/m2, counts cells/uL, IL-2 pmol/L, time study days) at derivation.

Extras found in the folder or its parent: ``decision`` (the design's decision log; v0.1 name
``decisions``) and a replicate summary (``replicates.json``, ``oc.json`` or ``summary.json``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from il2sim.cdisc.adam import REQUIRED, AdamOptions, build_adam
from il2sim.cdisc.adam_spec import ADAM
from il2sim.cdisc.checks import (
    check_decisions,
    check_test_codes_present,
    check_values,
    raise_all,
)
from il2sim.cdisc.read import Package, read_package, resolve_folder
from il2sim.cdisc.sdtm_spec import CP_TESTS, SDTM
from il2sim.errors import DataError

__all__ = ["NK_TEST_CODES", "SdtmData", "TrialData", "load_sdtm", "load_trial"]

#: Canonical test codes of the NK endpoints (CP / ADCP PARAMCD): total CD3-CD56+ NK and
#: CD56bright NK.
NK_TEST_CODES: tuple[str, ...] = ("NKCELLS", "NKBRIGHT")
OPTIONAL: tuple[tuple[str, str], ...] = (("AE", "ADAE"), ("PC", "ADPC"), ("IS", "ADIS"))


@dataclass(frozen=True)
class TrialData:
    """A validated trial in ADaM form (units of the module docstring).

    ``adsl``: one row per DM subject in DM order (TRT01PN = dose level, null if untreated;
    DOSE01P = starting dose); ``adcp``: cell counts (PARAMCD canonical, DTYPE MAXIMUM rows =
    peaks); ``adpc``, ``adae``, ``adis``, ``adrs`` (efficacy responses): None when the domain
    is absent.  ``standard``: what
    the folder held.
    """

    path: str
    standard: Literal["SDTM", "ADaM"]
    adsl: pd.DataFrame
    adcp: pd.DataFrame
    adpc: pd.DataFrame | None = None
    adae: pd.DataFrame | None = None
    adis: pd.DataFrame | None = None
    adex: pd.DataFrame | None = None
    adrs: pd.DataFrame | None = None
    decisions: pd.DataFrame | None = None
    replicates: dict[str, Any] | None = None
    dose_levels_miu_per_m2: tuple[float, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def cell_tests(self) -> tuple[str, ...]:
        """Cell-count endpoints analysed: NKCELLS and NKBRIGHT always, then every other CP test
        il2sim declares (:data:`il2sim.cdisc.sdtm_spec.CP_TESTS`) that the data hold."""
        present = set(self.adcp["PARAMCD"].astype(str))
        return NK_TEST_CODES + tuple(c for c in CP_TESTS if c not in NK_TEST_CODES and c in present)

    @property
    def treated(self) -> pd.DataFrame:
        """ADSL rows of treated subjects (a dose level)."""
        return self.adsl[self.adsl["TRT01PN"].notna()]


#: v0.1 name, kept for callers of ``il2sim.load_sdtm``.
SdtmData = TrialData


def _check_test_codes(test_codes: Mapping[str, str] | None) -> dict[str, str]:
    codes = {c: c for c in NK_TEST_CODES}
    for key, val in (test_codes or {}).items():
        k = key.strip().upper()
        if k not in NK_TEST_CODES:
            raise DataError(
                f"unknown endpoint {key!r} (expected NKCELLS or NKBRIGHT)", field="test_codes"
            )
        if not str(val).strip():
            raise DataError(f"empty test code for {k}", field="test_codes")
        codes[k] = str(val).strip().upper()
    return codes


def _replicates(folder: Path) -> dict[str, Any] | None:
    for where in (folder, folder.parent):
        for p in sorted(where.iterdir()) if where.is_dir() else ():
            if p.is_file() and p.name.lower() in ("replicates.json", "oc.json", "summary.json"):
                try:
                    loaded = json.loads(p.read_text())
                except (OSError, ValueError) as exc:
                    raise DataError(f"cannot read {p.name}: {exc}", field="replicates") from None
                if isinstance(loaded, dict):
                    return loaded
        if where is folder and where.name.lower() not in ("sdtm", "adam"):
            break
    return None


def _read_checked(
    pkg: Package, folder: Path, requested: Mapping[str, str] | None, cells: str, code_col: str
) -> Package:
    """``pkg`` once its values are checked and every mapped test code the user asked for is
    present in the cell-count table ``cells`` (CP or ADCP, codes in ``code_col``); all problems
    are raised together (:func:`il2sim.cdisc.checks.raise_all`).  SDTM and ADaM both use it."""
    problems = check_values(pkg.tables)
    cp_raw = pkg.tables.get(cells)
    if cp_raw is not None and code_col in cp_raw.columns:
        present = set(cp_raw[code_col].astype(str).str.strip().str.upper())
        problems += check_test_codes_present(requested, present, cells, code_col)
    raise_all(problems, str(folder))
    return pkg


def _from_sdtm(
    folder: Path, codes: dict[str, str], requested: Mapping[str, str] | None
) -> tuple[dict[str, pd.DataFrame | None], list[str]]:
    names = ("DM", "SUPPDM", "EX", "AE", "SUPPAE", "CP", "PC", "IS", "RS", "DECISION")
    sdtm = read_package(folder, SDTM, names=names, standard="SDTM")
    pkg = _read_checked(sdtm, folder, requested, "CP", "CPTESTCD")
    for name in ("DM", "EX", "CP"):
        if name not in pkg.tables:
            raise DataError(
                f"missing required domain {name} (no {name.lower()}.csv, {name.lower()}.parquet, "
                f"{name.lower()}.json or {name.lower()}.xpt in {folder})", field=name,
            )  # fmt: skip
    for name, cols in REQUIRED.items():
        df = pkg.tables.get(name)
        if df is None:
            continue
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(
                f"missing required variable {missing[0]} in {pkg.files[name].name} "
                f"(has: {', '.join(df.columns)})", field=name,
            )  # fmt: skip
    notes = [
        f"{d} absent: its part of the analysis is skipped"
        for d, _ in OPTIONAL
        if d not in pkg.tables
    ]
    study = {k: v for k, v in codes.items() if k != v}
    adam, _ = build_adam(pkg.tables, AdamOptions(test_codes=study))
    out: dict[str, pd.DataFrame | None] = dict(adam)
    for d, a in OPTIONAL:
        if d not in pkg.tables:
            out[a] = None
    out.setdefault("DECISION", None)
    return out, notes


def _from_adam(
    folder: Path, codes: dict[str, str], requested: Mapping[str, str] | None
) -> tuple[dict[str, pd.DataFrame | None], list[str]]:
    adam = read_package(folder, ADAM, standard="ADaM")
    pkg = _read_checked(adam, folder, requested, "ADCP", "PARAMCD")
    for name in ("ADSL", "ADCP"):
        if name not in pkg.tables:
            raise DataError(f"missing required dataset {name} in {folder}", field=name)
    notes = [
        f"{d} absent: its part of the analysis is skipped"
        for d, a in OPTIONAL
        if a not in pkg.tables
    ]
    out: dict[str, pd.DataFrame | None] = {k: pkg.tables.get(k) for k in (*ADAM, "DECISION")}
    cp = out["ADCP"]
    assert cp is not None
    reverse = {v: k for k, v in codes.items()}
    cp = cp.copy()
    cp["PARAMCD"] = [reverse.get(str(c).upper(), str(c).upper()) for c in cp["PARAMCD"]]
    out["ADCP"] = cp
    return out, notes


def load_trial(path: str | Path, test_codes: Mapping[str, str] | None = None) -> TrialData:
    """Load the SDTM or ADaM folder ``path`` (see the module docstring).

    ``test_codes`` maps il2sim's CP codes to the study's, e.g. ``{"NKCELLS": "CD56NK"}``; a
    mapped code the data do not hold is an error.  Values are checked first
    (:mod:`il2sim.cdisc.checks`): every problem is listed in one DataError.
    """
    codes = _check_test_codes(test_codes)
    standard, folder = resolve_folder(path)
    tables, notes = (_from_sdtm if standard == "SDTM" else _from_adam)(folder, codes, test_codes)
    adsl, adcp = tables["ADSL"], tables["ADCP"]
    assert adsl is not None and adcp is not None
    untreated = adsl["TRT01PN"].isna()
    if untreated.any():
        notes.append(
            f"{int(untreated.sum())} subject(s) in DM have no EX record and are left out: "
            + ", ".join(adsl.loc[untreated, "USUBJID"].astype(str).tolist()[:5])
        )
    present = set(adcp["PARAMCD"].astype(str))
    if NK_TEST_CODES[0] not in present:
        found = sorted(present)
        raise DataError(
            f"no rows with CPTESTCD {codes[NK_TEST_CODES[0]]!r} (total NK cells); found {found} - "
            "map yours with --test-codes NKCELLS=CODE",
            field="CP",
        )
    if NK_TEST_CODES[1] not in present:
        notes.append(f"CP has no CPTESTCD {codes[NK_TEST_CODES[1]]!r} (CD56bright NK): skipped")
    if tables.get("ADAE") is not None and (adsl["DLTFL"].astype(str) == "").all():
        notes.append("AE has no DLT flag (SUPPAE AEDLT): DLTs are not counted")
    treated = adsl[~untreated]
    levels = tuple(float(x) for x in sorted(treated["DOSE01P"].astype(float).dropna().unique()))
    top = max(len(levels), int(treated["TRT01PN"].astype(float).max()) if len(treated) else 0)
    raise_all(check_decisions(tables.get("DECISION"), top), f"{folder} (decision log)")
    return TrialData(
        path=str(folder),
        standard=standard,
        adsl=adsl.reset_index(drop=True),
        adcp=adcp,
        adpc=tables.get("ADPC"),
        adae=tables.get("ADAE"),
        adis=tables.get("ADIS"),
        adex=tables.get("ADEX"),
        adrs=tables.get("ADRS"),
        decisions=tables.get("DECISION"),
        replicates=_replicates(folder),
        dose_levels_miu_per_m2=levels,
        notes=tuple(notes),
    )


def load_sdtm(path: str | Path, test_codes: Mapping[str, str] | None = None) -> TrialData:
    """v0.1 name of :func:`load_trial` (reads SDTM or ADaM folders)."""
    return load_trial(path, test_codes)
