"""Undoing a regrade restores the scores it replaced; what they earn is under the set's terms as they read at
the undo (an exercise's points, the late penalty, each student's lateness), as every rescore does: the points
stored at the regrade were under the terms of that moment, which may have changed since."""

from __future__ import annotations

import pytest

from grader import service
from grader.models import Submission, db
from grader.service.regrade import check_request, dry_run
from grader.service.regrade_commit import commit_regrade, undo_regrade
from tests.service.regrade_world import build


@pytest.fixture
def world(app):
    return build(app.config["EXERCISES_DIR"])


def test_undo_after_the_points_changed_restores_the_score_at_the_new_points(world):
    request = check_request(world.assignment, exercise="gate-multiply", change="tolerance", tolerance={"rtol": 0.25})
    plan = dry_run(world.teacher, world.assignment, request)
    regrade = commit_regrade(world.teacher, world.assignment, request, plan.token(), "tolerance too tight")
    three = world.students["three"]
    assert service.gradebook_cell(world.assignment, three).points == 4.0  # 1.0 of 4 points
    # the exercise is now worth 8 points: every graded submission is rescored at 8
    service.revise_assignment(world.assignment, [service.ItemSpec("gate-multiply", points=8),
                                                 service.ItemSpec("gate-add", points=2)])
    assert service.gradebook_cell(world.assignment, three).points == 8.0
    undo_regrade(world.teacher, regrade)
    db.session.expire_all()
    assert service.gradebook_cell(world.assignment, three).points == 4.0  # 0.5 of 8, not 0.5 of the old 4
    for sub in db.session.scalars(db.select(Submission).where(Submission.attempt.is_not(None))):
        assert sub.points == pytest.approx(sub.score * sub.item.points), sub.id
