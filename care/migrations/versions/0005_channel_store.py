"""channel receipts, tokens and inbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 15:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channel_receipts',
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'key', name=op.f('pk_channel_receipts'))
    )
    with op.batch_alter_table('channel_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_receipts_received_at'), ['received_at'], unique=False)

    op.create_table('channel_tokens',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_channel_tokens'))
    )
    op.create_table('channel_inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('sender_id', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_inbox'))
    )
    with op.batch_alter_table('channel_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_channel_inbox_pending', ['answered_at', 'channel', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('channel_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_inbox_pending')
    op.drop_table('channel_inbox')
    op.drop_table('channel_tokens')
    with op.batch_alter_table('channel_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_receipts_received_at'))
    op.drop_table('channel_receipts')
