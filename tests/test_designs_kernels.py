"""Kernel replays for every design with a compiled kernel: each simulated trial is, cohort by
cohort, what ``design.fit(outcomes).decision()`` decides (next dose, cohort size, stop, MTD),
under cohort caps and patient caps that cut the last cohort."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from design_helpers import kernel_trials, replay
from il2sim.designs import DESIGN_NAMES, Caps, Design, build_design
from il2sim.designs._fast import select_mtd_nb
from il2sim.designs._isotonic import elimination_min_dlt, pava, select_mtd
from il2sim.designs.kernels import Kernel

TRUTH5 = [0.08, 0.18, 0.3, 0.45, 0.6]
SKEL = [0.05, 0.12, 0.25, 0.40, 0.55]

#: label -> (design options, caps, trials)
CASES: dict[str, tuple[dict[str, object], Caps, int]] = {
    "3+3a": ({"name": "3+3a"}, Caps(), 60),
    "3+3b": ({"name": "3+3b"}, Caps(), 60),
    "4+5": ({"name": "4+5"}, Caps(), 60),
    "a+b(2,4,0,1,2)b start 2": (
        {"name": "a+b", "a": 2, "b": 4, "c": 0, "d": 1, "e": 2, "expand_lower": True,
         "start_dose": 2},
        Caps(),
        60,
    ),
    "3+3b capped": ({"name": "3+3b"}, Caps(max_cohorts=3, max_patients=10), 60),
    "boin": ({"name": "boin", "target": 0.3}, Caps(12), 60),
    "boin extrasafe": ({"name": "boin", "target": 0.3, "extrasafe": True}, Caps(10), 60),
    "boin n_earlystop": ({"name": "boin", "target": 0.25, "n_earlystop": 9}, Caps(12), 60),
    "boin 31 patients": ({"name": "boin", "target": 0.3}, Caps(max_patients=31), 60),
    "boin start 3 cohorts of 2": (
        {"name": "boin", "target": 0.3, "start_dose": 3, "cohort_size": 2},
        Caps(15),
        60,
    ),
    "mtpi2": ({"name": "mtpi2", "target": 0.3}, Caps(10), 60),
    "i3+3": ({"name": "i3+3", "target": 0.3, "cohort_size": 2}, Caps(max_patients=13), 60),
    "keyboard": ({"name": "keyboard", "target": 0.3, "eps1": 0.1, "eps2": 0.1}, Caps(10), 60),
    "crm empiric": ({"name": "crm", "skeleton": SKEL, "target": 0.25}, Caps(8), 12),
    "crm logistic 20 patients": (
        {"name": "crm", "skeleton": SKEL, "target": 0.3, "model": "logistic"},
        Caps(max_patients=20),
        12,
    ),
    "crm two-stage": (
        {"name": "crm", "skeleton": SKEL, "target": 0.3, "two_stage": (1, 2, 3), "cohort_size": 1},
        Caps(12),
        12,
    ),
    "crm mle two-stage": (
        {"name": "crm", "skeleton": SKEL, "target": 0.3, "method": "mle",
         "two_stage": (1, 2, 3, 4, 5), "cohort_size": 2},
        Caps(8),
        12,
    ),
    "crm unrestricted": (
        {"name": "crm", "skeleton": SKEL, "target": 0.25, "no_skip_escalation": False,
         "no_escalation_after_dlt": False},
        Caps(8),
        12,
    ),
}  # fmt: skip


def _build(opts: dict[str, object]) -> Design:
    o = dict(opts)
    name = str(o.pop("name"))
    if name != "crm":
        o.setdefault("n_doses", 5)
    return build_design(name, **o)


#: Designs simulated by the controller's generic loop only (issue 13; docs/designs.md).
NO_KERNEL = {"tite-boin", "efftox", "bf-boin"}


def test_every_registered_design_offers_a_kernel() -> None:
    for name in DESIGN_NAMES:
        if name in NO_KERNEL:
            continue
        opts: dict[str, object] = {"name": name}
        if name in ("crm",):
            opts.update(skeleton=SKEL, target=0.25)
        elif name == "tite-crm":
            opts.update(skeleton=SKEL, target=0.25, window_days=28)
        elif name in ("boin", "mtpi2", "i3+3", "keyboard"):
            opts["target"] = 0.3
        elif name == "a+b":
            opts.update(a=3, b=3, c=0, d=1, e=1)
        elif name == "boin12":
            opts.update(target=0.35, target_eff=0.25)
        assert isinstance(_build(opts).kernel(), Kernel), name


@pytest.mark.parametrize("label", sorted(CASES))
def test_kernel_replays_through_fit(label: str) -> None:
    opts, caps, n = CASES[label]
    des = _build(opts)
    trials = kernel_trials(des, TRUTH5, n, seed=sum(map(ord, label)), **_caps(caps))
    replay(des, trials, caps)
    assert trials.n_per_dose.sum(axis=1).max() <= caps.patients


def _caps(c: Caps) -> dict[str, int | None]:
    return {"max_cohorts": c.max_cohorts, "max_patients": c.max_patients}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=6),
    st.sampled_from([0.2, 0.25, 0.3]),
    st.booleans(),
)
def test_select_mtd_scipy_equals_the_kernels_numba_twin(
    counts: list[tuple[int, int]], target: float, extrasafe: bool
) -> None:
    """The public ``select_mtd`` (scipy isotonic_regression, beta.sf) and the kernels'
    ``select_mtd_nb`` (hand-written PAVA inside numba) select the same dose."""
    n = np.array([a for a, _ in counts], dtype=np.int64)
    y = np.array([min(a, b) for a, b in counts], dtype=np.int64)
    s = select_mtd(target, n, y, 0.95, extrasafe, 0.05)
    n_max = max(int(n.max()), 1)
    elim = elimination_min_dlt(target, 0.95, n_max)
    safe1 = (
        elimination_min_dlt(target, 0.90, n_max)
        if extrasafe
        else np.full(n_max + 1, n_max + 1, dtype=np.int64)
    )
    idx = int(select_mtd_nb(n, y, target, elim, safe1))
    assert s.mtd == (None if idx < 0 else idx + 1)


def test_pava_and_elimination_match_closed_forms() -> None:
    """PAVA of (0.5, 0.1, 0.7) with weights (1, 3, 1) pools the first two to 0.2; the
    elimination counts at target 0.3 are the BOIN package's (dose-finding.md, n = 3..10)."""
    assert np.allclose(pava([0.5, 0.1, 0.7], [1, 3, 1]), [0.2, 0.2, 0.7])
    assert elimination_min_dlt(0.3, 0.95, 10)[3:].tolist() == [3, 3, 4, 4, 5, 5, 5, 6]
