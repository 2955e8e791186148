"""vehicle events, device keys, standing orders

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 07:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add ``vehicle_events``, ``standing_orders``, ``api_keys.vehicle_id`` and ``trips.standing_order_id``."""
    op.create_table('vehicle_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('vehicle_id', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('service_date', sa.String(length=10), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('at_s', sa.Float(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('trip_id', sa.String(length=40), nullable=True),
    sa.Column('answer', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('vehicle_id', 'event_id', name='uq_vehicle_event')
    )
    with op.batch_alter_table('vehicle_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_events_vehicle_id'), ['vehicle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vehicle_events_service_date'), ['service_date'], unique=False)
    op.create_table('standing_orders',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=True),
    sa.Column('user_ref', sa.String(length=64), nullable=True),
    sa.Column('pickup_lon', sa.Float(), nullable=False),
    sa.Column('pickup_lat', sa.Float(), nullable=False),
    sa.Column('dropoff_lon', sa.Float(), nullable=False),
    sa.Column('dropoff_lat', sa.Float(), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('start_date', sa.String(length=10), nullable=False),
    sa.Column('end_date', sa.String(length=10), nullable=False),
    sa.Column('earliest_pickup_s', sa.Integer(), nullable=False),
    sa.Column('latest_pickup_s', sa.Integer(), nullable=False),
    sa.Column('wheelchair', sa.Boolean(), nullable=False),
    sa.Column('companions', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.JSON(), nullable=False),
    sa.Column('ends_after', sa.String(length=10), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('standing_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_standing_orders_operator'), ['operator'], unique=False)
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vehicle_id', sa.String(length=16), nullable=True))
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.add_column(sa.Column('standing_order_id', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint('uq_trip_standing_order_day', ['standing_order_id', 'service_date'])


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.drop_constraint('uq_trip_standing_order_day', type_='unique')
        batch_op.drop_column('standing_order_id')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('vehicle_id')
    op.drop_table('standing_orders')
    op.drop_table('vehicle_events')
