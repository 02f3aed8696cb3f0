"""The student's course and problem-set pages while an attempt is queued for a grading worker (points not
known yet): the page answers 200 and counts what is graded (the best so far, where the set counts the best),
as the gradebook does, instead of a 500 or a blank from the queued row. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from grader import service
from grader.models import db
from grader.service.queued import queued_submission
from tests.instructor.problem_set_world import answer, make_set, world_fixture  # noqa: F401
from tests.service.conftest import user
from tests.web.conftest import login


def queue_next_attempt(graded, late: bool = False) -> None:
    """A second attempt at the same exercise, accepted and still waiting for its worker."""
    db.session.add(queued_submission(assignment_id=graded.assignment_id, item_id=graded.item_id,
                                     user_id=graded.user_id, exercise_version_id=graded.exercise_version_id,
                                     seed=graded.seed, attempt=graded.attempt + 1, code="def f(): pass", late=late))
    db.session.commit()


@pytest.mark.parametrize("scoring", ["best", "last"])
def test_the_course_page_answers_while_the_counted_attempt_is_queued(client, world, scoring):
    week = make_set(world.course, "Week 1", "seed-two-layer-w1-22", scoring=scoring)
    graded = service.submit(user("alice"), week, answers={"0": "1"})
    assert graded.attempt == 1, (graded.status, graded.feedback)
    queue_next_attempt(graded)
    login(client, "alice")
    page = client.get(f"/courses/{world.course.id}")
    assert page.status_code == 200, page.text[:300]
    book = service.gradebook(world.course)
    assert book.cell(user("alice"), week).earned == pytest.approx(graded.points or 0.0)


def test_a_set_counts_the_best_graded_attempt_not_the_queued_one(client, world):
    week = make_set(world.course, "Week 1", "seed-two-layer-w1-22", "seed-chain-w1-22", scoring="best")
    graded = service.submit(user("alice"), week, exercise="seed-two-layer-w1-22", answers={"0": "1"})
    graded.points = 0.75  # a partial score, so that "0" would be a visible difference
    db.session.commit()
    assert graded.attempt == 1, (graded.status, graded.feedback)
    queue_next_attempt(graded)
    login(client, "alice")
    page = client.get(f"/assignments/{week.id}")
    assert page.status_code == 200, page.text[:300]
    assert "0.75" in page.text
    assert service.gradebook(world.course).cell(user("alice"), week).earned == 0.75


def test_a_late_queued_last_attempt_under_a_penalty_shows_on_the_course_page(client, world):
    week = make_set(world.course, "Week 1", "seed-two-layer-w1-22", scoring="last", late_policy="penalty",
                    late_penalty=0.5, due_at=datetime(2020, 1, 1))
    graded = service.submit(user("alice"), week, answers={"0": "1"})
    assert graded.attempt == 1 and graded.late
    queue_next_attempt(graded, late=True)
    login(client, "alice")
    page = client.get(f"/courses/{world.course.id}")
    assert page.status_code == 200, page.text[:300]
    assert "late penalty 50%" in page.text
