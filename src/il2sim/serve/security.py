"""Passwords, sessions, CSRF tokens, roles and login rate limiting.

* Passwords: argon2id via argon2-cffi's :class:`~argon2.PasswordHasher` (its RFC 9106 low-memory
  defaults); a login for an unknown name verifies against a dummy hash so both take as long.
* Sessions: a random 256-bit token in an HttpOnly, SameSite=Strict cookie (``Secure`` under
  HTTPS); the database keeps only its SHA-256, a per-session CSRF token and an absolute expiry.
* CSRF: every state-changing request carries the session's token, in the ``X-CSRF-Token``
  header (JSON API) or the ``csrf_token`` form field (pages), compared in constant time.
* Roles: viewer < investigator < statistician for trial work; admin manages accounts (and
  reads).  ``ROLE_RANK`` orders the trial roles.
* Rate limiting: at most ``MAX_FAILURES_PER_USER`` failed logins per name and
  ``MAX_FAILURES_PER_CLIENT`` per client address in ``WINDOW_S`` seconds, then HTTP 429.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from il2sim.serve.models import ROLES, LoginFailure, User, WebSession

__all__ = [
    "COOKIE",
    "ROLE_RANK",
    "check_password",
    "hash_password",
    "new_token",
    "rate_limited",
    "token_digest",
]

COOKIE = "il2sim_session"
LOGIN_COOKIE = "il2sim_login_csrf"
SESSION_TTL_S = 12 * 3600.0
WINDOW_S = 900.0
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 30
MIN_PASSWORD_CHARS = 10
#: What each role may do with trials (admin: account management, read-only on trials).
ROLE_RANK: dict[str, int] = {"viewer": 0, "admin": 0, "investigator": 1, "statistician": 2}
assert set(ROLE_RANK) == set(ROLES)


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return str(_hasher().hash(secrets.token_urlsafe(16)))


def hash_password(password: str) -> str:
    """argon2id hash of ``password``."""
    return str(_hasher().hash(password))


def check_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; constant work whether or not the user exists."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(stored_hash or _dummy_hash(), password)) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A random URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """SHA-256 hex of a session token (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def tokens_equal(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two tokens (False if either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def rate_limited(s: Session, username: str, client: str, now: float | None = None) -> float:
    """Seconds to wait before another login attempt for ``username`` from ``client``
    (0 when allowed)."""
    t = time.time() if now is None else now
    since = t - WINDOW_S
    for col, value, cap in (
        (LoginFailure.username, username, MAX_FAILURES_PER_USER),
        (LoginFailure.client, client, MAX_FAILURES_PER_CLIENT),
    ):
        n, first = s.execute(
            select(func.count(), func.min(LoginFailure.at_epoch)).where(
                col == value, LoginFailure.at_epoch > since
            )
        ).one()
        if n >= cap:
            return max(1.0, float(first) + WINDOW_S - t)
    return 0.0


def record_failure(s: Session, username: str, client: str) -> None:
    """Store a failed login; forget failures older than the window."""
    t = time.time()
    s.execute(delete(LoginFailure).where(LoginFailure.at_epoch < t - WINDOW_S))
    s.add(LoginFailure(username=username[:64], client=client[:64], at_epoch=t))


def open_session(s: Session, user: User, created_at: str) -> tuple[str, str]:
    """Create a session for ``user``; returns (cookie token, CSRF token)."""
    token, csrf = new_token(), new_token()
    s.execute(delete(WebSession).where(WebSession.expires_epoch < time.time()))
    s.add(
        WebSession(
            token_sha256=token_digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=created_at,
            expires_epoch=time.time() + SESSION_TTL_S,
        )
    )
    return token, csrf


def session_user(s: Session, token: str | None) -> tuple[User, WebSession] | None:
    """The enabled user and session behind a cookie token, or None."""
    if not token or len(token) > 128:
        return None
    ws = s.get(WebSession, token_digest(token))
    if ws is None or ws.expires_epoch < time.time():
        return None
    user = s.get(User, ws.user_id)
    if user is None or user.disabled:
        return None
    return user, ws
