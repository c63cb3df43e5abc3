"""link invites

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 15:48:09.411021
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('link_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identity_key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_attempts'))
    )
    with op.batch_alter_table('link_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_link_attempts_identity', ['identity_key', 'at'], unique=False)

    op.create_table('link_invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('relation_hint', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('used_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['elder_id'], ['people.id'], name=op.f('fk_link_invites_elder_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['used_by_id'], ['people.id'], name=op.f('fk_link_invites_used_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_invites')),
    sa.UniqueConstraint('code', name=op.f('uq_link_invites_code'))
    )
    with op.batch_alter_table('link_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_invites_elder_id'), ['elder_id'], unique=False)

    with op.batch_alter_table('family_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('elder_called', sa.String(length=40), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('family_links', schema=None) as batch_op:
        batch_op.drop_column('elder_called')

    with op.batch_alter_table('link_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_invites_elder_id'))

    op.drop_table('link_invites')
    with op.batch_alter_table('link_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_link_attempts_identity')

    op.drop_table('link_attempts')
