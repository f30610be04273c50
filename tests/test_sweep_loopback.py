"""The sweep's own Dask cluster listens on loopback only ("secure by default"): with
distributed 2026.8 thread workers over "inproc" still served the dashboard on 0.0.0.0:8787
(found by the lead in stop 22 with ``ss -ltnp``); every socket of the process must be bound
to 127.0.0.1 while the client is open."""

from __future__ import annotations

import psutil
import pytest

pytest.importorskip("dask.distributed")


@pytest.mark.parametrize("processes", [False])
def test_sweep_cluster_binds_loopback_only(processes: bool) -> None:
    from il2sim.sweep.execute import _dask_client

    before = {c.laddr for c in psutil.Process().net_connections(kind="inet")
              if c.status == psutil.CONN_LISTEN}  # fmt: skip
    with _dask_client(1, None, False, processes) as client:
        assert client.submit(sum, [1, 2]).result() == 3
        listening = [c.laddr for c in psutil.Process().net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN and c.laddr not in before]  # fmt: skip
    assert listening, "the cluster opened no socket (the check would be empty)"
    assert all(a.ip == "127.0.0.1" for a in listening), listening
