"""inbox lease: one process answers a held message

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 16:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('channel_inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leased_until', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('channel_inbox', schema=None) as batch_op:
        batch_op.drop_column('leased_until')
