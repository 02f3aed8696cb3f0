"""Points per student and problem set (the sum of what each of its exercises earns, best or last graded
attempt per exercise as the set says): one student's, and a whole course's in a constant number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select

from grader.models import Assignment, Course, Membership, Submission, User, db


def item_scores(user: User, assignment: Assignment) -> dict[int, float]:
    """Points earned per item of the set (by item id), where anything was graded: the best or the last graded
    attempt, as the set says. Two queries whatever the size of the set."""
    graded = (Submission.assignment_id == assignment.id, Submission.user_id == user.id,
              Submission.attempt.is_not(None))
    if assignment.scoring == "last":
        last = (select(Submission.item_id, func.max(Submission.attempt).label("n")).where(*graded)
                .group_by(Submission.item_id).subquery())
        rows = db.session.execute(select(Submission.item_id, Submission.points).join(
            last, (Submission.item_id == last.c.item_id) & (Submission.attempt == last.c.n)).where(*graded))
    else:
        rows = db.session.execute(select(Submission.item_id, func.max(Submission.points)).where(*graded)
                                  .group_by(Submission.item_id))
    return {item_id: value or 0.0 for item_id, value in rows}


def assignment_score(user: User, assignment: Assignment) -> float | None:
    """Points earned at the problem set: the sum over its exercises (None while nothing is graded)."""
    scores = item_scores(user, assignment)
    return round(sum(scores.values()), 6) if scores else None


@dataclass
class Gradebook:
    """A course's students (by username) and problem sets (by id), with the points each earned."""

    assignments: list[Assignment]
    students: list[User]
    points: dict[tuple[int, int], float]  # (user id, assignment id) -> points, where anything was graded

    def score(self, student: User, assignment: Assignment) -> float | None:
        return self.points.get((student.id, assignment.id))

    def total(self, student: User) -> float:
        return round(sum(self.points.get((student.id, a.id), 0.0) for a in self.assignments), 6)


def gradebook(course: Course) -> Gradebook:
    """Every student's points per problem set, as assignment_score counts them (per exercise, best or last
    graded attempt, summed), in four queries whatever the size of the course: the sets, the best points per
    (student, item), the last attempt's, and the students."""
    assignments = sorted(course.assignments, key=lambda a: a.id)
    students = db.session.scalars(select(User).join(Membership).where(
        Membership.course_id == course.id, Membership.role == "student").order_by(User.username)).all()
    graded = (Submission.assignment_id.in_([a.id for a in assignments]), Submission.attempt.is_not(None))
    key = (Submission.user_id, Submission.assignment_id, Submission.item_id)
    best = db.session.execute(select(*key, func.max(Submission.points)).where(*graded).group_by(*key))
    last_attempt = (select(*key, func.max(Submission.attempt).label("n")).where(*graded).group_by(*key).subquery())
    last = db.session.execute(select(*key, Submission.points).join(
        last_attempt, (Submission.user_id == last_attempt.c.user_id)
        & (Submission.item_id == last_attempt.c.item_id) & (Submission.attempt == last_attempt.c.n)))
    by_last = {a.id for a in assignments if a.scoring == "last"}
    points: dict[tuple[int, int], float] = defaultdict(float)
    for rows, keep in ((best, lambda a: a not in by_last), (last, lambda a: a in by_last)):
        for user, assignment, _, value in rows:
            if keep(assignment):
                points[(user, assignment)] = round(points[(user, assignment)] + (value or 0.0), 6)
    return Gradebook(assignments, list(students), dict(points))
