"""Done-when: killing the server (SIGKILL) mid-load loses no committed entry, and it restarts
on the same database (SQLite and PostgreSQL).  Loopback only, bounded in count and time."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import httpx
from serve_helpers import BOIN_PROTOCOL, PASSWORD, add_users, start_server, stop_server
from sqlalchemy import select

N_CLIENTS = 4
MAX_ACKS = 400
MAX_S = 60.0


def _client(base: str) -> tuple[httpx.Client, dict[str, str]]:
    c = httpx.Client(base_url=base, timeout=30.0)
    r = c.post("/api/login", json={"username": "inv", "password": PASSWORD})
    r.raise_for_status()
    return c, {"X-CSRF-Token": r.json()["csrf_token"]}


def _load(base: str, trials: list[int], acks: list[tuple[int, int, str]], stop: threading.Event,
          lock: threading.Lock, k: int) -> None:  # fmt: skip
    """Enter cohorts into ``trials[k % len]`` until stopped or the server dies; record acks."""
    try:
        c, h = _client(base)
    except httpx.HTTPError:
        return
    tid = trials[k % len(trials)]
    n = 0
    while not stop.is_set():
        letters = "NNT" if n % 4 == 3 else "NNN"
        try:
            nxt = c.get(f"/api/trials/{tid}").json()["next_cohort"]
            r = c.post(f"/api/trials/{tid}/cohorts", headers=h,
                       json={"dose_level": 1 + n % 3, "outcomes": letters, "cohort": nxt})  # fmt: skip
        except (httpx.HTTPError, ValueError):
            return  # the server is gone
        if r.status_code == 201:
            with lock:
                acks.append((tid, int(r.json()["cohort"]), letters))
            n += 1
        elif r.status_code != 409:
            raise AssertionError(r.text)


def _db_cohorts(url: str) -> dict[tuple[int, int], str]:
    from il2sim.serve.db import open_database
    from il2sim.serve.models import Cohort

    db = open_database(url)
    try:
        with db.read() as s:
            return {(c.trial_id, c.seq): c.outcomes for c in s.scalars(select(Cohort))}
    finally:
        db.dispose()


def _verify(url: str) -> Any:
    from il2sim.serve import audit
    from il2sim.serve.db import open_database

    db = open_database(url, migrate=False)
    try:
        with db.read() as s:
            return audit.verify(s)
    finally:
        db.dispose()


def test_sigkill_mid_load_loses_nothing_and_restarts(db_url: str) -> None:
    add_users(db_url, ("stat", "statistician"), ("inv", "investigator"))
    proc, base = start_server(db_url)
    try:
        c = httpx.Client(base_url=base, timeout=30.0)
        h = {"X-CSRF-Token": c.post("/api/login", json={"username": "stat", "password": PASSWORD})
             .json()["csrf_token"]}  # fmt: skip
        trials = [c.post("/api/trials", json={**BOIN_PROTOCOL, "name": f"kill {i}", "max_cohorts": None},
                         headers=h).json()["id"] for i in range(2)]  # fmt: skip
        acks: list[tuple[int, int, str]] = []
        stop, lock = threading.Event(), threading.Lock()
        threads = [threading.Thread(target=_load, args=(base, trials, acks, stop, lock, k))
                   for k in range(N_CLIENTS)]  # fmt: skip
        for t in threads:
            t.start()
        t0 = time.monotonic()
        while len(acks) < 40 and time.monotonic() - t0 < MAX_S:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
        proc.wait(timeout=30)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert len(acks) >= 10, "the load did not get going"
    finally:
        stop_server(proc)
    stored = _db_cohorts(db_url)
    for tid, seq, letters in acks:
        assert stored.get((tid, seq)) == letters, f"acknowledged cohort {seq} of trial {tid} lost"
    for tid in trials:
        seqs = sorted(s for (t, s) in stored if t == tid)
        assert seqs == list(range(1, len(seqs) + 1)), "gap or duplicate in the cohort numbers"
    assert _verify(db_url).ok
    # restart on the same database and go on
    proc, base = start_server(db_url)
    try:
        c2, h2 = _client(base)
        nxt = c2.get(f"/api/trials/{trials[0]}").json()["next_cohort"]
        assert nxt == 1 + max(s for (t, s) in stored if t == trials[0])
        r = c2.post(f"/api/trials/{trials[0]}/cohorts", headers=h2,
                    json={"dose_level": 1, "outcomes": "NNN", "cohort": nxt})  # fmt: skip
        assert r.status_code == 201, r.text
    finally:
        stop_server(proc)
    res = _verify(db_url)
    assert res.ok, res.message()
