"""Comparison of new ``--json`` outputs with the v0.1 golden record (``tests/golden/v1``):
key renames mapped explicitly, numbers to rtol 1e-12 (they are unchanged, not merely close)."""

from __future__ import annotations

from typing import Any

import numpy as np

#: v0.1 single-trial summary keys -> today's.
TRIAL_RENAMES: dict[str, str | None] = {
    "n_dlt": "n_dlts",
    "patients_per_level": "patients_per_dose",
    "dlts_per_level": "dlts_per_dose",
    "out_dir": None,  # a temporary folder
    "files": None,  # the same names in another temporary folder (checked by name)
}

#: v0.1 replicate-summary keys -> the one OC schema's (``docs/json.md``).
REPLICATE_RENAMES: dict[str, str | None] = {
    "n_replicates": "n_trials",
    "mtd_selected_pct": "selection_pct",  # dict by dose (MIU/m2) -> list by level
    "patients_per_level": "patients_per_dose",
    "dlts_per_level": "dlts_per_dose",
    "nk_peak_increase_pct_per_level": "nk_peak_increase_pct_per_dose",
    "bright_peak_increase_pct_per_level": "bright_peak_increase_pct_per_dose",
}


def _get(d: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        d = d[part]
    return d


def _same(new: Any, old: Any, where: str) -> None:
    if isinstance(old, dict):
        assert isinstance(new, dict) and set(new) == set(old), where
        for k in old:
            _same(new[k], old[k], f"{where}.{k}")
    elif isinstance(old, str) or isinstance(old, bool) or old is None:
        assert new == old, (where, new, old)
    else:
        a = np.asarray(new, dtype=float)
        b = np.asarray(old, dtype=float)
        assert a.shape == b.shape, where
        assert np.allclose(a, b, rtol=1e-12, atol=0.0, equal_nan=True), (where, new, old)


def _compare(new: dict[str, Any], old: dict[str, Any], renames: dict[str, str | None]) -> None:
    for key, value in old.items():
        target = renames.get(key, key)
        if target is None:
            continue
        _same(_get(new, target), value, key)
