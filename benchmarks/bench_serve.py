"""Load benchmark of ``il2sim serve`` (issue 15), loopback only, bounded in count and time.

1. Load: ``--clients`` (20) concurrent clients enter ``--cohorts`` (500) cohorts across
   ``--trials`` (10) trials through the JSON API, two or more clients per trial racing for the
   next cohort number (each sends the number it means to enter; a loser gets 409 and retries).
   Checked afterwards, from the database: no acknowledged entry lost, none duplicated, cohort
   numbers 1..n in entry order (no reordering), every trial at its quota, and
   ``il2sim audit verify`` exits 0.  Printed: p50/p95/p99 latency of the cohort POSTs, and the
   same for ``GET /api/me`` measured in the same run as the baseline (ratio p95/p95).
2. Duplicates: ``--dup-rounds`` (20) times, two clients post the same cohort number at the same
   instant (a barrier): exactly one gets 201 and the other 409, never two cohorts.
3. SIGKILL: the server is killed mid-load and restarted on the same database; every
   acknowledged entry is still there and the chain verifies.

Run: ``.venv/bin/python benchmarks/bench_serve.py [--db postgresql://...] [--quick]``.
The database defaults to a temporary SQLite file.  Timings on a shared 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

PASSWORD = "bench-password-1234"
DOSES = [0.4, 0.6, 0.8, 1.0, 1.25]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(db_url: str) -> tuple[subprocess.Popen[str], str]:
    """``il2sim serve`` on 127.0.0.1 and a free port; returns (process, base URL)."""
    port = _port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "il2sim.cli.main", "serve", "--db", db_url, "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"il2sim serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("il2sim serve did not start")


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def session(base: str, user: str) -> httpx.Client:
    """A logged-in client with the CSRF header set."""
    c = httpx.Client(base_url=base, timeout=60)
    r = c.post("/api/login", json={"username": user, "password": PASSWORD})
    r.raise_for_status()
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    return c


def pct(xs: list[float], q: float) -> float:
    """The q-quantile (0..1) of xs, in milliseconds."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    return 1000.0 * s[min(len(s) - 1, round(q * (len(s) - 1)))]


class Load:
    """Clients entering cohorts until each trial has its quota (or the deadline)."""

    def __init__(self, base: str, trials: list[int], quota: int, deadline_s: float) -> None:
        self.base, self.trials, self.quota = base, trials, quota
        self.deadline = time.monotonic() + deadline_s
        self.lock = threading.Lock()
        self.acks: list[tuple[int, int, str, float]] = []  # trial, cohort, letters, ack time
        self.latency: list[float] = []
        self.conflicts = 0
        self.errors: list[str] = []
        self.stop = threading.Event()

    def client(self, k: int) -> None:
        """Client k works on trial k mod n."""
        try:
            c = session(self.base, "inv")
        except httpx.HTTPError as exc:
            self.errors.append(f"login: {exc}")
            return
        tid = self.trials[k % len(self.trials)]
        n = 0
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                nxt = c.get(f"/api/trials/{tid}").json()["next_cohort"]
                if nxt > self.quota:
                    return
                letters = "NNT" if (k + n) % 5 == 4 else "NNN"
                t0 = time.perf_counter()
                r = c.post(f"/api/trials/{tid}/cohorts",
                           json={"dose_level": 1 + n % len(DOSES), "outcomes": letters,
                                 "cohort": nxt})  # fmt: skip
                dt = time.perf_counter() - t0
            except (httpx.HTTPError, ValueError):
                return  # server gone (SIGKILL phase)
            with self.lock:
                self.latency.append(dt)
                if r.status_code == 201:
                    self.acks.append((tid, int(r.json()["cohort"]), letters, time.monotonic()))
                    n += 1
                elif r.status_code == 409:
                    self.conflicts += 1
                else:
                    self.errors.append(f"{r.status_code} {r.text[:200]}")
                    return

    def run(self, n_clients: int) -> list[threading.Thread]:
        """Start the clients (threads)."""
        threads = [threading.Thread(target=self.client, args=(k,), daemon=True)
                   for k in range(n_clients)]  # fmt: skip
        for t in threads:
            t.start()
        return threads


