"""problem sets: an assignment holds ordered items (exercise, points, attempt limit); submissions name their item

Every existing assignment becomes a set of one: its exercise, points and attempt limit move to its single item
(position 1), and each of its submissions answers that item. Attempts are numbered per item from now on, which
for a set of one is the numbering they already had. Scores, points, seeds and variants are not touched.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('assignment_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('exercise_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('points', sa.Double(), nullable=False),
    sa.Column('attempt_limit', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_assignment_items_assignment_id_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['exercise_id'], ['exercises.id'], name=op.f('fk_assignment_items_exercise_id_exercises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_items')),
    sa.UniqueConstraint('assignment_id', 'exercise_id', name=op.f('uq_assignment_items_assignment_id_exercise_id'))
    )
    with op.batch_alter_table('assignment_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_items_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_items_exercise_id'), ['exercise_id'], unique=False)

    # A set of one per assignment, its item numbered like the assignment (so a submission finds its item by
    # the assignment it already names).
    op.execute("INSERT INTO assignment_items (id, assignment_id, exercise_id, position, points, attempt_limit) "
               "SELECT id, id, exercise_id, 1, points, attempt_limit FROM assignments")
    if op.get_bind().dialect.name == 'postgresql':  # the ids were given: move the sequence past them
        op.execute("SELECT setval(pg_get_serial_sequence('assignment_items', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM assignment_items), 0) + 1, false)")

    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('item_id', sa.Integer(), nullable=True))
    op.execute("UPDATE submissions SET item_id = assignment_id")
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.alter_column('item_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_submissions_assignment_id_user_id_attempt'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_submissions_item_id_user_id_attempt'), ['item_id', 'user_id', 'attempt'])
        batch_op.create_index(batch_op.f('ix_submissions_item_id'), ['item_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_submissions_item_id_assignment_items'), 'assignment_items', ['item_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignments_exercise_id'))
        batch_op.drop_constraint(batch_op.f('fk_assignments_exercise_id_exercises'), type_='foreignkey')
        batch_op.drop_column('exercise_id')
        batch_op.drop_column('attempt_limit')
        batch_op.drop_column('points')


def downgrade():
    # Back to one exercise per assignment: each set keeps its first item (by position); the submissions to its
    # other items are dropped, since the old schema has nowhere to put them.
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('points', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('attempt_limit', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('exercise_id', sa.Integer(), nullable=True))
    first = ("(SELECT {column} FROM assignment_items i WHERE i.assignment_id = assignments.id "
             "ORDER BY i.position, i.id LIMIT 1)")
    op.execute("UPDATE assignments SET " + ", ".join(
        f"{column} = {first.format(column=column)}" for column in ('exercise_id', 'points', 'attempt_limit')))
    op.execute("DELETE FROM assignments WHERE exercise_id IS NULL")
    op.execute("DELETE FROM submissions WHERE item_id NOT IN (SELECT (SELECT i.id FROM assignment_items i "
               "WHERE i.assignment_id = a.id ORDER BY i.position, i.id LIMIT 1) FROM assignments a)")
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.alter_column('points', existing_type=sa.Double(), nullable=False)
        batch_op.alter_column('exercise_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_assignments_exercise_id_exercises'), 'exercises', ['exercise_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_assignments_exercise_id'), ['exercise_id'], unique=False)

    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_submissions_item_id_assignment_items'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_submissions_item_id'))
        batch_op.drop_constraint(batch_op.f('uq_submissions_item_id_user_id_attempt'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_submissions_assignment_id_user_id_attempt'), ['assignment_id', 'user_id', 'attempt'])
        batch_op.drop_column('item_id')

    with op.batch_alter_table('assignment_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_items_exercise_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_items_assignment_id'))
    op.drop_table('assignment_items')
