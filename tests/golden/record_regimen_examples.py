"""Record the events of every regimen text example with the v0.1 parser (before issue 12's grammar).

Run once from the repository root, on the commit before the regimen grammar was replaced::

    .venv/bin/python tests/golden/record_regimen_examples.py

Writes ``tests/golden/v1/regimen_examples.json``:

* ``examples``: every spec in the text-spec code blocks of ``README.md`` ("Dosing regimens: the
  text form") and ``docs/regimen.md`` ("Text specs"), and every double-quoted spec elsewhere in
  ``docs/regimen.md`` (CLI and builder examples), with its events and canonical text;
* ``extra``: the accepted spellings exercised by ``tests/test_regimen_spec.py`` and a few more;
* ``errors``: rejected texts and the one-line message each gave;
* ``hardening``: texts the v0.1 parser got wrong (issues 16 and 17), with what it did.

Each event is ``[time_day, amount, amount_unit, per_m2, route, duration_day]``; floats are
stored with ``repr`` precision (JSON round-trips them exactly).  The file is never regenerated
by the tests; ``tests/test_regimen_golden.py`` compares today's parser against it.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "v1" / "regimen_examples.json"


def _code_block_after(text: str, heading: str) -> list[str]:
    """Spec lines of the first fenced block after ``heading`` (comments and blank lines dropped)."""
    start = text.index(heading)
    block = text[start:].split("```", 2)[1]
    specs = []
    for line in block.splitlines():
        spec = line.split("#", 1)[0].strip()
        if spec:
            specs.append(spec)
    return specs


def example_specs(root: Path = ROOT) -> list[str]:
    """Every regimen example of README.md and docs/regimen.md, in order of appearance, unique."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    docs = (root / "docs" / "regimen.md").read_text(encoding="utf-8")
    specs = _code_block_after(readme, "## Dosing regimens: the text form")
    specs += _code_block_after(docs, "## Text specs")
    # quoted specs in the builder and CLI examples ("1.25 MIU/m2 sc qd x90"); the quoted texts
    # of the "Errors" section are bad input, recorded with the errors below
    errors_at = docs.index("### Errors")
    no_errors = docs[:errors_at] + docs[docs.index("\n## ", errors_at) :]
    for quoted in re.findall(r'"([^"\n]*\d[^"\n]*(?:sc|im|iv)[^"\n]*)"', no_errors):
        specs.append(quoted)
    # the canonical-text example in prose: `0.45 MIU/m2/day iv infusion x56d` -> `25.2 ...`
    for a, b in re.findall(r"`([^`]+)` -> `([^`]+)`", docs):
        specs += [a, b]
    return list(dict.fromkeys(specs))


#: Accepted spellings beyond the documented examples (from tests/test_regimen_spec.py).
EXTRA = [
    "1 MIU sc q2d x14d",
    "1 MIU sc q2d for 14 days",
    "1 MIU sc qod x3",
    "1 MIU sc bid x2d",
    "1 MIU sc q12h x4",
    "1 MIU sc qid x1d",
    "1 MIU im qw x4",
    "1 MIU im weekly x3w",
    "1 MIU sc q3d x3 @10",
    "1 MIU sc x3",
    "1 MIU sc once @2",
    "1 MIU sc @6h",
    "1 MIU sc q2w x2",
    "1 MIU sc daily x2",
    "1 MIU sc od x2",
    "1 MIU sc tid x2d",
    "1 MIU sc q8h x3",
    "1 MIU sc q1.5d x3",
    "1 MIU sc q0.5w x3",
    "1 MIU sc qd x36h",
    "1 MIU sc q6h x90min",
    "1 MIU sc qd for 2w",
    "1000 IU sc",
    "5 kIU sc",
    "2 MIU sc",
    "2 MU sc",
    "10 ug sc",
    "10 mcg sc",
    "10 µg sc",
    "1.1 mg sc",
    "0.1 MIU/h iv infusion over 6h",
    "1 MIU/m2 iv infusion over 6h qd x5",
    "1 MIU/m2 iv infusion qd x5 over 6h",
    "1 MIU/m2/d iv infusion over 2d",
    "2 MIU/m2/day iv infusion for 5 days",
    "1 MIU/m2 civ x5d",
    "1 MIU/m2 infusion over 1d",
    "1 MIU/m2 ivinf over 12h",
    "1 MIU/m2 iv inf over 12h",
    "1 MIU/m2 bolus",
    "1 MIU/m2 iv push",
    "1 MIU im",
    "1 MIU i.m.",
    "1 MIU intramuscular",
    "1 MIU subq",
    "1.25MIU/m2 SC QD X90",
    "  1.25 miu / m2   s.c.  qd  x 90 ",
    "1.25 MIU/m² subcutaneous daily for 90 days",
    "1.25 MIU/m^2 sc qd x3",
    "1 MIU I.V. Bolus",
    "1 MIU iv",
    "1 mu/m2 i.v.",
    "15 MIU/m2 sc qd x3 @ day 42",
    "15 MIU/m2 sc qd x3 @day42",
    "15 MIU/m2 sc qd x3 @42d",
    "15 MIU/m2 sc qd x3 @ 42",
    "15 MIU/m2 sc @42 qd x3",
    "15 MIU/m2 sc qd x3 q 14d x6",
    "15 MIU/m2 sc qd x3 q14d x12w @42",
    "15 MIU/m2 sc x3 q14d x6",
    "1 MIU sc qd x5 @1.5",
    "1 MIU sc q12h x3 @12h",
    "1 MIU iv infusion over 6 h @1",
    "1 MIU sc bid x2",
    "1 MIU sc qd x 5 days",
    "1 MIU sc qd x5 hours",
    "2 MIU/day sc qd x3",
    "1e-3 MIU sc",
    "1.5E2 IU sc",
    ".5 MIU sc",
    "5. MIU sc",
    "+1 MIU sc",
    "1 MIU sc qd x5 + 1 MIU sc qd x5",
    "1 MIU sc once",
    "1 MIU sc x1d",
]

