"""What a student has left at an exercise of a problem set: attempts used and allowed (per item), the set's
due date, each as the student's override (a later due date, extra attempts) changes it, and what a graded
score earns under the set's late terms and the item's points."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from grader import exercises as definitions
from grader.authoring import definition_of
from grader.errors import ServiceError
from grader.models import Assignment, AssignmentItem, AssignmentOverride, Submission, User, db


def item_of(target: Assignment | AssignmentItem) -> AssignmentItem:
    """The item meant: itself, or the only item of a set of one. A larger set must name its exercise."""
    if isinstance(target, AssignmentItem):
        return target
    if target.single is None:
        raise ServiceError(422, "validation_error", "this problem set has several exercises: name the exercise",
                           {"exercise": ["required for a problem set of several exercises"]})
    return target.single


def override_for(user: User, assignment: Assignment) -> AssignmentOverride | None:
    """The student's exception to the set's terms, if an instructor gave one."""
    return db.session.scalar(select(AssignmentOverride).where(AssignmentOverride.assignment_id == assignment.id,
                                                              AssignmentOverride.user_id == user.id))


def due_date(assignment: Assignment, override: AssignmentOverride | None) -> datetime | None:
    """The due date that holds for a student: their override's where it sets one, else the set's."""
    return override.due_at if override is not None and override.due_at is not None else assignment.due_at


def due_for(user: User, assignment: Assignment) -> datetime | None:
    return due_date(assignment, override_for(user, assignment))


def attempts_used(user_id: int, item_id: Any) -> Select:
    """Graded attempts so far at one item: the highest attempt number, since graded submissions are numbered
    1, 2, ... with no gap (the next takes used + 1; submissions are never deleted). One step down the unique
    (item, user, attempt) index, where a count would read every earlier attempt."""
    return select(func.coalesce(func.max(Submission.attempt), 0)).where(
        Submission.item_id == item_id, Submission.user_id == user_id)


def graded_attempts(user: User, target: Assignment | AssignmentItem) -> int:
    return db.session.scalar(attempts_used(user.id, item_of(target).id)) or 0


def attempt_limit(target: Assignment | AssignmentItem, exercise: definitions.Exercise | None = None,
                  extra: int = 0) -> int | None:
    """The item's limit, else the exercise's own `attempts`, else unlimited (None); plus a student's `extra`
    attempts (their override) where there is a limit. `exercise` is the current definition where the caller
    has it already (saves loading the versions)."""
    item = item_of(target)
    limit = item.attempt_limit or (exercise or definition_of(item.exercise.current)).attempts
    return None if limit is None else limit + extra


def attempts_left(user: User, target: Assignment | AssignmentItem) -> int | None:
    item = item_of(target)
    override = override_for(user, item.assignment)
    limit = attempt_limit(item, extra=override.extra_attempts if override is not None else 0)
    return None if limit is None else max(0, limit - graded_attempts(user, item))


def check_open(item: AssignmentItem, exercise: definitions.Exercise, used: int, now: datetime,
               due_at: datetime | None = None, extra: int = 0) -> bool:
    """Raise if the student may not submit to this item now; return whether the submission is late. `due_at`
    and `extra` are the student's override (None and 0: the set's own terms)."""
    assignment = item.assignment
    due = due_at or assignment.due_at
    late = due is not None and now > due
    if late and assignment.late_policy == "reject":
        raise ServiceError(409, "past_due", f"the due date ({due:%Y-%m-%d %H:%M} UTC) has passed")
    limit = attempt_limit(item, exercise, extra)
    if limit is not None and used >= limit:
        raise ServiceError(409, "no_attempts_left", "no attempts left for this exercise")
    return late


def earned_points(item: AssignmentItem, score: float, late: bool) -> float:
    """What a graded score in [0, 1] earns towards the item's points under its set's current late terms."""
    return late_terms(item, late)(score)


def late_terms(item: AssignmentItem, late: bool) -> Callable[[float], float]:
    """earned_points for this item and lateness, as a function of the score: read now, applied later (a grading
    worker reads the terms before it runs the code, and holds no transaction meanwhile)."""
    assignment = item.assignment
    penalty = assignment.late_penalty if late and assignment.late_policy == "penalty" else 0.0
    points = item.points
    return lambda score: round(score * (1 - penalty) * points, 6)
