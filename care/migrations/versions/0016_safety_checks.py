"""safety checks: a possible danger opens a ``check`` alert that escalates at ``due_at``

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 23:10:00

A message read as possible danger (a fall with nothing said about injury, "胸口有点闷")
gets one question instead of the alarm. Its ``check`` alert is open until the answer:
help needed (or no answer by ``alerts.due_at``, 3 minutes by default) escalates it to an
emergency alert and the family; "没事" closes it with a note for staff.
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('emergency', 'crisis', 'handoff', 'loneliness_risk', 'message_failed')"
NEW_KINDS = (
    "kind IN ('emergency', 'crisis', 'handoff', 'loneliness_risk', 'message_failed', 'check')"
)


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', sa.DateTime(), nullable=True))
        batch_op.drop_constraint(op.f('ck_alerts_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alerts_kind'), NEW_KINDS)
        batch_op.create_index('ix_alerts_due', ['status', 'due_at'])


def downgrade() -> None:
    # The old constraint cannot hold these alerts: they are resolved history by then.
    op.execute("DELETE FROM alerts WHERE kind = 'check'")
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_due')
        batch_op.drop_constraint(op.f('ck_alerts_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alerts_kind'), OLD_KINDS)
        batch_op.drop_column('due_at')
