"""il2sim's own Dask clusters listen on loopback only and serve no dashboard unless asked
("secure by default"; :mod:`il2sim._dask`).

Found by the lead in stop 22 with ``ss -ltnp``: with distributed 2026.8 thread workers over
"inproc" served the dashboard on 0.0.0.0:8787, and ``dashboard_address=None`` did not stop the
scheduler's HTTP server (it only switches the Bokeh dashboard off; the server goes to port
8787 and warns "Port 8787 is already in use" when it is taken).  Here, with port 8787 held by
the test: the only listening sockets of the driver and its worker processes are the
scheduler's, the workers' and the nannies' comm ports, all on 127.0.0.1; nothing on 8787 and
no warning.  Asked for (``sweep run --dashboard``), the dashboard is on a free loopback port,
printed on stderr.
"""

from __future__ import annotations

import socket
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

pytest.importorskip("dask.distributed")

from il2sim.cli.main import main


def _listening() -> set[tuple[int, str, int]]:
    """(pid, ip, port) of every listening inet socket of this process and its children."""
    me = psutil.Process()
    found = set()
    for proc in [me, *me.children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
        except psutil.Error:  # a child that ended meanwhile
            continue
        found |= {(proc.pid, c.laddr.ip, c.laddr.port) for c in conns
                  if c.status == psutil.CONN_LISTEN}  # fmt: skip
    return found


@pytest.fixture
def port_8787_taken() -> Iterator[None]:
    """Hold 127.0.0.1:8787 (Dask's default HTTP port), as another user's dashboard would."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 8787))
        sock.listen()
    except OSError:  # someone else holds it already: the same situation
        pass
    try:
        yield
    finally:
        sock.close()


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_an_unasked_cluster_listens_on_its_comm_ports_only(
    processes: bool, port_8787_taken: None, capfd: pytest.CaptureFixture[str]
) -> None:
    from il2sim.sweep.execute import _dask_client

    before = _listening()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _dask_client(1, None, False, processes) as client:
            assert client.submit(sum, [1, 2]).result() == 3
            info = client.scheduler_info()
            new = _listening() - before
    assert new, "the cluster opened no socket (the check would be empty)"
    assert all(ip == "127.0.0.1" for _, ip, _ in new), new
    comm = {_port(info["address"])}
    for addr, worker in info["workers"].items():
        comm.add(_port(addr))
        if worker.get("nanny"):
            comm.add(_port(worker["nanny"]))
    assert {port for _, _, port in new} == comm, (new, comm)  # no HTTP server, no dashboard
    assert 8787 not in comm
    messages = [str(w.message) for w in caught]
    assert not any("already in use" in m for m in messages), messages
    assert "already in use" not in capfd.readouterr().err


def test_sweep_run_dashboard_is_on_a_free_loopback_port_and_printed(
    tmp_path: Path, port_8787_taken: None, capfd: pytest.CaptureFixture[str]
) -> None:
    from il2sim.sweep.execute import _dask_client

    links: list[str] = []
    with _dask_client(1, None, True, False, links.append) as client:
        (link,) = links
        assert link.startswith("http://127.0.0.1:") and ":8787/" not in link, link
        with urllib.request.urlopen(link, timeout=10) as page:  # the Bokeh dashboard is up
            assert page.status == 200
        assert client.submit(sum, [1, 2]).result() == 3
    store = tmp_path / "store"
    try:
        main(["sweep", "run", "--kind", "design", "-p", "design=3+3", "-p",
              "truth=[0.1,0.2,0.3]", "--chunks", "1", "--chunk-size", "2", "--workers", "1",
              "--dashboard", "--no-progress", "--out", str(store)])  # fmt: skip
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
    err = capfd.readouterr().err
    assert "il2sim: Dask dashboard at http://127.0.0.1:" in err, err
    assert ":8787/" not in err and "already in use" not in err and "Traceback" not in err, err


def test_dashboard_without_workers_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "run", "--kind", "design", "-p", "design=3+3", "-p",
              "truth=[0.1,0.2,0.3]", "--dashboard", "--out", str(tmp_path / "s")])  # fmt: skip
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert err.startswith("il2sim: error: dashboard: is served by the cluster --workers N starts")
    assert err.count("\n") == 1 and not (tmp_path / "s").exists()
