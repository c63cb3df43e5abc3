"""wechat nonces: each signed WeChat callback's (timestamp, nonce) and the message it
carried, kept while that timestamp is accepted, so a signed query string cannot be
replayed with another body (care/nonces.py)

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wechat_nonces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('message', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_nonces')),
    sa.UniqueConstraint('timestamp', 'nonce', name=op.f('uq_wechat_nonces_timestamp'))
    )
    op.create_index('ix_wechat_nonces_expires_at', 'wechat_nonces', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_wechat_nonces_expires_at', table_name='wechat_nonces')
    op.drop_table('wechat_nonces')
