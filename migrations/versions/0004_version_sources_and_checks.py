"""exercise versions keep their YAML source and their question-test report

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exercise_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('checks', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('exercise_versions', schema=None) as batch_op:
        batch_op.drop_column('checks')
        batch_op.drop_column('source')
