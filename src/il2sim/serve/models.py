"""Database tables (SQLAlchemy 2 declarative).  The schema itself is created by the Alembic
migrations in ``serve/migrations``; a test checks that the two agree.

Conventions: times are ISO 8601 UTC text (``2026-01-02T03:04:05.123456Z``) so that the audit
hash covers exactly what is stored on SQLite and PostgreSQL alike; JSON columns are canonical
JSON text (sorted keys).  Dose levels are numbered from 1.  Rows of ``cohorts``, ``patients``,
``decisions`` and ``audit`` are never updated or deleted (database triggers refuse it).

Concurrency: ``UNIQUE(trial_id, seq)`` on cohorts makes a second entry of the same cohort
number fail (HTTP 409), and the single ``audit_head`` row, locked by every writing transaction,
serialises the writers so that the audit chain has no forks or gaps.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AuditHead",
    "AuditRow",
    "Base",
    "Cohort",
    "Decision",
    "LoginFailure",
    "OcCache",
    "Patient",
    "Trial",
    "User",
    "WebSession",
]

ROLES: tuple[str, ...] = ("admin", "statistician", "investigator", "viewer")


class Base(DeclarativeBase):
    """Declarative base of every il2sim serve table."""


class User(Base):
    """An account.  ``password_hash`` is an argon2id hash (argon2-cffi)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[str] = mapped_column(String(32))


class WebSession(Base):
    """A login session; the cookie holds the token, the table only its SHA-256."""

    __tablename__ = "sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))
    expires_epoch: Mapped[float] = mapped_column(Float)


class LoginFailure(Base):
    """A failed login (for rate limiting): username tried, client address, epoch seconds."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at_epoch: Mapped[float] = mapped_column(Float)


class Trial(Base):
    """A trial and its protocol (canonical JSON).  ``protocol_sha256`` is the SHA-256 of
    ``protocol_json``; ``frozen_at`` is set when the first patient is entered, after which the
    protocol can no longer change.  ``status``: ``open`` or ``stopped``."""

    __tablename__ = "trials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    design: Mapped[str] = mapped_column(String(32))
    protocol_json: Mapped[str] = mapped_column(Text)
    protocol_sha256: Mapped[str] = mapped_column(String(64))
    frozen_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(32))


class Cohort(Base):
    """One entered cohort with the design's recommendation after it (stored, never recomputed).

    ``outcomes`` has one letter per patient (N no DLT, T DLT; E/B efficacy letters are kept for
    efficacy designs); ``dlt_days_json`` the DLT day per patient (null where none).
    """

    __tablename__ = "cohorts"
    __table_args__ = (UniqueConstraint("trial_id", "seq", name="uq_cohorts_trial_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    dose_level: Mapped[int] = mapped_column(Integer)
    outcomes: Mapped[str] = mapped_column(String(64))
    dlt_days_json: Mapped[str] = mapped_column(Text)
    n_patients: Mapped[int] = mapped_column(Integer)
    n_dlt: Mapped[int] = mapped_column(Integer)
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[str] = mapped_column(String(32))
    rec_next_dose: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rec_stop: Mapped[bool] = mapped_column(Boolean)
    rec_reason: Mapped[str] = mapped_column(Text)
    rec_mtd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rec_cohort_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rec_estimates_json: Mapped[str] = mapped_column(Text)
    deviation: Mapped[str] = mapped_column(Text, default="")


class Patient(Base):
    """One patient of a cohort: trial-wide number (from 1), outcome letter, DLT day."""

    __tablename__ = "patients"
    __table_args__ = (UniqueConstraint("trial_id", "patient_no", name="uq_patients_trial_no"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id"), index=True)
    patient_no: Mapped[int] = mapped_column(Integer)
    dose_level: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(1))
    dlt: Mapped[bool] = mapped_column(Boolean)
    dlt_day: Mapped[float | None] = mapped_column(Float, nullable=True)


class Decision(Base):
    """The team's decision after cohort ``cohort_seq``: ``follow`` the recommendation or
    ``override`` it (with a reason); ``next_dose`` is None when the trial stops."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("trial_id", "cohort_seq", name="uq_decisions_trial_cohort"),
        ForeignKeyConstraint(
            ["trial_id", "cohort_seq"], ["cohorts.trial_id", "cohorts.seq"], name="fk_dec_cohort"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    cohort_seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    next_dose: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stop: Mapped[bool] = mapped_column(Boolean)
    mtd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[str] = mapped_column(String(32))


class AuditRow(Base):
    """One audit entry.  ``hash`` = SHA-256 of the canonical JSON of every other column,
    including ``prev_hash`` (the previous row's hash; 64 zeros for row 1).  Ids are given
    explicitly (1, 2, 3, ...) so a removed row leaves a visible gap."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    trial_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    before_json: Mapped[str] = mapped_column(Text)
    after_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's head (one row, id 1): last audit id and hash.  Every writing transaction
    locks it first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite writers are serialised by
    ``BEGIN IMMEDIATE``)."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class OcCache(Base):
    """Operating characteristics computed for one protocol version (derived, not audited:
    the protocol and its seed determine them)."""

    __tablename__ = "oc_cache"
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), primary_key=True)
    protocol_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    result_json: Mapped[str] = mapped_column(Text)
