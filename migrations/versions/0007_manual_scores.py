"""manual scores for one student's problem set, the grade log that records each change, and users' email

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))

    op.create_table('manual_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Double(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_by', sa.Integer(), nullable=True),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_manual_scores_assignment_id_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['set_by'], ['users.id'], name=op.f('fk_manual_scores_set_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_manual_scores_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_scores')),
    sa.UniqueConstraint('assignment_id', 'user_id', name=op.f('uq_manual_scores_assignment_id_user_id'))
    )
    with op.batch_alter_table('manual_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manual_scores_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_manual_scores_user_id'), ['user_id'], unique=False)

    op.create_table('grade_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('old_points', sa.Double(), nullable=True),
    sa.Column('new_points', sa.Double(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_grade_changes_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_grade_changes_assignment_id_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_grade_changes_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_grade_changes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grade_changes'))
    )
    with op.batch_alter_table('grade_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grade_changes_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grade_changes_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_grade_changes_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_grade_changes_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('grade_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grade_changes_user_id'))
        batch_op.drop_index(batch_op.f('ix_grade_changes_created_at'))
        batch_op.drop_index(batch_op.f('ix_grade_changes_course_id'))
        batch_op.drop_index(batch_op.f('ix_grade_changes_assignment_id'))
    op.drop_table('grade_changes')
    with op.batch_alter_table('manual_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_scores_user_id'))
        batch_op.drop_index(batch_op.f('ix_manual_scores_assignment_id'))
    op.drop_table('manual_scores')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')
