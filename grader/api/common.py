"""Lookups shared by the views: each answers 404 to someone outside the course (no existence leak) and 403
to a course member without the instructor role."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import Select, func, select

from grader import service
from grader.api.errors import init_errors
from grader.authoring import check_size  # noqa: F401 - re-exported for the API modules
from grader.models import Assignment, Course, Membership, Submission, User, db
from grader.service import ServiceError


def blueprint(name: str, description: str) -> Blueprint:
    blp = Blueprint(name, __name__, url_prefix="/api/v1", description=description)
    init_errors(blp)
    return blp


MAX_OFFSET = 2**31 - 1  # a page far past the end is empty (and never overflows the database's integers)


def page_of(query: Select, pagination_parameters: Any) -> Select:
    """The query counted into the X-Pagination header and cut to the requested page."""
    pagination_parameters.item_count = db.session.scalar(select(func.count()).select_from(query.subquery()))
    return query.offset(min(pagination_parameters.first_item, MAX_OFFSET)).limit(pagination_parameters.page_size)


def not_found(what: str) -> ServiceError:
    return ServiceError(404, "not_found", f"no such {what}")


def course_for(user: User, course_id: int, *, instructor: bool = False) -> tuple[Course, str]:
    course = db.session.get(Course, course_id)
    role = service.course_role(user, course) if course is not None else None
    if course is None or role is None:
        raise not_found("course")
    if instructor and role != "instructor":
        raise ServiceError(403, "forbidden", "only the course's instructors may do this")
    return course, role


def assignment_for(user: User, assignment_id: int, *, instructor: bool = False) -> tuple[Assignment, str]:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise not_found("assignment")
    role = service.require_student_access(user, assignment)  # 404 outside the course or while hidden
    if instructor and role != "instructor":
        raise ServiceError(403, "forbidden", "only the course's instructors may do this")
    return assignment, role


STAFF_ROLES = ("instructor", "ta")  # read every student's work in their course (admins count as instructors)


def student_for(user: User, course: Course, role: str | None, username: str | None) -> User:
    """Whose work a request reads (`?user=`): the caller's own when no one, or they themselves, is named; for
    the course's instructors and TAs, the student of the course named. A student naming someone else gets
    403 (whether or not they exist); staff naming someone who is not a student of the course get 404."""
    if username is None or username == user.username:
        return user
    if role not in STAFF_ROLES:
        raise ServiceError(403, "forbidden", "only the course's instructors and TAs may read another student's "
                           "work: leave out the `user` parameter to read your own", {"user": ["not yours to read"]})
    student = db.session.scalar(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.course_id == course.id, Membership.role == "student", User.username == username))
    if student is None:
        raise ServiceError(404, "not_found", f"no student {username!r} in this course (the `user` parameter)",
                           {"user": ["not a student of this course"]})
    return student


def submission_for(user: User, submission_id: int) -> Submission:
    """The owner, or an instructor or TA of the course; anyone else gets 404."""
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        raise not_found("submission")
    if submission.user_id == user.id:
        service.require_student_access(user, submission.assignment)  # 404 once the assignment is hidden
    elif service.course_role(user, submission.assignment.course) not in STAFF_ROLES:
        raise not_found("submission")
    return submission


def submission_view(submission: Submission, viewer: User, *, redact: bool = True,
                    version: int | None = None, visible: bool | None = None) -> dict[str, Any]:
    """The stored submission as the viewer may see it: expected answers exactly where the solution policy
    allows now (service.feedback_for; `visible` as it takes it)."""
    feedback = service.feedback_for(submission, viewer, visible=visible) if redact else submission.feedback or {}
    return {
        "id": submission.id, "assignment_id": submission.assignment_id, "user_id": submission.user_id,
        "item_id": submission.item_id, "exercise": submission.item.exercise.slug,
        "exercise_version": version if version is not None else submission.exercise_version.version,
        "kind": submission.kind,
        "status": submission.status, "attempt": submission.attempt, "score": submission.score,
        "points": submission.points, "late": submission.late, "answers": submission.answers,
        "code": submission.code, "feedback": feedback, "mistakes": submission.mistakes or [],
        "grading_ms": submission.grading_ms, "created_at": submission.created_at,
    }


