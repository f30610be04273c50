"""``il2sim trial --out DIR``: SDTM (with TS/TA/TE/TV, SUPPAE) and ADaM with define.xml,
compared with the v0.1 golden datasets (renamed and moved variables mapped explicitly), and
``il2sim analyze`` giving the same endpoints from the SDTM and from the ADaM folder."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from il2sim.cdisc import ADAM, SDTM, check_frame
from il2sim.cdisc.dates import day_of_date, parse_iso_date
from il2sim.cdisc.read import read_package
from il2sim.cli.main import app

GOLD = Path(__file__).parent / "golden" / "v1"
runner = CliRunner()
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden command of tests/golden/record_v1.py: ``il2sim trial --seed 3 --out D``."""
    d = tmp_path_factory.mktemp("trial") / "D"
    res = runner.invoke(app, ["trial", "--seed", "3", "--out", str(d), "--json", "--xpt"])
    assert res.exit_code == 0, res.output
    return d


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_layout(out: Path) -> None:
    for std, specs in (("sdtm", SDTM), ("adam", ADAM)):
        for name in specs:
            if name in ("RS", "ADRS"):  # written only with --efficacy (test_trial_efficacy.py)
                assert not (out / std / f"{name.lower()}.csv").exists()
                continue
            for suffix in ("csv", "parquet", "json", "xpt"):
                assert (out / std / f"{name.lower()}.{suffix}").is_file(), (std, name, suffix)
        assert (out / std / "define.xml").is_file()
    assert not list(out.parent.glob(".*il2sim-tmp*"))


@pytest.mark.parametrize("name", ["dm", "suppdm", "ex", "ae", "cp", "pc", "is"])
def test_sdtm_matches_golden(out: Path, name: str) -> None:
    """Every v0.1 variable keeps its values, except the mapped ones: AE.AEDLT moved to SUPPAE,
    PC.PCBLQFL (not an SDTM variable) is PCSTRESC ``<LLOQ``, PC.PCELTM hours -> ISO 8601."""
    g = _csv(GOLD / "trial" / "ab_single_sdtm" / f"{name}.csv")
    n = _csv(out / "sdtm" / f"{name}.csv")
    assert len(g) == len(n)
    moved = {"ae": {"AEDLT"}, "pc": {"PCBLQFL", "PCELTM"}}.get(name, set())
    for col in g.columns:
        if col in moved:
            continue
        assert g[col].tolist() == n[col].tolist(), f"{name}.{col}"
    if name == "ae":
        s = _csv(out / "sdtm" / "suppae.csv")
        assert (s["QNAM"] == "AEDLT").all() and s["IDVAR"].eq("AESEQ").all()
        assert s["IDVARVAL"].tolist() == g["AESEQ"].tolist()
        assert s["QVAL"].tolist() == g["AEDLT"].tolist()
    if name == "pc":
        assert (g["PCBLQFL"] == "Y").tolist() == n["PCSTRESC"].str.startswith("<").tolist()
        hours = {"0.0": "PT0H", "4.0": "PT4H"}
        assert [hours[x] for x in g["PCELTM"]] == n["PCELTM"].tolist()


def test_decision_log_matches_golden(out: Path) -> None:
    g = _csv(GOLD / "trial" / "ab_single_sdtm" / "decisions.csv")
    n = _csv(out / "sdtm" / "decision.csv")
    renamed = {"COHORT": "COHORT", "LEVEL": "LEVEL", "DOSE_MIU_PER_M2": "DOSE", "N": "NSUBJ",
               "DLT": "NDLT", "DECISION": "DECISION", "NEXT_LEVEL": "NXTLEVEL",
               "NEXT_DOSE_MIU_PER_M2": "NXTDOSE", "STOP": "STOPFL", "MTD_LEVEL": "MTDLEVEL"}  # fmt: skip
    for old, new in renamed.items():
        if old in ("DECISION", "STOP"):
            assert g[old].tolist() == n[new].tolist(), (old, new)
        else:  # numbers: v0.1 wrote integer levels with NaN as floats (2.0)
            a = [float(x) if x else None for x in g[old]]
            assert a == [float(x) if x else None for x in n[new]], (old, new)


def test_every_dataset_conforms_to_its_schema(out: Path) -> None:
    for std, specs in (("SDTM", SDTM), ("ADaM", ADAM)):
        pkg = read_package(out / std.lower(), specs, standard=std)  # type: ignore[arg-type]
        assert set(pkg.tables) == set(specs) - {"RS", "ADRS"}  # those two need --efficacy
        for name, df in pkg.tables.items():
            assert check_frame(df, specs[name]) == [], name


