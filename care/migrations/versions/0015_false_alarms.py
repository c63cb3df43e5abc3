"""false alarms: staff mark an alert as a false alarm (who and when), undoably; the
dashboard counts alarms per week by creation time

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10 09:00:00

``alerts.false_alarm_at`` / ``false_alarm_by`` are set by care.alerts.Alerts.mark_false_alarm
and cleared by its undo, ``false_alarm_resolved`` says the mark is what resolved the alert
(so the undo opens it again); existing alerts start unmarked. ``ix_alerts_created_at`` keeps the
dashboard's weekly count to the weeks it shows.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('false_alarm_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('false_alarm_by', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('false_alarm_resolved', sa.Boolean(), nullable=True))
        batch_op.create_index('ix_alerts_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_created_at')
        batch_op.drop_column('false_alarm_resolved')
        batch_op.drop_column('false_alarm_by')
        batch_op.drop_column('false_alarm_at')
