"""The CLI fuzz harness (issue 16 item 5): hypothesis drives every command of the typer app.

Commands are enumerated from the app (:func:`il2sim.cli.main.command`), so a new command is
covered without an edit here; :data:`BUDGETS` gives a command its time budget and cheap base
arguments (a command missing from it gets :data:`DEFAULT_BUDGET` and none).  Each example
picks some of the command's options (and sometimes omits required ones or repeats one) and
gives them values at and beyond their limits: negative and huge whole numbers, 2^63, NaN,
infinity, subnormals, Arabic-Indic and full-width digits, non-ASCII and huge text, paths that
are the wrong kind (a folder for a file, a file for a folder, a file as a parent).

Each run goes through :func:`il2sim.cli.main.main` in this process (no start-up cost), in a
fresh folder (the current directory), with the server's start replaced by a no-op and the
database in that folder.  :func:`check_run` asserts the promise: exit code 0 or 2, no
traceback on stderr, within the command's budget (a SIGALRM stops it), no temporary file
left anywhere in the folder, and a run that failed changed no file.

Used by ``tests/test_fuzz_cli.py`` (CI: a fixed seed and example budget) and by
``make fuzz`` (``python tests/fuzz_cli.py --minutes 30``: a long run that prints its numbers;
the driver that bounds it and prints the summary is ``tests/fuzz_driver.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Budget:
    """A command's time budget (seconds, per run) and the base arguments that keep it cheap."""

    seconds: float = 90.0
    base: tuple[str, ...] = ()


DEFAULT_BUDGET = Budget()

#: fit on three patients, a few iterations (tests/data/fit_tiny.csv: ``seed_trial_table``).
_FIT_BASE = ("fit.csv", "--params", "f_sc", "--iterations", "4,2", "--conditional", "2",
             "--is-samples", "5", "--npde-replicates", "10", "--no-report")  # fmt: skip

#: optimise over two doses, one interval, three days, four patients.
_OPTIMISE_BASE = ("--doses", "0.4,1", "--flat-doses", "", "--intervals", "qd", "--days", "3",
                  "--patients", "4", "--n-boot", "10")  # fmt: skip

#: Command path -> budget.  Base arguments come first; fuzzed options follow (click keeps
#: the last value of a repeated option, so a fuzzed value overrides a base one).
BUDGETS: dict[str, Budget] = {
    "version": Budget(60),
    "regimen show": Budget(60),
    "regimen convert": Budget(60),
    "simulate": Budget(120, ("--patients", "3", "--horizon-days", "3")),
    "calibrate": Budget(180, ("--check", "--patients", "4")),
    "design next": Budget(60, ("--design", "3+3", "--n-doses", "4")),
    "design simulate": Budget(120, ("--design", "3+3", "--truth", "0.1,0.2,0.3", "--trials", "20")),
    "design exact": Budget(60, ("--design", "3+3", "--truth", "0.1,0.2,0.3")),
    "design boundaries": Budget(60),
    "design paths": Budget(120, ("--design", "3+3", "--n-doses", "3")),
    "trial": Budget(240, ("--doses", "0.4,0.8", "--max-patients", "6")),
    "reproduce": Budget(480, ("--trials", "1", "--pool-size", "6", "--no-report")),
    "analyze": Budget(120, ("trialdir",)),
    "report": Budget(180, ("trialdir",)),
    "sweep run": Budget(180, ("--kind", "design", "--param", "design=3+3", "--no-progress")),
    "sweep summary": Budget(60, ("store",)),
    "export sbml": Budget(60, ("--regimen", "1 MIU sc qd x3", "--out", "m.xml")),
    "export nonmem": Budget(120, ("--regimen", "1 MIU sc qd x3", "--out", "d.csv")),
    "serve": Budget(60),
    "design table": Budget(60, ("--design", "3+3", "--n-doses", "3")),
    "params": Budget(60),
    "fit": Budget(240, _FIT_BASE),
    "vpc": Budget(180, ("fit.csv", "--parameters", "fit.toml", "--n-sim", "20")),
    "sensitivity": Budget(180, ("--n", "2", "--regimen", "1 MIU sc qd x3", "--params", "f_sc")),
    "validate": Budget(180, ("--studies", "studies.yaml")),
    "optimise": Budget(240, _OPTIMISE_BASE),
    "users add": Budget(60),
    "users list": Budget(60),
    "users disable": Budget(60),
    "audit verify": Budget(60),
}

