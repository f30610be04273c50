"""Helpers for the design tests: run a design's compiled kernel through the controller and
replay its trials, cohort by cohort, through ``design.fit(outcomes).decision()``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from il2sim.designs import BernoulliSource, Caps, Design, Outcomes, SimulatedTrials, TrialController


def kernel_trials(
    design: Design,
    truth: Sequence[float],
    n_trials: int,
    seed: int,
    max_cohorts: int | None = None,
    max_patients: int | None = None,
    **kw: int,
) -> SimulatedTrials:
    """``n_trials`` trials of ``design`` by its compiled kernel (asserts there is one)."""
    ctl = TrialController(
        design, BernoulliSource(tuple(truth)), Caps(max_cohorts, max_patients), **kw
    )  # type: ignore[arg-type]
    assert ctl.kernel() is not None, design.name
    sim = ctl.run(n_trials, seed)
    assert sim.kernel
    return sim.trials


def replay(design: Design, trials: SimulatedTrials, caps: Caps) -> None:
    """Every trial of ``trials`` is what ``fit()`` decides: after each cohort the design's next
    dose and cohort size (cut to the patient cap) are the next cohort's, the trial ends exactly
    when the design stops or a cap is reached, and the selected dose is the final MTD."""
    k = design.n_doses
    for t in range(trials.n_trials):
        out = Outcomes()
        dec = design.fit(out).decision()
        cols = np.flatnonzero(trials.cohort_dose[t] > 0)
        assert cols.tolist() == list(range(cols.size)), t
        for c in cols.tolist():
            assert not dec.stop, (t, c, out.to_string())
            assert out.n_cohorts < caps.cohorts and out.n_patients < caps.patients
            level = int(trials.cohort_dose[t, c])
            m = int(trials.cohort_size[t, c])
            size = min(int(dec.cohort_size or design.cohort_size), caps.patients - out.n_patients)
            assert (dec.next_dose, size) == (level, m), (t, c, out.to_string(), dec)
            y = int(trials.cohort_dlt[t, c])
            out = out.add_cohort(level, [0] * (m - y) + [1] * y)
            dec = design.fit(out).decision()
        if dec.stop:
            assert not trials.capped[t], (t, out.to_string(), dec)
        else:
            assert trials.capped[t], (t, out.to_string(), dec)
            assert cols.size >= caps.cohorts or out.n_patients >= caps.patients
        assert (dec.mtd or 0) == int(trials.selected[t]), (t, out.to_string(), dec)
        assert np.array_equal(out.n_per_dose(k), trials.n_per_dose[t])
        assert np.array_equal(out.dlt_per_dose(k), trials.dlt_per_dose[t])
