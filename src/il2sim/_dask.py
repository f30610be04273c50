"""The one way il2sim starts a local Dask cluster: every socket on 127.0.0.1, no dashboard
unless asked ("secure by default"; used by ``il2sim sweep run --workers`` and ``sensitivity
--workers``).

What distributed 2026.8 does, and how this module answers it (checked by
``tests/test_sweep_loopback.py``):

* ``LocalCluster(dashboard_address=None)`` switches the Bokeh dashboard off (the scheduler's
  ``dashboard=False``), but the scheduler still starts its HTTP server (health, Prometheus,
  ``/info``, ``/json`` routes) on the default port 8787 -- on every interface when the workers
  talk ``inproc`` -- and warns "Port 8787 is already in use" on stderr when it is taken.  So the
  scheduler is given ``dashboard=False`` with its HTTP address on a free loopback port
  (``127.0.0.1:0``: never 8787, never a warning), and workers talk TCP on 127.0.0.1.
* Every worker starts an HTTP server of its own too.  Nothing of il2sim uses these HTTP
  endpoints, so once the cluster is up they are stopped (tornado's ``HTTPServer.stop``): only
  the scheduler's and the workers' (and nannies') comm ports listen, all on loopback.
* Asked for a dashboard, the scheduler serves it on a free loopback port (the link is
  ``client.dashboard_link``; ``il2sim sweep run --dashboard`` prints it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from il2sim._interrupt import sigint_ignored

__all__ = ["LOOPBACK", "local_client"]

#: The interface every socket of il2sim's own clusters binds.
LOOPBACK = "127.0.0.1"


def _stop_http(dask_worker: Any) -> None:
    """Stop the HTTP server of a worker (run on each) or of the scheduler (nothing of il2sim
    uses it)."""
    server = getattr(dask_worker, "http_server", None)
    if server is not None:
        server.stop()


@contextmanager
def local_client(workers: int, *, processes: bool, dashboard: bool = False) -> Iterator[Any]:
    """A :class:`dask.distributed.Client` on a new LocalCluster of ``workers`` single-threaded
    workers (processes, or threads with ``processes=False``), bound to 127.0.0.1, with the
    dashboard only if ``dashboard`` (see the module docstring); closed on exit."""
    from dask.distributed import Client, LocalCluster

    with sigint_ignored():  # worker processes inherit "ignore SIGINT": Ctrl-C is the driver's
        cluster = LocalCluster(
            n_workers=int(workers),
            threads_per_worker=1,
            processes=processes,
            host=LOOPBACK,
            protocol="tcp://",
            dashboard_address=f"{LOOPBACK}:0",
            scheduler_kwargs={"dashboard": bool(dashboard)},
            silence_logs=logging.CRITICAL,  # the workers' logs never reach the user's stderr
        )
    try:
        client = Client(cluster)
    except BaseException:
        cluster.close()
        raise
    try:
        client.run(_stop_http)
        if not dashboard:
            _stop_http(cluster.scheduler)
        yield client
    finally:
        client.close()
        cluster.close()
