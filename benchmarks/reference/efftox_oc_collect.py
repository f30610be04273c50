"""Collect the JSON files ``efftox_oc.R`` writes into the compact reference file the tests read
(``tests/data/r_reference/trialr_efftox_oc.json``): per trial the recommended dose (0 = NA, no
dose), and the dose, efficacy and toxicity of each patient as digit strings.

    python benchmarks/reference/efftox_oc_collect.py OUT R_JSON [R_JSON ...]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def _trial(t: dict[str, Any]) -> dict[str, Any]:
    rec = t["rec"]
    return {
        "rec": int(rec) if isinstance(rec, int) else 0,
        "doses": "".join(str(int(d)) for d in t["doses"]),
        "eff": "".join(str(int(v)) for v in t["eff"]),
        "tox": "".join(str(int(v)) for v in t["tox"]),
    }


def collect(paths: list[Path]) -> dict[str, Any]:
    runs = []
    for p in paths:
        r = json.loads(p.read_text())
        runs.append({
            "call": r["call"], "trialr": r["version"], "rstan": r["rstan"],
            "n_done": r["n_done"], "trials": [_trial(t) for t in r["trials"]],
        })  # fmt: skip
    return {
        "source": "R trialr efftox_simulate (unmodified), benchmarks/reference/efftox_oc.R; "
        "rec 0 = NA (no acceptable dose); doses/eff/tox one digit per patient in order",
        "runs": runs,
    }


def main() -> None:
    out = Path(sys.argv[1])
    res = collect([Path(a) for a in sys.argv[2:]])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(res, indent=1) + "\n")
    os.replace(tmp, out)
    print(out, [len(r["trials"]) for r in res["runs"]], "trials")


if __name__ == "__main__":
    main()
