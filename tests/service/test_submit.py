"""The service: variants, grading and storing, attempts, due dates, versions, atomicity."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from grader import authoring, service
from grader.models import Exercise, Submission, db, utcnow
from grader.service import ServiceError
from tests.service.conftest import assign, make_user, user


def right_answer(student, assignment) -> dict:
    _, variant = service.variant_for(student, assignment.exercise)
    return {str(i): variant.expected(ask).tolist() for i, ask in enumerate(variant.exercise.asks)}


def test_a_correct_submission_is_graded_and_stored(course):
    alice = user("alice")
    assignment = assign(course, "two-layer-random", attempt_limit=3, points=10)
    submission = service.submit(alice, assignment, answers=right_answer(alice, assignment))
    assert submission.status == "graded" and submission.score == 1.0 and submission.points == 10
    assert submission.attempt == 1
    stored = db.session.get(Submission, submission.id)
    assert stored.feedback["parts"][0]["status"] == "correct"
    assert service.attempts_left(alice, assignment) == 2


def test_variants_are_per_student_and_stable(course):
    alice, bob = user("alice"), user("bob")
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == "two-layer-random"))
    a1, _ = service.variant_for(alice, exercise)
    a2, _ = service.variant_for(alice, exercise)
    b, _ = service.variant_for(bob, exercise)
    assert a1.seed == a2.seed != b.seed


def test_format_errors_do_not_use_an_attempt(course):
    alice = user("alice")
    assignment = assign(course, "seed-two-layer-w1-22", attempt_limit=1)
    submission = service.submit(alice, assignment, answers={"0": "not a number"})
    assert submission.status == "invalid" and submission.attempt is None and submission.score is None
    assert service.attempts_left(alice, assignment) == 1


def test_the_attempt_limit_holds(course):
    alice = user("alice")
    assignment = assign(course, "seed-two-layer-w1-22", attempt_limit=2)
    for _ in range(2):
        service.submit(alice, assignment, answers={"0": "0.5"})
    with pytest.raises(ServiceError) as info:
        service.submit(alice, assignment, answers={"0": "-0.0026227"})
    assert info.value.status == 409 and info.value.code == "no_attempts_left"
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 2


def test_best_or_last_attempt(course):
    alice = user("alice")
    best = assign(course, "seed-two-layer-w1-22", scoring="best")
    last = assign(course, "seed-chain-w1-22", scoring="last")
    service.submit(alice, best, answers={"0": "-0.0026227"})
    service.submit(alice, best, answers={"0": "1"})
    assert service.assignment_score(alice, best) == 1.0
    service.submit(alice, last, answers={str(i): "-0.309" if i == 0 else "1" for i in range(5)})
    service.submit(alice, last, answers={str(i): "1" for i in range(5)})
    assert service.assignment_score(alice, last) == 0.0


def test_due_dates_and_late_policies(course):
    alice = user("alice")
    past = utcnow() - timedelta(hours=1)
    closed = assign(course, "seed-two-layer-w1-22", due_at=past, late_policy="reject")
    with pytest.raises(ServiceError) as info:
        service.submit(alice, closed, answers={"0": "-0.0026227"})
    assert info.value.code == "past_due"
    penalised = assign(course, "seed-chain-w1-22", due_at=past, late_policy="penalty", late_penalty=0.5,
                       points=2)
    submission = service.submit(alice, penalised, answers={str(i): "1" for i in range(5)} | {"0": "-0.309"})
    assert submission.late and submission.score == pytest.approx(0.2) and submission.points == pytest.approx(0.2)


def test_outsiders_and_hidden_assignments_are_not_found(course):
    outsider = make_user("mallory")
    assignment = assign(course, "seed-two-layer-w1-22")
    with pytest.raises(ServiceError) as info:
        service.submit(outsider, assignment, answers={"0": "1"})
    assert info.value.status == 404
    hidden = assign(course, "seed-chain-w1-22", visible=False)
    with pytest.raises(ServiceError):
        service.submit(user("alice"), hidden, answers={"0": "1"})


def test_editing_makes_a_new_version_and_submissions_keep_theirs(course):
    alice = user("alice")
    assignment = assign(course, "seed-two-layer-w1-22")
    first = service.submit(alice, assignment, answers={"0": "-0.0026227"})
    document = dict(assignment.exercise.current.definition, title="Edited title")
    exercise, changed = authoring.save_exercise(document)
    db.session.commit()
    assert changed and exercise.current_version == 2
    _, unchanged = authoring.save_exercise(document)
    assert not unchanged
    second = service.submit(alice, assignment, answers={"0": "-0.0026227"})
    assert first.exercise_version.version == 1 and second.exercise_version.version == 2


def test_solution_is_revealed_only_as_the_policy_allows(course):
    alice = user("alice")
    hidden = assign(course, "seed-two-layer-w1-22", solution_policy="after_due",
                    due_at=utcnow() + timedelta(days=1))
    shown = assign(course, "seed-chain-w1-22", solution_policy="always")
    assert service.submit(alice, hidden, answers={"0": "1"}).feedback["parts"][0]["expected"] is None
    chain = {str(i): "1" for i in range(5)}
    assert service.submit(alice, shown, answers=chain).feedback["parts"][0]["expected"] is not None


def test_a_failure_mid_transaction_leaves_nothing_half_written(course, monkeypatch):
    alice = user("alice")
    assignment = assign(course, "seed-two-layer-w1-22")
    service.variant_for(alice, assignment.exercise)

    def broken_commit():
        db.session.flush()  # the row reaches the database inside the transaction...
        raise RuntimeError("disk full")  # ...and the commit never happens

    monkeypatch.setattr(db.session, "commit", broken_commit)
    with pytest.raises(RuntimeError):
        service.submit(alice, assignment, answers={"0": "-0.0026227"})
    monkeypatch.undo()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 0


def test_a_format_error_withholds_the_other_answers_marks(course):
    alice = user("alice")
    assignment = assign(course, "seed-chain-w1-22", solution_policy="always")
    submission = service.submit(alice, assignment, answers={"0": "-0.309", "1": "oops", "2": "1", "3": "1", "4": "1"})
    assert submission.status == "invalid" and submission.attempt is None
    first = submission.feedback["parts"][0]
    assert first["status"] == "not_graded" and first["marks"] is None and first["expected"] is None


def test_after_due_solutions_wait_while_late_submissions_can_still_earn(course):
    alice = user("alice")
    past = utcnow() - timedelta(hours=1)
    open_late = assign(course, "seed-two-layer-w1-22", due_at=past, late_policy="accept",
                       solution_policy="after_due", attempt_limit=2)
    assert not service.solution_visible(open_late, alice)
    assert service.submit(alice, open_late, answers={"0": "1"}).feedback["parts"][0]["expected"] is None
    service.submit(alice, open_late, answers={"0": "1"})
    assert service.solution_visible(open_late, alice)  # no attempts left: nothing more to earn
    closed = assign(course, "seed-chain-w1-22", due_at=past, late_policy="reject", solution_policy="after_due")
    assert service.solution_visible(closed, alice)


def test_changing_points_due_date_or_late_terms_rescores_what_was_earned(course):
    alice, bob = user("alice"), user("bob")
    now = utcnow()
    a = assign(course, "seed-two-layer-w1-22", points=1, due_at=now + timedelta(days=1), late_policy="penalty",
               late_penalty=0.5)
    on_time = service.submit(alice, a, answers={"0": "-0.0026227"}, now=now)
    late = service.submit(bob, a, answers={"0": "-0.0026227"}, now=now + timedelta(days=2))
    invalid = service.submit(alice, a, answers={"0": "oops"}, now=now)  # no attempt: not rescored
    assert (on_time.points, late.points, late.late) == (1.0, 0.5, True)

    assert service.update_assignment(a, {"points": 10}) == 2
    assert (on_time.points, late.points) == (10.0, 5.0)
    assert service.assignment_score(bob, a) == 5.0

    # An extension: bob's submission is no longer late, and earns the full points.
    service.update_assignment(a, {"due_at": now + timedelta(days=3)})
    assert (late.late, late.points) == (False, 10.0)
    # A due date moved earlier: alice's becomes late under the penalty; then the policy accepts late work.
    service.update_assignment(a, {"due_at": now - timedelta(hours=1)})
    assert (on_time.late, on_time.points) == (True, 5.0)
    service.update_assignment(a, {"late_policy": "accept"})
    assert on_time.points == 10.0
    assert invalid.points is None and invalid.attempt is None

    # Settings that do not change what was earned rescore nothing.
    assert service.update_assignment(a, {"visible": False, "title": "renamed", "points": 10}) == 0
    db.session.expire_all()
    assert db.session.get(type(on_time), on_time.id).points == 10.0  # committed


def test_answers_worked_out_for_an_edited_version_are_refused_not_graded(course):
    alice = user("alice")
    assignment = assign(course, "seed-two-layer-w1-22", attempt_limit=2)
    assert service.submit(alice, assignment, answers={"0": "-0.0026227"}, seen_version=1).score == 1.0
    authoring.save_exercise(dict(assignment.exercise.current.definition, title="Edited title"))
    db.session.commit()
    with pytest.raises(ServiceError) as info:
        service.submit(alice, assignment, answers={"0": "-0.0026227"}, seen_version=1)
    assert (info.value.status, info.value.code, info.value.errors) == (
        409, "exercise_changed", {"version": ["the current version is 2"]})
    assert "open it again" in info.value.message
    assert db.session.scalar(select(func.count()).select_from(Submission)) == 1  # nothing stored
    assert service.attempts_left(alice, assignment) == 1
    assert service.submit(alice, assignment, answers={"0": "-0.0026227"}, seen_version=2).attempt == 2


def test_a_practice_copy_does_not_reveal_what_a_graded_copy_hides(course):
    from grader.models import Course, Membership

    alice, bob = user("alice"), user("bob")
    graded = assign(course, "seed-two-layer-w1-22", solution_policy="never", points=10)
    practice = assign(course, "seed-two-layer-w1-22", solution_policy="always")
    # Same student, same exercise: same numbers in both, so the practice answer would be the graded one.
    feedback = service.submit(alice, practice, answers={"0": "1"}).feedback
    assert feedback["parts"][0]["expected"] is None
    assert not service.solution_visible(practice, alice)

    # The same holds across courses; a student of only the practice course sees the practice answers.
    other = Course(code="practice", title="Practice course")
    carol = make_user("carol")
    db.session.add_all([other, Membership(user=carol, course=other), Membership(user=alice, course=other)])
    db.session.commit()
    elsewhere = assign(other, "seed-two-layer-w1-22", solution_policy="always")
    assert not service.solution_visible(elsewhere, alice)
    assert service.solution_visible(elsewhere, carol)
    assert service.submit(carol, elsewhere, answers={"0": "1"}).feedback["parts"][0]["expected"] is not None

    # Once the graded copy allows it too (past due, no late work), the practice copy shows it.
    graded.solution_policy, graded.due_at = "after_due", utcnow() - timedelta(hours=1)
    db.session.commit()
    assert service.solution_visible(practice, alice) and service.solution_visible(practice, bob)
    assert service.solution_visible(graded, alice)


def test_the_gradebook_agrees_with_assignment_score_in_a_constant_number_of_queries(course):
    from sqlalchemy import event

    alice, bob = user("alice"), user("bob")
    best = assign(course, "seed-two-layer-w1-22", scoring="best", points=10, attempt_limit=None)
    last = assign(course, "seed-chain-w1-22", scoring="last", points=5, attempt_limit=None)
    untouched = assign(course, "gate-add")
    service.submit(alice, best, answers={"0": "-0.0026227"})
    service.submit(alice, best, answers={"0": "1"})  # best keeps the 10
    service.submit(alice, last, answers={str(i): "-0.309" if i == 0 else "1" for i in range(5)})
    service.submit(alice, last, answers={str(i): "1" for i in range(5)})  # last: 0
    service.submit(bob, last, answers={str(i): "-0.309" if i == 0 else "1" for i in range(5)})
    service.submit(bob, best, answers={"0": "oops"})  # a format error: nothing graded
    statements = []

    def tally(conn, cursor, statement, *rest) -> None:
        statements.append(statement)

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", tally)
    try:
        book = service.gradebook(course)
    finally:
        event.remove(db.engine, "before_cursor_execute", tally)
    # the course (expired above), its sets and their items, students, submissions, overrides, manual scores
    assert len(statements) <= 7
    for student in (alice, bob):
        for a in (best, last, untouched):
            assert book.score(student, a) == service.assignment_score(student, a), (student.username, a.scoring)
    assert book.score(alice, best) == 10 and book.score(alice, last) == 0 and book.score(bob, best) is None
    assert book.total(alice) == 10 and book.total(bob) == book.score(bob, last) == 1.0
