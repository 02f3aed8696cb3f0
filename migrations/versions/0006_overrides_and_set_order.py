"""overrides (a student's later due date, extra attempts); problem sets get a position and an archived flag

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assignment_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('extra_attempts', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_assignment_overrides_assignment_id_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_assignment_overrides_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_assignment_overrides_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_overrides')),
    sa.UniqueConstraint('assignment_id', 'user_id', name=op.f('uq_assignment_overrides_assignment_id_user_id'))
    )
    with op.batch_alter_table('assignment_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_overrides_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_overrides_user_id'), ['user_id'], unique=False)

    # Added nullable, filled, then required: no server default left behind to drift from the models.
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('archived', sa.Boolean(), nullable=True))
    op.execute(sa.text("UPDATE assignments SET position = 0, archived = :no").bindparams(no=False))
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.alter_column('position', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('archived', existing_type=sa.Boolean(), nullable=False)


def downgrade():
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('archived')
        batch_op.drop_column('position')
    with op.batch_alter_table('assignment_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_overrides_user_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_overrides_assignment_id'))
    op.drop_table('assignment_overrides')
