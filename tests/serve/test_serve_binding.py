"""Binding: loopback unless told; a non-loopback host needs --allow-remote and TLS (files or a
stated TLS proxy); the server started without --allow-remote is reachable on 127.0.0.1 only.

Reachability is checked without sending traffic off loopback: the server's listening sockets
(psutil) are all on 127.0.0.1, and a connection to another loopback address (127.0.0.2), which a
wildcard-bound server would accept, is refused."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from serve_helpers import add_users, start_server, stop_server

from il2sim.errors import InputError
from il2sim.serve.config import ServeConfig, is_loopback_host


def test_loopback_names() -> None:
    assert (
        is_loopback_host("127.0.0.1") and is_loopback_host("::1") and is_loopback_host("localhost")
    )
    assert is_loopback_host("127.0.0.2")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("::")
    assert not is_loopback_host("192.0.2.10")


def test_config_rules(tmp_path: Path) -> None:
    url = "sqlite:///x.db"
    ServeConfig(url).check()
    with pytest.raises(InputError, match=r"host: .*not a loopback"):
        ServeConfig(url, host="0.0.0.0").check()
    with pytest.raises(InputError, match=r"allow_remote: .*needs TLS"):
        ServeConfig(url, host="0.0.0.0", allow_remote=True).check()
    assert ServeConfig(url, host="0.0.0.0", allow_remote=True, behind_tls_proxy=True).check().https
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    with pytest.raises(InputError, match="tls_cert: no such file"):
        ServeConfig(url, host="0.0.0.0", allow_remote=True, tls_cert=cert, tls_key=key).check()
    cert.write_text("x")
    key.write_text("x")
    cfg = ServeConfig(url, host="0.0.0.0", allow_remote=True, tls_cert=cert, tls_key=key).check()
    assert cfg.https and cfg.allowed_hosts() == ["*"]
    with pytest.raises(InputError, match="tls_cert: give both"):
        ServeConfig(url, tls_cert=cert).check()
    with pytest.raises(InputError, match="port"):
        ServeConfig(url, port=0).check()


@pytest.mark.parametrize(
    "args",
    [["--host", "0.0.0.0"], ["--host", "0.0.0.0", "--allow-remote"], ["--host", "::"]],
)
def test_serve_refuses_remote_without_tls(tmp_path: Path, args: list[str]) -> None:
    cmd = [sys.executable, "-m", "il2sim.cli.main", "serve", "--db", f"sqlite:///{tmp_path}/s.db",
           "--port", "1", *args]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("il2sim: error: host:") or "allow_remote" in r.stderr


def test_default_server_is_reachable_on_127_0_0_1_only(tmp_path: Path) -> None:
    import psutil

    url = f"sqlite:///{tmp_path / 's.db'}"
    add_users(url, ("stat", "statistician"))
    proc, base = start_server(url)
    try:
        port = int(base.rsplit(":", 1)[1])
        assert httpx.get(f"{base}/login", timeout=5).status_code == 200
        listening = {c.laddr.ip for c in psutil.Process(proc.pid).net_connections("inet")
                     if c.status == psutil.CONN_LISTEN}  # fmt: skip
        assert listening == {"127.0.0.1"}, listening
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(3)
            s.connect(("127.0.0.2", port))
        # a Host header that is not loopback is refused (DNS rebinding)
        r = httpx.get(f"{base}/login", headers={"Host": "evil.example"}, timeout=5)
        assert r.status_code == 400
    finally:
        stop_server(proc)
