"""mood log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:48:09.976356
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('mood_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('mood', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("mood IN ('lonely', 'sad', 'ok')", name=op.f('ck_mood_log_mood')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_mood_log_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mood_log'))
    )
    with op.batch_alter_table('mood_log', schema=None) as batch_op:
        batch_op.create_index('ix_mood_log_conversation', ['conversation_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mood_log_person_id'), ['person_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('mood_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mood_log_person_id'))
        batch_op.drop_index('ix_mood_log_conversation')

    op.drop_table('mood_log')

