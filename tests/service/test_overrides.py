"""Overrides: one student (or a group) gets a later due date and/or extra attempts; the service honours them
wherever a submission enters, rescores against the student's own due date, and everyone else keeps the set's
terms. Deleting a set with submissions is refused unless it is archived."""

from datetime import timedelta

import pytest

from grader import service
from grader.models import Assignment, db, utcnow
from grader.service import ItemSpec, ServiceError
from tests.service.conftest import assign, user

RIGHT = {"0": "-0.00262270"}  # seed-two-layer-w1-22 has fixed numbers


def closed_set(course, **settings):
    return service.create_assignment(course, [ItemSpec("seed-two-layer-w1-22", 2, 1)], title="Closed",
                                     due_at=utcnow() - timedelta(hours=1), late_policy="reject", **settings)


def test_a_later_due_date_lets_that_student_submit_and_no_one_else(course):
    alice, bob = user("alice"), user("bob")
    week = closed_set(course)
    service.set_override(week, ["alice"], due_at=utcnow() + timedelta(days=2))
    assert service.submit(alice, week, answers=RIGHT).points == 2.0
    with pytest.raises(ServiceError) as refused:
        service.submit(bob, week, answers=RIGHT)
    assert refused.value.code == "past_due"
    assert service.due_for(alice, week) > utcnow() > service.due_for(bob, week)


def test_extra_attempts_add_to_each_exercises_limit_for_that_student_only(course):
    alice, bob = user("alice"), user("bob")
    week = service.create_assignment(course, [ItemSpec("seed-two-layer-w1-22", 2, 1)], title="One try")
    service.set_override(week, ["alice", "bob"], extra_attempts=1)  # a group of two
    service.set_override(week, ["bob"], extra_attempts=0)  # bob's taken back
    for _ in range(2):
        service.submit(alice, week, answers={"0": "1"})
    assert service.attempts_left(alice, week) == 0
    service.submit(bob, week, answers={"0": "1"})
    with pytest.raises(ServiceError) as refused:
        service.submit(bob, week, answers={"0": "1"})
    assert refused.value.code == "no_attempts_left"


def test_lateness_is_judged_against_the_students_own_due_date_and_rescored_when_it_moves(course):
    alice = user("alice")
    week = service.create_assignment(course, [ItemSpec("seed-two-layer-w1-22", 2, None)], title="Penalty",
                                     due_at=utcnow() - timedelta(hours=1), late_policy="penalty", late_penalty=0.5)
    late = service.submit(alice, week, answers=RIGHT)
    assert late.late and late.points == 1.0
    service.set_override(week, ["alice"], due_at=utcnow() + timedelta(days=1))
    assert (late.late, late.points) == (False, 2.0)
    assert service.remove_override(week, "alice") is True
    assert (late.late, late.points) == (True, 1.0)


def test_overrides_refuse_non_students_and_empty_changes(course):
    week = closed_set(course)
    for names, kwargs in ((["teacher"], {"extra_attempts": 1}), (["nobody"], {"extra_attempts": 1}), (["alice"], {})):
        with pytest.raises(ServiceError) as refused:
            service.set_override(week, names, **kwargs)
        assert refused.value.status == 422
    assert week.overrides == []


def test_a_set_with_submissions_is_deleted_only_once_archived(course):
    alice = user("alice")
    week = assign(course, "seed-two-layer-w1-22")
    service.submit(alice, week, answers=RIGHT)
    with pytest.raises(ServiceError) as refused:
        service.delete_assignment(week)
    assert refused.value.status == 409
    service.update_assignment(week, {"archived": True})
    with pytest.raises(ServiceError):  # archived: hidden from students
        service.submit(alice, week, answers=RIGHT)
    service.delete_assignment(week)
    assert db.session.get(Assignment, week.id) is None