#: Commands of BUDGETS that other branches bring (a checkout without them is not stale).
UPCOMING: frozenset[str] = frozenset()

INT_TEXT = ("-1", "0", "1", "2", "3", str(2**63 - 1), str(2**63), str(10**12), "10000000000",
            "1e12", "1e9", "١٢", "１２", "٣", "", "abc", " 4", "+2", "1_000", "-99999999999")  # fmt: skip
FLOAT_TEXT = ("nan", "NaN", "inf", "-inf", "1e-320", "1e300", "1e7", "-1", "0", "1e-6", "0.5",
              "1.5", "10", "٠٫٥", "１.５", "1,5", "", "abc", "1e", "0x10", "-0")  # fmt: skip
TEXT = ("", " ", "é", "😀", "x" * 100_000, "-", "--", "\x00", "١", "ＡＢＣ", "a,b", "=", "K=V",
        "phi1=abc", "phi1=0.1", "-O", "..", "/", "nan", "1 MIU sc qd x99999999999",
        "1 MIU sc q14d x999999999", "1e-320 MIU sc", "1 MIU/m2 sc qd x3", "١ MIU sc",
        "1 MIU sc qd bid x5", "0.1,0.2,0.3", "0.1,nan", "0.3,0.2,0.1", "crm", "boin", "3+3",
        "4+5", "mtpi2", "i3+3", "keyboard", "design", "simulate", "trial", "1NNN 2NTN",
        "1NNN ٢NTN", "99NNN", "tcp://127.0.0.1:9", "tcp://", "not a url", "127.0.0.1",
        "NKCELLS=XX", "0.0.0.0", "1994-01-03", "1994-13-45", "admin", "sqlite:///db.sqlite",
        "postgresql://nobody@127.0.0.1:9/x")  # fmt: skip
PATHS = ("exists.txt", "dir", "missing/deep/out.x", "exists.txt/sub", "new.out", "trialdir",
         "binary.bin", "bomb.yaml", "grid.yaml", "events.csv", "empty.csv", "store", "fit.csv",
         "studies.yaml", "fit.toml",
         "é/ü.csv", "x" * 300)  # fmt: skip

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def make_fixtures(root: Path) -> None:
    """The files the fuzzed paths name, in ``root``."""
    (root / "exists.txt").write_text("keep me\n")
    (root / "dir").mkdir()
    (root / "binary.bin").write_bytes(bytes(range(256)) * 8)
    (root / "bomb.yaml").write_text(BOMB)
    (root / "grid.yaml").write_text("kind: design\nchunk_size: 5\ngrid:\n  design: ['3+3']\n")
    (root / "events.csv").write_text("\ufeffID,TIME,AMT,EVID\n1,0,1000000,1\n1,-1,5,7\n")
    (root / "empty.csv").write_text("")
    shutil.copytree(DATA / "sdtm_full", root / "trialdir")
    shutil.copy(DATA / "fit_tiny.csv", root / "fit.csv")  # 3 patients (seed_trial_table)
    shutil.copy(DATA / "fit_tiny_parameters.toml", root / "fit.toml")  # written by fit of it
    shutil.copy(DATA / "validate_tiny.yaml", root / "studies.yaml")  # one 4-patient study
    store = root / "store"
    store.mkdir()
    (store / "manifest.json").write_text("{not json")
    (store / "chunk-0.parquet").write_bytes(b"")


