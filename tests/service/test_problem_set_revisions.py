"""Revising a problem set as the workspace's edit form does (settings and exercises in one transaction, a
rescore where the terms changed), moving it among the course's sets, and the checks every caller gets."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from grader import service
from grader.models import Assignment, AssignmentItem, db, utcnow
from grader.service import ItemSpec, ServiceError
from tests.service.conftest import user
from tests.service.test_problem_sets import problem_set, right_answers


def test_new_points_rescore_and_a_new_exercise_joins_in_its_place(course):
    alice = user("alice")
    week = problem_set(course)
    first = week.items[0]
    graded = service.submit(alice, week, exercise=first.exercise.slug, answers=right_answers(alice, first.exercise))
    assert graded.points == 2.0
    specs = [ItemSpec("gate-add", 1, None), ItemSpec("two-layer-random", 4, 5), ItemSpec("seed-two-layer-w1-22", 5, 1),
             ItemSpec("seed-chain-w1-22", 3, None)]
    assert service.revise_assignment(week, specs, title="Week 1 (revised)", late_policy="accept") == 1
    db.session.expire_all()
    assert graded.points == 4.0 and graded.item_id == first.id  # its item kept, its points the new ones
    assert [(i.exercise.slug, i.position, i.points, i.attempt_limit) for i in week.items] == [
        ("gate-add", 1, 1.0, None), ("two-layer-random", 2, 4.0, 5), ("seed-two-layer-w1-22", 3, 5.0, 1),
        ("seed-chain-w1-22", 4, 3.0, None)]
    # unchanged terms: nothing to rescore
    assert service.revise_assignment(week, specs, title="Again") == 0


def test_an_exercise_left_out_goes_unless_answered_and_a_refusal_changes_nothing(course):
    alice = user("alice")
    week = problem_set(course)
    first, second, third = week.items
    service.submit(alice, week, exercise=first.exercise.slug, answers=right_answers(alice, first.exercise))
    service.revise_assignment(week, [ItemSpec(first.exercise.slug, 2, 3), ItemSpec(third.exercise.slug, 3)])
    db.session.expire_all()
    assert [i.exercise.slug for i in week.items] == [first.exercise.slug, third.exercise.slug]
    assert db.session.get(AssignmentItem, second.id) is None
    for specs, status, where in (([ItemSpec(third.exercise.slug)], 409, "exercises"),
                                 ([ItemSpec(first.exercise.slug, -1)], 422, "exercises.0.points"),
                                 ([ItemSpec(first.exercise.slug, 1, 0)], 422, "exercises.0.attempts")):
        with pytest.raises(ServiceError) as refused:
            service.revise_assignment(week, specs, title="Changed", due_at=utcnow())
        assert refused.value.status == status and where in refused.value.errors
        db.session.rollback()
        db.session.expire_all()
        assert week.title == "Week 1" and week.due_at is None and len(week.items) == 2


@pytest.mark.parametrize(("settings", "where"), [({"late_penalty": 1.5}, "late_penalty"),
                                                 ({"late_penalty": float("nan")}, "late_penalty"),
                                                 ({"late_policy": "maybe"}, "late_policy"),
                                                 ({"scoring": "worst"}, "scoring"), ({"title": "x" * 201}, "title")])
def test_settings_out_of_range_are_refused_for_every_caller(course, settings, where):
    with pytest.raises(ServiceError) as refused:
        service.create_assignment(course, [ItemSpec("gate-add")], **settings)
    assert refused.value.status == 422 and where in refused.value.errors
    assert db.session.scalar(select(Assignment.id)) is None


def test_moving_renumbers_the_courses_sets_in_their_order(course):
    now = utcnow()
    sets = [service.create_assignment(course, [ItemSpec("gate-add")], title=title, due_at=now + timedelta(days=d))
            for title, d in (("B", 2), ("A", 1), ("C", 3))]  # all at position 0: by due date
    assert [a.title for a in service.in_order(course.assignments)] == ["A", "B", "C"]
    assert service.move_assignment(sets[2], -1)
    assert [(a.title, a.position) for a in service.in_order(course.assignments)] == [("A", 1), ("C", 2), ("B", 3)]
    assert not service.move_assignment(sets[1], -1)  # A is first
    assert service.next_position(course) == 4
    assert [(r.assignment.title, r.submissions, r.overrides) for r in service.problem_sets(course)] == [
        ("A", 0, 0), ("C", 0, 0), ("B", 0, 0)]
