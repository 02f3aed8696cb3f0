"""Who may see what: a user's role in a course, an assignment's visibility, and when a student may see
the expected answers (the solution policy)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from grader.authoring import definition_of
from grader.engine import to_json
from grader.errors import ServiceError
from grader.models import (
    Assignment,
    AssignmentItem,
    Course,
    Membership,
    Submission,
    User,
    db,
    utcnow,
)
from grader.service.limits import attempts_left, due_for, item_of
from grader.service.variants import cached_variant


def course_role(user: User, course: Course) -> str | None:
    if user.role == "admin":
        return "instructor"
    return db.session.scalar(select(Membership.role).where(Membership.user_id == user.id,
                                                           Membership.course_id == course.id))


def require_student_access(user: User, assignment: Assignment) -> str:
    """The user's role in the assignment's course; 404 when they may not see it (no hint it exists)."""
    role = course_role(user, assignment.course)
    require_visible(role, assignment)
    return role


def require_visible(role: str | None, assignment: Assignment) -> None:
    if role is None or (role == "student" and (not assignment.visible or assignment.archived)):
        raise ServiceError(404, "not_found", "no such assignment")



def solution_visible(target: Assignment | AssignmentItem, user: User, now: datetime | None = None,
                     role: str | None = None) -> bool:
    """May this user see the expected answers of an exercise of a problem set (an item; a set of one may be
    given as its assignment)? Instructors and TAs (they grade) always; students when the set's policy allows it
    and so does every other set that places the same exercise for them: the seed is the student's and the
    exercise's, so the numbers, and the answers, are the same there. `role` is the user's course role where
    the caller knows it already (saves a query)."""
    item = item_of(target)
    if (role or course_role(user, item.assignment.course)) in ("instructor", "ta"):
        return True
    if not _policy_shows(item, user, now):
        return False
    elsewhere = db.session.scalars(
        select(AssignmentItem).join(Assignment, Assignment.id == AssignmentItem.assignment_id)
        .join(Membership, (Membership.course_id == Assignment.course_id)
              & (Membership.user_id == user.id) & (Membership.role == "student"))
        .where(AssignmentItem.exercise_id == item.exercise_id, AssignmentItem.id != item.id))
    return all(_policy_shows(other, user, now) for other in elsewhere)


def _policy_shows(item: AssignmentItem, user: User, now: datetime | None) -> bool:
    """The set's solution policy for a student at one of its items, on its own."""
    assignment = item.assignment
    policy = assignment.solution_policy
    if policy == "always":
        return True
    if policy == "after_due":
        # Only once nothing more can be earned: while late submissions are still taken, showing the answer
        # would let the next (late) submission copy it.
        due = due_for(user, assignment)
        if due is None or (now or utcnow()) <= due:
            return False
        return assignment.late_policy == "reject" or attempts_left(user, item) == 0
    return False


def feedback_for(submission: Submission, viewer: User, now: datetime | None = None, visible: bool | None = None
                 ) -> dict[str, Any]:
    """A stored submission's feedback as `viewer` may see it now: the expected answers exactly when the
    solution policy allows it at this moment. They are computed from the stored version and seed rather than
    trusted from storage, so a policy that opens later (after the due date) shows them, and one that closes
    hides them again. `visible` is solution_visible's answer where the caller has it (a listing of one
    assignment asks once, not once a row)."""
    stored = submission.feedback or {}
    feedback = {**stored, "parts": [dict(p) for p in stored.get("parts") or [] if isinstance(p, dict)]}
    if visible is None:
        visible = solution_visible(submission.item, viewer, now)
    variant = None
    if visible and submission.kind == "numeric" and stored.get("status") == "graded":
        exercise = definition_of(submission.exercise_version)
        variant = cached_variant(exercise, submission.seed)
    asks = variant.exercise.asks if variant is not None else []
    for part in feedback["parts"]:
        if not visible:
            part["expected"] = None
        elif part.get("expected") is None and 0 <= part.get("index", -1) < len(asks):
            part["expected"] = to_json(variant.expected(asks[part["index"]]))
    return feedback
