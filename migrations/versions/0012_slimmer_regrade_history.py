"""regrade history keeps what undo needs: no copy of the new feedback (the submission holds it), no foreign keys
but to its regrade and submission (the user and the versions are the submission's, which checks them again when
undo writes them back), no index the unique (regrade, submission) key already gives

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 04:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('regrade_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regrade_changes_regrade_id'))
        for key in ('fk_regrade_changes_user_id_users', 'fk_regrade_changes_old_version_id_exercise_versions',
                    'fk_regrade_changes_new_version_id_exercise_versions'):
            batch_op.drop_constraint(batch_op.f(key), type_='foreignkey')
        batch_op.drop_column('new_feedback')


def downgrade():
    # the feedback after a regrade is the submission's until it changes again: the best copy there is
    with op.batch_alter_table('regrade_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('new_feedback', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_regrade_changes_user_id_users'), 'users', ['user_id'], ['id'],
                                    ondelete='CASCADE')
        for side in ('old', 'new'):
            batch_op.create_foreign_key(batch_op.f(f'fk_regrade_changes_{side}_version_id_exercise_versions'),
                                        'exercise_versions', [f'{side}_version_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_regrade_changes_regrade_id'), ['regrade_id'], unique=False)
    op.execute("UPDATE regrade_changes SET new_feedback = (SELECT feedback FROM submissions "
               "WHERE submissions.id = regrade_changes.submission_id)")
    with op.batch_alter_table('regrade_changes', schema=None) as batch_op:
        batch_op.alter_column('new_feedback', existing_type=sa.JSON(), nullable=False)