def db_cohorts(url: str) -> dict[tuple[int, int], tuple[str, str]]:
    """(trial, cohort) -> (letters, entered_at) as stored."""
    from sqlalchemy import select

    from il2sim.serve.db import open_database
    from il2sim.serve.models import Cohort

    db = open_database(url, migrate=False)
    try:
        with db.read() as s:
            return {
                (c.trial_id, c.seq): (c.outcomes, c.entered_at) for c in s.scalars(select(Cohort))
            }
    finally:
        db.dispose()


def verify_cli(url: str) -> tuple[int, str]:
    """``il2sim audit verify --db URL``: (exit code, its line)."""
    r = subprocess.run([sys.executable, "-m", "il2sim.cli.main", "audit", "verify", "--db", url],
                       capture_output=True, text=True, timeout=600)  # fmt: skip
    return r.returncode, (r.stdout + r.stderr).strip()


def check(url: str, load: Load, trials: list[int], quota: int | None) -> list[str]:
    """Problems found: lost, duplicated or reordered entries, wrong counts."""
    stored = db_cohorts(url)
    problems = []
    seen: set[tuple[int, int]] = set()
    for tid, seq, letters, _ in load.acks:
        if (tid, seq) in seen:
            problems.append(f"cohort {seq} of trial {tid} acknowledged twice")
        seen.add((tid, seq))
        if stored.get((tid, seq), ("",))[0] != letters:
            problems.append(f"acknowledged cohort {seq} of trial {tid} lost or changed")
    for tid in trials:
        seqs = sorted(s for (t, s) in stored if t == tid)
        if seqs != list(range(1, len(seqs) + 1)):
            problems.append(f"trial {tid}: cohort numbers {seqs[:5]}... not 1..n")
        times = [stored[(tid, s)][1] for s in seqs]
        if times != sorted(times):
            problems.append(f"trial {tid}: cohorts stored out of entry order")
        if quota is not None and len(seqs) != quota:
            problems.append(f"trial {tid}: {len(seqs)} cohorts, expected {quota}")
    return problems


def setup_db(url: str) -> None:
    """Accounts for the benchmark."""
    from il2sim.serve import service
    from il2sim.serve.db import open_database

    db = open_database(url)
    try:
        for name, role in (("stat", "statistician"), ("inv", "investigator")):
            try:
                service.create_user(db, "bench", name, role, PASSWORD)
            except service.ServeError as exc:  # already there from an earlier run
                if exc.status != 409:
                    raise
    finally:
        db.dispose()


def make_trials(base: str, n: int, tag: str) -> list[int]:
    """n BOIN trials."""
    c = session(base, "stat")
    ids = []
    for i in range(n):
        r = c.post("/api/trials", json={"name": f"{tag} {i + 1}", "design": "boin", "target": 0.3,
                                        "doses": DOSES, "oc_trials": 100})  # fmt: skip
        r.raise_for_status()
        ids.append(int(r.json()["id"]))
    return ids


def phase_load(url: str, base: str, args: argparse.Namespace) -> bool:
    """Phase 1."""
    trials = make_trials(base, args.trials, "load")
    quota = args.cohorts // args.trials
    me = session(base, "inv")
    base_lat = []
    for _ in range(50):
        t0 = time.perf_counter()
        me.get("/api/me").raise_for_status()
        base_lat.append(time.perf_counter() - t0)
    load = Load(base, trials, quota, args.max_seconds)
    t0 = time.monotonic()
    for t in load.run(args.clients):
        t.join()
    wall = time.monotonic() - t0
    ok_lat = load.latency
    problems = check(url, load, trials, quota) + load.errors
    code, line = verify_cli(url)
    print(f"load: {args.clients} clients, {len(load.acks)} cohorts across {len(trials)} trials in "
          f"{wall:.1f} s ({len(load.acks) / wall:.1f} cohorts/s), {load.conflicts} conflicts "
          f"(409, retried)")  # fmt: skip
    print(f"  cohort POST latency ms: p50 {pct(ok_lat, .5):.1f}  p95 {pct(ok_lat, .95):.1f}  "
          f"p99 {pct(ok_lat, .99):.1f}  (n={len(ok_lat)})")  # fmt: skip
    print(f"  baseline GET /api/me ms (idle server, same run): p50 {pct(base_lat, .5):.1f}  "
          f"p95 {pct(base_lat, .95):.1f}; ratio p95 cohort/baseline "
          f"{pct(ok_lat, .95) / pct(base_lat, .95):.1f}x")  # fmt: skip
    print(f"  lost/duplicated/reordered: {'none' if not problems else problems[:5]}")
    print(f"  audit verify: exit {code}: {line}")
    return not problems and code == 0 and len(load.acks) == quota * len(trials)


