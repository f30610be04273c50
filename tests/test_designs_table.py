"""``il2sim design table``: the BOIN table equals get.boundary (BOIN 2.7.2), every design gets a
table in every format, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from il2sim.cli.main import main
from il2sim.designs import DESIGN_NAMES, build_design
from il2sim.designs.table import FORMATS, decision_table

REF = json.loads((Path(__file__).parent / "data" / "r_reference" /
                  "boin_getoc_histories.json").read_text())["cases"]["boundaries"]  # fmt: skip

OPTS: dict[str, dict[str, object]] = {
    "a+b": {"a": 3, "b": 3, "c": 0, "d": 1, "e": 1},
    "crm": {"target": 0.25, "skeleton": [0.05, 0.12, 0.25, 0.4, 0.55]},
    "tite-crm": {"target": 0.25, "skeleton": [0.05, 0.12, 0.25, 0.4, 0.55], "window_days": 28},
    "tite-boin": {"target": 0.3, "window_days": 28},
    "boin12": {"target": 0.35, "target_eff": 0.25},
    "bf-boin": {"target": 0.25},
    **{k: {"target": 0.3} for k in ("boin", "mtpi2", "i3+3", "keyboard")},
}


def test_boin_table_is_get_boundary() -> None:
    """get.boundary(target=0.3, ncohort=10, cohortsize=3)$full_boundary_tab, row by row."""
    tab = REF["default"]["full_boundary_tab"]
    t = decision_table(build_design("boin", n_doses=1, target=0.3), n_cohorts=10)
    assert [r[0] for r in t.rows] == tab[0]
    assert [r[1] for r in t.rows] == tab[1]
    assert [r[2] for r in t.rows] == tab[2]
    assert [r[3] for r in t.rows] == [None if v == "NA" else v for v in tab[3]]


@pytest.mark.parametrize("name", DESIGN_NAMES)
def test_every_design_every_format(name: str) -> None:
    des = build_design(name, n_doses=5, **OPTS.get(name, {}))  # type: ignore[arg-type]
    t = decision_table(des, n_cohorts=3, cohorts_ahead=1)
    assert t.rows
    for fmt in FORMATS:
        text = t.render(fmt)
        assert text.strip()
    assert json.loads(t.render("json"))["columns"] == list(t.columns)
    if name == "boin12":  # N/E/T/B outcomes: 20 multisets of a cohort of 3
        assert len(t.rows) == 1 + 20


def test_cli_table_and_bad_format(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "t.csv"
    with pytest.raises(SystemExit) as e:
        main(["design", "table", "--design", "boin", "--target", "0.3", "--cohorts", "2",
              "--format", "csv", "--out", str(out)])  # fmt: skip
    assert e.value.code == 0
    assert out.read_text().splitlines()[0].startswith("patients treated")
    with pytest.raises(SystemExit) as e:
        main(["design", "table", "--design", "boin", "--target", "0.3", "--format", "xls"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "format" in err[0]
