"""The long fuzz run (``make fuzz``, issue 16 item 5): a supervisor and the process that fuzzes.

``python tests/fuzz_cli.py --minutes N`` starts a **supervisor** that never imports il2sim, and
a **child** (this file with ``--child``) that runs the harness of :mod:`fuzz_cli`: batches of
five hypothesis examples, each batch to the command that has had the least time so far, until
the deadline (N minutes from the supervisor's start: the child's imports and warm-up count).
The child reports every run's start and the running totals on a pipe.

A run over its budget is ended by SIGALRM in the child, but a signal handler runs only when
Python code runs, never inside a compiled kernel that holds the GIL; the supervisor does not
depend on that.  It always ends within N minutes + the largest command budget +
:data:`OVERRUN_S` and always prints the summary (per command, then the totals as one JSON
line, the last line of stdout):

* at the deadline: the child ends after the run in flight (at most its budget);
* on **Ctrl-C** (or SIGTERM): the child is asked to stop (SIGUSR1), which cuts the run in flight
  (not counted); if it has not ended within :data:`STOP_GRACE_S`, or on a second Ctrl-C, its
  process group is killed;
* when a run has not ended within its budget + OVERRUN_S: the child's process group is killed
  and that run is the failure reported (``"ended": "hung run"``).

The temporary folders of the runs live in one folder (the child's TMPDIR) that the supervisor
removes at the end, whatever happened.  Exit code: 1 if any run failed, else 130 after a
Ctrl-C, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

#: Seconds a run may go past its budget before the supervisor ends the child (a kernel that
#: holds the GIL keeps the SIGALRM of the budget from acting).
OVERRUN_S = 30.0
#: Seconds the child has after a Ctrl-C to cut its run and send its totals.
STOP_GRACE_S = 10.0
#: Seconds between two progress lines on stderr.
PROGRESS_S = 300.0


def summary(stats: dict[str, dict[str, Any]], head: dict[str, Any]) -> str:
    """The closing text: one line a command (examples, failing runs, seconds, each distinct
    problem once), then the totals as one JSON line (the last line)."""
    lines = []
    for name, r in sorted(stats.items()):
        lines.append(f"{name:20s} {r['examples']:6d} examples, {len(r['failures'])} failing runs, "
                     f"{r.get('seconds', 0.0):.0f} s")  # fmt: skip
        for text in r.get("kinds", {}).values():
            lines.append("    " + text.replace("\n", "\n    ")[:2000])
    totals = dict(head)
    totals["commands"] = len(stats)
    totals["examples"] = sum(r["examples"] for r in stats.values())
    totals["failing_runs"] = sum(len(r["failures"]) for r in stats.values())
    totals["distinct_problems"] = sum(len(r.get("kinds", {})) for r in stats.values())
    lines.append(json.dumps(totals))
    return "\n".join(lines) + "\n"


def _record(rec: dict[str, Any], text: str, kind: str | None = None) -> None:
    """One failing run; ``kind`` (default: the text) groups runs into distinct problems."""
    rec["failures"].append(text)
    rec.setdefault("kinds", {}).setdefault((kind or text)[:120], text)


# -- the child: the harness in a loop ---------------------------------------------------------


def _child(args: argparse.Namespace) -> None:  # pragma: no cover - run by the supervisor
    import random

    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed

    import fuzz_cli as fz

    try:  # die with the supervisor (Linux): no orphan fuzzing on after a kill
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    pipe = os.fdopen(args.child, "w", buffering=1)

    def send(event: str, **data: Any) -> None:
        pipe.write(json.dumps({"event": event, **data}) + "\n")
        pipe.flush()

    def stop(signum: int, frame: Any) -> None:
        fz._STOP.set()
        if fz._RUN:
            raise fz.FuzzStopped("the fuzz run was stopped")

    signal.signal(signal.SIGUSR1, stop)
    signal.signal(signal.SIGALRM, lambda signum, frame: None)  # between runs: nothing to cut
    deadline = time.monotonic() + (args.deadline - time.time())
    only = None if args.only is None else tuple(w.strip() for w in args.only.split(","))
    cmds = [c for c in fz.commands() if only is None or c.name.startswith(only)]
    stats: dict[str, dict[str, Any]] = {c.name: {"examples": 0, "failures": []} for c in cmds}
    send("ready", commands=len(cmds), largest=max((c.budget.seconds for c in cmds), default=0))
    head: dict[str, Any] = {"batches": 0}

    def batch(cmd: fz.Command, rec: dict[str, Any], batch_seed: int) -> Any:
        """Five hypothesis examples of ``cmd``, counted into ``rec``."""

        @hseed(batch_seed)
        @settings(max_examples=5, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(fz.argv_for(cmd))
        def one(argv: list[str]) -> None:
            if time.monotonic() >= deadline or fz._STOP.is_set():
                return
            send("run", command=cmd.name, argv=argv[:40], budget=cmd.budget.seconds)
            try:
                res = fz.run_one(argv, cmd.budget.seconds)
            except fz.FuzzStopped:  # the cut arrived just after the command returned
                res = None
            if res is not None and not res.stopped:
                rec["examples"] += 1
                if res.problems:
                    _record(rec, fz.describe(res), res.problems[0])
            send("stats", stats=stats, head=head)  # also: no run in flight now
            if res is not None and res.problems:
                raise AssertionError(fz.describe(res))

        return one

    try:
        head["warm_up_s"] = round(fz.warm_up(cmds, max(1.0, deadline - time.monotonic())), 1)
        send("warm", seconds=head["warm_up_s"])
        rng = random.Random(args.seed)
        while cmds and time.monotonic() < deadline and not fz._STOP.is_set():
            head["batches"] += 1
            cmd = min(cmds, key=lambda c: (stats[c.name].get("seconds", 0.0), rng.random()))
            rec = stats[cmd.name]

            t0 = time.monotonic()
            try:
                batch(cmd, rec, rng.randrange(2**32))()
            except Exception as exc:  # hypothesis's report of the failure (or the harness's)
                if not rec["failures"]:
                    _record(rec, f"{type(exc).__name__}: {exc}"[:2000])
            rec["seconds"] = rec.get("seconds", 0.0) + time.monotonic() - t0
            send("stats", stats=stats, head=head)
    except (fz.FuzzStopped, fz.FuzzTimeout):
        pass  # cut outside a run (the warm-up, hypothesis itself): the totals follow
    send("stats", stats=stats, head=head)
    send("end")
    pipe.close()
    os._exit(0)  # no interpreter shutdown: a cluster or thread left by a cut run could hold it


# -- the supervisor ---------------------------------------------------------------------------


class _Supervisor:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.start = time.time()
        self.deadline = self.start + args.minutes * 60
        self.hard_end: float | None = None  # known once the child names its commands
        self.stats: dict[str, dict[str, Any]] = {}
        self.head: dict[str, Any] = {"minutes": args.minutes, "seed": args.seed, "batches": 0}
        self.ended = "deadline"
        self.run: dict[str, Any] | None = None
        self.interrupts = 0
        self.stop_sent: float | None = None
        self.child: subprocess.Popen[bytes] | None = None
        self.got_end = False

    def on_signal(self, signum: int, frame: Any) -> None:
        self.interrupts += 2 if signum == signal.SIGTERM else 1
        self.ended = "interrupted"
        self.head["signal"] = signal.Signals(signum).name

    def handle(self, msg: dict[str, Any]) -> None:
        event = msg["event"]
        if event == "ready":
            self.hard_end = self.deadline + float(msg["largest"]) + OVERRUN_S
            self.stats = {}
            print(f"fuzz: {msg['commands']} commands, {self.args.minutes:g} min, seed "
                  f"{self.args.seed}", file=sys.stderr, flush=True)  # fmt: skip
        elif event == "warm":
            print(f"fuzz: warmed up in {msg['seconds']:g} s", file=sys.stderr, flush=True)
        elif event == "run":
            self.run = {**msg, "started": time.time()}
        elif event == "end":
            self.got_end = True
        elif event == "stats":
            self.stats = msg["stats"]
            self.head.update(msg["head"])
            self.run = None

    def kill(self) -> None:
        if self.child is not None and self.child.poll() is None:
            try:
                os.killpg(self.child.pid, signal.SIGKILL)  # the child and its workers
            except ProcessLookupError:
                pass
            self.child.wait()

    def check(self, now: float) -> bool:
        """False when the child must be ended now."""
        if self.interrupts and self.stop_sent is None and self.child is not None:
            self.stop_sent = now
            print("fuzz: stopping: the run in flight is cut (Ctrl-C again: at once)",
                  file=sys.stderr, flush=True)  # fmt: skip
            try:
                self.child.send_signal(signal.SIGUSR1)
            except ProcessLookupError:
                pass
        if self.interrupts > 1 or (self.stop_sent and now > self.stop_sent + STOP_GRACE_S):
            return False
        run = self.run
        if run and now > run["started"] + run["budget"] + OVERRUN_S:
            text = (
                f"il2sim {run['argv']}: did not end within its budget of {run['budget']:g} s"
                f" + {OVERRUN_S:g} s (SIGALRM not acted on: a kernel holding the GIL?)"
            )
            rec = self.stats.setdefault(run["command"], {"examples": 0, "failures": []})
            _record(rec, text)
            self.ended = "hung run"
            return False
        if now > (self.hard_end or self.deadline + 600 + OVERRUN_S):
            self.ended = "hard end"
            return False
        return True

    def main(self) -> int:
        tmp = tempfile.mkdtemp(prefix="il2sim-fuzz-run-")
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        r, w = os.pipe()
        a = self.args
        argv = [sys.executable, os.path.abspath(__file__), "--child", str(w), "--deadline",
                repr(self.deadline), "--seed", str(a.seed), "--minutes", str(a.minutes)]  # fmt: skip
        if a.only is not None:
            argv += ["--only", a.only]
        try:
            self.child = subprocess.Popen(
                argv, pass_fds=(w,), start_new_session=True, env=dict(os.environ, TMPDIR=tmp)
            )
            os.close(w)
            buf = b""
            last = time.time()
            while True:
                ready, _, _ = select.select([r], [], [], 1.0)
                if ready:
                    data = os.read(r, 1 << 16)
                    if not data:  # the child closed the pipe: it ends
                        try:
                            self.child.wait(timeout=10)
                        except subprocess.TimeoutExpired:
                            pass
                        break
                    buf += data
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        if line.strip():
                            self.handle(json.loads(line))
                now = time.time()
                if not self.check(now):
                    break
                if now - last >= PROGRESS_S:
                    last = now
                    done = sum(x["examples"] for x in self.stats.values())
                    bad = sum(len(x["failures"]) for x in self.stats.values())
                    print(f"fuzz: {(now - self.start) / 60:.1f} of {a.minutes:g} min, {done} "
                          f"examples, {bad} failing runs", file=sys.stderr, flush=True)  # fmt: skip
        finally:
            self.kill()
            os.close(r)
            shutil.rmtree(tmp, ignore_errors=True)
        self.head["ended"] = self.ended
        self.head["ran_minutes"] = round((time.time() - self.start) / 60, 2)
        if self.ended == "deadline" and not self.got_end and self.child is not None:
            self.ended = self.head["ended"] = f"child exit {self.child.returncode}"
        sys.stdout.write(summary(self.stats, self.head))
        sys.stdout.flush()
        if any(x["failures"] for x in self.stats.values()) or self.ended.startswith("child"):
            return 1
        return 130 if self.ended == "interrupted" else 0


def main() -> None:  # pragma: no cover - make fuzz (tests/test_fuzz_cli.py runs it briefly)
    """``python tests/fuzz_cli.py [--minutes N] [--seed S] [--only PREFIX]``."""
    ap = argparse.ArgumentParser(description="Fuzz every il2sim command (make fuzz).")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument(
        "--only",
        default=None,
        help="fuzz only commands whose name starts so (comma-separated prefixes)",
    )
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--deadline", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        _child(args)
        return
    sys.exit(_Supervisor(args).main())


if __name__ == "__main__":  # pragma: no cover
    main()
