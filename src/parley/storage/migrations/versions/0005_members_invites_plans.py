"""workspace members, invites, usage tiers, priority capacity, spend limits in cents

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00.000000
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _spend_limit_id() -> str:
    # The application's ``spl_01…`` shape, for rows that existed before ids did.
    return "spl_01" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("tier", sa.String(length=64), nullable=True))
    op.create_table(
        "workspace_members",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"]),
        sa.PrimaryKeyConstraint("workspace_id", "user_id"),
    )
    op.create_index("ix_workspace_members_user", "workspace_members", ["user_id"])
    op.create_table(
        "invites",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.String(length=64), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_invites_email", "invites", ["email"])
    op.create_table(
        "tier_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_tier", sa.String(length=64), nullable=False),
        sa.Column("to_tier", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("spend_cents", sa.String(length=40), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "priority_commitments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("input_tokens_per_minute", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens_per_minute", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "scope_id"),
    )
    _spend_limits_in_cents()


def _spend_limits_in_cents() -> None:
    """Spend limits gain the SDK's id and are kept in whole cents (``amount``)."""
    with op.batch_alter_table("spend_limits") as batch:
        batch.add_column(sa.Column("public_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("amount_cents", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
    table = sa.table(
        "spend_limits",
        sa.column("id", sa.Integer()),
        sa.column("public_id", sa.String()),
        sa.column("monthly_usd", sa.Float()),
        sa.column("amount_cents", sa.BigInteger()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(table.c.id, table.c.monthly_usd, table.c.updated_at))
    for row_id, usd, updated in list(rows):
        connection.execute(
            table.update()
            .where(table.c.id == row_id)
            .values(
                public_id=_spend_limit_id(),
                amount_cents=None if usd is None else round(usd * 100),
                created_at=updated or datetime.now(UTC),
            )
        )
    with op.batch_alter_table("spend_limits") as batch:
        batch.alter_column("public_id", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("created_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.create_unique_constraint("uq_spend_limits_public_id", ["public_id"])
        batch.drop_column("monthly_usd")


def downgrade() -> None:
    with op.batch_alter_table("spend_limits") as batch:
        batch.add_column(sa.Column("monthly_usd", sa.Float(), nullable=True))
    op.execute("UPDATE spend_limits SET monthly_usd = amount_cents / 100.0")
    with op.batch_alter_table("spend_limits") as batch:
        batch.drop_constraint("uq_spend_limits_public_id", type_="unique")
        batch.drop_column("created_at")
        batch.drop_column("amount_cents")
        batch.drop_column("public_id")
    op.drop_table("priority_commitments")
    op.drop_table("tier_changes")
    op.drop_index("ix_invites_email", table_name="invites")
    op.drop_table("invites")
    op.drop_index("ix_workspace_members_user", table_name="workspace_members")
    op.drop_table("workspace_members")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("tier")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("removed_at")
