"""regrades (the audit record of each committed regrade) and the submissions each changed, with their old values

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('regrades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('submission_ids', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('committed_at', sa.DateTime(), nullable=True),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.Column('undone_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_regrades_assignment_id_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_regrades_course_id_courses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_regrades_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_regrades_job_id_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['undone_by'], ['users.id'], name=op.f('fk_regrades_undone_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regrades'))
    )
    with op.batch_alter_table('regrades', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regrades_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_regrades_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_regrades_created_at'), ['created_at'], unique=False)

    op.create_table('regrade_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('regrade_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('old_score', sa.Double(), nullable=True),
    sa.Column('old_points', sa.Double(), nullable=True),
    sa.Column('old_feedback', sa.JSON(), nullable=False),
    sa.Column('old_mistakes', sa.JSON(), nullable=False),
    sa.Column('old_version_id', sa.Integer(), nullable=False),
    sa.Column('new_score', sa.Double(), nullable=True),
    sa.Column('new_points', sa.Double(), nullable=True),
    sa.Column('new_mistakes', sa.JSON(), nullable=False),
    sa.Column('new_feedback', sa.JSON(), nullable=False),
    sa.Column('new_version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['new_version_id'], ['exercise_versions.id'], name=op.f('fk_regrade_changes_new_version_id_exercise_versions')),
    sa.ForeignKeyConstraint(['old_version_id'], ['exercise_versions.id'], name=op.f('fk_regrade_changes_old_version_id_exercise_versions')),
    sa.ForeignKeyConstraint(['regrade_id'], ['regrades.id'], name=op.f('fk_regrade_changes_regrade_id_regrades'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_regrade_changes_submission_id_submissions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_regrade_changes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regrade_changes')),
    sa.UniqueConstraint('regrade_id', 'submission_id', name=op.f('uq_regrade_changes_regrade_id_submission_id'))
    )
    with op.batch_alter_table('regrade_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regrade_changes_regrade_id'), ['regrade_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_regrade_changes_submission_id'), ['submission_id'], unique=False)


def downgrade():
    with op.batch_alter_table('regrade_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regrade_changes_submission_id'))
        batch_op.drop_index(batch_op.f('ix_regrade_changes_regrade_id'))

    op.drop_table('regrade_changes')
    with op.batch_alter_table('regrades', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regrades_created_at'))
        batch_op.drop_index(batch_op.f('ix_regrades_course_id'))
        batch_op.drop_index(batch_op.f('ix_regrades_assignment_id'))

    op.drop_table('regrades')
