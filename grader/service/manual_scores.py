"""Manual scores (points set by hand for one student's problem set, in place of what the submissions earn),
their audit log, and the gradebook as CSV.

Course staff grade: instructors, TAs and administrators set and remove manual scores. Every change writes a
GradeChange row (who, when, before, after, why) in the same transaction as the change itself, so the log
cannot miss one."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from grader.errors import ServiceError
from grader.lti.outbox import score_changed
from grader.models import Assignment, Course, GradeChange, ManualScore, Membership, User, db, utcnow
from grader.service.access import course_role
from grader.service.gradebook import course_columns, gradebook_of

MAX_REASON = 2000
GRADERS = ("instructor", "ta")
CSV_INJECTION = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as the start of a formula


def _invalid(field_name: str, message: str) -> ServiceError:
    return ServiceError(422, "validation_error", message, {field_name: [message]})


def require_grader(actor: User, course: Course) -> str:
    """The actor's role in the course if they grade there (instructor, TA, administrator); 404 for someone
    outside the course, 403 for a student of it."""
    role = course_role(actor, course)
    if role is None:
        raise ServiceError(404, "not_found", "no such course")
    if role not in GRADERS:
        raise ServiceError(403, "forbidden", "only the course's instructors and TAs grade")
    return role


def check_reason(reason: Any) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise _invalid("reason", "give a reason: it is kept in the grade log")
    if "\x00" in text:  # PostgreSQL's text cannot hold it (the API's schema refuses it too)
        raise _invalid("reason", "the reason must not contain NUL bytes")
    if len(text) > MAX_REASON:
        raise _invalid("reason", f"the reason must be at most {MAX_REASON} characters (it has {len(text)})")
    return text


def check_points(points: Any, assignment: Assignment) -> float:
    most = assignment.points
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points):
        raise _invalid("points", f"give the points as a number from 0 to {most:.15g}")
    if not 0 <= points <= most:
        raise _invalid("points", f"the points must be from 0 to {most:.15g}, the set's points (not {points:.15g})")
    return float(points)


def course_student(course_id: int, username: Any) -> User:
    """The student of the course with this username; 422 naming `user` otherwise."""
    student = db.session.scalar(select(User).join(Membership).where(
        Membership.course_id == course_id, Membership.role == "student", User.username == str(username or "")))
    if student is None:
        raise _invalid("user", f"not a student of this course: {str(username or '')[:80]}")
    return student


def manual_score(assignment: Assignment, student: User) -> ManualScore | None:
    return db.session.scalar(select(ManualScore).where(ManualScore.assignment_id == assignment.id,
                                                       ManualScore.user_id == student.id))


def set_manual_score(actor: User, assignment: Assignment, username: str, points: Any, reason: Any) -> ManualScore:
    """Give the student this many points for the set, in place of what their submissions earn (replacing a
    manual score they had), logged with the reason. 422 naming the field for a blank or too long reason,
    points outside 0 to the set's points, or someone who is not a student of the course."""
    require_grader(actor, assignment.course)
    reason, value = check_reason(reason), check_points(points, assignment)
    student = course_student(assignment.course_id, username)
    score = manual_score(assignment, student)
    old = score.points if score is not None else None
    if score is None:
        score = ManualScore(assignment_id=assignment.id, user_id=student.id, points=value, reason=reason)
        db.session.add(score)
    score.points, score.reason, score.set_by, score.set_at = value, reason, actor.id, utcnow()
    _log(actor, assignment, student, old, value, reason)
    score_changed(assignment, student)
    db.session.commit()
    return score


def remove_manual_score(actor: User, assignment: Assignment, username: str, reason: Any) -> bool:
    """Back to what the submissions earn, logged with the reason; False (and nothing logged) when the student
    had no manual score. The same refusals as set_manual_score's for the reason and the student."""
    require_grader(actor, assignment.course)
    reason = check_reason(reason)
    student = course_student(assignment.course_id, username)
    score = manual_score(assignment, student)
    if score is None:
        return False
    _log(actor, assignment, student, score.points, None, reason)
    db.session.delete(score)
    score_changed(assignment, student)
    db.session.commit()
    return True


def _log(actor: User, assignment: Assignment, student: User, old: float | None, new: float | None,
         reason: str) -> None:
    db.session.add(GradeChange(course_id=assignment.course_id, assignment_id=assignment.id, user_id=student.id,
                               actor_id=actor.id, old_points=old, new_points=new, reason=reason,
                               created_at=utcnow()))


def grade_log_query(course: Course, assignment: Assignment | int | None = None,
                    username: str | None = None) -> Select:
    """The course's grade changes, newest first (optionally one set's, one student's), with who they concern
    and who made them loaded along."""
    query = (select(GradeChange).options(joinedload(GradeChange.user), joinedload(GradeChange.actor),
                                         joinedload(GradeChange.assignment))
             .where(GradeChange.course_id == course.id)
             .order_by(GradeChange.created_at.desc(), GradeChange.id.desc()))
    if assignment is not None:
        query = query.where(GradeChange.assignment_id == getattr(assignment, "id", assignment))
    if username is not None:
        query = query.where(GradeChange.user_id.in_(select(User.id).where(User.username == username)))
    return query


def grade_log(course: Course, assignment: Assignment | int | None = None,
              username: str | None = None) -> list[GradeChange]:
    return list(db.session.scalars(grade_log_query(course, assignment, username)))


def _cell_text(value: Any) -> str:
    text = "" if value is None else f"{value:.15g}" if isinstance(value, float) else str(value)
    return "'" + text if text.startswith(CSV_INJECTION) else text


def gradebook_csv(course: Course, progress: Callable[[int, int], None] | None = None,
                  chunk: int | None = None) -> str:
    """The gradebook as CSV: one row per student (username, name, email, the points per problem set, a manual
    score where one is set, empty where nothing counts yet, then the total), the header naming each set by
    title and id (the first three columns as the roster's CSV has them). A cell a spreadsheet would run as a
    formula gets a leading apostrophe.

    With `chunk`, the cells are read for `chunk` students at a time (three queries each, memory bounded by the
    chunk) and `progress(done, total)` is told the students done before the first chunk and after each: the
    gradebook_csv background job (grader.jobs.gradebook) is this function, for a large course."""
    sets, students = course_columns(course)
    total = len(students)
    text = io.StringIO()
    out = csv.writer(text, lineterminator="\r\n")
    out.writerow([_cell_text(v) for v in ("username", "name", "email",
                                          *(f"{a.title} (id {a.id})" for a in sets), "total")])
    if progress is not None:
        progress(0, total)
    size = chunk or max(total, 1)
    for start in range(0, total, size):
        part = students[start:start + size]
        book = gradebook_of(sets, part, only_these=chunk is not None)
        for student in part:
            points = [book.cell(student.id, a.id).points for a in sets]
            out.writerow([_cell_text(v) for v in (student.username, student.name, student.email, *points,
                                                  book.total(student.id))])
        if progress is not None:
            progress(start + len(part), total)
    return text.getvalue()


def gradebook_filename(course: Course) -> str:
    """The CSV's file name: the course code, in characters safe in a Content-Disposition header."""
    return "gradebook-" + re.sub(r"[^A-Za-z0-9._-]", "_", course.code) + ".csv"
