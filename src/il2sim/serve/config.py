"""Server settings: database URL, bind address and the loopback-unless-told rule.

Secure by default: the server binds ``127.0.0.1``; any other address needs ``--allow-remote``
*and* either a TLS certificate and key (uvicorn serves HTTPS) or the explicit statement that a
TLS-terminating proxy is in front (``--behind-tls-proxy``).  Session cookies are ``Secure``
whenever the browser talks HTTPS (TLS here or at the proxy).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from il2sim import checks
from il2sim.errors import InputError

__all__ = ["DEFAULT_HOST", "ServeConfig", "default_db_url", "is_loopback_host", "normalise_db_url"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: Host headers accepted when the server binds loopback (DNS-rebinding protection).
LOOPBACK_HOST_HEADERS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1", "[::1]")


def default_db_url() -> str:
    """``$IL2SIM_DB`` if set, else a SQLite file in the user's data folder.

    The folder is ``$XDG_DATA_HOME/il2sim`` (``~/.local/share/il2sim``), created on first use.
    """
    env = os.environ.get("IL2SIM_DB")
    if env:
        return env
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'il2sim' / 'serve.db'}"


def normalise_db_url(url: str) -> str:
    """Check a database URL and choose the driver: SQLite (``sqlite:///path``) or PostgreSQL
    through psycopg 3 (``postgresql://`` becomes ``postgresql+psycopg://``).

    A bare path is taken as a SQLite file.  Raises :class:`InputError` naming ``db`` otherwise.
    """
    u = url.strip()
    if not u:
        raise InputError("empty database URL", field="db", value=url)
    if "\x00" in u:
        raise InputError("a database URL must not contain a NUL byte", field="db", value=url)
    if "://" not in u:
        checks.path_name(u, "db")  # a name the OS cannot take (found by make fuzz)
        try:
            return f"sqlite:///{Path(u).expanduser().resolve()}"
        except (RuntimeError, OSError) as exc:  # '~user' unknown, a name too long, ...
            raise InputError(f"not a usable SQLite file path ({exc})", field="db", value=url) from None
    scheme = u.split("://", 1)[0].lower()
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + u.split("://", 1)[1]
    if scheme in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
        return u
    raise InputError(
        f"unsupported database {scheme!r} (use sqlite:///FILE or postgresql://...)",
        field="db",
        value=url,
    )


def is_loopback_host(host: str) -> bool:
    """True when every address ``host`` names is a loopback address (127.0.0.0/8, ::1).

    Names (``localhost``) are resolved; the wildcard ``0.0.0.0`` / ``::`` is not loopback.
    """
    h = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(h, None)
    except (OSError, UnicodeError, ValueError):  # unresolvable, not IDNA-encodable, NUL in it
        return False
    addrs = {info[4][0] for info in infos}
    return bool(addrs) and all(
        ipaddress.ip_address(str(a).split("%")[0]).is_loopback for a in addrs
    )


@dataclass(frozen=True)
class ServeConfig:
    """Validated settings of one server run."""

    db_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allow_remote: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    behind_tls_proxy: bool = False

    @property
    def https(self) -> bool:
        """True when browsers reach the server over HTTPS (cookies get ``Secure``)."""
        return self.tls_cert is not None or self.behind_tls_proxy

    @property
    def loopback(self) -> bool:
        """True when the bind address is loopback only."""
        return is_loopback_host(self.host)

    def allowed_hosts(self) -> list[str]:
        """Host headers the app accepts: loopback names when bound to loopback, else any."""
        if self.loopback:
            return [*LOOPBACK_HOST_HEADERS, self.host]
        return ["*"]

    def check(self) -> ServeConfig:
        """Apply the binding rules; raise :class:`InputError` naming the option otherwise."""
        if not 0 < self.port < 65536:
            raise InputError(f"must be in 1..65535, got {self.port}", field="port", value=self.port)
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InputError("give both --tls-cert and --tls-key", field="tls_cert")
        for name, p in (("tls_cert", self.tls_cert), ("tls_key", self.tls_key)):
            if p is not None and not checks.path_name(p, name).is_file():
                raise InputError(f"no such file: {p}", field=name, value=str(p))
        if self.tls_cert is not None and self.behind_tls_proxy:
            raise InputError("give TLS files or --behind-tls-proxy, not both", field="tls_cert")
        if not self.loopback:
            if not self.allow_remote:
                raise InputError(
                    f"{self.host!r} is not a loopback address; the server binds 127.0.0.1 "
                    "unless --allow-remote is given with --tls-cert/--tls-key or "
                    "--behind-tls-proxy",
                    field="host",
                    value=self.host,
                )
            if not self.https:
                raise InputError(
                    "--allow-remote needs TLS: --tls-cert and --tls-key, or --behind-tls-proxy "
                    "to state that a TLS-terminating proxy is in front",
                    field="allow_remote",
                )
        return self
