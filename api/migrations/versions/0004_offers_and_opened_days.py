"""booking offers stored with their expiry; opened service days

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add ``offers`` (a restart or another worker can book them) and ``opened_days`` (standing orders materialised)."""
    op.create_table('offers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('service_date', sa.String(length=10), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=True),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('earliest_pickup_s', sa.Float(), nullable=False),
    sa.Column('latest_pickup_s', sa.Float(), nullable=False),
    sa.Column('latest_dropoff_s', sa.Float(), nullable=True),
    sa.Column('pickup_eta_s', sa.Float(), nullable=False),
    sa.Column('dropoff_eta_s', sa.Float(), nullable=False),
    sa.Column('added_cost_tg', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('booked_trip_id', sa.String(length=40), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offers_expires_at'), ['expires_at'], unique=False)
    op.create_table('opened_days',
    sa.Column('service_date', sa.String(length=10), nullable=False),
    sa.Column('standing_orders', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('service_date')
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table('opened_days')
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offers_expires_at'))
    op.drop_table('offers')
