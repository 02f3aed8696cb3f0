"""The gradebook's cells (points, late, attempts, override, manual score), totals, course order and archived
sets; its constant number of queries; manual scores with their log; the CSV export and its injection guard."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from grader import service
from grader.models import Course, GradeChange, ManualScore, Membership, db, utcnow
from grader.service import ServiceError
from tests.service.conftest import assign, make_user, user

RIGHT = {"0": "-0.0026227"}  # seed-two-layer-w1-22: fixed numbers
WRONG = {"0": "1"}


def test_a_cell_has_points_late_attempts_override_and_manual_marks(course):
    alice, bob, teacher = user("alice"), user("bob"), user("teacher")
    ontime = assign(course, "seed-two-layer-w1-22", points=10, attempt_limit=None, position=2)
    late = assign(course, "seed-chain-w1-22", points=5, attempt_limit=None, position=1, late_policy="accept",
                  due_at=utcnow() - timedelta(days=1))
    archived = assign(course, "gate-add", archived=True)
    service.submit(alice, ontime, answers=WRONG)
    service.submit(alice, ontime, answers=RIGHT)  # best of two: 10
    service.submit(bob, late, answers={str(i): "1" for i in range(5)})
    due = datetime(2030, 1, 2, 3, 4)
    service.set_override(ontime, ["bob"], due_at=due, extra_attempts=2)
    service.set_manual_score(teacher, ontime, "alice", 4, "the upload was another student's")

    book = service.gradebook(course)
    assert [a.id for a in book.assignments] == [late.id, ontime.id]  # by position; archived left out
    assert archived.id not in book.possible and book.possible == {late.id: 5, ontime.id: 10}
    assert book.possible_total == 15
    a = book.cell(alice, ontime)
    assert (a.earned, a.manual, a.points, a.attempts, a.late, a.override) == (10, 4, 4, 2, False, False)
    b_late, b_ontime = book.cell(bob, late), book.cell(bob, ontime)
    assert b_late.late and b_late.attempts == 1 and b_late.earned == service.assignment_score(bob, late)
    assert (b_ontime.override, b_ontime.override_due, b_ontime.extra_attempts) == (True, due, 2)
    assert b_ontime.points is None and b_ontime.attempts == 0
    assert book.cell(alice, late).points is None and not book.cell(alice, late).late
    assert book.total(alice) == 4 and book.total(bob) == b_late.earned
    assert service.gradebook_cell(ontime, alice) == a


def test_the_best_attempt_was_late_only_when_no_on_time_attempt_earned_as_much(course):
    alice, bob = user("alice"), user("bob")
    week = assign(course, "seed-two-layer-w1-22", points=10, attempt_limit=None, late_policy="accept")
    service.submit(alice, week, answers=RIGHT)  # on time: 10
    service.submit(bob, week, answers=WRONG)  # on time: 0
    week.due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    service.submit(alice, week, answers=RIGHT)  # late, and no better
    service.submit(bob, week, answers=RIGHT)  # late, and the best
    book = service.gradebook(course)
    assert not book.cell(alice, week).late and book.cell(bob, week).late
    assert book.cell(alice, week).attempts == book.cell(bob, week).attempts == 2
    last = assign(course, "seed-chain-w1-22", points=5, attempt_limit=None, scoring="last", late_policy="accept",
                  due_at=utcnow() - timedelta(minutes=1))
    service.submit(alice, last, answers={str(i): "1" for i in range(5)})
    assert service.gradebook(course).cell(alice, last).late  # last scoring: the last attempt counts


def test_course_order_is_position_then_due_date_then_id(course):
    soon, later = utcnow() + timedelta(days=1), utcnow() + timedelta(days=2)
    undated = assign(course, "gate-add", position=0)
    second = assign(course, "seed-chain-w1-22", position=0, due_at=later)
    first = assign(course, "seed-two-layer-w1-22", position=0, due_at=soon)
    last = assign(course, "two-layer-random", position=1)
    assert [a.id for a in service.gradebook(course).assignments] == [first.id, second.id, undated.id, last.id]


def _queries(course: Course) -> int:
    statements: list[str] = []

    def tally(conn, cursor, statement, *rest) -> None:
        statements.append(statement)

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", tally)
    try:
        book = service.gradebook(course)
        for student in book.students:  # what the API and the page read of every cell
            for a in book.assignments:
                book.cell(student, a).points  # noqa: B018
            book.total(student)
    finally:
        event.remove(db.engine, "before_cursor_execute", tally)
    return len(statements)


def test_the_gradebook_takes_as_many_queries_for_30_students_as_for_2(course):
    teacher = user("teacher")
    week = assign(course, "seed-two-layer-w1-22", points=10, attempt_limit=None)
    other = assign(course, "seed-chain-w1-22", points=5, attempt_limit=None)
    for name in ("alice", "bob"):
        service.submit(user(name), week, answers=RIGHT)
    service.set_override(other, ["alice"], extra_attempts=1)
    service.set_manual_score(teacher, other, "bob", 2, "by hand")
    few = _queries(course)
    for i in range(28):
        student = make_user(f"s{i:02d}")
        db.session.add(Membership(user=student, course=course))
        db.session.commit()
        service.submit(student, week, answers=RIGHT if i % 2 else WRONG)
        if i % 3 == 0:
            service.set_override(other, [student.username], extra_attempts=1)
            service.set_manual_score(teacher, other, student.username, 1, "by hand")
    assert len(service.gradebook(course).students) == 30
    assert _queries(course) == few <= 7


def test_manual_scores_are_set_changed_and_removed_with_a_log_entry_each(course):
    teacher, alice = user("teacher"), user("alice")
    week = assign(course, "seed-two-layer-w1-22", points=10, attempt_limit=None)
    service.submit(alice, week, answers=RIGHT)
    service.set_manual_score(teacher, week, "alice", 4, "  copied work  ")
    service.set_manual_score(teacher, week, "alice", 6.5, "after the hearing")
    assert service.gradebook_cell(week, alice).points == 6.5
    assert service.remove_manual_score(teacher, week, "alice", "appeal upheld") is True
    assert service.remove_manual_score(teacher, week, "alice", "again") is False  # nothing to remove: no entry
    assert db.session.scalar(select(func.count()).select_from(ManualScore)) == 0
    assert service.gradebook_cell(week, alice).points == 10
    log = service.grade_log(course)
    assert [(c.old_points, c.new_points, c.reason) for c in log] == [
        (6.5, None, "appeal upheld"), (4, 6.5, "after the hearing"), (None, 4, "copied work")]
    assert all(c.actor_id == teacher.id and c.user_id == alice.id and c.course_id == course.id for c in log)
    assert log[0].created_at >= log[-1].created_at


def test_the_log_is_filtered_by_set_and_student(course):
    teacher = user("teacher")
    one = assign(course, "seed-two-layer-w1-22", points=10)
    two = assign(course, "seed-chain-w1-22", points=5)
    service.set_manual_score(teacher, one, "alice", 1, "a")
    service.set_manual_score(teacher, two, "alice", 2, "b")
    service.set_manual_score(teacher, one, "bob", 3, "c")
    assert [c.reason for c in service.grade_log(course, assignment=one)] == ["c", "a"]
    assert [c.reason for c in service.grade_log(course, username="alice")] == ["b", "a"]
    assert [c.reason for c in service.grade_log(course, one, "bob")] == ["c"]
    assert service.grade_log(course, username="nobody") == []


@pytest.mark.parametrize(("points", "reason", "field", "says"), [
    (4, "", "reason", "give a reason"),
    (4, "   ", "reason", "give a reason"),
    (4, "x" * 2001, "reason", "at most 2000"),
    (11, "why", "points", "from 0 to 10"),
    (-1, "why", "points", "from 0 to 10"),
    (float("nan"), "why", "points", "a number"),
    ("4", "why", "points", "a number"),
])
def test_bad_manual_scores_are_refused_naming_the_field(course, points, reason, field, says):
    week = assign(course, "seed-two-layer-w1-22", points=10)
    with pytest.raises(ServiceError) as refused:
        service.set_manual_score(user("teacher"), week, "alice", points, reason)
    assert refused.value.status == 422 and field in refused.value.errors and says in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(GradeChange)) == 0


def test_only_students_of_the_course_get_manual_scores_and_only_its_staff_give_them(course):
    week = assign(course, "seed-two-layer-w1-22", points=10)
    tom, outsider = make_user("tom"), make_user("olga", "instructor")
    db.session.add(Membership(user=tom, course=course, role="ta"))
    db.session.commit()
    for username in ("teacher", "tom", "nobody"):  # staff are not students; nobody is no one
        with pytest.raises(ServiceError) as refused:
            service.set_manual_score(user("teacher"), week, username, 1, "why")
        assert refused.value.status == 422 and "user" in refused.value.errors
    for actor, status in ((user("alice"), 403), (outsider, 404)):
        with pytest.raises(ServiceError) as refused:
            service.set_manual_score(actor, week, "bob", 1, "why")
        assert refused.value.status == status
        with pytest.raises(ServiceError):
            service.remove_manual_score(actor, week, "bob", "why")
    service.set_manual_score(tom, week, "bob", 1, "a TA grades")
    assert service.grade_log(course)[0].actor_id == tom.id
    with pytest.raises(ServiceError) as refused:
        service.remove_manual_score(tom, week, "bob", "")
    assert "reason" in refused.value.errors and service.manual_score(week, user("bob")).points == 1


def test_the_csv_has_a_row_per_student_with_manual_scores_and_totals(course):
    teacher, alice = user("teacher"), user("alice")
    week = assign(course, "seed-two-layer-w1-22", points=10, attempt_limit=None)
    other = assign(course, "seed-chain-w1-22", points=5, attempt_limit=None)
    assign(course, "gate-add", archived=True)
    service.submit(alice, week, answers=RIGHT)
    service.set_manual_score(teacher, other, "bob", 2.5, "oral exam")
    alice.email = "alice@example.org"
    rows = list(csv.reader(io.StringIO(service.gradebook_csv(course))))
    assert rows[0] == ["username", "name", "email", f"{week.title} (id {week.id})", f"{other.title} (id {other.id})",
                       "total"]
    assert rows[1:] == [["alice", "Alice", "alice@example.org", "10", "", "10"], ["bob", "Bob", "", "", "2.5", "2.5"]]
    assert service.gradebook_filename(course) == "gradebook-bp101.csv"


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_leading_apostrophe(course, start):
    alice = user("alice")
    alice.name = f"{start}HYPERLINK(\"http://evil.example\")"
    week = assign(course, "seed-two-layer-w1-22", points=10)
    week.title = f"{start}1+1"
    db.session.commit()
    rows = list(csv.reader(io.StringIO(service.gradebook_csv(course))))
    assert rows[0][3] == f"'{start}1+1 (id {week.id})"
    assert rows[1][1] == f"'{alice.name}"
    assert rows[2][1] == "Bob"  # the others as they are


def test_students_are_sorted_and_filtered(course):
    teacher = user("teacher")
    for name, full in (("carol", "Zoe Carol"), ("dave", "Anna Dave")):
        db.session.add(Membership(user=make_user(name), course=course))
        user(name).name = full
    db.session.commit()
    week = assign(course, "seed-two-layer-w1-22", points=10, attempt_limit=None, late_policy="accept")
    service.submit(user("alice"), week, answers=RIGHT)
    service.set_manual_score(teacher, week, "dave", 3, "by hand")
    service.set_override(week, ["carol"], extra_attempts=1)
    week.due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    service.submit(user("bob"), week, answers=WRONG)
    book = service.gradebook(course)

    def names(**how) -> list[str]:
        return [s.username for s in service.arrange(book, **how)]

    assert names() == ["alice", "dave", "bob", "carol"]  # by name: Alice, Anna Dave, Bob, Zoe Carol
    assert names(sort="username", descending=True) == ["dave", "carol", "bob", "alice"]
    assert names(sort="total", descending=True) == ["alice", "dave", "bob", "carol"]  # ties: by username
    assert names(sort=f"a{week.id}") == ["carol", "bob", "dave", "alice"]  # never graded first, then 0, 3, 10
    assert names(sort="a999999") == names()  # not a column: by name
    assert names(text="DAV") == ["dave"] and names(text="zoe") == ["carol"]
    assert names(only_late=True) == ["bob"] and names(only_overrides=True) == ["carol"]
    assert names(only_manual=True) == ["dave"] and names(only_manual=True, only_late=True) == []
