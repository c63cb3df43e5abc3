"""conversation review: Rasa's events table (the event broker's) and NLU corrections

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 21:45:00

``events`` may already exist: a deployment that ran Rasa's stock SQLEventBroker on this
database created it with the same columns. Then only our index is added.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table('events'):
        op.create_table('events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sender_id', sa.String(length=255), nullable=True),
        sa.Column('data', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
        )
    indexes = {ix['name'] for ix in inspector.get_indexes('events')} if inspector.has_table('events') else set()
    if 'ix_events_sender_id' not in indexes:
        op.create_index('ix_events_sender_id', 'events', ['sender_id'], unique=False)
    op.create_table('nlu_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('predicted_intent', sa.String(length=80), nullable=True),
    sa.Column('correct_intent', sa.String(length=80), nullable=False),
    sa.Column('flagged_by', sa.String(length=80), nullable=False),
    sa.Column('flagged_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_nlu_corrections_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nlu_corrections')),
    sa.UniqueConstraint('event_id', name='uq_nlu_corrections_event_id')
    )


def downgrade() -> None:
    op.drop_table('nlu_corrections')
    op.drop_index('ix_events_sender_id', table_name='events')
    op.drop_table('events')
