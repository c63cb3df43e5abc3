"""conversation index: a summary of each conversation (sender) kept from ``events``, so
every console filter is SQL over all of them; NLU corrections outlive their conversation

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 01:00:00

The summary starts empty with its watermark at 0: the first catch-up
(care.conversation_index) reads the existing events. ``nlu_corrections`` loses its
cascade: retention deletes a conversation's events but keeps the corrections' text and
intents (training data), with ``event_id`` and ``sender_id`` cleared.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_index_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_event_id', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_conversation_index_state_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_index_state'))
    )
    op.execute("INSERT INTO conversation_index_state (id, last_event_id) VALUES (1, 0)")
    op.create_table('conversation_summaries',
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('first_at', sa.DateTime(), nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.Column('last_event_id', sa.Integer(), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=True),
    sa.Column('turn_count', sa.Integer(), nullable=False),
    sa.Column('handed_off', sa.Boolean(), nullable=False),
    sa.Column('min_confidence', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['elder_id'], ['people.id'], name=op.f('fk_conversation_summaries_elder_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('sender_id', name=op.f('pk_conversation_summaries'))
    )
    op.create_index('ix_conversation_summaries_last_at', 'conversation_summaries', ['last_at'], unique=False)
    op.create_index('ix_conversation_summaries_last_event_id', 'conversation_summaries', ['last_event_id'], unique=False)
    op.create_table('conversation_facets',
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=80), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.CheckConstraint("kind IN ('channel', 'language', 'intent')", name=op.f('ck_conversation_facets_kind')),
    sa.ForeignKeyConstraint(['sender_id'], ['conversation_summaries.sender_id'], name=op.f('fk_conversation_facets_sender_id_conversation_summaries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('kind', 'value', 'sender_id', name=op.f('pk_conversation_facets'))
    )
    op.create_index('ix_conversation_facets_sender_id', 'conversation_facets', ['sender_id'], unique=False)
    op.create_table('conversation_turns',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['sender_id'], ['conversation_summaries.sender_id'], name=op.f('fk_conversation_turns_sender_id_conversation_summaries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_conversation_turns'))
    )
    op.create_index('ix_conversation_turns_at', 'conversation_turns', ['at', 'sender_id'], unique=False)
    op.create_index('ix_conversation_turns_sender_at', 'conversation_turns', ['sender_id', 'at'], unique=False)
    with op.batch_alter_table('nlu_corrections') as batch_op:
        batch_op.alter_column('event_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('sender_id', existing_type=sa.String(length=255), nullable=True)
        batch_op.drop_constraint('fk_nlu_corrections_event_id_events', type_='foreignkey')
        batch_op.create_foreign_key('fk_nlu_corrections_event_id_events', 'events', ['event_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    # Corrections whose conversation retention deleted cannot point at it again.
    op.execute("DELETE FROM nlu_corrections WHERE event_id IS NULL OR sender_id IS NULL")
    with op.batch_alter_table('nlu_corrections') as batch_op:
        batch_op.drop_constraint('fk_nlu_corrections_event_id_events', type_='foreignkey')
        batch_op.create_foreign_key('fk_nlu_corrections_event_id_events', 'events', ['event_id'], ['id'], ondelete='CASCADE')
        batch_op.alter_column('sender_id', existing_type=sa.String(length=255), nullable=False)
        batch_op.alter_column('event_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index('ix_conversation_turns_sender_at', table_name='conversation_turns')
    op.drop_index('ix_conversation_turns_at', table_name='conversation_turns')
    op.drop_table('conversation_turns')
    op.drop_index('ix_conversation_facets_sender_id', table_name='conversation_facets')
    op.drop_table('conversation_facets')
    op.drop_index('ix_conversation_summaries_last_event_id', table_name='conversation_summaries')
    op.drop_index('ix_conversation_summaries_last_at', table_name='conversation_summaries')
    op.drop_table('conversation_summaries')
    op.drop_table('conversation_index_state')
