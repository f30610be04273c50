"""Prototype (not merged): ligand-induced IL-2R down-regulation in model v2 (docs/model.md,
"Caligiuri continuous infusion", session 23).

Surface receptors per cell are a fraction ``r`` of the table's sites, per receptor kind
(CD56bright high-affinity, Treg high-affinity, intermediate): ``dr/dt = krec (1 - r) - kint occ
r`` (bound receptors are internalised with the IL-2, kint of Fujii 1987; re-expressed at
``krec``, which science.md does not give: scanned).  With ``--surface-signal`` the NK signal and
the Treg pSTAT5 read occupied *surface* receptors (``occ * r``: desensitisation).  The modified
declaration is exported as SBML and run in libroadrunner for the typical patient, so no numba
kernel is compiled.  ``--refit`` re-tunes emax_production, hill_production and emax_treg on the
typical patient to the seed NK targets (+154% at 0.4, +530% at 1.75 MIU/m2) and v2's typical
Koreth Treg fold (6.98) before the c.i.v. runs.

Run from the repository root, e.g.
``.venv/bin/python docs/scripts/civ_downregulation_prototype.py --krec 0.25 1 4 [--surface-signal] [--refit]``.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import numpy as np

from il2sim.io.sbml import build_sbml
from il2sim.model.declaration import Constant, Model, State
from il2sim.model.il2nk_v2 import IL2NK_V2
from il2sim.model.models import load_model_parameters
from il2sim.model.parameters import Parameters
from il2sim.population import Population
from il2sim.regimen.spec import parse_spec

SEL = ["time", "conc_pm", "nk_total_per_ul", "bright_per_ul", "treg_per_ul", "tconv_per_ul", "cd8_per_ul"]
KINDS = (("bh", "occ_high"), ("treg", "occ_treg"), ("int", "occ_int"))
SCALED = {"rh_nk_iu": "bh", "rh_treg_iu": "treg", "ri_iu": "int"}


def variant(krec: float, surface_signal: bool) -> Model:
    """v2 with surface-receptor states ``r_bh``, ``r_treg``, ``r_int`` (re-expression ``krec``)."""
    cons = list(IL2NK_V2.constants)
    cons.insert(len(cons) - 1, Constant("krec_per_day", "1/day", "receptor re-expression",
                                        lambda e: np.full(e.n, krec), "per_day"))
    states = []
    for st in IL2NK_V2.states:
        if surface_signal:
            st = dataclasses.replace(st, rate=st.rate.replace("(occ_high - pos(signal))", "(occ_high * r_bh - pos(signal))")
                                     .replace("(occ_treg - pstat5_treg)", "(occ_treg * r_treg - pstat5_treg)"))
        states.append(st)
    states += [State(f"r_{k}", "1", f"surface receptor fraction {k}",
                     f"krec_per_day * (1 - r_{k}) - kint_per_day * {occ} * r_{k}", 1.0) for k, occ in KINDS]
    derived = tuple(dataclasses.replace(d, expr=f"({d.expr}) * r_{SCALED[d.name]}") if d.name in SCALED else d
                    for d in IL2NK_V2.derived)
    return dataclasses.replace(IL2NK_V2, constants=tuple(cons), states=tuple(states), derived=derived)


def run(model: Model, p: Parameters, spec: str, horizon: float) -> dict[str, Any]:
    """Typical patient (covariates of patient 0 of seed 0), libroadrunner at rtol 1e-8."""
    import roadrunner

    pop = Population.sample(1, 0, load_model_parameters("v2"))
    th = model.build_theta(pop, p)
    y0 = model.initial_state(pop, th, p)
    rr = roadrunner.RoadRunner(build_sbml(parse_spec(spec), th[0], y0[0], float(pop.bsa_m2[0]), model=model).sbml)
    rr.integrator.relative_tolerance = 1e-8
    rr.integrator.absolute_tolerance = 1e-10
    rr.integrator.maximum_num_steps = 500000
    rr.timeCourseSelections = SEL
    out = rr.simulate(0, horizon, int(horizon * 96) + 1)
    return {k: np.asarray(out[:, i]) for i, k in enumerate(SEL)}


def _fold(o: dict[str, Any], name: str) -> float:
    return float(o[name].max() / o[name][0])


def metrics(model: Model, p: Parameters, civ: bool = True) -> dict[str, float]:
    """c.i.v. levels, seed s.c. peaks and increases, Koreth folds."""
    r: dict[str, float] = {}
    if civ:
        for dose in (0.164, 0.49):
            o = run(model, p, f"{dose} MIU/m2/day iv infusion x90d", 90.0)
            w = (o["time"] >= 7) & (o["time"] <= 90)
            r[f"civ {dose} mean d7-90 pM"] = float(o["conc_pm"][w].mean())
            r[f"civ {dose} Treg fold"] = _fold(o, "treg_per_ul")
            r[f"civ {dose} CD56bright fold"] = _fold(o, "bright_per_ul")
    for dose in (0.4, 1.25, 1.75):
        o = run(model, p, f"{dose} MIU/m2 sc qd x90", 90.0)
        r[f"sc {dose} peak pM"] = float(o["conc_pm"].max())
        r[f"sc {dose} NK +%"] = 100 * (_fold(o, "nk_total_per_ul") - 1)
        r[f"sc {dose} CD56bright +%"] = 100 * (_fold(o, "bright_per_ul") - 1)
    o = run(model, p, "1 MIU/m2 sc qd x84", 84.0)
    for k, n in (("Treg", "treg_per_ul"), ("NK", "nk_total_per_ul"), ("Tconv", "tconv_per_ul"), ("CD8", "cd8_per_ul")):
        r[f"Koreth {k} fold"] = _fold(o, n)
    return r


def refit(model: Model, p: Parameters) -> Parameters:
    """emax_production, hill_production, emax_treg re-tuned on the typical patient."""
    from scipy.optimize import least_squares

    names = ("emax_production", "hill_production", "emax_treg")

    def at(x: Any) -> Parameters:
        return p.with_params(**{n: float(np.exp(v)) for n, v in zip(names, x, strict=True)})

    def resid(x: Any) -> list[float]:
        r = metrics(model, at(x), civ=False)
        return [np.log(r["sc 0.4 NK +%"] / 154), np.log(r["sc 1.75 NK +%"] / 530), np.log(r["Koreth Treg fold"] / 6.98)]

    sol = least_squares(resid, np.log([p.value(n) for n in names]), diff_step=0.05, max_nfev=12, xtol=1e-3, ftol=1e-3)
    q = at(sol.x)
    print("re-tuned: " + ", ".join(f"{n} {q.value(n):.4g}" for n in names))
    return q


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--krec", type=float, nargs="+", default=[1.0, 4.0])
    ap.add_argument("--surface-signal", action="store_true")
    ap.add_argument("--refit", action="store_true")
    args = ap.parse_args()
    p = load_model_parameters("v2").without_variability()
    rows = {"v2 as calibrated": metrics(IL2NK_V2, p)}
    for k in args.krec:
        model = variant(k, args.surface_signal)
        rows[f"krec {k:g}/day"] = metrics(model, refit(model, p) if args.refit else p)
    print("| quantity (typical patient) | " + " | ".join(rows) + " |")
    print("|---|" + "---|" * len(rows))
    for q in rows["v2 as calibrated"]:
        print(f"| {q} | " + " | ".join(f"{rows[label][q]:.3g}" for label in rows) + " |")


if __name__ == "__main__":
    main()
