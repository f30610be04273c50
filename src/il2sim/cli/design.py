"""``il2sim design next|simulate|exact|boundaries|paths``: dose-finding from the command line.

Only parsing and printing; the work is done by :mod:`il2sim.designs`.  Dose levels are 1-based.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Any

import typer

from il2sim.cli._common import parse_float_list, print_json
from il2sim.errors import DataError, DesignError, InputError

DesignOpt = Annotated[
    str,
    typer.Option(
        "--design",
        help="3+3 (=3+3a), 3+3a, 3+3b, 4+5, a+b, crm, boin, mtpi2, i3+3, keyboard.",
    ),
]
TargetOpt = Annotated[float | None, typer.Option(help="Target DLT probability in (0, 1).")]
SkeletonOpt = Annotated[str | None, typer.Option(help="CRM skeleton, comma-separated, increasing.")]
NDosesOpt = Annotated[
    int | None, typer.Option("--n-doses", help="Number of dose levels (else from skeleton/truth).")
]
StartOpt = Annotated[int | None, typer.Option("--start-dose", help="Starting dose level (from 1).")]
CohortOpt = Annotated[int | None, typer.Option("--cohort-size", help="Patients per cohort.")]
AOpt = Annotated[int | None, typer.Option("--a", help="A+B: first cohort size A.")]
BOpt = Annotated[int | None, typer.Option("--b", help="A+B: expansion cohort size B.")]
COpt = Annotated[int | None, typer.Option("--c", help="A+B: escalate if <= c DLTs of A.")]
DOpt = Annotated[int | None, typer.Option("--d", help="A+B: too toxic if > d DLTs of A.")]
EOpt = Annotated[int | None, typer.Option("--e", help="A+B: escalate if <= e DLTs of A+B.")]
ExpandOpt = Annotated[
    bool | None,
    typer.Option(
        "--expand-lower/--no-expand-lower",
        help="A+B: expand the next-lower dose to A+B before declaring it the MTD.",
    ),
]
ModelOpt = Annotated[str | None, typer.Option(help="CRM model: empiric or logistic.")]
MaxPatientsOpt = Annotated[
    int | None, typer.Option("--max-patients", help="Stop at this many patients.")
]
StopNMtdOpt = Annotated[
    int | None,
    typer.Option("--stop-n-mtd", help="Stop once this many patients are at the recommended dose."),
]
NoSkipOpt = Annotated[bool, typer.Option("--no-skip", help="Wrap in dont_skip_doses (escalating).")]
StopToxOpt = Annotated[
    float | None,
    typer.Option(
        "--stop-tox-threshold",
        help="Stop (no MTD) if Pr(p1 > threshold) > --stop-tox-confidence (default 0.95).",
    ),
]
StopConfOpt = Annotated[float | None, typer.Option("--stop-tox-confidence")]
DemandOpt = Annotated[
    int | None, typer.Option("--demand-n", help="Do not stop before n patients at the MTD.")
]
OptionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--option",
        "-o",
        help="Extra design option KEY=VALUE (repeatable), e.g. -o phi1=0.18.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
OutcomesOpt = Annotated[
    str | None, typer.Option(help='Outcome string, e.g. "1NNN 2NTN" (cohort dose, then N/T).')
]
OutcomesFileOpt = Annotated[
    Path | None,
    typer.Option("--outcomes-file", help="CSV/TSV with columns dose,dlt[,cohort]."),
]
TruthOpt = Annotated[str | None, typer.Option(help="True DLT probabilities per dose.")]


def _parse_value(text: str) -> Any:
    t = text.strip()
    if t.lower() in ("true", "yes"):
        return True
    if t.lower() in ("false", "no"):
        return False
    if "," in t:
        return parse_float_list(t, "option")
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def _extra_options(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"expected KEY=VALUE, got {item!r}", field="option", value=item)
        k, v = item.split("=", 1)
        out[k.strip().replace("-", "_")] = _parse_value(v)
    return out


def _build(
    design: str,
    *,
    target: float | None,
    skeleton: str | None,
    n_doses: int | None,
    truth: list[float] | None,
    extra: dict[str, Any],
    **opts: Any,
) -> Any:
    from il2sim.designs import build_design
    from il2sim.designs.base import check_target

    if target is not None:
        check_target(target)
    sk = parse_float_list(skeleton, "skeleton") if skeleton else None
    if n_doses is None:
        n_doses = len(sk) if sk else (len(truth) if truth else None)
    if n_doses is None:
        raise DesignError("give --n-doses (or --skeleton / --truth)", field="n_doses")
    return build_design(design, n_doses=n_doses, target=target, skeleton=sk, **{**opts, **extra})


def _outcomes(text: str | None, path: Path | None, n_doses: int) -> Any:
    from il2sim.designs.base import Outcomes

    if text is not None and path is not None:
        raise InputError("give --outcomes or --outcomes-file, not both", field="outcomes")
    if path is None:
        return Outcomes.parse(text or "", n_doses)
    import numpy as np
    import pandas as pd

    if not path.exists():
        raise DataError(f"no such file: {path}", field="outcomes_file", value=str(path))
    try:
        df = pd.read_csv(path, sep=None, engine="python")
    except Exception as exc:  # pandas raises many types for unreadable tables
        raise DataError(f"cannot read {path}: {exc}", field="outcomes_file") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("dose", "dlt") if c not in df.columns]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(missing)} in {path} (need dose,dlt[,cohort])",
            field="outcomes_file",
        )
    try:
        dose = df["dose"].to_numpy(dtype=np.int64)
        dlt = df["dlt"].to_numpy(dtype=np.int64)
        cohort = (
            df["cohort"].to_numpy(dtype=np.int64)
            if "cohort" in df.columns
            else np.arange(1, len(df) + 1)
        )
    except (ValueError, TypeError) as exc:
        raise DataError(f"non-integer value in {path}: {exc}", field="outcomes_file") from None
    out = Outcomes(dose, dlt, cohort)
    if out.dose.size and out.dose.max() > n_doses:
        raise DesignError(
            f"dose level {int(out.dose.max())} is out of range 1..{n_doses}", field="dose"
        )
    return out


def _truth(text: str | None) -> list[float] | None:
    from il2sim.designs.base import check_truth

    if text is None:
        return None
    return [float(v) for v in check_truth(parse_float_list(text, "truth"))]


def _fmt(v: float | None, nd: int = 1) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def _print_oc(oc: Any) -> None:
    n = len(oc.truth)
    print(f"design {oc.design} ({oc.method}" + (f", {oc.n_trials} trials)" if oc.n_trials else ")"))
    print("dose            " + " ".join(f"{i:>7d}" for i in range(1, n + 1)))
    print("truth           " + " ".join(f"{v:>7.3f}" for v in oc.truth))
    print("selection %     " + " ".join(f"{v:>7.1f}" for v in oc.selection_pct))
    print("patients        " + " ".join(f"{v:>7.2f}" for v in oc.patients_per_dose))
    print("DLTs            " + " ".join(f"{v:>7.2f}" for v in oc.dlts_per_dose))
    print(f"none selected % {oc.none_selected_pct:.1f}")
    print(f"mean patients   {oc.mean_patients:.2f}   mean DLTs {oc.mean_dlts:.2f}")
    print(f"stopped early % {oc.stopped_early_pct:.1f}   overdosed % {oc.overdosed_pct:.1f}")


def register(app: typer.Typer) -> None:
    """Add the ``design`` command group to ``app``."""
    grp = typer.Typer(help="Dose-finding designs: next dose, simulate, exact OCs, paths.")
    app.add_typer(grp, name="design")

    @grp.command("next")
    def next_cmd(
        design: DesignOpt,
        outcomes: OutcomesOpt = None,
        outcomes_file: OutcomesFileOpt = None,
        target: TargetOpt = None,
        skeleton: SkeletonOpt = None,
        n_doses: NDosesOpt = None,
        start_dose: StartOpt = None,
        cohort_size: CohortOpt = None,
        model: ModelOpt = None,
        a: AOpt = None,
        b: BOpt = None,
        c: COpt = None,
        d: DOpt = None,
        e: EOpt = None,
        expand_lower: ExpandOpt = None,
        max_patients: MaxPatientsOpt = None,
        stop_n_mtd: StopNMtdOpt = None,
        no_skip: NoSkipOpt = False,
        stop_tox_threshold: StopToxOpt = None,
        stop_tox_confidence: StopConfOpt = None,
        demand_n: DemandOpt = None,
        option: OptionOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Recommend the next dose (or stop) from the outcomes so far."""
        des = _build(
            design,
            target=target,
            skeleton=skeleton,
            n_doses=n_doses,
            truth=None,
            extra=_extra_options(option),
            start_dose=start_dose,
            cohort_size=cohort_size,
            model=model,
            a=a,
            b=b,
            c=c,
            d=d,
            e=e,
            expand_lower=expand_lower,
            max_patients=max_patients,
            stop_n_mtd=stop_n_mtd,
            no_skip=no_skip or None,
            stop_tox_threshold=stop_tox_threshold,
            stop_tox_confidence=stop_tox_confidence,
            demand_n=demand_n,
        )
        outs = _outcomes(outcomes, outcomes_file, des.n_doses)
        fit = des.fit(outs)
        dec = fit.decision()
        result = {
            "design": des.name,
            "outcomes": outs.to_string(),
            "n_patients": outs.n_patients,
            **dec.to_dict(),
            "estimates": fit.estimates(),
        }
        if json_out:
            print_json(result)
            return
        print(f"design {des.name}; outcomes: {outs.to_string() or '(none)'}")
        if dec.stop:
            print(f"STOP: {dec.reason}; MTD = {dec.mtd if dec.mtd is not None else 'none'}")
        else:
            size = f" ({dec.cohort_size} patients)" if dec.cohort_size else ""
            print(f"next dose: {dec.next_dose}{size}; {dec.reason}")
        for k, v in fit.estimates().items():
            print(f"  {k}: {v}")

    @grp.command("simulate")
    def simulate_cmd(
        design: DesignOpt,
        truth: Annotated[str, typer.Option(help="True DLT probabilities per dose.")],
        trials: Annotated[int, typer.Option(help="Number of simulated trials.")] = 1000,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
        cohorts: Annotated[
            int | None, typer.Option(help="Maximum number of cohorts per trial.")
        ] = None,
        target: TargetOpt = None,
        skeleton: SkeletonOpt = None,
        n_doses: NDosesOpt = None,
        start_dose: StartOpt = None,
        cohort_size: CohortOpt = None,
        model: ModelOpt = None,
        a: AOpt = None,
        b: BOpt = None,
        c: COpt = None,
        d: DOpt = None,
        e: EOpt = None,
        expand_lower: ExpandOpt = None,
        max_patients: MaxPatientsOpt = None,
        stop_n_mtd: StopNMtdOpt = None,
        no_skip: NoSkipOpt = False,
        stop_tox_threshold: StopToxOpt = None,
        stop_tox_confidence: StopConfOpt = None,
        demand_n: DemandOpt = None,
        option: OptionOpt = None,
        generic: Annotated[
            bool, typer.Option("--generic", help="Use the generic fit() loop, not numba.")
        ] = False,
        json_out: JsonOpt = False,
    ) -> None:
        """Simulate operating characteristics (selection %, patients/DLTs per dose, ...)."""
        from il2sim.designs import simulate_trials

        p = _truth(truth)
        des = _build(
            design,
            target=target,
            skeleton=skeleton,
            n_doses=n_doses,
            truth=p,
            extra=_extra_options(option),
            start_dose=start_dose,
            cohort_size=cohort_size,
            model=model,
            a=a,
            b=b,
            c=c,
            d=d,
            e=e,
            expand_lower=expand_lower,
            stop_n_mtd=stop_n_mtd,
            no_skip=no_skip or None,
            stop_tox_threshold=stop_tox_threshold,
            stop_tox_confidence=stop_tox_confidence,
            demand_n=demand_n,
        )
        if trials < 1:
            raise InputError(f"must be >= 1, got {trials}", field="trials", value=trials)
        oc = simulate_trials(
            des,
            p,
            trials,
            seed,
            max_cohorts=cohorts,
            max_patients=max_patients,
            target=target,
            use_fast=not generic,
            progress=not json_out,
        )
        if json_out:
            print_json(oc)
        else:
            _print_oc(oc)

    @grp.command("exact")
    def exact_cmd(
        design: DesignOpt,
        truth: Annotated[str, typer.Option(help="True DLT probabilities per dose.")],
        target: TargetOpt = None,
        n_doses: NDosesOpt = None,
        start_dose: StartOpt = None,
        a: AOpt = None,
        b: BOpt = None,
        c: COpt = None,
        d: DOpt = None,
        e: EOpt = None,
        expand_lower: ExpandOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """Exact operating characteristics (A+B family: 3+3, 3+3a, 3+3b, 4+5, a+b)."""
        from il2sim.designs import ABDesign, exact_oc

        p = _truth(truth)
        des = _build(
            design,
            target=target,
            skeleton=None,
            n_doses=n_doses,
            truth=p,
            extra={},
            start_dose=start_dose,
            a=a,
            b=b,
            c=c,
            d=d,
            e=e,
            expand_lower=expand_lower,
        )
        if not isinstance(des, ABDesign):
            raise DesignError(
                f"exact operating characteristics need an A+B design (3+3, 3+3a, 3+3b, 4+5, "
                f"a+b), got {design!r}; use 'il2sim design simulate'",
                field="design",
                value=design,
            )
        oc = exact_oc(des, p, target)
        if json_out:
            print_json(oc)
        else:
            _print_oc(oc)

    @grp.command("boundaries")
    def boundaries_cmd(
        design: DesignOpt = "boin",
        target: Annotated[float, typer.Option(help="Target DLT probability.")] = 0.3,
        cohorts: Annotated[int, typer.Option(help="Number of cohorts (table up to n).")] = 10,
        cohort_size: Annotated[int, typer.Option("--cohort-size")] = 3,
        phi1: Annotated[float | None, typer.Option(help="Highest sub-therapeutic rate.")] = None,
        phi2: Annotated[float | None, typer.Option(help="Lowest overly toxic rate.")] = None,
        cutoff_eli: Annotated[
            float, typer.Option("--cutoff-eli", help="Elimination posterior cutoff.")
        ] = 0.95,
        json_out: JsonOpt = False,
    ) -> None:
        """Print the BOIN decision table (escalate / de-escalate / eliminate per n)."""
        from il2sim.designs.base import check_target

        check_target(target)
        if design.strip().lower() != "boin":
            raise DesignError(
                f"boundaries are defined for boin, got {design!r}", field="design", value=design
            )
        try:
            mod = importlib.import_module("il2sim.designs.boin")
        except ModuleNotFoundError:
            raise DesignError("the boin design is not available yet", field="design") from None
        res = mod.boundaries(
            target,
            phi1=phi1,
            phi2=phi2,
            ncohort=cohorts,
            cohortsize=cohort_size,
            cutoff_eli=cutoff_eli,
        )
        if json_out:
            print_json(res)
        else:
            print(res.to_text())

    @grp.command("paths")
    def paths_cmd(
        design: DesignOpt,
        outcomes: OutcomesOpt = None,
        outcomes_file: OutcomesFileOpt = None,
        cohorts_ahead: Annotated[
            int, typer.Option("--cohorts-ahead", help="Number of future cohorts.")
        ] = 2,
        truth: TruthOpt = None,
        target: TargetOpt = None,
        skeleton: SkeletonOpt = None,
        n_doses: NDosesOpt = None,
        start_dose: StartOpt = None,
        cohort_size: CohortOpt = None,
        model: ModelOpt = None,
        a: AOpt = None,
        b: BOpt = None,
        c: COpt = None,
        d: DOpt = None,
        e: EOpt = None,
        expand_lower: ExpandOpt = None,
        max_patients: MaxPatientsOpt = None,
        stop_n_mtd: StopNMtdOpt = None,
        no_skip: NoSkipOpt = False,
        option: OptionOpt = None,
        json_out: JsonOpt = False,
    ) -> None:
        """All outcomes of the next cohorts with the design's decisions (and probabilities)."""
        from il2sim.designs import dose_paths

        p = _truth(truth)
        des = _build(
            design,
            target=target,
            skeleton=skeleton,
            n_doses=n_doses,
            truth=p,
            extra=_extra_options(option),
            start_dose=start_dose,
            cohort_size=cohort_size,
            model=model,
            a=a,
            b=b,
            c=c,
            d=d,
            e=e,
            expand_lower=expand_lower,
            max_patients=max_patients,
            stop_n_mtd=stop_n_mtd,
            no_skip=no_skip or None,
        )
        outs = _outcomes(outcomes, outcomes_file, des.n_doses)
        res = dose_paths(des, outs, cohorts_ahead, p)
        if json_out:
            print_json(res)
            return
        print(f"design {res.design}; from: {res.start or '(none)'}")
        for node in res.nodes:
            dec = node.decision
            what = (
                f"stop, MTD {dec.mtd if dec.mtd is not None else 'none'}"
                if dec.stop
                else f"next {dec.next_dose}"
            )
            pr = f"  p={node.probability:.4f}" if node.probability is not None else ""
            print(f"{'  ' * node.depth}{node.path or '(start)'} -> {what}{pr}")
