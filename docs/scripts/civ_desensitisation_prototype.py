"""Prototype (not merged): STAT5 negative feedback (CIS/SOCS desensitisation) in model v2
(docs/model.md, "Caligiuri continuous infusion", session 24).

One feedback state per responding cell type, driven by its fast signal:

* Tregs: ``dF_T/dt = ksocs (pstat5_treg - F_T)``; the pSTAT5-like signal reads the desensitised
  occupancy, ``dp/dt = kp5 (occ_treg / (1 + g F_T^n) - p)``;
* CD56bright / marrow (no fast NK signal in v2): the fast desensitised signal is
  ``u = occ_high / (1 + g F_N^n)`` with ``dF_N/dt = ksocs (u - F_N)``, and the slow NK signal
  reads ``u`` instead of ``occ_high``.

Time scale: SOCS-3 protein is detectable 30 min after IL-2 and CIS after 2 h in human blood
lymphocytes (Cohney et al. 1999, Mol Cell Biol 19:4980); its decay without IL-2 within about a
day is an assumption: ``ksocs`` 1-8 /day scanned (default 3 /day, half-life 5.5 h).  The gain
``g`` and the exponent ``n`` (1: linear feedback; 2: cooperative) have no source: scanned.
The modified declaration runs in libroadrunner from its SBML export (typical patient; no kernel
compile), with the helpers of ``civ_downregulation_prototype.py``.  ``--refit`` re-tunes
emax_production, hill_production and emax_treg to the seed NK targets and v2's typical Koreth
Treg fold before the c.i.v. runs (as that prototype does).

Run from the repository root, e.g.
``.venv/bin/python docs/scripts/civ_desensitisation_prototype.py --gain 3 30 --power 1 --refit``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
from pathlib import Path

import numpy as np

from il2sim.model.declaration import Constant, Model, Rule, State
from il2sim.model.il2nk_v2 import IL2NK_V2
from il2sim.model.models import load_model_parameters
from il2sim.model.parameters import Parameters

_spec = importlib.util.spec_from_file_location(
    "civ_downregulation_prototype", Path(__file__).with_name("civ_downregulation_prototype.py"))
assert _spec is not None and _spec.loader is not None
proto = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(proto)


def _const(value: float) -> Rule:
    """The rule "every patient has ``value``"."""
    return lambda e: np.full(e.n, value)


def variant(gain: float, power: float, ksocs: float, drive: str = "output") -> Model:
    """v2 with feedback states ``socs_treg`` and ``socs_nk`` (see the module docstring); with
    ``drive="input"`` the feedback follows the occupancy itself (``dF/dt = ksocs (occ - F)``:
    an incoherent feed-forward, induced upstream of the step it inhibits)."""
    cons = list(IL2NK_V2.constants)
    for name, val, unit in (("socs_gain", gain, "dimensionless"), ("socs_power", power, "dimensionless"),
                            ("ksocs_per_day", ksocs, "per_day")):
        cons.insert(len(cons) - 1, Constant(name, "1", name, _const(val), unit))
    u_nk = "(occ_high / (1 + socs_gain * pos(socs_nk)^socs_power))"
    u_treg = "(occ_treg / (1 + socs_gain * pos(socs_treg)^socs_power))"
    states = []
    for st in IL2NK_V2.states:
        rate = (st.rate.replace("(occ_high - pos(signal))", f"({u_nk} - pos(signal))")
                .replace("(occ_treg - pstat5_treg)", f"({u_treg} - pstat5_treg)"))
        assert rate != st.rate or st.name not in ("signal", "pstat5_treg")
        states.append(dataclasses.replace(st, rate=rate))
    d_treg, d_nk = ("occ_treg", "occ_high") if drive == "input" else ("pstat5_treg", u_nk)
    states += [
        State("socs_treg", "1", "Treg STAT5 feedback", f"ksocs_per_day * ({d_treg} - socs_treg)", 0.0),
        State("socs_nk", "1", "NK STAT5 feedback", f"ksocs_per_day * ({d_nk} - socs_nk)", 0.0),
    ]
    return dataclasses.replace(IL2NK_V2, constants=tuple(cons), states=tuple(states))


def population(model: Model, q: Parameters, n: int, seed: int = 2026) -> dict[str, float]:
    """Medians over ``n`` virtual patients (seed ``seed``, between-patient variability on) of the
    lines of the issue, each patient run in libroadrunner (rtol 1e-8)."""
    import roadrunner

    from il2sim.io.sbml import build_sbml
    from il2sim.population import Population
    from il2sim.regimen.spec import parse_spec

    pop = Population.sample(n, seed, q)
    th = model.build_theta(pop, q)
    y0 = model.initial_state(pop, th, q)
    runs = {"civ 0.164": ("0.164 MIU/m2/day iv infusion x90d", 90.0),
            "civ 0.49": ("0.49 MIU/m2/day iv infusion x90d", 90.0),
            "sc 1.25": ("1.25 MIU/m2 sc qd x90", 90.0), "Koreth": ("1 MIU/m2 sc qd x84", 84.0)}
    acc: dict[str, list[float]] = {}
    for i in range(n):
        for key, (spec, horizon) in runs.items():
            rr = roadrunner.RoadRunner(build_sbml(parse_spec(spec), th[i], y0[i], float(pop.bsa_m2[i]),
                                                  model=model).sbml)
            rr.integrator.relative_tolerance = 1e-8
            rr.integrator.absolute_tolerance = 1e-10
            rr.integrator.maximum_num_steps = 500000
            rr.timeCourseSelections = proto.SEL
            out = rr.simulate(0, horizon, int(horizon * 96) + 1)
            o = {k: np.asarray(out[:, j]) for j, k in enumerate(proto.SEL)}
            if key.startswith("civ"):
                w = (o["time"] >= 7) & (o["time"] <= 90)
                acc.setdefault(f"{key} mean d7-90 pM", []).append(float(o["conc_pm"][w].mean()))
                acc.setdefault(f"{key} Treg fold", []).append(proto._fold(o, "treg_per_ul"))
                acc.setdefault(f"{key} CD56bright fold", []).append(proto._fold(o, "bright_per_ul"))
            elif key == "sc 1.25":
                acc.setdefault("sc 1.25 peak pM", []).append(float(o["conc_pm"].max()))
            else:
                for label, name in (("Treg", "treg_per_ul"), ("NK", "nk_total_per_ul"),
                                    ("Tconv", "tconv_per_ul"), ("CD8", "cd8_per_ul")):
                    acc.setdefault(f"Koreth {label} fold", []).append(proto._fold(o, name))
    return {k: float(np.median(v)) for k, v in acc.items()}


def required_folds(n: int = 100, seed: int = 2026) -> None:
    """Median algebraic steady-state serum IL-2 (pM) of 10 and 30 ug/m2/day c.i.v. with the cells
    held at fixed folds over baseline (Treg rows x CD56bright columns; CD56dim at
    min(4, 1 + (bright - 1) / 9); Tconv, CD8 and CD25 per Treg at baseline), per-cell receptor
    numbers of the table: the cell expansions the c.i.v. line allows."""
    from il2sim import units
    from il2sim.model.models import declaration
    from il2sim.population import Population

    pm = float(units.pm_per_iu_per_ml())
    p = load_model_parameters("v2")
    m = declaration("v2")
    pop = Population.sample(n, seed, p)
    th = m.build_theta(pop, p)
    c = {name: th[:, j] for j, name in enumerate(m.constant_names)}
    base = {"bright": pop.bright0_per_ul, "dim": pop.dim0_per_ul, "treg": c["treg0_per_ul"],
            "tconv": c["tconv0_per_ul"], "cd8": c["cd8_0_per_ul"]}
    vcl = c["k10_per_day"] * c["vc_ml"]

    def steady(inp: np.ndarray, fold: dict[str, float]) -> float:
        x_ = {k: base[k] * fold.get(k, 1.0) for k in base}
        lo, hi = np.zeros(n), inp / vcl
        for _ in range(100):
            x = 0.5 * (lo + hi)
            oh = x / (c["kd_high_iu_per_ml"] + x)
            oi = x / (c["kd_int_iu_per_ml"] + x)
            rec = c["kint_per_day"] * (
                (c["rh_bright_iu_per_cell_ul"] * x_["bright"] + c["rh_treg_iu_per_cell_ul"] * x_["treg"]) * oh
                + oi * sum(c[f"ri_{k}_iu_per_cell_ul"] * x_[k] for k in ("bright", "dim", "tconv", "cd8")))
            low = vcl * x + rec < inp
            lo, hi = np.where(low, x, lo), np.where(low, hi, x)
        return float(np.median(lo * pm))

    brights = (1.0, 3.0, 10.0, 28.6)
    for dose in (0.164, 0.49):
        inp = dose * 1e6 * pop.bsa_m2
        print(f"{dose} MIU/m2/day c.i.v.: renal only {np.median(inp / vcl) * pm:.1f} pM")
        print("| Treg fold \\ CD56bright fold | " + " | ".join(f"{b:g}" for b in brights) + " |")
        for t in (1.0, 1.5, 2.0, 3.0, 5.0):
            print(f"| {t:g} | " + " | ".join(
                f"{steady(inp, {'treg': t, 'bright': b, 'dim': min(4.0, 1 + (b - 1) / 9)}):.1f}"
                for b in brights) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gain", type=float, nargs="+", default=[3.0, 30.0])
    ap.add_argument("--power", type=float, default=1.0)
    ap.add_argument("--ksocs", type=float, default=3.0)
    ap.add_argument("--drive", choices=("output", "input"), default="output")
    ap.add_argument("--refit", action="store_true")
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                    help="parameter values instead of --refit (e.g. emax_treg=218.9)")
    ap.add_argument("--population", type=int, default=0, metavar="N",
                    help="medians over N virtual patients instead of the typical-patient table")
    ap.add_argument("--required-folds", action="store_true", help="print the steady-state table only")
    args = ap.parse_args()
    if args.required_folds:
        required_folds()
        return
    p = load_model_parameters("v2").without_variability()
    given = {k: float(v) for k, v in (a.split("=", 1) for a in args.set)}
    if args.population:
        pv = load_model_parameters("v2")
        prow = {"v2 as calibrated": population(IL2NK_V2, pv, args.population)}
        for g in args.gain:
            prow[f"{args.drive} g {g:g}"] = population(
                variant(g, args.power, args.ksocs, args.drive), pv.with_params(**given), args.population)
        print(f"| median of {args.population} patients (seed 2026) | " + " | ".join(prow) + " |")
        print("|---|" + "---|" * len(prow))
        for key in prow["v2 as calibrated"]:
            print(f"| {key} | " + " | ".join(f"{prow[label][key]:.3g}" for label in prow) + " |")
        return
    rows = {"v2 as calibrated": proto.metrics(IL2NK_V2, p)}
    for g in args.gain:
        model = variant(g, args.power, args.ksocs, args.drive)
        q = proto.refit(model, p) if args.refit else p.with_params(**given)
        rows[f"{args.drive} g {g:g} n {args.power:g} k {args.ksocs:g}"] = proto.metrics(model, q)
    print("| quantity (typical patient) | " + " | ".join(rows) + " |")
    print("|---|" + "---|" * len(rows))
    for key in rows["v2 as calibrated"]:
        print(f"| {key} | " + " | ".join(f"{rows[label][key]:.3g}" for label in rows) + " |")


if __name__ == "__main__":
    main()
