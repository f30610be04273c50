"""Accounts and sessions, the errors the web layer turns into HTTP answers, and the one
definition of each entity's audited state (:func:`snapshot`).

Every change runs in one writing transaction (:meth:`~il2sim.serve.db.Database.write`) with its
audit row, so it is either fully there, audit included, or not at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from il2sim.serve import audit, security
from il2sim.serve.db import Database
from il2sim.serve.models import ROLES, User, WebSession
from il2sim.serve.snapshot import snapshot

__all__ = ["Principal", "ServeError", "create_user", "disable_user", "list_users", "snapshot"]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class ServeError(Exception):
    """A request the server refuses: HTTP ``status``, one-line ``message``, the ``field``."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        self.status = status
        self.field = field
        self.message = f"{field}: {message}" if field else message
        super().__init__(self.message)


@dataclass(frozen=True)
class Principal:
    """The authenticated user of a request."""

    user_id: int
    username: str
    role: str
    csrf_token: str

    def can(self, role: str) -> bool:
        """True when this user's trial role is at least ``role``; ``admin`` is admins only."""
        if role == "admin":
            return self.role == "admin"
        return security.ROLE_RANK[self.role] >= security.ROLE_RANK[role]

    def require(self, role: str) -> None:
        """Raise 403 unless :meth:`can`."""
        if not self.can(role):
            raise ServeError(403, f"needs the {role} role (you are {self.role})", "role")


def _check_username(username: str) -> str:
    if not isinstance(username, str) or not _NAME_RE.match(username):
        raise ServeError(422, f"1-64 letters, digits or . _ @ -, got {username!r}", "username")
    return username


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < security.MIN_PASSWORD_CHARS:
        raise ServeError(
            422, f"must have at least {security.MIN_PASSWORD_CHARS} characters", "password"
        )
    if len(password) > 1024:
        raise ServeError(422, "must have at most 1024 characters", "password")


def create_user(db: Database, actor: str, username: str, role: str, password: str) -> User:
    """Add an account (409 if the name exists)."""
    _check_username(username)
    if role not in ROLES:
        raise ServeError(422, f"choose one of {', '.join(ROLES)}, got {role!r}", "role")
    _check_password(password)
    pw_hash = security.hash_password(password)  # slow on purpose: outside the write lock
    with db.write() as s:
        if s.scalar(select(User).where(User.username == username)) is not None:
            raise ServeError(409, f"user {username!r} exists", "username")
        user = User(
            username=username,
            role=role,
            password_hash=pw_hash,
            disabled=False,
            created_at=audit.now_iso(),
        )
        s.add(user)
        s.flush()
        audit.append(s, actor, "add user", "user", username, after=snapshot(user))
    return user


def disable_user(db: Database, actor: str, username: str) -> None:
    """Disable an account and end its sessions (404 if unknown)."""
    with db.write() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise ServeError(404, f"no user {username!r}", "username")
        if user.disabled:
            return
        before = snapshot(user)
        user.disabled = True
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        s.flush()
        audit.append(
            s, actor, "disable user", "user", username, before=before, after=snapshot(user)
        )


def list_users(db: Database) -> list[dict[str, Any]]:
    """Every account (no hashes)."""
    with db.read() as s:
        return [
            {
                "username": u.username,
                "role": u.role,
                "disabled": bool(u.disabled),
                "created_at": u.created_at,
            }
            for u in s.scalars(select(User).order_by(User.username))
        ]


def login(db: Database, username: str, password: str, client: str) -> tuple[str, Principal]:
    """Check a login (429 when rate-limited, 401 when wrong); returns (cookie token, who)."""
    if not isinstance(username, str) or not isinstance(password, str) or len(username) > 64:
        raise ServeError(401, "wrong username or password")
    with db.read() as s:
        wait = security.rate_limited(s, username, client)
        user = s.scalar(select(User).where(User.username == username))
        stored = user.password_hash if user is not None and not user.disabled else None
        ident = (user.id, user.username, user.role) if stored is not None and user else None
    if wait > 0:
        raise ServeError(429, f"too many failed logins; try again in {int(wait) + 1} s")
    ok = security.check_password(stored, password[:1024])
    with db.write() as s:
        fresh = s.get(User, ident[0]) if ok and ident else None
        if fresh is None or fresh.disabled:
            security.record_failure(s, username, client)
        else:
            token, csrf = security.open_session(s, fresh, audit.now_iso())
            audit.append(s, username, "login", "session", username, after=None)
    if fresh is None or ident is None or fresh.disabled:
        raise ServeError(401, "wrong username or password")
    return token, Principal(ident[0], ident[1], ident[2], csrf)


def logout(db: Database, token: str, who: Principal) -> None:
    """End the session behind ``token``."""
    with db.write() as s:
        s.execute(delete(WebSession).where(WebSession.token_sha256 == security.token_digest(token)))
        audit.append(s, who.username, "logout", "session", who.username, after=None)


def authenticate(db: Database, token: str | None) -> Principal | None:
    """The principal behind a session cookie, or None."""
    if not token:
        return None
    with db.read() as s:
        found = security.session_user(s, token)
        if found is None:
            return None
        user, ws = found
        return Principal(user.id, user.username, user.role, ws.csrf_token)