def test_dates_and_study_days_agree(out: Path) -> None:
    """--DY = --DTC - RFSTDTC (+1 on or after it), SDTMIG 3.4 section 4.4.4; the first
    subject starts on the documented default date."""
    pkg = read_package(out / "sdtm", SDTM)
    ref = {s: parse_iso_date(d) for s, d in zip(pkg.tables["DM"]["USUBJID"], pkg.tables["DM"]["RFSTDTC"], strict=True)}
    assert min(ref.values()) == date(1994, 1, 3)
    pairs = {"EX": [("EXSTDTC", "EXSTDY"), ("EXENDTC", "EXENDY")],
             "AE": [("AESTDTC", "AESTDY"), ("AEENDTC", "AEENDY")], "CP": [("CPDTC", "CPDY")],
             "PC": [("PCDTC", "PCDY")], "IS": [("ISDTC", "ISDY")]}  # fmt: skip
    for dom, cols in pairs.items():
        df = pkg.tables[dom]
        for dtc, dy in cols:
            got = [day_of_date(ref[s], parse_iso_date(t)) for s, t in zip(df["USUBJID"], df[dtc], strict=True)]
            assert got == [int(x) for x in df[dy]], (dom, dtc)
    pc = pkg.tables["PC"]
    post = pc[pc["PCTPT"] == "4H POST-DOSE"]
    assert post["PCDTC"].str.endswith("T12:00").all() and post["PCELTM"].eq("PT4H").all()


def test_trial_design_domains(out: Path) -> None:
    pkg = read_package(out / "sdtm", SDTM)
    ts, ta, te, tv = (pkg.tables[k] for k in ("TS", "TA", "TE", "TV"))
    doses = ts.loc[ts["TSPARMCD"] == "DOSE", "TSVAL"].tolist()
    assert doses == ["0.4", "0.6", "0.8", "1", "1.25", "1.5", "1.75"]
    assert ts.loc[ts["TSPARMCD"] == "ROUTE", "TSVALCD"].tolist() == ["C38299"]
    assert int(ts.loc[ts["TSPARMCD"] == "ACTSUB", "TSVAL"].iat[0]) == len(pkg.tables["DM"])
    assert set(ta["ARMCD"]) == {f"L{k}" for k in range(1, 8)} and len(ta) == 14
    assert set(pkg.tables["DM"]["ARMCD"]) <= set(ta["ARMCD"])
    assert set(te["ETCD"]) == set(ta["ETCD"])
    assert tv["VISITDY"].tolist() == [1, 8, 15, 22, 29, 43, 57, 71, 85]
    cp = pkg.tables["CP"]
    visits = set(zip(tv["VISITNUM"], tv["VISIT"], strict=True))
    assert set(zip(cp["VISITNUM"], cp["VISIT"], strict=True)) <= visits


def _define_names(path: Path) -> dict[str, set[str]]:
    root = ET.parse(path).getroot()
    items = {i.get("OID"): i.get("Name") for i in root.iter(f"{{{NS['odm']}}}ItemDef")}
    out: dict[str, set[str]] = {}
    for ig in root.iter(f"{{{NS['odm']}}}ItemGroupDef"):
        refs = ig.findall("odm:ItemRef", NS)
        out[str(ig.get("Name"))] = {str(items[r.get("ItemOID")]) for r in refs}
    return out


@pytest.mark.parametrize("std", ["sdtm", "adam"])
def test_define_names_every_dataset_and_variable_written(out: Path, std: str) -> None:
    names = _define_names(out / std / "define.xml")
    written = {p.stem.upper(): set(_csv(p).columns) for p in (out / std).glob("*.csv")}
    assert names == written
    root = ET.parse(out / std / "define.xml").getroot()
    for item in root.iter(f"{{{NS['odm']}}}ItemDef"):
        assert item.get("DataType") and item.find("odm:Description", NS) is not None
        assert item.find("def:Origin", NS) is not None, item.get("OID")
        if item.get("DataType") in ("text", "integer", "float"):
            assert int(str(item.get("Length"))) >= 1


def test_define_validates_against_the_define_xml_21_schema(out: Path) -> None:
    from il2sim.cdisc.define import validate_define

    for std in ("sdtm", "adam"):
        validate_define(out / std / "define.xml")  # raises on the first schema error


