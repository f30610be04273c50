"""The lark grammar against the v0.1 parser's record (tests/golden/v1/regimen_examples.json).

Every example of README.md and docs/regimen.md, and the extra spellings, must give the same
events (exactly: times, amounts, units, basis, routes, durations) and the same canonical text as
the hand-written parser did; every rejected text the same one-line message.  The differences are
listed here, each with its reason (bugs fixed in issue 12 and the hardening of issues 16/17).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from il2sim.errors import InputError
from il2sim.regimen import format_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = json.loads((ROOT / "tests/golden/v1/regimen_examples.json").read_text(encoding="utf-8"))


def _recorder() -> Any:
    spec = importlib.util.spec_from_file_location(
        "record_regimen_examples", ROOT / "tests/golden/record_regimen_examples.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def now(text: str) -> dict[str, Any]:
    """Today's parse of ``text`` in the golden file's layout."""
    try:
        reg = parse_spec(text)
    except InputError as exc:
        return {"error": str(exc)}
    events = [
        [e.time_day, e.amount, e.amount_unit, e.per_m2, e.route.value, e.duration_day]
        for e in reg.events
    ]
    return {"canonical": format_spec(reg), "events": events}


def old(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if k != "spec"}


#: Accepted texts whose result changed, with the reason (old result in the golden file).
CHANGED_ACCEPTED: dict[str, dict[str, Any]] = {
    # bug fix: the micro sign upper-cased to Greek capital MU, so "µg" was an unknown unit
    "10 µg sc": {"canonical": "10 ug sc", "events": [[0.0, 10.0, "ug", False, "sc", 0.0]]},
}

#: Rejected texts whose message changed (same field), with the reason.
CHANGED_MESSAGES: dict[str, str] = {
    # the message now quotes the second clause, as "start: given twice, got '@2'" did
    "1 MIU iv infusion over 6h over 2h": "duration: given twice, got 'over 2h'",
}


def test_golden_file_is_the_v01_record() -> None:
    assert len(GOLDEN["examples"]) >= 13
    assert all("events" in c for c in GOLDEN["examples"])


@pytest.mark.parametrize("case", GOLDEN["examples"], ids=lambda c: c["spec"])
def test_documented_examples_give_the_same_events(case: dict[str, Any]) -> None:
    assert now(case["spec"]) == old(case)


@pytest.mark.parametrize("case", GOLDEN["extra"], ids=lambda c: c["spec"])
def test_extra_spellings_give_the_same_result(case: dict[str, Any]) -> None:
    expected = CHANGED_ACCEPTED.get(case["spec"], old(case))
    assert now(case["spec"]) == expected


@pytest.mark.parametrize("case", GOLDEN["errors"], ids=lambda c: c["spec"] or "<empty>")
def test_rejected_texts_give_the_same_message(case: dict[str, Any]) -> None:
    expected = CHANGED_MESSAGES.get(case["spec"], case["error"])
    assert now(case["spec"]) == {"error": expected}


def test_changed_cases_are_in_the_record() -> None:
    specs = {c["spec"] for k in ("extra", "errors") for c in GOLDEN[k]}
    assert set(CHANGED_ACCEPTED) | set(CHANGED_MESSAGES) <= specs
    old_unit = next(c for c in GOLDEN["extra"] if c["spec"] == "10 µg sc")
    assert old_unit["error"].startswith("unit: unknown unit 'µg'")


#: What the grammar does with the texts the v0.1 parser got wrong (issues 16 and 17):
#: spec -> expected error prefix, or the canonical text of what it now means.
HARDENING: dict[str, str] = {
    # issue 17: a second frequency was silently taken as a cycle of single doses (q12h x5)
    "1 MIU/m2 sc qd bid x5": "frequency: a second frequency needs a count before it",
    # a cycle shorter than its block gave overlapping blocks (two doses on days 2, 3, 4)
    "1 MIU sc qd x3 q2d x2": "cycles: the repeat interval must be longer than the block",
    # issue 16: Arabic-Indic and full-width digits were read as ASCII digits
    "\uff11 MIU sc qd x5": "dose: must be a number, got '\uff11'",
    "\u0661 MIU sc qd x5": "dose: must be a number, got '\u0661'",
    "1 MIU sc qd x\u0665": "count: expected xN or xNd, got 'x\u0665'",
    # issue 16: subnormal numbers (1e-320) gave a regimen; the start did not round-trip (@0)
    "1e-320 MIU sc": "dose: must be 0 or at least 2.225e-308 in magnitude",
    "1 MIU sc @1e-320": "start: must be 0 or at least 2.225e-308 in magnitude",
    # a "+" in an exponent was taken as a segment separator
    "1e+5 IU sc": "=100000 IU sc",
    "1E+2 IU sc qd x2": "=100 IU sc qd x2",
}


@pytest.mark.parametrize("text", sorted(HARDENING))
def test_hardening_cases(text: str) -> None:
    record = next(c for c in GOLDEN["hardening"] if c["spec"] == text)
    expected = HARDENING[text]
    got = now(text)
    assert got != old(record)  # each is a change from v0.1
    if expected.startswith("="):
        assert got.get("canonical") == expected[1:], got
    else:
        assert got.get("error", "").startswith(expected), got
        assert "\n" not in got["error"]


def test_every_current_example_is_in_the_record() -> None:
    """A new example in README.md or docs/regimen.md must parse; one already recorded must
    still be recorded (the record is not regenerated)."""
    recorded = {c["spec"] for c in GOLDEN["examples"]}
    for spec in _recorder().example_specs(ROOT):
        if spec not in recorded:
            parse_spec(spec)  # a new example: it must at least parse
