"""Sweeps: grids, chunk seeds, the resumable Parquet store, SIGKILL + resume, Dask workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from il2sim.cli.main import app
from il2sim.designs.ab import exact_oc, four_plus_five
from il2sim.designs.simulate import simulate_trials
from il2sim.errors import InputError
from il2sim.sweep import Grid, Store, load_grid, parse_param_list, run_chunk, run_sweep

#: A toxicity scenario over the seed trial's 7 dose levels (illustrative, not published).
TRUTH7 = [0.02, 0.05, 0.1, 0.15, 0.25, 0.35, 0.5]
TRUTH4 = [0.05, 0.1, 0.2, 0.3]


def _grid(chunk_size: int = 500, chunks: int = 3, seed: int = 11) -> Grid:
    return Grid(
        kind="design",
        seed=seed,
        chunk_size=chunk_size,
        chunks=chunks,
        fixed={"design": "4+5"},
        axes={"truth": [TRUTH4, [0.1, 0.2, 0.3, 0.5]]},
    )


def _summary_json(store: Path) -> str:
    res = CliRunner().invoke(app, ["sweep", "summary", str(store), "--json"])
    assert res.exit_code == 0, res.output
    return res.stdout


# --- grids -----------------------------------------------------------------------------------
def test_grid_points_are_the_cartesian_product_in_order() -> None:
    g = Grid(kind="design", fixed={"x": 1}, axes={"a": [1, 2, 3], "b": ["u", "v"]})
    pts = g.points()
    assert g.n_points == 6 and len(pts) == 6
    assert [p.index for p in pts] == list(range(6))
    assert [(p.params["a"], p.params["b"]) for p in pts] == [
        (1, "u"), (1, "v"), (2, "u"), (2, "v"), (3, "u"), (3, "v")
    ]  # fmt: skip
    assert all(p.params["x"] == 1 for p in pts)
    assert len({p.point_hash for p in pts}) == 6


def test_grid_file_yaml_and_toml_agree(tmp_path: Path) -> None:
    d = _grid().to_dict()
    (tmp_path / "g.yaml").write_text(yaml.safe_dump(d))
    import tomli_w

    (tmp_path / "g.toml").write_bytes(tomli_w.dumps(d).encode())
    a, b = load_grid(tmp_path / "g.yaml"), load_grid(tmp_path / "g.toml")
    assert a == b == _grid()
    assert a.grid_hash == b.grid_hash


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "design", "chunks": 0}, "chunks"),
        ({"kind": "design", "chunk_size": -1}, "chunk_size"),
        ({"kind": "design", "grid": {"x": []}}, "grid.x"),
        ({"kind": "design", "bogus": 1}, "grid file"),
        ({"seed": 1}, "grid file"),
        ({"kind": "design", "fixed": {"x": 1}, "grid": {"x": [1]}}, "x"),
    ],
)
def test_bad_grids_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as exc:
        Grid.from_dict(data)
    assert exc.value.field == field


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True),
        st.lists(
            st.one_of(
                st.integers(-(10**6), 10**6),
                st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: x != int(x)),
                st.from_regex(r"[a-z][a-z+]{0,5}", fullmatch=True).filter(
                    lambda s: s not in ("true", "false")
                ),
            ),
            min_size=1,
            max_size=4,
        ),
        max_size=3,
    )
)
@settings(max_examples=60, deadline=None)
def test_param_list_round_trip(axes: dict[str, list[object]]) -> None:
    items = [f"{k}={','.join(repr(v) if isinstance(v, float) else str(v) for v in vals)}"
             for k, vals in axes.items()]  # fmt: skip
    assert parse_param_list(items) == axes


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "d", "seed": True}, "seed: must be an integer >= 0, got True"),
        ({"kind": "d", "seed": 2.5}, "seed: must be an integer >= 0, got 2.5"),
        ({"kind": "d", "chunks": "3"}, "chunks: must be an integer >= 1, got '3'"),
        ({"kind": ""}, "kind: must be a runner name, got ''"),
        ({"kind": "d", "bogus": 1}, "grid file: unknown key 'bogus' (expected chunk_size, "),
        ({"kind": "d", "fixed": 5}, "fixed: must be a mapping, got 5"),
        ({"kind": "d", "grid": {"x": 5}}, "grid.x: must be a non-empty list, got 5"),
        ({"kind": "d", "grid": {"x": [float("nan")]}}, "grid.x: must be finite, got nan"),
        ({"kind": "d", "fixed": {"x": {"a": float("inf")}}}, "x.a: must be finite, got inf"),
        ({"kind": "d", "fixed": {"x": object}}, "x: must be a number, string, boolean or list"),
        ({"kind": "d", "grid": {"a": list(range(1001)), "b": list(range(1001))}},
         "grid: 1,002,001 chunks (1,002,001 points x 1 chunks) is more than the limit"),
    ],
)  # fmt: skip
def test_bad_grid_messages_name_field_and_value(data: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as exc:
        Grid.from_dict(data)
    assert str(exc.value).startswith(message)


def test_grid_values_are_normalised() -> None:
    g = Grid.from_dict({"kind": "d", "seed": np.int64(3), "fixed": {1: (0.1, 0.2)}, "grid": None})
    assert (g.seed, g.fixed, g.axes) == (3, {"1": [0.1, 0.2]}, {})
    assert Grid(kind="d", axes={"x": (1, 2)}).axes == {"x": [1, 2]}
    with pytest.raises(InputError, match=r"^fixed: must be a mapping"):
        Grid(kind="d", fixed=[1])  # type: ignore[arg-type]


def test_grid_file_yaml_alias_bomb_binary_and_recursion_are_refused(tmp_path: Path) -> None:
    # "billion laughs": 9 levels of 10 aliases = 10^9 values from a 1 kB file
    lines = ["kind: design", "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, 10):
        prev = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{prev}]")
    lines.append("fixed: {x: *a9}")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"^grid: bomb.yaml expands to [0-9,]+ values"):
        load_grid(bomb)
    binary = tmp_path / "g.yaml"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(InputError, match="not a UTF-8 text file"):
        load_grid(binary)
    loop = tmp_path / "loop.yaml"
    loop.write_text("kind: design\nfixed: {x: &a [1, *a]}\n")
    with pytest.raises(InputError, match="recursive"):
        load_grid(loop)


def test_param_list_lists_and_errors() -> None:
    assert parse_param_list(["truth=[0.1,0.2];[0.2,0.3]", "flag=true,false"]) == {
        "truth": [[0.1, 0.2], [0.2, 0.3]],
        "flag": [True, False],
    }
    for bad in (["x"], ["x=1", "x=2"], ["x=1,,2"], ["=1"], ["x=[1,2"]):
        with pytest.raises(InputError):
            parse_param_list(bad)


# --- seeds and runners ------------------------------------------------------------------------
def test_chunk_results_do_not_depend_on_order() -> None:
    a = [run_chunk("design", {"truth": TRUTH4}, 300, 5, 1, c) for c in range(3)]
    b = [run_chunk("design", {"truth": TRUTH4}, 300, 5, 1, c) for c in (2, 1, 0)][::-1]
    assert json.dumps(a) == json.dumps(b)  # NaN-safe exact comparison
    assert json.dumps(a[0]) != json.dumps(a[1])  # different chunks draw different trials


def test_design_sweep_matches_exact_operating_characteristics(tmp_path: Path) -> None:
    """4+5 design: the sweep's pooled selection % agrees with the exact (enumerated) OC
    within 4 Monte Carlo standard errors (binomial SE of a proportion over 12 000 trials)."""
    g = Grid(kind="design", seed=3, chunk_size=4000, chunks=3, fixed={"truth": TRUTH7})
    run_sweep(g, tmp_path / "s")
    pt = Store(tmp_path / "s").summary().points[0]
    assert pt["n"] == 12000 and pt["chunks_done"] == 3
    ex = exact_oc(four_plus_five(7), np.array(TRUTH7))
    for lvl, p_exact in enumerate(ex.selection_pct, start=1):
        p = p_exact / 100
        se = 100 * np.sqrt(p * (1 - p) / 12000)
        assert abs(pt["metrics"][f"selection_pct_{lvl}"] - p_exact) <= 4 * se + 1e-9
    # SE of the mean patient count over 12 000 trials, estimated by an independent run
    se_n = simulate_trials(four_plus_five(7), TRUTH7, 12000, 99).mean_patients_se
    assert abs(pt["metrics"]["mean_patients"] - ex.mean_patients) <= 4 * se_n
    # n-weighted mean of equal chunks is their plain mean
    rows = [r for r in Store(tmp_path / "s").read_chunks()]
    m = np.mean([r.metrics["mean_patients"] for r in rows])
    assert pt["metrics"]["mean_patients"] == pytest.approx(m, rel=1e-14)


def test_unknown_kind_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="kind"):
        run_sweep(Grid(kind="nope"), tmp_path / "s")


# --- the store --------------------------------------------------------------------------------
def test_resume_runs_only_missing_chunks_and_equals_straight_run(tmp_path: Path) -> None:
    g = _grid()
    r1 = run_sweep(g, tmp_path / "a", max_chunks=4)
    assert (r1.ran, r1.already_done) == (4, 0)
    assert Store(tmp_path / "a").summary().complete is False
    r2 = run_sweep(g, tmp_path / "a")
    assert (r2.ran, r2.already_done) == (2, 4)
    r3 = run_sweep(g, tmp_path / "a")
    assert r3.ran == 0
    run_sweep(g, tmp_path / "b")
    assert len(list((tmp_path / "a" / "chunks").iterdir())) == g.n_tasks
    assert _summary_json(tmp_path / "a") == _summary_json(tmp_path / "b")


def test_store_rejects_a_different_grid(tmp_path: Path) -> None:
    run_sweep(_grid(chunks=1), tmp_path / "s")
    with pytest.raises(InputError, match="different sweep"):
        run_sweep(_grid(chunks=1, seed=12), tmp_path / "s")


def test_sigkill_mid_sweep_then_resume_equals_straight_run(tmp_path: Path) -> None:
    """Kill the CLI with SIGKILL after its first chunks land; resuming gives the same summary
    JSON, byte for byte, as an uninterrupted run, with no lost or duplicate chunk."""
    g = Grid(
        kind="design",
        seed=2026,
        chunk_size=60000,
        chunks=10,
        fixed={"design": "4+5"},
        axes={"truth": [TRUTH7, [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]]},
    )
    gf = tmp_path / "grid.yaml"
    gf.write_text(yaml.safe_dump(g.to_dict()))
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "il2sim.cli.main", "sweep", str(gf), "--out", str(killed),
           "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    chunks_dir = killed / "chunks"
    deadline = time.monotonic() + 60
    n_at_kill = 0
    while time.monotonic() < deadline:
        n_at_kill = len(list(chunks_dir.glob("*.parquet"))) if chunks_dir.is_dir() else 0
        if n_at_kill >= 3 or proc.poll() is not None:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    n_at_kill = len(list(chunks_dir.glob("*.parquet")))
    assert 3 <= n_at_kill < g.n_tasks
    rec = run_sweep(load_grid(gf), killed)
    assert rec.already_done == n_at_kill
    assert rec.ran == g.n_tasks - n_at_kill
    assert len(list(chunks_dir.glob("*.parquet"))) == g.n_tasks
    straight = tmp_path / "straight"
    run_sweep(g, straight)
    assert _summary_json(killed) == _summary_json(straight)


def test_dask_one_and_two_workers_give_identical_results(tmp_path: Path) -> None:
    g = _grid(chunk_size=300, chunks=2)
    run_sweep(g, tmp_path / "w1", workers=1, processes=False)
    run_sweep(g, tmp_path / "w2", workers=2, processes=False)
    run_sweep(g, tmp_path / "inproc")
    s1 = _summary_json(tmp_path / "w1")
    assert s1 == _summary_json(tmp_path / "w2") == _summary_json(tmp_path / "inproc")
    assert json.loads(s1)["complete"] is True


# --- CLI --------------------------------------------------------------------------------------
def test_cli_lists_and_json(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        app,
        ["sweep", "--kind", "design", "--param", "truth=[0.05,0.1,0.2];[0.1,0.2,0.4]",
         "--param", "design=3+3,4+5", "--chunk-size", "200", "--chunks", "2",
         "--out", str(tmp_path / "s"), "--no-progress", "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["n_tasks"] == 8 and rec["ran"] == 8 and rec["remaining"] == 0
    summ = json.loads(_summary_json(tmp_path / "s"))
    assert [p["params"]["design"] for p in summ["points"]] == ["3+3", "4+5", "3+3", "4+5"]
    assert all(p["n"] == 400 for p in summ["points"])


def test_cli_user_errors_exit_2(tmp_path: Path) -> None:
    for args in (
        ["sweep", "summary", str(tmp_path)],
        ["sweep", "--kind", "nope", "--out", str(tmp_path / "x"), "--no-progress"],
        ["sweep", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "y")],
    ):
        p = subprocess.run(
            [sys.executable, "-m", "il2sim.cli.main", *args], capture_output=True, text=True
        )
        assert p.returncode == 2, (args, p.stderr)
        assert p.stderr.startswith("il2sim: error:") and "Traceback" not in p.stderr


def test_trial_runner_metrics_are_consistent() -> None:
    """Kind ``trial``: % selecting each level (0 = none) sums to 100; patients per level sum
    to the mean patient count, which respects the cap."""
    m = run_chunk("trial", {"doses": [0.4, 1.25], "design": "3+3", "max_patients": 6}, 2, 9, 0, 0)
    assert sum(m[f"mtd_selected_pct_{k}"] for k in range(3)) == pytest.approx(100.0)
    assert m["patients_per_level_1"] + m["patients_per_level_2"] == pytest.approx(m["n_patients"])
    assert 0 < m["n_patients"] <= 6
    assert m["dlts_per_level_1"] + m["dlts_per_level_2"] == pytest.approx(m["n_dlt"])
    with pytest.raises(InputError, match="doses"):
        run_chunk("trial", {"design": "3+3"}, 1, 9, 0, 0)
