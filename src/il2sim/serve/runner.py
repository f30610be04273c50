"""Start uvicorn on a checked :class:`~il2sim.serve.config.ServeConfig` (one process; the
database work runs in its thread pool)."""

from __future__ import annotations

import sys

from sqlalchemy import func, select

from il2sim.serve.config import ServeConfig

__all__ = ["run"]


def run(cfg: ServeConfig) -> None:
    """Migrate the database, build the app and serve until interrupted."""
    import uvicorn

    from il2sim.serve.app import create_app
    from il2sim.serve.db import open_database
    from il2sim.serve.models import User

    db = open_database(cfg.db_url)
    with db.read() as s:
        n_users = int(s.scalar(select(func.count()).select_from(User)) or 0)
    app = create_app(db, https=cfg.https, allowed_hosts=cfg.allowed_hosts())
    scheme = "https" if cfg.tls_cert is not None else "http"
    host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
    print(
        f"il2sim serve: {scheme}://{host}:{cfg.port}/ on {db.url.split('@')[-1]}", file=sys.stderr
    )
    if n_users == 0:
        print("no accounts yet: il2sim users add NAME --role statistician --password-stdin",
              file=sys.stderr)  # fmt: skip
    try:
        uvicorn.run(
            app,
            host=cfg.host,
            port=cfg.port,
            ssl_certfile=str(cfg.tls_cert) if cfg.tls_cert else None,
            ssl_keyfile=str(cfg.tls_key) if cfg.tls_key else None,
            proxy_headers=cfg.behind_tls_proxy,
            forwarded_allow_ips="127.0.0.1" if cfg.behind_tls_proxy else None,
            server_header=False,
            log_level="warning",
        )
    finally:
        db.dispose()