@dataclass(frozen=True)
class Param:
    """One click parameter of a command, as the fuzzer sees it."""

    name: str
    opts: tuple[str, ...]
    kind: str  # int | float | bool | path | text
    required: bool
    argument: bool
    multiple: bool
    flag_opts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Command:
    """A leaf command: its path (``("design", "paths")``) and parameters."""

    path: tuple[str, ...]
    params: tuple[Param, ...]

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def budget(self) -> Budget:
        return BUDGETS.get(self.name, DEFAULT_BUDGET)


def _kind(p: Any) -> str:
    desc = getattr(p, "type_descriptor", None)
    text = repr(getattr(desc, "annotation", "")).lower()
    if getattr(p, "is_flag", False) or "bool" in text:
        return "bool"
    for k in ("int", "float", "path"):
        if k in text:
            return k
    return "text"


def commands() -> list[Command]:
    """Every leaf command of the il2sim app, enumerated from the click tree."""
    from il2sim.cli.main import command

    out: list[Command] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                walk(sub, (*path, name))
            return
        params = []
        for p in cmd.params:
            opts = tuple(getattr(p, "opts", ()))
            params.append(
                Param(
                    name=p.name or "",
                    opts=opts,
                    kind=_kind(p),
                    required=bool(p.required),
                    argument=not opts or not opts[0].startswith("-"),
                    multiple=bool(getattr(p, "multiple", False)),
                    flag_opts=tuple(getattr(p, "secondary_opts", ())),
                )
            )
        out.append(Command(path, tuple(params)))

    walk(command(), ())
    return out


def _value(kind: str) -> st.SearchStrategy[str]:
    text = st.one_of(st.sampled_from(TEXT), st.text(max_size=30))
    if kind == "int":
        return st.one_of(st.sampled_from(INT_TEXT), st.integers(-3, 12).map(str))
    if kind == "float":
        return st.one_of(
            st.sampled_from(FLOAT_TEXT),
            st.floats(allow_nan=True, allow_infinity=True).map(repr),
        )
    if kind == "path":
        return st.one_of(st.sampled_from(PATHS), text)
    return text


@st.composite
def argv_for(draw: st.DrawFn, cmd: Command) -> list[str]:
    """Arguments for ``cmd``: its base arguments, then fuzzed parameters."""
    args: list[str] = list(cmd.budget.base)
    if cmd.params:
        chosen = draw(st.lists(st.sampled_from(cmd.params), max_size=4, unique_by=lambda p: p.name))
        # sometimes every required parameter, so runs get past "missing option"
        if draw(st.booleans()):
            chosen += [p for p in cmd.params if p.required and p not in chosen]
        for p in chosen:
            reps = 2 if draw(st.integers(0, 9)) == 0 else 1  # duplicated options
            for _ in range(reps):
                if p.kind == "bool":
                    args.append(draw(st.sampled_from(p.opts + p.flag_opts)))
                    continue
                val = draw(_value(p.kind))
                args.extend([val] if p.argument else [draw(st.sampled_from(p.opts)), val])
    if draw(st.integers(0, 19)) == 0:
        args.append(draw(st.sampled_from(("--help", "--nosuch", "extra"))))
    return [*cmd.path, *args]


class FuzzTimeout(BaseException):
    """A run over its budget (a BaseException, so no ``except Exception`` swallows it)."""


class FuzzStopped(BaseException):
    """The run in flight when the whole fuzz run was stopped: not counted, not a failure."""


#: Set when ``make fuzz`` is stopped (Ctrl-C); the run in flight then ends with FuzzStopped.
_STOP = threading.Event()
#: The run in flight (root folder, argv, budget, start time), while one is.
_RUN: dict[str, Any] = {}


@dataclass
class Outcome:
    """What one run did."""

    argv: list[str]
    code: int | None
    stderr: str
    seconds: float
    error: BaseException | None = None
    problems: list[str] = field(default_factory=list)
    stopped: bool = False


