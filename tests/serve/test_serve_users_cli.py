"""``il2sim users add|list|disable`` (password on stdin, argon2 hash stored, errors exit 2 with
one line) and ``il2sim serve`` refusing a bad database URL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

IL2SIM = [sys.executable, "-m", "il2sim.cli.main"]


def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*IL2SIM, *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def _inproc(*args: str, stdin: str = "") -> tuple[int, str, str]:
    """The CLI in-process (as ``main()`` maps errors): (exit code, stdout, stderr line)."""
    from typer.testing import CliRunner

    from il2sim.cli.main import app
    from il2sim.errors import Il2simError

    r = CliRunner().invoke(app, list(args), input=stdin)
    if isinstance(r.exception, Il2simError):
        return 2, r.stdout, f"il2sim: error: {r.exception}\n"
    return r.exit_code, r.stdout, ""


def test_users_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'u.db'}"
    r = _run("users", "add", "alice", "--role", "statistician", "--password-stdin", "--db", url,
             stdin="a long enough password\n")  # fmt: skip
    assert r.returncode == 0 and "added alice" in r.stdout, r.stderr
    cases = [
        (["users", "add", "alice", "--role", "viewer", "--password-stdin"], "a password 123", "username"),
        (["users", "add", "bob", "--role", "king", "--password-stdin"], "a password 123", "role"),
        (["users", "add", "bob", "--role", "viewer", "--password-stdin"], "short", "password"),
        (["users", "add", "bob", "--role", "viewer"], "", "password"),
        (["users", "add", "bad name", "--role", "viewer", "--password-stdin"], "a password 123", "username"),
        (["users", "disable", "nobody"], "", "username"),
    ]  # fmt: skip
    for args, stdin, field in cases:
        code, out, err = _inproc(*args, "--db", url, stdin=stdin)
        assert code == 2, (args, out, err)
        assert err.startswith(f"il2sim: error: {field}:") and err.count("\n") == 1, err
    r = _run(
        "users", "add", "bob", "--role", "viewer", "--password-stdin", "--db", url, stdin="short\n"
    )
    assert r.returncode == 2 and r.stderr.startswith("il2sim: error: password:"), r.stderr
    assert r.stderr.count("\n") == 1
    code, out, _ = _inproc("users", "list", "--db", url, "--json")
    users = json.loads(out)["users"]
    assert [(u["username"], u["role"], u["disabled"]) for u in users] == [
        ("alice", "statistician", False)
    ]
    assert _inproc("users", "disable", "alice", "--db", url)[0] == 0
    code, out, _ = _inproc("users", "list", "--db", url)
    assert "disabled" in out and "password" not in out.lower()
    from il2sim.serve.db import open_database
    from il2sim.serve.models import User

    db = open_database(url)
    with db.read() as s:
        assert s.query(User).one().password_hash.startswith("$argon2id$")
    db.dispose()
    code, out, _ = _inproc("audit", "verify", "--db", url)
    assert code == 0 and "intact: 2 rows" in out


def test_bad_database_url(tmp_path: Path) -> None:
    code, _, err = _inproc("users", "list", "--db", "mysql://x/y")
    assert code == 2 and err.startswith("il2sim: error: db:")
    r = _run("serve", "--db", "postgresql://nobody@127.0.0.1:1/none", "--port", "8123")
    assert (
        r.returncode == 2 and "db: cannot open database" in r.stderr and "Traceback" not in r.stderr
    )
