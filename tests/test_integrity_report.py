"""Text from data reaches matplotlib literally and HTML escaped (issue 17 item 5)."""

from __future__ import annotations

import shutil
from pathlib import Path

from il2sim.analysis import analyze
from il2sim.report import figures as F
from il2sim.report import render_html

DATA = Path(__file__).parent / "data"


def test_dollar_signs_in_ae_terms_are_drawn_literally(tmp_path: Path) -> None:
    d = tmp_path / "d"
    shutil.copytree(DATA / "sdtm_full", d)
    ae = (d / "ae.csv").read_text()
    (d / "ae.csv").write_text(ae.replace(",FATIGUE,", ",PYREXIA $^$ <b>x</b>,"))
    result = analyze(d)
    fig = F.plot_ae_heatmap(result)
    assert fig is not None
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert any("pyrexia $^$" in lab.lower() for lab in labels)
    assert all(not t.get_parse_math() for ax in fig.axes for t in ax.get_yticklabels())
    assert F.figure_png(fig).startswith(b"\x89PNG")  # mathtext would raise ValueError here
    text = render_html(result, title="$^$ report")
    assert "PYREXIA $^$ &lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text