def _snapshot(root: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@contextlib.contextmanager
def _sandbox(root: Path) -> Iterator[None]:
    """cwd, environment and the server's start, for one run."""
    import il2sim.serve.runner as runner

    old_cwd, old_env = os.getcwd(), dict(os.environ)
    old_run, old_stdin = runner.run, sys.stdin
    os.chdir(root)
    os.environ["IL2SIM_DB"] = f"sqlite:///{root / 'serve.sqlite'}"
    os.environ["XDG_DATA_HOME"] = str(root / "xdg")
    runner.run = lambda cfg: None
    sys.stdin = io.StringIO("")
    try:
        yield
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
        runner.run = old_run
        sys.stdin = old_stdin


#: Commands whose runs load no compiled kernel: a warm-up for them alone skips the simulate run.
LIGHT = ("version", "regimen", "serve", "users", "audit")


def warm_up(cmds: list[Command] | None = None, budget_s: float = 600.0) -> float:
    """Untimed runs, so the first timed run does not pay for lazy imports or a kernel load;
    only the light one when every command in ``cmds`` is light.  Returns the seconds taken."""
    t0 = time.monotonic()
    run_one(["version"], budget_s)
    if cmds is None or any(not c.name.startswith(LIGHT) for c in cmds):
        left = max(1.0, budget_s - (time.monotonic() - t0))
        run_one(["simulate", "--regimen", "1 MIU sc qd x2", "--patients", "2", "--json"], left)
    return time.monotonic() - t0


def run_one(argv: list[str], budget_s: float) -> Outcome:
    """Run ``il2sim argv`` in a fresh folder and check the promise (see module docstring)."""
    from il2sim.cli.main import main

    root = Path(tempfile.mkdtemp(prefix="il2sim-fuzz-"))
    _RUN.update(root=root, argv=argv, budget=budget_s, started=time.monotonic())
    try:
        make_fixtures(root)
        before = _snapshot(root)
        err, out = io.StringIO(), io.StringIO()

        def alarm(signum: int, frame: Any) -> None:
            if _STOP.is_set():
                raise FuzzStopped("the fuzz run was stopped (Ctrl-C or its end)")
            raise FuzzTimeout(f"over the budget of {budget_s:g} s")

        old = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, budget_s)
        t0 = time.perf_counter()
        code: int | None = None
        error: BaseException | None = None
        try:
            if _STOP.is_set():  # stopped before the alarm handler above was in place
                raise FuzzStopped("the fuzz run was stopped")
            with _sandbox(root), contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:
            error = exc
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        res = Outcome(argv, code, err.getvalue(), time.perf_counter() - t0, error)
        # a run the stop reached is cut, whatever the FuzzStopped surfaced as where it landed
        res.stopped = isinstance(error, FuzzStopped) or _STOP.is_set()
        res.problems = [] if res.stopped else _problems(res, root, before)
        return res
    finally:
        _RUN.clear()
        shutil.rmtree(root, ignore_errors=True)


def _problems(res: Outcome, root: Path, before: dict[str, str]) -> list[str]:
    out: list[str] = []
    if res.error is not None:
        out.append(f"raised {type(res.error).__name__}: {str(res.error)[:300]}")
    elif res.code not in (0, 2):
        out.append(f"exit code {res.code}")
    if "Traceback" in res.stderr:
        out.append("traceback on stderr")
    after = _snapshot(root)
    temps = [p for p in after if ".il2sim-" in p or ".il2sim-tmp-" in p]
    if temps:
        out.append(f"temporary files left: {temps[:3]}")
    if res.code == 2:
        changed = [p for p, h in before.items() if after.get(p) != h]
        if changed:
            out.append(f"a failed run changed {changed[:3]}")
    return out


def describe(res: Outcome) -> str:
    """One block: the arguments, the problems, the end of stderr."""
    shown = [a if len(a) < 80 else a[:40] + f"...({len(a)} chars)" for a in res.argv]
    return f"il2sim {shown}: {'; '.join(res.problems)}\n{res.stderr[-1500:]}"


if __name__ == "__main__":  # pragma: no cover - make fuzz
    from fuzz_driver import main

    main()
