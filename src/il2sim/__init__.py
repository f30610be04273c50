"""il2sim: in-silico low-dose IL-2 dose-finding trials.

The public API is re-exported here; the layers, each a sub-package, depend only on the ones
before them: ``units`` -> ``regimen`` -> ``model`` -> ``population`` -> ``simulate`` ->
``toxicity`` -> ``designs`` (no model dependency) -> ``trial`` -> ``cdisc`` -> ``analysis`` ->
``report`` -> ``cli``; ``calibrate``, ``fit``, ``sweep`` and ``io`` beside them.  The order is
checked by ``tests/test_import_layers.py``, which holds the table of layers.

The three main operations live in modules of the same name and are called through them
(a package attribute cannot be both a function and a sub-package):
``il2sim.simulate.simulate(regimen, population)``, ``il2sim.calibrate.calibrate()``,
``il2sim.reproduce.reproduce()`` and ``il2sim.fit.fit(data, model, spec)``.

Heavy names (numba solver, pandas, statsmodels, matplotlib) are imported lazily on first use
(PEP 562), so ``import il2sim`` and the CLI start fast.

>>> import il2sim
>>> reg = il2sim.parse_spec("1.25 MIU/m2 sc qd x90")
>>> len(reg.events)
90
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from il2sim import units
from il2sim._lazy import lazy_attribute
from il2sim._version import __version__
from il2sim.errors import DataError, DesignError, Il2simError, InputError, ModelError
from il2sim.regimen import (
    DoseEvent,
    Regimen,
    Route,
    daily_regimen,
    format_spec,
    parse_spec,
    pulses,
    read_nonmem_csv,
    regimens_from_table,
    to_nonmem_table,
    write_nonmem_csv,
)

#: public name -> module it lives in (imported on first attribute access)
_LAZY: dict[str, str] = {
    # model
    "Parameters": "il2sim.model.parameters",
    "load_parameters": "il2sim.model.parameters",
    # toxicity
    "ToxicityParameters": "il2sim.toxicity",
    "DLTDefinition": "il2sim.toxicity",
    "load_toxicity_parameters": "il2sim.toxicity",
    "dlt_probability": "il2sim.toxicity",
    "toxicity_summary": "il2sim.toxicity",
    "realise_toxicity": "il2sim.toxicity",
    "PatientToxicity": "il2sim.toxicity",
    "run_simulation": "il2sim.toxicity",
    "summarise": "il2sim.toxicity",
    # population, solver, calibration
    "Population": "il2sim.population",
    "SimulationResult": "il2sim.simulate",
    "CalibrationResult": "il2sim.calibrate",
    # designs
    "Design": "il2sim.designs",
    "Decision": "il2sim.designs",
    "Outcomes": "il2sim.designs",
    "OperatingCharacteristics": "il2sim.designs",
    "ABDesign": "il2sim.designs",
    "DESIGN_NAMES": "il2sim.designs",
    "build_design": "il2sim.designs",
    "simulate_trials": "il2sim.designs",
    "exact_oc": "il2sim.designs",
    "dose_paths": "il2sim.designs",
    "three_plus_three": "il2sim.designs",
    "four_plus_five": "il2sim.designs",
    "stop_at_n": "il2sim.designs",
    "stop_when_n_at_dose": "il2sim.designs",
    "stop_when_too_toxic": "il2sim.designs",
    "dont_skip_doses": "il2sim.designs",
    "demand_n_at_dose": "il2sim.designs",
    "next_decision": "il2sim.designs",
    "TrialController": "il2sim.designs",
    "Caps": "il2sim.designs",
    "Accrual": "il2sim.designs",
    "BernoulliSource": "il2sim.designs",
    "PoolSource": "il2sim.designs",
    "CRM": "il2sim.designs.crm",
    "getprior": "il2sim.designs.crm",
    "BOIN": "il2sim.designs.boin",
    "MTPI2": "il2sim.designs.mtpi2",
    "I3Plus3": "il2sim.designs.i3plus3",
    "Keyboard": "il2sim.designs.keyboard",
    "select_mtd": "il2sim.designs._isotonic",
    # trial
    "Trial": "il2sim.trial",
    "Schedule": "il2sim.trial",
    "run_trial": "il2sim.trial",
    "run_replicates": "il2sim.trial",
    "run_trials": "il2sim.trial",
    "ModelCohortSource": "il2sim.trial",
    "ReproduceResult": "il2sim.reproduce",
    # CDISC datasets
    "build_sdtm": "il2sim.cdisc",
    "build_adam": "il2sim.cdisc",
    "write_sdtm": "il2sim.cdisc",
    "write_trial": "il2sim.cdisc",
    # analysis and report
    "analyze": "il2sim.analysis",
    "AnalysisResult": "il2sim.analysis",
    "load_sdtm": "il2sim.analysis",
    "jonckheere_terpstra": "il2sim.analysis",
    "spearman": "il2sim.analysis",
    "log_dose_fit": "il2sim.analysis",
    "write_report": "il2sim.report",
    "render_html": "il2sim.report",
    # scale
    "run_sweep": "il2sim.sweep",
    "Grid": "il2sim.sweep",
    "load_grid": "il2sim.sweep",
    "Store": "il2sim.sweep",
    "simulate_streaming": "il2sim.simulate.stream",
    # estimation (il2sim fit / vpc / sensitivity; the fit itself: il2sim.fit.fit)
    "FitData": "il2sim.fit.data",
    "FitSpec": "il2sim.fit.model",
    "FitResult": "il2sim.fit.result",
    "SaemOptions": "il2sim.fit.saem",
    "PostOptions": "il2sim.fit.estimate",
    "Il2simDesign": "il2sim.fit.il2sim_model",
    "Il2simModel": "il2sim.fit.il2sim_model",
    "read_dataset": "il2sim.fit.reading",
    "PopulationModel": "il2sim.fit.predictive",
    "npde": "il2sim.fit.predictive",
    "vpc": "il2sim.fit.vpc",
    "VpcResult": "il2sim.fit.vpc",
    "sobol": "il2sim.fit.sensitivity",
    "morris": "il2sim.fit.sensitivity",
}

if TYPE_CHECKING:  # pragma: no cover - static view of the lazy names
    from il2sim.analysis import (
        AnalysisResult,
        analyze,
        jonckheere_terpstra,
        load_sdtm,
        log_dose_fit,
        spearman,
    )
    from il2sim.calibrate import CalibrationResult
    from il2sim.cdisc import build_adam, build_sdtm, write_sdtm, write_trial
    from il2sim.designs import (
        DESIGN_NAMES,
        ABDesign,
        Accrual,
        BernoulliSource,
        Caps,
        Decision,
        Design,
        OperatingCharacteristics,
        Outcomes,
        PoolSource,
        TrialController,
        build_design,
        demand_n_at_dose,
        dont_skip_doses,
        dose_paths,
        exact_oc,
        four_plus_five,
        next_decision,
        simulate_trials,
        stop_at_n,
        stop_when_n_at_dose,
        stop_when_too_toxic,
        three_plus_three,
    )
    from il2sim.designs._isotonic import select_mtd
    from il2sim.designs.boin import BOIN
    from il2sim.designs.crm import CRM, getprior
    from il2sim.designs.i3plus3 import I3Plus3
    from il2sim.designs.keyboard import Keyboard
    from il2sim.designs.mtpi2 import MTPI2
    from il2sim.fit.data import FitData
    from il2sim.fit.estimate import PostOptions
    from il2sim.fit.il2sim_model import Il2simDesign, Il2simModel
    from il2sim.fit.model import FitSpec
    from il2sim.fit.predictive import PopulationModel, npde
    from il2sim.fit.reading import read_dataset
    from il2sim.fit.result import FitResult
    from il2sim.fit.saem import SaemOptions
    from il2sim.fit.sensitivity import morris, sobol
    from il2sim.fit.vpc import VpcResult, vpc
    from il2sim.model.parameters import Parameters, load_parameters
    from il2sim.population import Population
    from il2sim.report import render_html, write_report
    from il2sim.reproduce import ReproduceResult
    from il2sim.simulate import SimulationResult
    from il2sim.simulate.stream import simulate_streaming
    from il2sim.sweep import Grid, Store, load_grid, run_sweep
    from il2sim.toxicity import (
        DLTDefinition,
        PatientToxicity,
        ToxicityParameters,
        dlt_probability,
        load_toxicity_parameters,
        realise_toxicity,
        run_simulation,
        summarise,
        toxicity_summary,
    )
    from il2sim.trial import (
        ModelCohortSource,
        Schedule,
        Trial,
        run_replicates,
        run_trial,
        run_trials,
    )


def __getattr__(name: str) -> Any:
    """Import a lazily re-exported public name on first access (PEP 562)."""
    return lazy_attribute(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BOIN",
    "CRM",
    "DESIGN_NAMES",
    "MTPI2",
    "ABDesign",
    "Accrual",
    "AnalysisResult",
    "BernoulliSource",
    "CalibrationResult",
    "Caps",
    "DLTDefinition",
    "DataError",
    "Decision",
    "Design",
    "DesignError",
    "DoseEvent",
    "FitData",
    "FitResult",
    "FitSpec",
    "Grid",
    "I3Plus3",
    "Il2simDesign",
    "Il2simError",
    "Il2simModel",
    "InputError",
    "Keyboard",
    "ModelCohortSource",
    "ModelError",
    "OperatingCharacteristics",
    "Outcomes",
    "Parameters",
    "PatientToxicity",
    "PoolSource",
    "Population",
    "PopulationModel",
    "PostOptions",
    "Regimen",
    "ReproduceResult",
    "Route",
    "SaemOptions",
    "Schedule",
    "SimulationResult",
    "Store",
    "ToxicityParameters",
    "Trial",
    "TrialController",
    "VpcResult",
    "__version__",
    "analyze",
    "build_adam",
    "build_design",
    "build_sdtm",
    "daily_regimen",
    "demand_n_at_dose",
    "dlt_probability",
    "dont_skip_doses",
    "dose_paths",
    "exact_oc",
    "format_spec",
    "four_plus_five",
    "getprior",
    "jonckheere_terpstra",
    "load_grid",
    "load_parameters",
    "load_sdtm",
    "load_toxicity_parameters",
    "log_dose_fit",
    "morris",
    "next_decision",
    "npde",
    "parse_spec",
    "pulses",
    "read_dataset",
    "read_nonmem_csv",
    "realise_toxicity",
    "regimens_from_table",
    "render_html",
    "run_replicates",
    "run_simulation",
    "run_sweep",
    "run_trial",
    "run_trials",
    "select_mtd",
    "simulate_streaming",
    "simulate_trials",
    "sobol",
    "spearman",
    "stop_at_n",
    "stop_when_n_at_dose",
    "stop_when_too_toxic",
    "summarise",
    "three_plus_three",
    "to_nonmem_table",
    "toxicity_summary",
    "units",
    "vpc",
    "write_nonmem_csv",
    "write_report",
    "write_sdtm",
    "write_trial",
]