#: Rejected texts (the documented error classes and the cases of tests/test_regimen_spec.py).
ERRORS = [
    "-1 MIU/m2 sc qd x5",
    "0 MIU/m2 sc qd x5",
    "nan MIU/m2 sc qd x5",
    "inf MIU/m2 sc qd x5",
    "abc MIU/m2 sc qd x5",
    "1.25 MIU/m2 sc qd x0",
    "1.25 MIU/m2 sc qd x0d",
    "1.25 MIU/m2 sc qd x2.5",
    "1.25 MIU/m2 sc qd x-1",
    "1.25 MIU/m2 PO qd x5",
    "1.25 MIU/m2 po qd x5",
    "1.25 XYZ/m2 sc qd x5",
    "1.25 xyz sc qd x5",
    "1 MIU iv infusion x5d + 1 MIU iv infusion x5d @2",
    "1 MIU iv infusion",
    "1 MIU iv infusion x5",
    "1 MIU iv infusion x5d over 5d",
    "1 MIU iv infusion qd x5",
    "1 MIU iv infusion over 0h",
    "1 MIU sc over 6h",
    "1 MIU sc qd x5 Banana",
    "1 MIU sc qd x5 +",
    "+ 1 MIU sc",
    "",
    "   ",
    "1 MIU",
    "1 MIU/m2",
    "1 MIU sc qd x3 q14d",
    "1 MIU sc qd x3 q0d x2",
    "1 MIU sc qd x3 q14d x6 q7d x2",
    "1 MIU sc qd x3 x4",
    "1 MIU sc qd x3 q14d x6 x2",
    "1 MIU sc @-2",
    "1 MIU sc @x",
    "1 MIU sc @1 @2",
    "1 MIU sc once x3",
    "1 MIU sc once x3d",
    "1 MIU sc xyz",
    "1 MIU sc for",
    "1 MIU sc for 3",
    "1 MIU sc over",
    "1 MIU iv infusion over 6h over 2h",
    "1 MIU/day sc",
    "1 MIU/day sc once",
    "1 MIU sc q0h x3",
    "1 MIU sc q-1d x3",
    "1 MIU sc qd x0w",
]

#: Texts the v0.1 parser accepted or rejected wrongly (issues 16 and 17; "10 µg" above too):
#: recorded to document the change the grammar makes (old -> new in test_regimen_golden.py).
HARDENING = [
    "1 MIU/m2 sc qd bid x5",
    "1 MIU sc qd x3 q2d x2",
    "\uff11 MIU sc qd x5",
    "\u0661 MIU sc qd x5",
    "1 MIU sc qd x\u0665",
    "1e-320 MIU sc",
    "1 MIU sc @1e-320",
    "1e+5 IU sc",
    "1E+2 IU sc qd x2",
]


def _events(reg: Any) -> list[list[Any]]:
    return [
        [e.time_day, e.amount, e.amount_unit, e.per_m2, e.route.value, e.duration_day]
        for e in reg.events
    ]


def record(spec: str) -> dict[str, Any]:
    """The events and canonical text of ``spec`` (or its error message) with today's parser."""
    from il2sim.errors import InputError
    from il2sim.regimen import format_spec, parse_spec

    try:
        reg = parse_spec(spec)
    except InputError as exc:
        return {"spec": spec, "error": str(exc)}
    return {"spec": spec, "canonical": format_spec(reg), "events": _events(reg)}


def main() -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    data = {
        "commit": commit,
        "event_fields": ["time_day", "amount", "amount_unit", "per_m2", "route", "duration_day"],
        "examples": [record(s) for s in example_specs()],
        "extra": [record(s) for s in EXTRA],
        "errors": [record(s) for s in ERRORS],
        "hardening": [record(s) for s in HARDENING],
    }
    for case in data["examples"]:
        if "error" in case:
            raise SystemExit(f"documented example does not parse: {case}")
    OUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    n = {k: len(v) for k, v in data.items() if isinstance(v, list) and k != "event_fields"}
    print(f"wrote {OUT.relative_to(ROOT)}: {n}")


if __name__ == "__main__":
    main()
