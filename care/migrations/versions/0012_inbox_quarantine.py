"""inbox quarantine: a message whose processing crashed its process is set aside, not
replayed, and staff get a ``message_failed`` alert for it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 19:00:00

``channel_inbox.working_since`` is set before a message's work begins and cleared when it
ends; a row still marked once its lease lapsed crashed its process and is quarantined
(``quarantined_at``). Rows already in the inbox start unmarked: they are replayed once,
as before.
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('emergency', 'crisis', 'handoff', 'loneliness_risk')"
NEW_KINDS = "kind IN ('emergency', 'crisis', 'handoff', 'loneliness_risk', 'message_failed')"


def upgrade() -> None:
    with op.batch_alter_table('channel_inbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('working_since', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('quarantined_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alerts_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alerts_kind'), NEW_KINDS)


def downgrade() -> None:
    # The old constraint cannot hold these alerts: they are resolved history by then.
    op.execute("DELETE FROM alerts WHERE kind = 'message_failed'")
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alerts_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alerts_kind'), OLD_KINDS)
    with op.batch_alter_table('channel_inbox', schema=None) as batch_op:
        batch_op.drop_column('quarantined_at')
        batch_op.drop_column('working_since')