def test_dataset_json_matches_parquet_and_define(out: Path) -> None:
    """Dataset-JSON 1.1 files hold the same values as the Parquet files, and their itemOIDs
    are the define.xml ItemDef OIDs."""
    from il2sim.cdisc.read import _typed, read_table

    root = ET.parse(out / "adam" / "define.xml").getroot()
    oids = {i.get("OID") for i in root.iter(f"{{{NS['odm']}}}ItemDef")}
    for name in ("ADSL", "ADCP", "ADPC"):
        doc = json.loads((out / "adam" / f"{name.lower()}.json").read_text())
        assert doc["datasetJSONVersion"] == "1.1.0" and doc["records"] == len(doc["rows"])
        assert {c["itemOID"] for c in doc["columns"]} <= oids
        a = _typed(read_table(out / "adam" / f"{name.lower()}.json", name), ADAM[name], name)
        b = _typed(read_table(out / "adam" / f"{name.lower()}.parquet", name), ADAM[name], name)
        pd.testing.assert_frame_equal(a, b, check_dtype=False)


def _analyze(path: Path) -> dict[str, Any]:
    res = runner.invoke(app, ["analyze", str(path), "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    d.pop("path")
    return d


def _close(a: Any, b: Any, where: str = "") -> None:
    """``a`` holds every key of ``b`` with the same value (floats to 1e-9 relative)."""
    if isinstance(b, dict):
        for k, v in b.items():
            assert k in a, f"{where}/{k} missing"
            _close(a[k], v, f"{where}/{k}")
    elif isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(b, float) and not math.isnan(b):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


def test_analyze_same_endpoints_from_sdtm_and_adam_and_as_golden(out: Path) -> None:
    s, a, both = _analyze(out / "sdtm"), _analyze(out / "adam"), _analyze(out)
    assert (s.pop("standard"), a.pop("standard"), both.pop("standard")) == ("SDTM", "ADaM", "ADaM")
    assert s == a == both
    gold = json.loads((GOLD / "analyze" / "ab_single.json").read_text())
    gold.pop("path")
    # the decision log's MTD variable is MTDLEVEL (8 characters for XPT; v0.1 MTD_LEVEL)
    assert gold["mtd"].pop("source") == "decisions:MTD_LEVEL"
    assert s["mtd"].pop("source") == "decisions:MTDLEVEL"
    _close(s, gold)


def test_analyze_golden_real_data_folder() -> None:
    """``analyze tests/data/sdtm_full`` (a hand-made SDTM folder in v0.1's layout) as recorded."""
    got = _analyze(Path(__file__).parent / "data" / "sdtm_full")
    gold = json.loads((GOLD / "analyze" / "sdtm_full.json").read_text())
    gold.pop("path")
    assert got.pop("standard") == "SDTM"
    _close(got, gold)


def test_adam_contents(out: Path) -> None:
    pkg = read_package(out / "adam", ADAM)
    adsl, adcp = pkg.tables["ADSL"], pkg.tables["ADCP"]
    assert (adsl["SAFFL"] == "Y").all() and (adsl["DLTEVLFL"] == "Y").all()
    assert (adsl["TRT01PN"].astype(int) == adsl["ARMCD"].str.slice(1).astype(int)).all()
    assert set(adcp["PARAMCD"]) == {"NKCELLS", "NKBRIGHT"}
    base = adcp[adcp["ABLFL"] == "Y"]
    assert len(base) == 2 * len(adsl) and (base["ADY"] == 1).all()
    post = adcp[(adcp["ADY"] > 1) & (adcp["DTYPE"] == "")]
    assert post["PCHG"].to_numpy() == pytest.approx(100 * (post["AVAL"] / post["BASE"] - 1).to_numpy())
    mx = adcp[adcp["DTYPE"] == "MAXIMUM"]
    assert len(mx) == 2 * len(adsl)
    top = post.groupby(["USUBJID", "PARAMCD"])["AVAL"].max()
    assert mx.set_index(["USUBJID", "PARAMCD"])["AVAL"].sort_index().tolist() == top.sort_index().tolist()
    adex = pkg.tables["ADEX"]
    assert set(adex["PARAMCD"]) >= {"DURD", "CUMDOSE", "RDI"}
    dur = adex[adex["PARAMCD"] == "DURD"].set_index("USUBJID")["AVAL"]
    assert (dur.reindex(adsl["USUBJID"]).to_numpy() == adsl["TRTDURD"].astype(float).to_numpy()).all()
    adae = pkg.tables["ADAE"]
    assert set(adae["DLTFL"]) <= {"Y", "N"} and adae["ATOXGRN"].between(1, 5).all()


@pytest.mark.parametrize("suffix", ["xpt", "json", "csv"])
def test_every_format_reads_back_to_the_same_endpoints(out: Path, tmp_path: Path, suffix: str) -> None:
    """A folder of only XPT, only Dataset-JSON or only CSV files gives the endpoints of the
    Parquet files (the reader's preference when all are present)."""
    import shutil

    for p in (out / "sdtm").glob(f"*.{suffix}"):
        shutil.copy(p, tmp_path / p.name)
    assert _analyze(tmp_path) | {"standard": None} == _analyze(out / "sdtm") | {"standard": None}
