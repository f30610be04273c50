"""Parameter sweeps: grids, chunked execution (in-process or Dask), the resumable store."""

from il2sim.sweep.execute import SweepRun, run_sweep
from il2sim.sweep.grid import Grid, GridPoint, chunk_seed_sequence, load_grid, parse_param_list
from il2sim.sweep.runners import RUNNERS, get_runner, run_chunk
from il2sim.sweep.store import Store, SweepSummary

__all__ = [
    "RUNNERS",
    "Grid",
    "GridPoint",
    "Store",
    "SweepRun",
    "SweepSummary",
    "chunk_seed_sequence",
    "get_runner",
    "load_grid",
    "parse_param_list",
    "run_chunk",
    "run_sweep",
]
