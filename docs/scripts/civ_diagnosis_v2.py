"""Diagnosis of model v2 under Caligiuri 1993's continuous infusions (docs/model.md, session 23).

Who clears the IL-2 at steady state (renal vs receptor-mediated, per cell type), how far the
cells expand, parameter counterfactuals, and the algebraic steady state with the cells held at
fixed folds (baseline; a ceiling from science.md's numbers) with and without ligand-induced
receptor down-regulation.  Nothing here changes the model.

Run from the repository root: ``.venv/bin/python docs/scripts/civ_diagnosis_v2.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from il2sim import units
from il2sim.model.models import declaration, load_model_parameters
from il2sim.population import Population
from il2sim.regimen.spec import parse_spec
from il2sim.simulate import simulate

N, SEED = 100, 2026
DOSES = (0.164, 0.49)  # MIU/m2/day: 10 and 30 ug/m2/day at 16.4 MIU/mg
PM = float(units.pm_per_iu_per_ml())
#: Koreth 2016 Tregs > 5x; Meropol 1996 top dose CD56bright +2763%, NK +530% (CD56dim ~4x).
CEILING = {"treg": 5.0, "bright": 28.6, "dim": 4.0}


def _civ(dose: float) -> Any:
    return parse_spec(f"{dose} MIU/m2/day iv infusion x90d")


def main() -> None:
    p = load_model_parameters("v2")
    m = declaration("v2")
    pop = Population.sample(N, SEED, p)
    th = m.build_theta(pop, p)
    c = {n: th[:, j] for j, n in enumerate(m.constant_names)}
    base = {"bright": pop.bright0_per_ul, "dim": pop.dim0_per_ul, "treg": c["treg0_per_ul"],
            "tconv": c["tconv0_per_ul"], "cd8": c["cd8_0_per_ul"]}
    out_names = {"bright": "bright_per_ul", "dim": "dim_per_ul", "treg": "treg_per_ul",
                 "tconv": "tconv_per_ul", "cd8": "cd8_per_ul"}
    pools = {"bright": ("rh_bright_iu_per_cell_ul", "ri_bright_iu_per_cell_ul"), "dim": (None, "ri_dim_iu_per_cell_ul"),
             "treg": ("rh_treg_iu_per_cell_ul", None), "tconv": (None, "ri_tconv_iu_per_cell_ul"),
             "cd8": (None, "ri_cd8_iu_per_cell_ul")}

    def sinks(conc: Any, cells: dict[str, Any], cd25: Any, krec: float | None = None) -> dict[str, Any]:
        oh = conc / (c["kd_high_iu_per_ml"] + conc)
        oi = conc / (c["kd_int_iu_per_ml"] + conc)
        ot = conc * cd25 / (c["kd_high_iu_per_ml"] + conc * cd25)

        def r(o: Any) -> Any:
            return 1.0 if krec is None else krec / (krec + c["kint_per_day"] * o)

        out = {}
        for k, (hi, it) in pools.items():
            if hi is not None:
                occ = ot if k == "treg" else oh
                out[f"{k} high"] = c["kint_per_day"] * c[hi] * cells[k] * occ * r(occ)
            if it is not None:
                out[f"{k} int"] = c["kint_per_day"] * c[it] * cells[k] * oi * r(oi)
        return out

    def steady(inp: Any, fold: dict[str, Any], cd25: float = 1.1, krec: float | None = None) -> float:
        cells = {k: base[k] * fold.get(k, 1.0) for k in base}
        lo, hi = np.zeros(N), inp / (c["k10_per_day"] * c["vc_ml"])
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            f = c["k10_per_day"] * c["vc_ml"] * mid + sum(sinks(mid, cells, cd25, krec).values()) - inp
            lo, hi = np.where(f < 0, mid, lo), np.where(f < 0, hi, mid)
        return float(np.median(lo * PM))

    for dose in DOSES:
        res = simulate(_civ(dose), pop, parameters=p, output_times_day=np.arange(0, 90.01, 0.5))
        o, t = res.outputs, res.t_day
        w = (t >= 7) & (t <= 90)
        print(f"== {dose} MIU/m2/day c.i.v.: median of the day 7-90 mean {np.median(o['il2_pm'][:, w].mean(axis=1)):.2f} pM")
        for d in (1, 7, 14, 28, 56, 90):
            k = int(np.argmin(np.abs(t - d)))
            conc = o["il2_pm"][:, k] / PM
            cells = {n: o[out_names[n]][:, k] for n in base}
            cd25 = o["cd25_per_treg"][:, k] / c["cd25_0_sites"]
            s = sinks(conc, cells, cd25)
            renal = c["k10_per_day"] * conc * c["vc_ml"]
            total = renal + sum(s.values())
            cl = {"renal": renal / conc, "receptor": sum(s.values()) / conc}
            print(f" day {d:2d}: {np.median(o['il2_pm'][:, k]):.2f} pM; CL l/h renal {np.median(cl['renal']) / 24e3:.1f} "
                  f"receptor {np.median(cl['receptor']) / 24e3:.1f}; share % renal {np.median(100 * renal / total):.1f} "
                  + " ".join(f"{n} {np.median(100 * v / total):.1f}" for n, v in s.items())
                  + "; folds " + " ".join(f"{n} {np.median(cells[n] / base[n]):.1f}" for n in base)
                  + f" CD25 {np.median(cd25):.2f}")
        model_fold = {n: o[out_names[n]][:, int(np.argmin(np.abs(t - 56)))] / base[n] for n in base}
        inp = dose * 1e6 * pop.bsa_m2
        print(f"  steady state, cells fixed: renal only {np.median(inp / (c['k10_per_day'] * c['vc_ml'])) * PM:.1f} pM; "
              f"baseline cells {steady(inp, {}, 1.0):.2f}; model's day-56 cells {steady(inp, model_fold):.2f}; "
              f"ceiling {CEILING} {steady(inp, CEILING):.2f}")
        print("  + down-regulation r = krec/(krec + kint occ), day-56 cells, krec/day -> pM: "
              + ", ".join(f"{k:g}: {steady(inp, model_fold, krec=k):.1f}" for k in (0.5, 1, 2, 4, 8, 16)))
    for label, ch in (("no Treg expansion (emax_treg 0)", {"emax_treg": 0.0}),
                      ("no NK expansion (emax_production 0)", {"emax_production": 0.0}),
                      ("neither", {"emax_treg": 0.0, "emax_production": 0.0})):
        q = p.with_params(**ch)
        qpop = Population.sample(N, SEED, q)
        vals = []
        for dose in DOSES:
            r = simulate(_civ(dose), qpop, parameters=q, output_times_day=np.arange(0, 90.01, 0.5))
            w = (r.t_day >= 7) & (r.t_day <= 90)
            vals.append(f"{dose}: {np.median(r.outputs['il2_pm'][:, w].mean(axis=1)):.2f} pM")
        print(f"counterfactual {label}: " + "; ".join(vals))


if __name__ == "__main__":
    main()
