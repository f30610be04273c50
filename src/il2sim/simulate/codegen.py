"""Generate the numba kernel of a declared model (:mod:`il2sim.model.declaration`).

The generated module is the model hooks (right-hand side with cached powers, the same with
exact powers, the stiff column and constant diagonal of the exponential integrator's linear
part, dose application, outputs, the tracked concentration's scale, the analytic Jacobian)
followed by the model-independent integrator :mod:`il2sim.simulate._etd_template`.  It is
written to ``<cache>/kernels/<model>_<hash>.py`` (``IL2SIM_CACHE_DIR``, else
``$XDG_CACHE_HOME/il2sim`` or ``~/.cache/il2sim``) and imported from there, so numba's
on-disk cache works; the hash covers the declaration's expressions, the template and this
generator, so editing any of them gives a new module (stale caches are never used).

Derivatives are taken structurally (chain rule through the derived quantities, each local
derivative simplified with ``sympy.cancel``), so e.g. the occupancy derivative is generated as
``kd / (kd + c)**2`` rather than a cancelling difference.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from il2sim.errors import ModelError
from il2sim.model.declaration import Model
from il2sim.regimen.events import ROUTE_CODES

_HERE = Path(__file__).resolve().parent
_TEMPLATE = _HERE / "_etd_template.py"
_LOADED: dict[str, ModuleType] = {}
#: Sources the generated text depends on (besides the declaration): any edit -> new hash.
_GENERATOR_FILES = (
    _TEMPLATE,
    Path(__file__).resolve(),
    _HERE / "_hooks_gen.py",
    _HERE.parent / "model" / "symbolic.py",
)


def cache_dir() -> Path:
    """Directory of generated kernels (created if missing)."""
    env = os.environ.get("IL2SIM_CACHE_DIR")
    if env:
        base = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "il2sim"
    path = base / "kernels"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError:
        path = Path(tempfile.gettempdir()) / f"il2sim-{os.getuid()}" / "kernels"
        path.mkdir(parents=True, exist_ok=True)
    return path


def kernel_hash(model: Model) -> str:
    """Hash of everything the generated module depends on."""
    h = hashlib.sha256()
    h.update(model.fingerprint().encode())
    for src in _GENERATOR_FILES:
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def load_kernel(model: Model) -> ModuleType:
    """The generated kernel module of ``model`` (generated and written on first use)."""
    key = kernel_hash(model)
    mod = _LOADED.get(key)
    if mod is not None:
        return mod
    name = f"il2sim_kernel_{model.name}_{key}"
    path = cache_dir() / f"{name}.py"
    if not path.exists():
        text = generate_source(model, key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - importlib failure
        raise ModelError(f"cannot import generated kernel {path}", field="model")
    _prefer_exit_safe_threading()
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    _LOADED[key] = mod
    return mod


def _prefer_exit_safe_threading() -> None:
    """Prefer numba's OpenMP (then workqueue) threading layer over TBB for the parallel kernel.

    With Debian's libtbb12, processes that ran a ``parallel=True`` kernel can hang at
    interpreter exit in ``tbb::finalize`` (numba issues #5983, #10556; seen with ``il2sim fit``
    and the CLI subprocess tests).  OpenMP is thread-safe and has no such hang.  A user's
    ``NUMBA_THREADING_LAYER`` or ``NUMBA_THREADING_LAYER_PRIORITY`` is respected.
    """
    if "NUMBA_THREADING_LAYER" in os.environ or "NUMBA_THREADING_LAYER_PRIORITY" in os.environ:
        return
    import numba

    setattr(numba.config, "THREADING_LAYER_PRIORITY", ["omp", "workqueue", "tbb"])  # noqa: B010


# --- source generation -------------------------------------------------------------------------


def _region(text: str, name: str) -> tuple[str, str, str]:
    """``text`` split at its marker lines ``# >>> name ...`` and ``# <<< name ...`` (whole
    lines, any indent): the text before the first, between the two, and after the second."""
    begin = text.index(f"# >>> {name}")
    begin = text.rfind("\n", 0, begin) + 1
    inner = text.index("\n", begin) + 1
    end = text.index(f"# <<< {name}", inner)
    end = text.rfind("\n", 0, end) + 1
    after = text.index("\n", end) + 1
    return text[:begin], text[inner:end], text[after:]


def _drop(text: str, name: str) -> str:
    """``text`` without the region ``name``, its marker lines included."""
    before, _, after = _region(text, name)
    return before + after


def _keep(text: str, name: str) -> str:
    """``text`` with the region ``name`` kept and its marker lines removed."""
    before, inner, after = _region(text, name)
    return before + inner + after


def _template_body() -> tuple[str, str]:
    """The template before and after its model-hooks region (the hooks' stub import)."""
    head, _, tail = _region(_TEMPLATE.read_text(encoding="utf-8"), "model hooks")
    return head, tail


def _specialise(tail: str) -> str:
    """The template's ``solve_batch`` as two kernels, each with one step controller.

    ``solve_batch``: fixed steps and the embedded adaptive controller (``FAST``, ``FIXED``);
    ``solve_batch_doubling``: the step-doubling controller (``ADAPTIVE``).  Each has one
    inlined ETDRK4 call site instead of two: numba's parfor passes (copy propagation over
    the inlined body, superlinear in its size) took 310 s for the v1 model with both
    controllers in one function and 76 s with one (one process, 2 cores, numba 0.68), and
    a kernel is compiled only when its controller is used.  Same statements in the same
    order: bit-identical results (``benchmarks/kernel_bitcheck.py``)."""
    head, body, after = _region(tail, "solve_batch")
    one_step = _keep(_drop(body, "step doubling"), "one-step controller")
    doubling = _keep(_drop(body, "one-step controller"), "step doubling")
    doubling = doubling.replace("def solve_batch(", "def solve_batch_doubling(", 1)
    return head + one_step + "\n\n" + doubling + after


def generate_source(model: Model, key: str | None = None) -> str:
    """Python source of the kernel module of ``model``."""
    from il2sim.simulate import _hooks_gen

    hooks = _hooks_gen.hooks_source(model, ROUTE_CODES)
    head, tail = _template_body()
    tail = _specialise(tail)
    banner = (
        f"# Generated by il2sim.simulate.codegen from model {model.name!r} "
        f"(hash {key or kernel_hash(model)}): do not edit.\n"
    )
    return banner + head + "# --- generated model hooks\n" + hooks + "\n" + tail


def describe(model: Model) -> dict[str, Any]:
    """Structure found by the generator (for docs and tests): coupled rows, constant
    diagonal rows, cached powers."""
    from il2sim.simulate import _hooks_gen

    return _hooks_gen.structure(model)
