"""One operating-characteristics schema: ``il2sim design simulate --json`` and ``design exact
--json`` print the same keys for every design, option combination and method (kernel, generic
loop, exact), ``il2sim trial --trials`` adds only its trial keys, and docs/json.md documents
every key."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from il2sim.cli.main import main
from il2sim.designs import DESIGN_NAMES, OC_KEYS

TRUTH = "0.05,0.15,0.3,0.45,0.6"
SKEL = "0.05,0.12,0.25,0.4,0.55"

#: Options every design needs, per registered name.
BASE: dict[str, list[str]] = {
    "3+3": [],
    "3+3a": [],
    "3+3b": [],
    "4+5": [],
    "a+b": ["--a", "3", "--b", "3", "--c", "0", "--d", "1", "--e", "1"],
    "crm": ["--skeleton", SKEL, "--target", "0.25", "--cohorts", "4"],
    "boin": ["--target", "0.3", "--cohorts", "4"],
    "mtpi2": ["--target", "0.3", "--cohorts", "4"],
    "i3+3": ["--target", "0.3", "--cohorts", "4"],
    "keyboard": ["--target", "0.3", "--cohorts", "4"],
    "tite-crm": ["--skeleton", SKEL, "--target", "0.25", "--max-patients", "8",
                 "--window-days", "6"],
    "tite-boin": ["--target", "0.3", "--cohorts", "3", "--window-days", "28"],
    "boin12": ["--target-tox", "0.35", "--target-eff", "0.25", "--truth-eff",
               "0.1,0.3,0.5,0.55,0.6", "--cohorts", "4"],
    "efftox": ["--truth-eff", "0.1,0.3,0.5,0.55,0.6", "-O", "doses=1,2,4,6.6,10", "-O",
               "n_draws=2048", "--cohorts", "4"],
    "bf-boin": ["--target", "0.3", "--truth-eff", "0.1,0.3,0.5,0.55,0.6", "--cohorts", "4"],
}  # fmt: skip
#: Variants a design refuses with a one-line error (BF-BOIN: bfboin 0.1.1 has no stopping or
#: skipping rules, so ``--no-skip``/``--stop-*``/``--demand-n`` exit 2 there).
REFUSED: dict[str, set[str]] = {
    "bf-boin": {"no-skip", "stop-n-mtd", "stop-tox", "demand-n"},
}
#: Designs with an efficacy endpoint (OBD selection and efficacy per dose in the OC).
EFFICACY_DESIGNS = {"boin12", "efftox"}
#: Designs whose trials have a duration (time-to-event accrual).
TIMED_DESIGNS = {"tite-crm", "tite-boin", "bf-boin"}
#: Variants applied to every design (rules force the generic loop).
VARIANTS: dict[str, list[str]] = {
    "plain": [],
    "generic": ["--generic"],
    "no-skip": ["--no-skip"],
    "stop-n-mtd": ["--stop-n-mtd", "6"],
    "stop-tox": ["--stop-tox-threshold", "0.35"],
    "demand-n": ["--demand-n", "6", "--max-patients", "15"],
    "max-patients": ["--max-patients", "10"],
    "target": ["--target", "0.3"],
}
#: Design-specific option combinations (``-O``, models, methods, variants).
SPECIFIC: dict[str, list[str]] = {
    "3+3b start 2": ["--design", "3+3b", "--start-dose", "2"],
    "a+b expand": ["--design", "a+b", "--a", "4", "--b", "5", "--expand-lower"],
    "crm logistic": ["--design", "crm", "--skeleton", SKEL, "--target", "0.25", "--model",
                     "logistic", "--cohorts", "4"],
    "crm mle two-stage": ["--design", "crm", "--skeleton", SKEL, "--target", "0.25", "-O",
                          "method=mle", "-O", "two_stage=1,2,3", "--cohorts", "4"],
    "boin extrasafe": ["--design", "boin", "--target", "0.3", "--cohorts", "4", "-O",
                       "extrasafe=true", "-O", "n_earlystop=9"],
    "boin phi": ["--design", "boin", "--target", "0.3", "--max-patients", "13", "-O",
                 "phi1=0.2", "-O", "phi2=0.4"],
    "keyboard eps": ["--design", "keyboard", "--target", "0.3", "--cohorts", "4", "-O",
                     "eps1=0.1", "-O", "eps2=0.1"],
    "boin titration bound_mtd": ["--design", "boin", "--target", "0.3", "--cohorts", "4", "-O",
                                 "titration=true", "-O", "bound_mtd=true"],
    "boin cutoff": ["--design", "boin", "--target", "0.3", "--cohorts", "4", "-O",
                    "elimination_cutoff=0.9", "-O", "extrasafe=true", "-O", "offset=0.1"],
    "tite-crm contract": ["--design", "tite-crm", "--skeleton", SKEL, "--target", "0.25",
                          "--max-patients", "9", "--start-dose", "1", "--window-days", "28",
                          "--accrual-per-window", "4", "--accrual", "poisson", "--weights",
                          "adaptive"],
    "tite-crm generic late": ["--design", "tite-crm", "--skeleton", SKEL, "--target", "0.25",
                              "--max-patients", "9", "--window-days", "28", "--tox-time",
                              "late", "--generic", "-O", "no_escalation_after_dlt=true"],
}  # fmt: skip
EXACT: dict[str, list[str]] = {
    **{name: ["--design", name] for name in ("3+3", "3+3a", "3+3b", "4+5")},
    "a+b": ["--design", "a+b", *BASE["a+b"], "--expand-lower"],
    "3+3 target": ["--design", "3+3", "--target", "0.3"],
    "4+5 start 2": ["--design", "4+5", "--start-dose", "2"],
}


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with pytest.raises(SystemExit) as exc:
        main([*args, "--json"])
    out = capsys.readouterr()
    assert exc.value.code == 0, (args, out.err)
    return dict(json.loads(out.out))


def _simulate(extra: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return _json(
        ["design", "simulate", "--truth", TRUTH, "--trials", "12", "--seed", "3", *extra], capsys
    )


def test_every_design_and_variant_prints_the_oc_keys(capsys: pytest.CaptureFixture[str]) -> None:
    seen: dict[tuple[str, ...], str] = {}
    for name, variant in itertools.product(DESIGN_NAMES, VARIANTS):
        extra = list(BASE[name])
        if variant == "target" and ("--target" in extra or "--target-tox" in extra):
            continue
        if variant in REFUSED.get(name, set()):
            with pytest.raises(SystemExit) as exc:
                main(["design", "simulate", "--design", name, "--truth", TRUTH, "--trials", "12",
                      "--seed", "3", *extra, *VARIANTS[variant], "--json"])  # fmt: skip
            assert exc.value.code == 2, (name, variant)
            capsys.readouterr()
            continue
        d = _simulate(["--design", name, *extra, *VARIANTS[variant]], capsys)
        seen[tuple(d)] = f"{name} {variant}"
        assert tuple(d) == OC_KEYS, (name, variant)
        assert d["method"] == "simulation" and d["n_trials"] == d["n_trials_requested"] == 12
        assert all(d[k] is not None for k in ("selection_pct_se", "mean_patients_se"))
        if name in TIMED_DESIGNS:
            assert d["mean_duration_days"] is not None, (name, variant)
        eff = name in EFFICACY_DESIGNS
        assert (d["obd_selection_pct"] is not None) == eff, (name, variant)
        assert (d["efficacy_per_dose"] is not None) == eff, (name, variant)
    for label, args in SPECIFIC.items():
        assert tuple(_simulate(args, capsys)) == OC_KEYS, label
    assert len(seen) == 1


def test_exact_prints_the_same_keys_with_null_se(capsys: pytest.CaptureFixture[str]) -> None:
    for label, args in EXACT.items():
        d = _json(["design", "exact", "--truth", TRUTH, *args], capsys)
        assert tuple(d) == OC_KEYS, label
        assert d["method"] == "exact"
        assert [k for k in d if k.endswith("_se") and d[k] is not None] == [], label
        assert d["n_trials"] is None and d["seed"] is None and d["interrupted"] is False


def test_trial_replicates_extend_the_oc_schema(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(
        ["trial", "--design", "3+3", "--trials", "5", "--pool-size", "12", "--seed", "2"], capsys
    )
    assert tuple(d)[: len(OC_KEYS)] == OC_KEYS
    assert set(d) - set(OC_KEYS) == {
        "doses_miu_per_m2",
        "dlt_draw",
        "patients_5_95",
        "nk_peak_increase_pct_per_dose",
        "bright_peak_increase_pct_per_dose",
        "pool_size",
    }


def _documented(section: str) -> set[str]:
    text = (Path(__file__).parents[1] / "docs" / "json.md").read_text()
    m = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert m is not None, f"docs/json.md has no section {section!r}"
    return set(re.findall(r"^\| `([a-z0-9_.]+)`", m.group(1), re.M))


def test_docs_json_documents_every_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """docs/json.md is the glossary: every key the design and trial commands print is there."""
    oc = _documented("Operating characteristics (`il2sim design simulate`, `design exact`)")
    assert set(OC_KEYS) <= oc
    trial = _documented("`il2sim trial`")
    one = _json(
        ["trial", "--design", "3+3", "--doses", "0.4,0.8", "--seed", "1", "--out", str(tmp_path)],
        capsys,
    )
    assert set(one) - {"schedule"} <= trial
    nxt = _json(["design", "next", "--design", "3+3", "--n-doses", "3", "--outcomes", "1NNN"],
                capsys)  # fmt: skip
    assert set(nxt) <= _documented("`il2sim design next`")
