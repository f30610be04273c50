"""The public API re-exported from ``il2sim`` resolves, and ``import il2sim`` stays light."""

from __future__ import annotations

import subprocess
import sys

import il2sim


def test_every_public_name_resolves() -> None:
    for name in il2sim.__all__:
        assert getattr(il2sim, name) is not None, name


def test_lazy_names_match_their_modules() -> None:
    from il2sim.designs.crm import CRM
    from il2sim.population import Population

    assert il2sim.CRM is CRM
    assert il2sim.Population is Population


def test_import_does_not_load_the_solver() -> None:
    code = "import sys, il2sim; print('numba' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_unknown_attribute_raises() -> None:
    try:
        il2sim.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_docstring_example() -> None:
    reg = il2sim.parse_spec("1.25 MIU/m2 sc qd x90")
    assert len(reg.events) == 90
