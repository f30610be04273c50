"""docs/cdisc.md holds the variable and codelist tables generated from the declaration."""

from __future__ import annotations

from pathlib import Path

from il2sim.cdisc import ADAM, SDTM
from il2sim.cdisc.doc import codelist_table, dataset_tables, used_codelists

DOC = Path(__file__).resolve().parents[1] / "docs" / "cdisc.md"


def test_docs_list_every_dataset_variable_and_codelist() -> None:
    text = DOC.read_text()
    assert dataset_tables(SDTM).strip() in text
    assert dataset_tables({k: v for k, v in ADAM.items() if k != "DECISION"}).strip() in text
    assert codelist_table(used_codelists(SDTM, ADAM)).strip() in text
