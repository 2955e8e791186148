"""idempotency request hash; the accepted plan per day and vehicle

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Add ``idempotency.request_hash`` and the ``plan_routes`` table."""
    with op.batch_alter_table('idempotency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_hash', sa.String(length=64), nullable=True))
    op.create_table('plan_routes',
    sa.Column('service_date', sa.String(length=10), nullable=False),
    sa.Column('vehicle_id', sa.String(length=16), nullable=False),
    sa.Column('stops', sa.JSON(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('service_date', 'vehicle_id')
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table('plan_routes')
    with op.batch_alter_table('idempotency', schema=None) as batch_op:
        batch_op.drop_column('request_hash')
