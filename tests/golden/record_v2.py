"""Record the golden outputs of model v2 (issue 11) in ``tests/golden/v2``.

The ten regimens of issue 10 (``record_v1.REGIMENS``), 50 virtual patients each (seed 20 + i),
the library summary (``il2sim simulate --json`` model keys: ``simulate(...).summary()``), the
default preset (``fast``); plus ``il2sim validate --json`` (the built-in library, seed 2026).  Run from
the repository root once model v2 is final::

    nice -n 10 .venv/bin/python tests/golden/record_v2.py

``tests/test_golden_v2.py`` compares today's outputs with these files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "v2"
sys.path.insert(0, str(HERE))
from record_v1 import REGIMENS  # noqa: E402

N_PATIENTS = 50


def summary_of(name: str) -> dict[str, object]:
    """The v2 summary of regimen ``name`` (default preset, ``fast``)."""
    from il2sim._json import to_jsonable
    from il2sim.model.models import load_model_parameters
    from il2sim.population import Population
    from il2sim.regimen.spec import parse_spec
    from il2sim.simulate import simulate

    spec, extra = REGIMENS[name]
    horizon = float(extra[1]) if extra else None
    seed = 20 + list(REGIMENS).index(name)
    p2 = load_model_parameters("v2")  # model v2, named explicitly
    res = simulate(parse_spec(spec), Population.sample(N_PATIENTS, seed, p2), horizon_day=horizon)
    out: dict[str, object] = to_jsonable(res.summary())
    out["regimen"] = spec
    return out


def main() -> None:
    from il2sim._json import to_jsonable
    from il2sim.validate import validate

    (OUT / "simulate").mkdir(parents=True, exist_ok=True)
    for name in REGIMENS:
        (OUT / "simulate" / f"{name}.json").write_text(json.dumps(summary_of(name), indent=1) + "\n")
        print(name, flush=True)
    rep = validate()
    (OUT / "validate.json").write_text(json.dumps(to_jsonable(rep.to_dict()), indent=1) + "\n")
    print("validate", rep.to_dict()["counts"])


if __name__ == "__main__":
    main()
