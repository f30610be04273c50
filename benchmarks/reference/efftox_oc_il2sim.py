"""il2sim's EffTox on trialr's ``efftox_simulate`` scenario (see ``efftox_oc.R`` and README.md
here): ``N`` trials (default 2000) of the default design (``EffTox(n_doses=5, doses=(1, 2, 4,
6.6, 10))``, 8192 importance draws), 6 cohorts of 3, first dose 1, true efficacy
0.2/0.4/0.6/0.8/0.9, true toxicity 0.05/0.1/0.15/0.2/0.4, seed ``SEED`` (default 20261202).

Writes one JSON with the per-trial results (``selected``: one digit per trial, 0 = no dose;
``cohorts``: the level of each cohort in order, one string per trial), the form
``tests/test_designs_efftox_oc.py`` reads and re-checks (its first trials are re-run there).

    python benchmarks/reference/efftox_oc_il2sim.py [N] [SEED] [OUT]
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from il2sim.designs import Caps, TrialController
from il2sim.designs.efftox import EffTox
from il2sim.designs.sources import BernoulliSource

DOSES = (1.0, 2.0, 4.0, 6.6, 10.0)
TRUE_TOX = (0.05, 0.10, 0.15, 0.20, 0.40)
TRUE_EFF = (0.20, 0.40, 0.60, 0.80, 0.90)
COHORTS = 6


def run(n: int, seed: int) -> dict[str, object]:
    """The per-trial results of ``n`` il2sim EffTox trials on the trialr scenario."""
    des = EffTox(n_doses=5, doses=DOSES)
    ctl = TrialController(des, BernoulliSource(TRUE_TOX, TRUE_EFF), Caps(COHORTS, None))
    t0 = time.process_time()
    sim = ctl.run(n, seed)
    cpu = time.process_time() - t0
    tr = sim.trials
    cohorts = ["".join(str(int(d)) for d in row if d > 0) for row in tr.cohort_dose]
    return {
        "call": f"EffTox(n_doses=5, doses={DOSES}); TrialController(BernoulliSource("
        f"tox={TRUE_TOX}, eff={TRUE_EFF}), Caps(cohorts={COHORTS})).run({n}, seed={seed})",
        "n_trials": len(cohorts),
        "seed": seed,
        "cpu_s": round(cpu, 1),
        "selected": "".join(str(int(s)) for s in tr.selected),
        "cohorts": cohorts,
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 20261202
    out = Path(sys.argv[3]) if len(sys.argv) > 3 else Path("il2sim_efftox_oc.json")
    res = run(n, seed)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(res, indent=0) + "\n")
    os.replace(tmp, out)
    print(f"{res['n_trials']} trials, {res['cpu_s']} CPU-s -> {out}")


if __name__ == "__main__":
    main()
