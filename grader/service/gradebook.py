"""Points per student and assignment: one student's, and a whole course's in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from grader.models import (
    Assignment,
    Course,
    Membership,
    Submission,
    User,
    db,
)


def assignment_score(user: User, assignment: Assignment) -> float | None:
    """Points earned: the best or the last graded attempt, as the assignment says."""
    query = select(Submission.points).where(Submission.assignment_id == assignment.id,
                                            Submission.user_id == user.id, Submission.attempt.is_not(None))
    if assignment.scoring == "last":
        return db.session.scalar(query.order_by(Submission.attempt.desc()).limit(1))
    return db.session.scalar(select(func.max(Submission.points)).where(
        Submission.assignment_id == assignment.id, Submission.user_id == user.id, Submission.attempt.is_not(None)))


@dataclass
class Gradebook:
    """A course's students (by username) and assignments (by id), with the points each earned."""

    assignments: list[Assignment]
    students: list[User]
    points: dict[tuple[int, int], float]  # (user id, assignment id) -> points, where anything was graded

    def score(self, student: User, assignment: Assignment) -> float | None:
        return self.points.get((student.id, assignment.id))

    def total(self, student: User) -> float:
        return round(sum(self.points.get((student.id, a.id), 0.0) for a in self.assignments), 6)


def gradebook(course: Course) -> Gradebook:
    """Every student's points per assignment, as assignment_score counts them (best or last graded attempt),
    in three queries whatever the size of the course: the best points per (student, assignment), the last
    attempt's, and the students."""
    assignments = sorted(course.assignments, key=lambda a: a.id)
    students = db.session.scalars(select(User).join(Membership).where(
        Membership.course_id == course.id, Membership.role == "student").order_by(User.username)).all()
    graded = (Submission.assignment_id.in_([a.id for a in assignments]), Submission.attempt.is_not(None))
    best = db.session.execute(select(Submission.user_id, Submission.assignment_id, func.max(Submission.points))
                              .where(*graded).group_by(Submission.user_id, Submission.assignment_id))
    last_attempt = (select(Submission.user_id, Submission.assignment_id, func.max(Submission.attempt).label("n"))
                    .where(*graded).group_by(Submission.user_id, Submission.assignment_id).subquery())
    last = db.session.execute(select(Submission.user_id, Submission.assignment_id, Submission.points).join(
        last_attempt, (Submission.user_id == last_attempt.c.user_id)
        & (Submission.assignment_id == last_attempt.c.assignment_id) & (Submission.attempt == last_attempt.c.n)))
    by_last = {a.id for a in assignments if a.scoring == "last"}
    points = {(user, assignment): value for user, assignment, value in best if assignment not in by_last}
    points |= {(user, assignment): value for user, assignment, value in last if assignment in by_last}
    return Gradebook(assignments, list(students), points)
