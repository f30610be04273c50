"""The HTML report: self-contained (no network), figures embedded, printable; end to end."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from il2sim.analysis import analyze
from il2sim.report import figures as F
from il2sim.report import render_html, write_report

DATA = Path(__file__).parent / "data"

#: Seed-trial values as ``il2sim reproduce`` passes them (Meropol et al. 1996, Clin Cancer Res
#: 2:669, abstract: NK +154% to +530%, CD56bright +368% to +2763%, MTD 1.25 MIU/m2, peak IL-2
#: < 10 pM, 3 of 38 patients with antibodies).
SEED_REFERENCE = {
    "source": "Meropol 1996",
    "doses_miu_per_m2": [0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 1.75],
    "peak_pct_increase": {
        "NKCELLS": {"lowest": 154, "highest": 530},
        "NKBRIGHT": {"lowest": 368, "highest": 2763},
    },
    "mtd_miu_per_m2": 1.25,
    "il2_peak_limit_pm": 10.0,
    "antibody_positive": [3, 38],
}

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', text)]


def test_report_is_self_contained_and_printable(tmp_path: Path) -> None:
    out = write_report(DATA / "sdtm_full", tmp_path / "r.html", reference=SEED_REFERENCE)
    text = out.read_text(encoding="utf-8")
    # no network: no external URL in any src/href, no scripts, no external stylesheets
    assert not re.search(r"(src|href)\s*=\s*[\"'](?!data:)", text)
    assert "http://" not in text and "https://" not in text and "<script" not in text
    # all figures: escalation, PK, NK time, peak vs dose, AE heat map, antibodies
    imgs = _images(text)
    assert len(imgs) == 6
    assert all(img.startswith(PNG_MAGIC) for img in imgs)
    # printable on A4
    assert "@page { size: A4" in text and "@media print" in text
    for heading in ("Trial summary", "Escalation path", "Serum IL-2", "CD56bright",
                    "Peak increase vs dose", "Adverse events", "Anti-IL-2 antibodies"):  # fmt: skip
        assert heading in text
    assert "Meropol 1996" in text
    assert out.stat().st_mode & 0o777 == 0o644


def test_report_figures_fit_a4_width(tmp_path: Path) -> None:
    import struct

    text = render_html(analyze(DATA / "sdtm_full"))
    for img in _images(text):
        width, height = struct.unpack(">II", img[16:24])  # IHDR
        # 7 in at 130 dpi, cropped tight: never wider than ~9.5 in of paper
        assert 300 < width <= 1250 and height > 100


def test_reference_lowest_highest_use_the_reported_levels() -> None:
    ref = F.normalise_reference(SEED_REFERENCE, (0.4, 0.6, 0.8))
    assert ref["peak_pct_increase"]["NKCELLS"] == {0.4: 154.0, 1.75: 530.0}
    ref = F.normalise_reference({"peak_pct_increase": {"NKCELLS": {"highest": 1}}}, (0.4, 0.8))
    assert ref["peak_pct_increase"]["NKCELLS"] == {0.8: 1.0}
    assert F.normalise_reference(None, (0.4,)) == {}


def test_optional_figures_absent_without_their_domains() -> None:
    r = analyze(DATA / "sdtm_min")
    assert F.plot_pk(r) is None
    assert F.plot_ae_heatmap(r) is None
    assert F.plot_antibodies(r) is None
    assert F.plot_operating_characteristics(r) is None


def test_operating_characteristic_charts_from_replicate_summary(tmp_path: Path) -> None:
    d = tmp_path / "d"
    shutil.copytree(DATA / "sdtm_full", d)
    rep = {
        "design": "4+5",
        "n_replicates": 10,
        "doses_miu_per_m2": [0.4, 0.8, 1.25, 1.75],
        "mtd_selected_pct": {"0.4": 10.0, "0.8": 20.0, "1.25": 60.0, "1.75": 10.0, "none": 0.0},
        "patients_per_level": [4.0, 5.0, 7.5, 2.0],
        "patients_5_95": [12.0, 30.0],
    }
    (d / "replicates.json").write_text(json.dumps(rep))
    r = analyze(d)
    series = F.oc_series(r.replicates or {}, r.dose_levels_miu_per_m2)
    assert set(series) == {"mtd_selected_pct", "patients_per_level"}
    assert series["patients_per_level"] == (["0.4", "0.8", "1.25", "1.75"], [4.0, 5.0, 7.5, 2.0])
    text = render_html(r)
    assert "Operating characteristics" in text
    assert len(_images(text)) == 7


def test_armcd_levels_are_the_designs_numbers(tmp_path: Path) -> None:
    # a trial that started at the design's level 2: levels come from ARMCD, not dose ranks
    d = tmp_path / "d"
    shutil.copytree(DATA / "sdtm_full", d)
    dm = (d / "dm.csv").read_text()
    for old, new in ((",1,0.4", ",L2,0.4"), (",2,0.8", ",L3,0.8"), (",3,1.25", ",L5,1.25")):
        dm = dm.replace(old, new)
    (d / "dm.csv").write_text(dm)
    (d / "decisions.csv").write_text(
        "COHORT,LEVEL,DOSE_MIU_PER_M2,MTD_LEVEL\n1,2,0.4,\n2,3,0.8,\n3,5,1.25,3\n"
    )
    r = analyze(d)
    assert list(r.subjects["level"]) == [2, 2, 3, 3, 5, 5]
    assert r.mtd == {"level": 3, "dose_miu_per_m2": 0.8, "source": "decisions:MTD_LEVEL"}


def test_end_to_end_with_the_trial_simulator(tmp_path: Path) -> None:
    # il2sim.trial writes the SDTM folder; analysis and report read it back.
    from il2sim.cdisc import build_sdtm, write_sdtm
    from il2sim.designs.registry import build_design
    from il2sim.trial.run import run_trial

    doses = [0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 1.75]
    trial = run_trial(build_design("4+5", n_doses=7), doses, seed=1)
    write_sdtm(build_sdtm(trial), tmp_path / "t", xpt=True)
    r = analyze(tmp_path / "t")
    assert r.n_subjects == trial.n_patients
    assert r.mtd["dose_miu_per_m2"] == trial.mtd_miu_per_m2
    assert int(r.dlt_table["n_dlt"].sum()) == trial.n_dlt
    assert r.notes == ()
    nk = r.response("NKCELLS")
    assert nk is not None and nk.jonckheere is not None and nk.jonckheere.method == "exact"
    out = write_report(r, tmp_path / "report.html", reference=SEED_REFERENCE)
    assert len(_images(out.read_text())) == 6
    # the same trial from its SAS XPT v5 files alone (8-character names, e.g. MTD_LEVE)
    (tmp_path / "x").mkdir()
    for f in (tmp_path / "t").glob("*.xpt"):
        shutil.copy(f, tmp_path / "x" / f.name)
    rx = analyze(tmp_path / "x")
    pd.testing.assert_frame_equal(rx.subjects, r.subjects)
    assert rx.mtd["level"] == r.mtd["level"]


@pytest.mark.parametrize("name", ["sdtm_min", "sdtm_full"])
def test_html_tables_have_no_nan_text(name: str) -> None:
    text = render_html(analyze(DATA / name))
    assert ">nan<" not in text.lower() and ">none<" not in text.lower()


def test_user_text_is_escaped_by_the_templates(tmp_path: Path) -> None:
    d = tmp_path / "d"
    shutil.copytree(DATA / "sdtm_full", d)
    ae = (d / "ae.csv").read_text()
    (d / "ae.csv").write_text(ae.replace(",FATIGUE,", ",FATIGUE <script>alert(1)</script> & co,"))
    text = render_html(
        analyze(d),
        reference={**SEED_REFERENCE, "source": "Ref <i>x</i>"},
        title='A <b>title</b> & "quotes"',
    )
    assert "<script" not in text and "<b>title" not in text and "<i>x" not in text
    assert "FATIGUE &lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    assert "<title>A &lt;b&gt;title&lt;/b&gt; &amp; &#34;quotes&#34;</title>" in text
    assert "Ref &lt;i&gt;x&lt;/i&gt;" in text


def test_templates_are_package_data() -> None:
    from importlib import resources

    folder = resources.files("il2sim.report").joinpath("templates")
    names = {p.name for p in folder.iterdir()}
    assert {"report.html.j2", "_macros.html.j2", "report.css"} <= names


def test_progress_ticks_in_page_order() -> None:
    seen: list[str] = []
    render_html(analyze(DATA / "sdtm_full"), progress=seen.append)
    assert seen == [
        "escalation",
        "pk",
        "nk",
        "dose-response",
        "adverse events",
        "antibodies",
        "operating characteristics",
    ]
