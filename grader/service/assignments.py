"""Problem sets: creating one from exercises (each with its points and attempt limit), changing its settings,
and rescoring what its graded submissions earn when the terms change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from grader.authoring import require_assignable
from grader.errors import ServiceError
from grader.models import Assignment, AssignmentItem, Course, Exercise, Submission, User, db
from grader.service.limits import earned_points

# Terms that change what a stored submission earns; changing any of them rescores the graded ones.
SCORING_TERMS = ("points", "due_at", "late_policy", "late_penalty")
# Settings of one item: a patch may change them on a set of one, where the set and its item are one thing.
ITEM_TERMS = ("points", "attempt_limit")
MAX_ITEMS = 100


@dataclass
class ItemSpec:
    """One exercise to place in a problem set: its slug, points and attempt limit (None: the exercise's own)."""

    exercise: str
    points: float = 1.0
    attempts: int | None = None


def create_assignment(course: Course, items: list[ItemSpec], by: User | None = None, **settings: Any) -> Assignment:
    """A new problem set in `course` holding these exercises in this order (the set's title defaults to the
    first exercise's). Every exercise must exist and be assignable by `by` (not a draft, not another
    instructor's own: grader.authoring.require_assignable); an exercise appears once. 422 (409 for a draft)
    otherwise, naming the entry; nothing is stored."""
    if not items:
        raise ServiceError(422, "validation_error", "a problem set needs at least one exercise",
                           {"exercises": ["at least one exercise"]})
    if len(items) > MAX_ITEMS:
        raise ServiceError(422, "validation_error", f"at most {MAX_ITEMS} exercises in a problem set",
                           {"exercises": [f"at most {MAX_ITEMS}"]})
    slugs = [spec.exercise for spec in items]
    found = {e.slug: e for e in db.session.scalars(select(Exercise).where(Exercise.slug.in_(slugs)))}
    placed = []
    for position, spec in enumerate(items, start=1):
        where = f"exercises.{position - 1}.exercise"
        exercise = found.get(spec.exercise)
        if exercise is None or exercise.deleted:
            raise ServiceError(422, "validation_error", f"no such exercise '{spec.exercise}'",
                               {where: ["no such exercise"]})
        if spec.exercise in slugs[:position - 1]:
            raise ServiceError(422, "validation_error", f"'{spec.exercise}' is twice in the problem set",
                               {where: ["already in this problem set"]})
        try:
            require_assignable(exercise, by)
        except ServiceError as exc:  # said of this entry of the list
            exc.errors = {where if key == "exercise" else key: value for key, value in exc.errors.items()}
            raise
        placed.append(AssignmentItem(exercise=exercise, position=position, points=spec.points,
                                     attempt_limit=spec.attempts))
    # built only once every entry is accepted: an assignment attached to the course joins the session
    assignment = Assignment(course=course, items=placed, **settings)
    if not assignment.title:
        assignment.title = assignment.items[0].exercise.title
    db.session.add(assignment)
    db.session.commit()
    return assignment


def delete_assignment(assignment: Assignment) -> None:
    """Delete a problem set with its items and overrides. Refused (409) while it has submissions, unless it is
    archived first: students' work is not thrown away by accident."""
    if not assignment.archived and db.session.scalar(
            select(Submission.id).where(Submission.assignment_id == assignment.id).limit(1)) is not None:
        raise ServiceError(409, "has_submissions", "this problem set has submissions: archive it first "
                           "(archived: true) to delete it with them, or hide it (visible: false)")
    # said outright rather than left to ON DELETE CASCADE, which SQLite only honours with its foreign keys on
    db.session.execute(delete(Submission).where(Submission.assignment_id == assignment.id))
    db.session.delete(assignment)
    db.session.commit()


def update_assignment(assignment: Assignment, changes: dict[str, Any]) -> int:
    """Change a problem set's settings and, where points, due date or late terms changed, rescore what its
    graded submissions earn, so the gradebook always follows the set as it now reads (as an LMS does when a
    due date moves: lateness is judged against the new date). `points` and `attempt_limit` are an item's: they
    may be changed here on a set of one only (422 for a larger set). One transaction. Returns how many
    submissions were rescored."""
    item_changes = {name: changes[name] for name in ITEM_TERMS if name in changes}
    if item_changes and assignment.single is None:
        raise ServiceError(422, "validation_error", "this problem set has several exercises: points and attempts "
                           "are set per exercise", {name: ["set per exercise"] for name in item_changes})
    item = assignment.single
    rescore = any(name in SCORING_TERMS and getattr(item if name in ITEM_TERMS else assignment, name) != value
                  for name, value in changes.items())
    for name, value in changes.items():
        setattr(item if name in ITEM_TERMS else assignment, name, value)
    rescored = rescore_assignment(assignment) if rescore else 0
    db.session.commit()
    return rescored


def rescore_assignment(assignment: Assignment) -> int:
    """Recompute lateness and points of every graded submission to the set under its current terms (the caller
    commits). Returns how many were rescored."""
    items = {item.id: item for item in assignment.items}
    # lateness against each student's own due date: their override's, else the set's
    due = {o.user_id: o.due_at for o in assignment.overrides if o.due_at is not None}
    rescored = 0
    graded = db.session.scalars(select(Submission).where(Submission.assignment_id == assignment.id,
                                                         Submission.attempt.is_not(None)))
    for submission in graded:
        deadline = due.get(submission.user_id, assignment.due_at)
        submission.late = deadline is not None and submission.created_at > deadline
        submission.points = earned_points(items[submission.item_id], submission.score or 0.0, submission.late)
        rescored += 1
    return rescored
