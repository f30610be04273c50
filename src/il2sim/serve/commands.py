"""The ``il2sim serve``, ``il2sim users`` and ``il2sim audit`` commands.

Importing this module loads typer only; the server's libraries are imported when a command
runs.  Without ``--db`` every command uses the default database (``$IL2SIM_DB`` or a SQLite
file in ``~/.local/share/il2sim``).  Errors exit 2 with one line; ``audit verify`` exits 1
when the chain is broken.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="Database URL: sqlite:///FILE or postgresql://USER@HOST/DB."),
]


def _db_url(db: str | None) -> str:
    from il2sim.serve.config import default_db_url

    return db or default_db_url()


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        return "cli"


def _service_call(fn: object, *args: object) -> object:
    """Run a service function, turning its refusals into il2sim's one-line errors (exit 2)."""
    from il2sim.errors import InputError
    from il2sim.serve.service import ServeError

    try:
        return fn(*args)  # type: ignore[operator]
    except ServeError as exc:
        raise InputError(exc.message) from None


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``users`` and ``audit`` to the il2sim app."""

    @app.command("serve")
    def serve_cmd(
        db: DbOpt = None,
        host: Annotated[
            str, typer.Option(help="Bind address (loopback unless --allow-remote).")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
        allow_remote: Annotated[
            bool, typer.Option("--allow-remote", help="Allow a non-loopback --host (needs TLS).")
        ] = False,
        tls_cert: Annotated[
            Path | None, typer.Option("--tls-cert", help="TLS certificate (PEM).")
        ] = None,
        tls_key: Annotated[
            Path | None, typer.Option("--tls-key", help="TLS private key (PEM).")
        ] = None,
        behind_tls_proxy: Annotated[
            bool,
            typer.Option(
                "--behind-tls-proxy", help="State that a TLS-terminating proxy is in front."
            ),
        ] = False,
    ) -> None:
        """Run the web application for live dose-finding trials."""
        from il2sim.serve.config import ServeConfig

        cfg = ServeConfig(_db_url(db), host, port, allow_remote, tls_cert, tls_key,
                          behind_tls_proxy).check()  # fmt: skip
        from il2sim.serve.runner import run

        run(cfg)

    users = typer.Typer(help="Accounts of il2sim serve: add, list, disable.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def users_add(
        name: Annotated[str, typer.Argument(help="Username.")],
        role: Annotated[str, typer.Option(help="admin, statistician, investigator or viewer.")],
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Read the password from standard input.")
        ] = False,
        db: DbOpt = None,
    ) -> None:
        """Add an account (the password is read from stdin, never from the command line)."""
        from il2sim.errors import InputError
        from il2sim.serve import service
        from il2sim.serve.db import open_database

        if not password_stdin:
            raise InputError("give --password-stdin and the password on standard input",
                             field="password")  # fmt: skip
        password = sys.stdin.readline().rstrip("\r\n")
        database = open_database(_db_url(db))
        try:
            _service_call(service.create_user, database, _actor(), name, role, password)
        finally:
            database.dispose()
        print(f"added {name} ({role})")

    @users.command("list")
    def users_list(
        db: DbOpt = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """List the accounts."""
        from il2sim.serve import service
        from il2sim.serve.db import open_database

        database = open_database(_db_url(db))
        try:
            rows = service.list_users(database)
        finally:
            database.dispose()
        if json_out:
            print(json.dumps({"users": rows}, indent=2))
            return
        for r in rows:
            state = "disabled" if r["disabled"] else "active"
            print(f"{r['username']:<24} {r['role']:<13} {state:<9} {r['created_at']}")

    @users.command("disable")
    def users_disable(
        name: Annotated[str, typer.Argument(help="Username.")], db: DbOpt = None
    ) -> None:
        """Disable an account and end its sessions."""
        from il2sim.serve import service
        from il2sim.serve.db import open_database

        database = open_database(_db_url(db))
        try:
            _service_call(service.disable_user, database, _actor(), name)
        finally:
            database.dispose()
        print(f"disabled {name}")

    audit = typer.Typer(
        help="The tamper-evident audit trail of il2sim serve.", no_args_is_help=True
    )
    app.add_typer(audit, name="audit")

    @audit.command("verify")
    def audit_verify(
        db: DbOpt = None,
        json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Check the hash chain and the data against it: exit 0 intact, 1 naming the first bad row."""
        from il2sim.serve import audit as audit_mod
        from il2sim.serve.db import open_database

        database = open_database(_db_url(db), migrate=False)
        try:
            with database.read() as s:
                res = audit_mod.verify(s)
        finally:
            database.dispose()
        if json_out:
            print(json.dumps({"ok": res.ok, "rows": res.n_rows, "last_hash": res.last_hash,
                              "bad_row": res.bad_row, "problem": res.problem}, indent=2))  # fmt: skip
        else:
            print(res.message(), file=sys.stdout if res.ok else sys.stderr)
        if not res.ok:
            raise typer.Exit(1)
