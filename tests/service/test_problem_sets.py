"""Problem sets: several exercises under one due date, attempts per exercise, the set's score the sum of its
exercises', and the gradebook per set at a constant number of queries."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from grader import service
from grader.models import Exercise, Submission, db, utcnow
from grader.service import ItemSpec, ServiceError
from tests.service.conftest import user

SLUGS = ("two-layer-random", "seed-two-layer-w1-22", "seed-chain-w1-22")


def right_answers(student, exercise: Exercise) -> dict:
    _, variant = service.variant_for(student, exercise)
    return {str(i): variant.expected(ask).tolist() for i, ask in enumerate(variant.exercise.asks)}


def problem_set(course, **settings):
    specs = [ItemSpec("two-layer-random", 2, 3), ItemSpec("seed-two-layer-w1-22", 5, 1),
             ItemSpec("seed-chain-w1-22", 3, None)]
    return service.create_assignment(course, specs, title="Week 1", **settings)


def test_a_set_holds_its_exercises_in_order_and_its_points_are_their_sum(course):
    week = problem_set(course)
    assert [i.exercise.slug for i in week.items] == list(SLUGS) and [i.position for i in week.items] == [1, 2, 3]
    assert week.points == 10 and week.single is None


def test_attempts_are_counted_per_exercise_and_the_score_sums_them(course):
    alice = user("alice")
    week = problem_set(course)
    first, second, _ = week.items
    s1 = service.submit(alice, week, exercise=first.exercise.slug, answers=right_answers(alice, first.exercise))
    assert (s1.item_id, s1.attempt, s1.points) == (first.id, 1, 2.0)
    s2 = service.submit(alice, week, exercise=second.exercise.slug, answers={"0": "1"})  # wrong: 0 points
    assert (s2.item_id, s2.attempt, s2.points) == (second.id, 1, 0.0)
    assert service.attempts_left(alice, first) == 2 and service.attempts_left(alice, second) == 0
    with pytest.raises(ServiceError) as refused:  # the second exercise allows one attempt: it is used
        service.submit(alice, week, exercise=second.exercise.slug, answers={"0": "1"})
    assert refused.value.code == "no_attempts_left"
    assert service.assignment_score(alice, week) == 2.0
    assert service.item_scores(alice, week) == {first.id: 2.0, second.id: 0.0}


def test_a_set_of_several_must_be_told_which_exercise_and_refuses_one_it_does_not_hold(course):
    alice = user("alice")
    week = problem_set(course)
    for exercise, says in ((None, "several exercises"), ("gate-add", "no exercise 'gate-add'")):
        with pytest.raises(ServiceError) as refused:
            service.submit(alice, week, exercise=exercise, answers={"0": "1"})
        assert refused.value.status == 422 and says in refused.value.message and "exercise" in refused.value.errors
    assert db.session.scalar(select(Submission.id)) is None


def test_the_due_date_is_the_sets_for_every_exercise(course):
    alice = user("alice")
    week = problem_set(course, due_at=utcnow() - timedelta(hours=1), late_policy="reject")
    for item in week.items:
        with pytest.raises(ServiceError) as refused:
            service.submit(alice, week, exercise=item.exercise.slug, answers=right_answers(alice, item.exercise))
        assert refused.value.code == "past_due"


def test_creating_refuses_unknown_and_repeated_exercises_and_stores_nothing(course):
    for specs, where in (([ItemSpec("gate-add"), ItemSpec("no-such")], "exercises.1.exercise"),
                         ([ItemSpec("gate-add"), ItemSpec("gate-add")], "exercises.1.exercise"), ([], "exercises")):
        with pytest.raises(ServiceError) as refused:
            service.create_assignment(course, specs, title="bad")
        assert refused.value.status == 422 and where in refused.value.errors
        db.session.rollback()
    db.session.expire_all()
    assert course.assignments == []


def test_a_late_penalty_and_a_new_due_date_rescore_each_exercise_by_its_points(course):
    alice = user("alice")
    week = problem_set(course, late_policy="penalty", late_penalty=0.5, due_at=utcnow() - timedelta(hours=1))
    first = week.items[0]
    late = service.submit(alice, week, exercise=first.exercise.slug, answers=right_answers(alice, first.exercise))
    assert late.late and late.points == 1.0  # half of the exercise's 2 points
    assert service.update_assignment(week, {"due_at": utcnow() + timedelta(days=1)}) == 1
    assert (late.late, late.points) == (False, 2.0)
    with pytest.raises(ServiceError) as refused:  # points belong to each exercise of a larger set
        service.update_assignment(week, {"points": 4})
    assert refused.value.status == 422


def test_the_gradebook_sums_each_sets_exercises_in_a_constant_number_of_queries(course):
    alice, bob = user("alice"), user("bob")
    week = problem_set(course, scoring="best")
    first, second, third = week.items
    service.submit(alice, week, exercise=first.exercise.slug, answers=right_answers(alice, first.exercise))
    service.submit(alice, week, exercise=third.exercise.slug, answers=right_answers(alice, third.exercise))
    service.submit(bob, week, exercise=second.exercise.slug, answers={"0": "1"})
    statements = []

    def tally(conn, cursor, statement, *rest) -> None:
        statements.append(statement)

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", tally)
    try:
        book = service.gradebook(course)
    finally:
        event.remove(db.engine, "before_cursor_execute", tally)
    assert len(statements) <= 7  # constant: tests/service/test_gradebook.py compares 2 and 30 students
    assert book.score(alice, week) == 5.0 == service.assignment_score(alice, week)
    assert book.score(bob, week) == 0.0 == service.assignment_score(bob, week)
    assert book.total(alice) == 5.0
