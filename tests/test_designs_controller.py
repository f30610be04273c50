"""The one trial controller: seeding (same numbers whatever the chunking and workers), caps,
progress, interruption (Ctrl-C between chunks returns the finished trials), accrual."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

import numpy as np
import pytest

from il2sim.designs import (
    HARD_CAP_COHORTS,
    Accrual,
    BernoulliSource,
    Caps,
    Decision,
    Design,
    Fit,
    Outcomes,
    SimulatedTrials,
    TrialController,
    build_design,
    fixed_gaps,
    simulate_trials,
    stop_at_n,
)
from il2sim.designs.controller import trial_seed
from il2sim.errors import DesignError

TRUTH = (0.05, 0.15, 0.3, 0.45, 0.6)
SKEL = [0.05, 0.12, 0.25, 0.40, 0.55]


def _designs() -> dict[str, Design]:
    return {
        "boin": build_design("boin", n_doses=5, target=0.3),
        "crm": build_design("crm", skeleton=SKEL, target=0.25),
        "3+3b": build_design("3+3b", n_doses=5),
        "keyboard": build_design("keyboard", n_doses=5, target=0.3),
    }


def _same(a: SimulatedTrials, b: SimulatedTrials) -> None:
    for name in ("selected", "n_per_dose", "dlt_per_dose", "capped", "cohort_dose", "cohort_dlt"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for k in a.details:
        assert np.array_equal(a.details[k], b.details[k]), k


def test_trial_seed_is_spawn() -> None:
    root = np.random.SeedSequence(123, spawn_key=(3,))
    kids = np.random.SeedSequence(123, spawn_key=(3,)).spawn(5)
    for i, kid in enumerate(kids):
        mine = trial_seed(root, i)
        assert np.array_equal(mine.generate_state(4), kid.generate_state(4))
    assert root.n_children_spawned == 0  # not mutated


@pytest.mark.parametrize("name", ["boin", "crm", "3+3b", "keyboard"])
def test_kernel_numbers_do_not_depend_on_chunks_or_workers(name: str) -> None:
    des = _designs()[name]
    src = BernoulliSource(TRUTH)
    caps = Caps(max_cohorts=8)
    ref = TrialController(des, src, caps).run(301, 9).trials
    for kw in ({"chunk_trials": 1}, {"chunk_trials": 37}, {"chunk_trials": 37, "workers": 2}):
        _same(TrialController(des, src, caps, **kw).run(301, 9).trials, ref)  # type: ignore[arg-type]
    # the first 100 trials of a longer run are the 100 trials of a shorter one
    _same(TrialController(des, src, caps, chunk_trials=64).run(100, 9).trials, ref.rows(0, 100))
    assert not ref.selected.flags.writeable  # the record is frozen


def test_two_workers_split_a_one_chunk_run_and_give_the_same_trials() -> None:
    """Default chunking with 2 workers: a run the uniform budget would hold in one chunk is
    split (at least 4 chunks a worker, so both threads work), with the same trials."""
    des = _designs()["crm"]
    src = BernoulliSource(TRUTH)
    caps = Caps(max_cohorts=8)
    ref = TrialController(des, src, caps, chunk_trials=301).run(301, 9).trials
    calls: list[int] = []
    ctl = TrialController(des, src, caps, workers=2)
    _same(ctl.run(301, 9, progress=lambda d, n: calls.append(d)).trials, ref)
    assert len(calls) >= 8 and calls[-1] == 301


def test_generic_trials_are_independent_of_their_order() -> None:
    des = stop_at_n(build_design("boin", n_doses=5, target=0.3), 18)
    ctl = TrialController(des, BernoulliSource(TRUTH))
    sim = ctl.run(20, 5, keep_records=True)
    root = np.random.SeedSequence(5)
    for i in (0, 7, 19):
        one = ctl.run_one(trial_seed(root, i))
        assert one.outcomes.to_string() == sim.records[i].outcomes.to_string()
    seeds = [trial_seed(root, i) for i in reversed(range(20))]
    rev = ctl.run(20, seeds, keep_records=True)
    assert [r.outcomes.to_string() for r in rev.records][::-1] == [
        r.outcomes.to_string() for r in sim.records
    ]


def test_progress_is_reported_through_the_callback() -> None:
    seen: list[tuple[int, int]] = []
    des = build_design("boin", n_doses=5, target=0.3)
    TrialController(des, BernoulliSource(TRUTH), Caps(10), chunk_trials=100).run(
        450, 1, lambda d, t: seen.append((d, t))
    )
    assert seen == [(100, 450), (200, 450), (300, 450), (400, 450), (450, 450)]
    seen.clear()
    TrialController(stop_at_n(des, 12), BernoulliSource(TRUTH)).run(
        30, 1, lambda d, t: seen.append((d, t))
    )
    assert seen[-1] == (30, 30) and [d for d, _ in seen] == sorted({d for d, _ in seen})


@pytest.mark.parametrize("generic", [False, True])
def test_ctrl_c_between_chunks_returns_finished_trials(generic: bool) -> None:
    """A real SIGINT after the first progress report: the run finishes the current chunk (or
    trial) and returns what finished, marked interrupted; the handler is restored."""
    des = build_design("boin", n_doses=5, target=0.3)
    before = signal.getsignal(signal.SIGINT)

    def ctrl_c(done: int, total: int) -> None:
        if done == 50:
            os.kill(os.getpid(), signal.SIGINT)

    oc = simulate_trials(
        des, TRUTH, 400, 3, max_cohorts=10, use_kernel=not generic, chunk_trials=50,
        progress=ctrl_c,
    )  # fmt: skip
    assert oc.interrupted and oc.n_trials_requested == 400
    assert oc.n_trials == 50
    full = simulate_trials(des, TRUTH, 50, 3, max_cohorts=10, use_kernel=not generic)
    assert oc.selection_pct == full.selection_pct  # the finished trials are kept as they are
    assert signal.getsignal(signal.SIGINT) is before


def test_keyboard_interrupt_keeps_finished_work() -> None:
    """KeyboardInterrupt raised outside the handler (e.g. a second Ctrl-C): finished chunks are
    kept; with nothing finished it propagates."""
    des = build_design("3+3", n_doses=5)

    def boom(done: int, total: int) -> None:
        raise KeyboardInterrupt

    sim = TrialController(des, BernoulliSource(TRUTH), chunk_trials=10).run(50, 1, boom)
    assert sim.interrupted and sim.n_trials == 10
    with pytest.raises(KeyboardInterrupt):
        TrialController(_Never(fail=True), BernoulliSource((0.1, 0.2))).run(3, 1)


@dataclass(frozen=True)
class _Never(Design):
    """A design that always treats one more patient at dose 1 (never stops)."""

    n_doses: int = 2
    cohort_size: int = 1
    fail: bool = False

    @property
    def name(self) -> str:
        return "never"

    def fit(self, outcomes: Outcomes) -> Fit:
        if self.fail:
            raise KeyboardInterrupt
        return _NeverFit(self, outcomes)


@dataclass(frozen=True)
class _NeverFit(Fit):
    design: Design
    outcomes: Outcomes

    def decision(self) -> Decision:
        return Decision(1, False, "again", mtd=1, cohort_size=1)


def test_hard_cap_and_caps() -> None:
    src = BernoulliSource((0.0, 0.0))
    rec = TrialController(_Never(), src).run_one(1)
    assert rec.capped and len(rec.cohorts) == HARD_CAP_COHORTS == 1000
    assert Caps(max_cohorts=5000).cohorts == HARD_CAP_COHORTS
    assert TrialController(_Never(), src, Caps(max_patients=7)).run_one(1).outcomes.n_patients == 7
    with pytest.raises(DesignError, match="max_cohorts"):
        TrialController(build_design("crm", skeleton=SKEL, target=0.25), BernoulliSource(TRUTH))
    TrialController(
        stop_at_n(build_design("crm", skeleton=SKEL, target=0.25), 9), BernoulliSource(TRUTH)
    )
    for bad in ({"max_cohorts": 0}, {"max_patients": -3}, {"max_patients": 2.5}):
        with pytest.raises(DesignError):
            Caps(**bad)  # type: ignore[arg-type]
    with pytest.raises(DesignError, match="truth"):
        TrialController(_Never(), BernoulliSource(TRUTH))


@pytest.mark.parametrize("name", ["boin", "crm"])
def test_last_cohort_cut_to_max_patients_on_both_paths(name: str) -> None:
    """31 patients in cohorts of 3: ten cohorts and one of a single patient, in the kernel and
    in the generic loop alike (v0.1's kernels stopped at 30)."""
    des = _designs()[name]
    low = [0.0] * 5
    for use_kernel in (True, False):
        oc = simulate_trials(des, low, 20, 2, max_patients=31, use_kernel=use_kernel)
        assert oc.mean_patients == 31.0 and oc.stopped_early_pct == 0.0


def test_accrual_gives_entry_days_and_duration() -> None:
    """Patients 7 days apart from each decision, decisions 28 days after a cohort's last
    patient: cohort k starts at k x (2 x 7 + 28) days; duration = the final decision."""
    des = stop_at_n(build_design("3+3", n_doses=5), 9)
    acc = Accrual(fixed_gaps(7.0), 28.0)
    rec = TrialController(des, BernoulliSource((0.0,) * 5), accrual=acc).run_one(4)
    assert [c.entry_days.tolist() for c in rec.cohorts] == [[0, 7, 14], [42, 49, 56], [84, 91, 98]]
    assert rec.duration_days == 98 + 28
    with pytest.raises(DesignError, match="window_days"):
        Accrual(None, -1.0)
