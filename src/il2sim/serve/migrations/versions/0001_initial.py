"""Initial schema: users, sessions, login failures, trials, cohorts, patients, decisions, the
audit trail and its head, the OC cache; triggers that make cohorts, patients, decisions and
audit append-only.

Revision ID: 0001
Revises:
Create Date: 2026-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: Tables whose rows are never updated or deleted.
APPEND_ONLY = ("audit", "cohorts", "patients", "decisions")


def _ts() -> sa.String:
    return sa.String(32)


def upgrade() -> None:
    """Create every table and the append-only triggers."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("expires_epoch", sa.Float, nullable=False),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("client", sa.String(64), nullable=False, index=True),
        sa.Column("at_epoch", sa.Float, nullable=False),
    )
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("design", sa.String(32), nullable=False),
        sa.Column("protocol_json", sa.Text, nullable=False),
        sa.Column("protocol_sha256", sa.String(64), nullable=False),
        sa.Column("frozen_at", _ts(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
    )
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trial_id", sa.Integer, sa.ForeignKey("trials.id"), nullable=False, index=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("dose_level", sa.Integer, nullable=False),
        sa.Column("outcomes", sa.String(64), nullable=False),
        sa.Column("dlt_days_json", sa.Text, nullable=False),
        sa.Column("n_patients", sa.Integer, nullable=False),
        sa.Column("n_dlt", sa.Integer, nullable=False),
        sa.Column("entered_by", sa.String(64), nullable=False),
        sa.Column("entered_at", _ts(), nullable=False),
        sa.Column("rec_next_dose", sa.Integer, nullable=True),
        sa.Column("rec_stop", sa.Boolean, nullable=False),
        sa.Column("rec_reason", sa.Text, nullable=False),
        sa.Column("rec_mtd", sa.Integer, nullable=True),
        sa.Column("rec_cohort_size", sa.Integer, nullable=True),
        sa.Column("rec_estimates_json", sa.Text, nullable=False),
        sa.Column("deviation", sa.Text, nullable=False),
        sa.UniqueConstraint("trial_id", "seq", name="uq_cohorts_trial_seq"),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trial_id", sa.Integer, sa.ForeignKey("trials.id"), nullable=False, index=True),
        sa.Column("cohort_id", sa.Integer, sa.ForeignKey("cohorts.id"), nullable=False, index=True),
        sa.Column("patient_no", sa.Integer, nullable=False),
        sa.Column("dose_level", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(1), nullable=False),
        sa.Column("dlt", sa.Boolean, nullable=False),
        sa.Column("dlt_day", sa.Float, nullable=True),
        sa.UniqueConstraint("trial_id", "patient_no", name="uq_patients_trial_no"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("trial_id", sa.Integer, sa.ForeignKey("trials.id"), nullable=False, index=True),
        sa.Column("cohort_seq", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("next_dose", sa.Integer, nullable=True),
        sa.Column("stop", sa.Boolean, nullable=False),
        sa.Column("mtd", sa.Integer, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False),
        sa.Column("decided_at", _ts(), nullable=False),
        sa.UniqueConstraint("trial_id", "cohort_seq", name="uq_decisions_trial_cohort"),
        sa.ForeignKeyConstraint(
            ["trial_id", "cohort_seq"], ["cohorts.trial_id", "cohorts.seq"], name="fk_dec_cohort"
        ),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("trial_id", sa.Integer, nullable=True, index=True),
        sa.Column("before_json", sa.Text, nullable=False),
        sa.Column("after_json", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last_id", sa.Integer, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "oc_cache",
        sa.Column("trial_id", sa.Integer, sa.ForeignKey("trials.id"), primary_key=True),
        sa.Column("protocol_sha256", sa.String(64), primary_key=True),
        sa.Column("result_json", sa.Text, nullable=False),
    )
    op.execute(
        sa.text("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, :h)").bindparams(
            h="0" * 64
        )
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for what in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION il2sim_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION il2sim_append_only()"
            )


def downgrade() -> None:
    """Drop everything (data is lost)."""
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS il2sim_append_only()")
    for table in (
        "oc_cache",
        "audit_head",
        "audit",
        "decisions",
        "patients",
        "cohorts",
        "trials",
        "login_failures",
        "sessions",
        "users",
    ):
        op.drop_table(table)
