"""What a student has left at an assignment: attempts used and allowed, the due date, and what a graded
score earns under the assignment's late terms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from grader import exercises as definitions
from grader.authoring import definition_of
from grader.errors import ServiceError
from grader.models import (
    Assignment,
    Submission,
    User,
    db,
)


def attempts_used(user_id: int, assignment_id: Any) -> Select:
    """Graded attempts so far: the highest attempt number, since graded submissions are numbered 1, 2, ...
    with no gap (the next takes used + 1; submissions are never deleted). One step down the unique
    (assignment, user, attempt) index, where a count would read every earlier attempt."""
    return select(func.coalesce(func.max(Submission.attempt), 0)).where(
        Submission.assignment_id == assignment_id, Submission.user_id == user_id)


def graded_attempts(user: User, assignment: Assignment) -> int:
    return db.session.scalar(attempts_used(user.id, assignment.id)) or 0


def attempt_limit(assignment: Assignment, exercise: definitions.Exercise | None = None) -> int | None:
    """The assignment's limit, else the exercise's own `attempts`, else unlimited (None). `exercise` is the
    current definition where the caller has it already (saves loading the versions)."""
    if assignment.attempt_limit:
        return assignment.attempt_limit
    return (exercise or definition_of(assignment.exercise.current)).attempts


def attempts_left(user: User, assignment: Assignment) -> int | None:
    limit = attempt_limit(assignment)
    return None if limit is None else max(0, limit - graded_attempts(user, assignment))


def check_open(assignment: Assignment, exercise: definitions.Exercise, used: int, now: datetime) -> bool:
    """Raise if the student may not submit now; return whether the submission is late."""
    late = assignment.due_at is not None and now > assignment.due_at
    if late and assignment.late_policy == "reject":
        raise ServiceError(409, "past_due", f"the due date ({assignment.due_at:%Y-%m-%d %H:%M} UTC) has passed")
    limit = attempt_limit(assignment, exercise)
    if limit is not None and used >= limit:
        raise ServiceError(409, "no_attempts_left", "no attempts left for this assignment")
    return late


def earned_points(assignment: Assignment, score: float, late: bool) -> float:
    """What a graded score in [0, 1] earns towards the assignment under its current terms."""
    penalty = assignment.late_penalty if late and assignment.late_policy == "penalty" else 0.0
    return round(score * (1 - penalty) * assignment.points, 6)
