"""login throttle: one counter row per username or address hash, raised atomically

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-02 09:00:00

``staff_login_failures`` kept one row per failure, counted before the password was
checked and written after: thirty concurrent guesses all read "no failures" and were all
checked. ``staff_login_throttle`` is raised by an INSERT … ON CONFLICT DO UPDATE before the
check (care.staff_users). Failures in flight at the upgrade are forgotten: at worst a
locked name or address may try again at once.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_login_throttle',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_staff_login_throttle'))
    )
    with op.batch_alter_table('staff_login_throttle', schema=None) as batch_op:
        batch_op.create_index('ix_staff_login_throttle_last_at', ['last_at'], unique=False)

    with op.batch_alter_table('staff_login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_login_failures_key')
    op.drop_table('staff_login_failures')


def downgrade() -> None:
    op.create_table('staff_login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_login_failures'))
    )
    with op.batch_alter_table('staff_login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_staff_login_failures_key', ['key', 'at'], unique=False)

    with op.batch_alter_table('staff_login_throttle', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_login_throttle_last_at')
    op.drop_table('staff_login_throttle')
