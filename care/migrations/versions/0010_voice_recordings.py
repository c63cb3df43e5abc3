"""voice recordings: each voice turn's transcript, and its audio when consented, kept
for staff review until ``expires_at``

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 22:25:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voice_recordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('transcript', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('path', sa.String(length=255), nullable=True),
    sa.Column('content_type', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_voice_recordings_person_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_recordings'))
    )
    op.create_index('ix_voice_recordings_person_id', 'voice_recordings', ['person_id'], unique=False)
    op.create_index('ix_voice_recordings_expires_at', 'voice_recordings', ['expires_at'], unique=False)
    op.create_index('ix_voice_recordings_sender', 'voice_recordings', ['channel', 'sender_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_voice_recordings_sender', table_name='voice_recordings')
    op.drop_index('ix_voice_recordings_expires_at', table_name='voice_recordings')
    op.drop_index('ix_voice_recordings_person_id', table_name='voice_recordings')
    op.drop_table('voice_recordings')