def phase_duplicates(url: str, base: str, rounds: int) -> bool:
    """Phase 2."""
    (tid,) = make_trials(base, 1, "dup")
    clients = [session(base, "inv"), session(base, "inv")]
    outcomes: list[tuple[int, ...]] = []
    for k in range(1, rounds + 1):
        barrier = threading.Barrier(2)
        codes: list[int] = [0, 0]

        def go(
            i: int, k: int = k, barrier: threading.Barrier = barrier, codes: list[int] = codes
        ) -> None:
            barrier.wait()
            r = clients[i].post(f"/api/trials/{tid}/cohorts",
                                json={"dose_level": 1, "outcomes": "NNN", "cohort": k})  # fmt: skip
            codes[i] = r.status_code

        ts = [threading.Thread(target=go, args=(i,)) for i in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        outcomes.append(tuple(sorted(codes)))
    stored = sorted(s for (t, s) in db_cohorts(url) if t == tid)
    good = all(o == (201, 409) for o in outcomes) and stored == list(range(1, rounds + 1))
    print(f"duplicates: {rounds} rounds of two simultaneous posts of the same cohort: "
          f"{sum(o == (201, 409) for o in outcomes)} gave one 201 + one 409; "
          f"{len(stored)} cohorts stored (expected {rounds})")  # fmt: skip
    return good


def phase_kill(url: str, args: argparse.Namespace) -> bool:
    """Phase 3."""
    proc, base = start(url)
    trials = make_trials(base, 2, "kill")
    load = Load(base, trials, 10_000, args.max_seconds)
    threads = load.run(4)
    t0 = time.monotonic()
    while len(load.acks) < 40 and time.monotonic() - t0 < args.max_seconds:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    load.stop.set()
    for t in threads:
        t.join(timeout=60)
    problems = check(url, load, trials, None)
    proc, base = start(url)
    c = session(base, "inv")
    nxt = c.get(f"/api/trials/{trials[0]}").json()["next_cohort"]
    r = c.post(f"/api/trials/{trials[0]}/cohorts", json={"dose_level": 1, "outcomes": "NNN",
                                                         "cohort": nxt})  # fmt: skip
    stop(proc)
    code, line = verify_cli(url)
    print(f"sigkill: killed with {len(load.acks)} cohorts acknowledged; after restart "
          f"lost: {'none' if not problems else problems[:3]}; next cohort {nxt} -> "
          f"{r.status_code}; audit verify exit {code}: {line}")  # fmt: skip
    return not problems and r.status_code == 201 and code == 0


def main() -> int:
    """Run the three phases; exit 1 if any check fails."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--cohorts", type=int, default=500)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--dup-rounds", type=int, default=20)
    ap.add_argument("--max-seconds", type=float, default=600.0, help="bound on each load phase")
    ap.add_argument("--quick", action="store_true", help="5 clients, 50 cohorts, 5 trials")
    args = ap.parse_args()
    if args.quick:
        args.clients, args.cohorts, args.trials, args.dup_rounds = 5, 50, 5, 5
    tmp = tempfile.mkdtemp(prefix="il2sim-bench-serve-")
    url = args.db or f"sqlite:///{Path(tmp) / 'bench.db'}"
    os.environ.setdefault("IL2SIM_DB", url)
    setup_db(url)
    print(f"il2sim serve benchmark on {url.split('@')[-1]} (loopback; shared 2-core machine)")
    proc, base = start(url)
    try:
        ok = phase_load(url, base, args)
        ok = phase_duplicates(url, base, args.dup_rounds) and ok
    finally:
        stop(proc)
    ok = phase_kill(url, args) and ok
    print("RESULT:", "all checks passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
