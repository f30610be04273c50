"""The design options, declared once for every command that builds a design.

``il2sim design next|simulate|exact|paths|boundaries`` and ``il2sim trial`` all take the same
options (``--design``, ``--target``, ``--skeleton``, ``--n-doses``, ``--start-dose``,
``--cohort-size``, ``--model``, the A+B thresholds, the rules, ``--max-patients`` and
``--option/-O KEY=VALUE`` for any other design option).  :func:`design_options` adds them to a
command's signature and hands the command one :class:`DesignSpec`; per-command defaults
(e.g. ``--design 4+5`` for ``il2sim trial``) are arguments of the decorator.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from il2sim.designs.spec import DesignSpec

__all__ = ["DesignSpec", "design_options"]  # DesignSpec: il2sim.designs.spec

F = TypeVar("F", bound=Callable[..., Any])

_PANEL = "Design options"
_DESIGN_HELP = (
    "3+3 (=3+3a), 3+3a, 3+3b, 4+5, a+b, crm, boin, mtpi2, i3+3, keyboard, tite-crm, tite-boin, "
    "boin12, efftox."
)
_TITE = "Time-to-event (tite-crm, tite-boin)"
_STAGE2 = "Randomised dose-optimisation stage"

#: name -> (annotation, default) of every shared option, in ``--help`` order.
_OPTIONS: dict[str, tuple[Any, Any]] = {
    "design": (
        Annotated[str, typer.Option("--design", help=_DESIGN_HELP, rich_help_panel=_PANEL)],
        ...,
    ),
    "target": (
        Annotated[
            float | None,
            typer.Option(
                "--target", help="Target DLT probability in (0, 1).", rich_help_panel=_PANEL
            ),
        ],
        None,
    ),
    "target_tox": (
        Annotated[
            float | None,
            typer.Option(
                "--target-tox",
                help="Efficacy-toxicity designs (boin12, efftox): toxicity threshold (= --target).",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    "target_eff": (
        Annotated[
            float | None,
            typer.Option(
                "--target-eff",
                help="Efficacy-toxicity designs (boin12, efftox): lowest acceptable efficacy.",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    "skeleton": (
        Annotated[
            str | None,
            typer.Option(
                "--skeleton",
                help="CRM skeleton, comma-separated, increasing.",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    "n_doses": (
        Annotated[
            int | None,
            typer.Option(
                "--n-doses",
                help="Number of dose levels (else from skeleton/truth).",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    "start_dose": (
        Annotated[
            int | None,
            typer.Option(
                "--start-dose", help="Starting dose level (from 1).", rich_help_panel=_PANEL
            ),
        ],
        None,
    ),
    "cohort_size": (
        Annotated[
            int | None,
            typer.Option("--cohort-size", help="Patients per cohort.", rich_help_panel=_PANEL),
        ],
        None,
    ),
    "model": (
        Annotated[
            str | None,
            typer.Option("--model", help="CRM model: empiric or logistic.", rich_help_panel=_PANEL),
        ],
        None,
    ),
    "a": (
        Annotated[
            int | None,
            typer.Option("--a", help="A+B: first cohort size A.", rich_help_panel=_PANEL),
        ],
        None,
    ),
    "b": (
        Annotated[
            int | None,
            typer.Option("--b", help="A+B: expansion cohort size B.", rich_help_panel=_PANEL),
        ],
        None,
    ),
    "c": (
        Annotated[
            int | None,
            typer.Option("--c", help="A+B: escalate if <= c DLTs of A.", rich_help_panel=_PANEL),
        ],
        None,
    ),
    "d": (
        Annotated[
            int | None,
            typer.Option("--d", help="A+B: too toxic if > d DLTs of A.", rich_help_panel=_PANEL),
        ],
        None,
    ),
    "e": (
        Annotated[
            int | None,
            typer.Option("--e", help="A+B: escalate if <= e DLTs of A+B.", rich_help_panel=_PANEL),
        ],
        None,
    ),
    "expand_lower": (
        Annotated[
            bool | None,
            typer.Option(
                "--expand-lower/--no-expand-lower",
                help="A+B: expand the next-lower dose to A+B before declaring it the MTD.",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    "no_skip": (
        Annotated[
            bool,
            typer.Option(
                "--no-skip", help="Rule: dont_skip_doses (escalating).", rich_help_panel=_PANEL
            ),
        ],
        False,
    ),
    "stop_tox_threshold": (
        Annotated[
            float | None,
            typer.Option(
                "--stop-tox-threshold",
                help="Rule: stop (no MTD) if Pr(p1 > threshold) > --stop-tox-confidence.",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    "stop_tox_confidence": (
        Annotated[
            float | None,
            typer.Option(
                "--stop-tox-confidence",
                help="Confidence of --stop-tox-threshold (0.95).",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    "demand_n": (
        Annotated[
            int | None,
            typer.Option(
                "--demand-n", help="Rule: do not stop before n at the MTD.", rich_help_panel=_PANEL
            ),
        ],
        None,
    ),
    "stop_n_mtd": (
        Annotated[
            int | None,
            typer.Option(
                "--stop-n-mtd",
                help="Rule: stop once n patients are at the next dose.",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    "max_patients": (
        Annotated[
            int | None,
            typer.Option(
                "--max-patients",
                help="Sample size: stop once this many are treated.",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
    "window_days": (
        Annotated[
            float | None,
            typer.Option("--window-days", help="DLT window in days (> 0).", rich_help_panel=_TITE),
        ],
        None,
    ),
    "accrual_per_window": (
        Annotated[
            float | None,
            typer.Option(
                "--accrual-per-window",
                help="Patients arriving per DLT window on average (> 0).",
                rich_help_panel=_TITE,
            ),
        ],
        None,
    ),
    "accrual": (
        Annotated[
            str | None,
            typer.Option(
                "--accrual", help="Accrual: fixed, poisson or uniform.", rich_help_panel=_TITE
            ),
        ],
        None,
    ),
    "weights": (
        Annotated[
            str | None,
            typer.Option(
                "--weights", help="TITE-CRM weights: linear or adaptive.", rich_help_panel=_TITE
            ),
        ],
        None,
    ),
    "tox_time": (
        Annotated[
            str | None,
            typer.Option(
                "--tox-time",
                help="DLT day within the window: uniform (default), late, early or weibull "
                "(bf-boin's default: Weibull, half the DLT probability by mid-window).",
                rich_help_panel=_TITE,
            ),
        ],
        None,
    ),
    "backfill": (
        Annotated[
            bool,
            typer.Option(
                "--backfill",
                help="Backfill cohorts below the current dose (boin -> BF-BOIN, Zhao et al. "
                "2024; needs --truth-eff in simulate: responses open doses).",
                rich_help_panel=_PANEL,
            ),
        ],
        False,
    ),
    "stage1_patients": (
        Annotated[
            int | None,
            typer.Option("--stage1-patients", help="Randomised stage: escalation sample size (stage 1 ends here or when the design stops).", rich_help_panel=_STAGE2),
        ],
        None,
    ),
    "stage2_patients": (
        Annotated[
            int | None,
            typer.Option("--stage2-patients", help="Randomised stage: patients randomised after escalation (enables the stage).", rich_help_panel=_STAGE2),
        ],
        None,
    ),
    "stage2_arms": (
        Annotated[
            int | None,
            typer.Option("--stage2-arms", help="Randomised stage: 2 or 3 candidate doses (the selection and the treated doses below).", rich_help_panel=_STAGE2),
        ],
        None,
    ),
    "stage2_ratio": (
        Annotated[
            str | None,
            typer.Option("--stage2-ratio", help="Randomised stage: allocation ratio, lowest dose first (e.g. 1,1 or 2,1).", rich_help_panel=_STAGE2),
        ],
        None,
    ),
    "stage2_rule": (
        Annotated[
            str | None,
            typer.Option("--stage2-rule", help="Randomised stage: selection rule, utility or lower.", rich_help_panel=_STAGE2),
        ],
        None,
    ),
    "stage2_margin": (
        Annotated[
            float | None,
            typer.Option("--stage2-margin", help="Randomised stage: response-rate margin for rule=lower (0.1).", rich_help_panel=_STAGE2),
        ],
        None,
    ),
    "option": (
        Annotated[
            list[str] | None,
            typer.Option(
                "--option",
                "-O",
                help="Other design option KEY=VALUE (repeatable), e.g. -O phi1=0.18.",
                rich_help_panel=_PANEL,
            ),
        ],
        None,
    ),
}


def design_options(**defaults: Any) -> Callable[[F], F]:
    """Add the shared design options to a typer command that takes ``spec: DesignSpec``.

    ``defaults`` override an option's default for this command (``design="4+5"``)."""
    unknown = set(defaults) - set(_OPTIONS)
    if unknown:
        raise TypeError(f"unknown design options {sorted(unknown)}")

    def deco(fn: F) -> F:
        own = [
            p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "spec"
        ]
        shared = [
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=defaults.get(name, d), annotation=ann
            )
            for name, (ann, d) in _OPTIONS.items()
        ]
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + shared

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            vals = {name: kwargs.pop(name) for name in _OPTIONS}
            vals["option"] = tuple(vals["option"] or ())
            return fn(spec=DesignSpec(**vals), **kwargs)

        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper  # type: ignore[return-value]

    return deco
