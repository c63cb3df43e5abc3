"""link invites also serve to link a person's second channel

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 16:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('link_invites', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=16), server_default='family', nullable=False))
        batch_op.create_check_constraint('purpose', "purpose IN ('family', 'channel')")


def downgrade() -> None:
    with op.batch_alter_table('link_invites', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_link_invites_purpose'), type_='check')
        batch_op.drop_column('purpose')
