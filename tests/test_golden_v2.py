"""Model v2 (issue 11) against its own golden outputs (``tests/golden/v2``, recorded by
``tests/golden/record_v2.py`` once v2 was final): the library summary of the ten regimens of
issue 10 (50 patients, the default preset `fast`), every number to 1e-7 relative (the same arithmetic up
to rounding: a change of the biology or of the solver shows here first)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent / "golden"
sys.path.insert(0, str(HERE))
from record_v2 import OUT, summary_of  # noqa: E402

NAMES = sorted(p.stem for p in (OUT / "simulate").glob("*.json"))


def _compare(got: Any, want: Any, path: str) -> None:
    if isinstance(want, dict):
        assert set(got) == set(want), path
        for k in want:
            _compare(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _compare(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert math.isfinite(got), path
        assert got == pytest.approx(want, rel=1e-7, abs=1e-12), path
    else:
        assert got == want, path


@pytest.mark.parametrize("name", NAMES)
def test_v2_summary_equals_golden(name: str) -> None:
    want = json.loads((OUT / "simulate" / f"{name}.json").read_text())
    _compare(json.loads(json.dumps(summary_of(name))), want, name)
