"""Problem sets: creating one from exercises (each with its points and attempt limit), changing its settings,
and rescoring what its graded submissions earn when the terms change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from grader.authoring import require_assignable
from grader.errors import ServiceError
from grader.lti.outbox import score_changed
from grader.models import (
    Assignment,
    AssignmentItem,
    AssignmentOverride,
    Course,
    Exercise,
    GradeChange,
    ManualScore,
    Regrade,
    RegradeChange,
    Submission,
    User,
    db,
)
from grader.service.limits import earned_points

# Terms that change what a stored submission earns; changing any of them rescores the graded ones.
SCORING_TERMS = ("points", "due_at", "late_policy", "late_penalty")
# Settings of one item: a patch may change them on a set of one, where the set and its item are one thing.
ITEM_TERMS = ("points", "attempt_limit")
MAX_ITEMS = 100
MAX_POINTS = 1_000_000
MAX_ATTEMPTS = 1000
CHOICES = {"late_policy": ("reject", "penalty", "accept"), "scoring": ("best", "last"),
           "solution_policy": ("never", "after_due", "always")}


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
    check_settings(settings)
    exercises = _resolve(items, by)
    placed = [AssignmentItem(exercise=exercise, position=position, points=spec.points, attempt_limit=spec.attempts)
              for position, (spec, exercise) in enumerate(zip(items, exercises, strict=True), start=1)]
    # built only once every entry is accepted: an assignment attached to the course joins the session
    assignment = Assignment(course=course, items=placed, **settings)
    if not assignment.title:
        assignment.title = assignment.items[0].exercise.title
    db.session.add(assignment)
    db.session.commit()
    return assignment


def _resolve(items: list[ItemSpec], by: User | None) -> list[Exercise]:
    """The exercises of these entries, each checked (see create_assignment); nothing is changed."""
    if not items:
        raise ServiceError(422, "validation_error", "a problem set needs at least one exercise",
                           {"exercises": ["at least one exercise"]})
    if len(items) > MAX_ITEMS:
        raise ServiceError(422, "validation_error", f"at most {MAX_ITEMS} exercises in a problem set",
                           {"exercises": [f"at most {MAX_ITEMS}"]})
    slugs = [spec.exercise for spec in items]
    found = {e.slug: e for e in db.session.scalars(select(Exercise).where(Exercise.slug.in_(slugs)))}
    resolved = []
    for index, spec in enumerate(items):
        where = f"exercises.{index}"
        exercise = found.get(spec.exercise)
        if exercise is None or exercise.deleted:
            raise ServiceError(422, "validation_error", f"no such exercise '{spec.exercise}'",
                               {f"{where}.exercise": ["no such exercise"]})
        if spec.exercise in slugs[:index]:
            raise ServiceError(422, "validation_error", f"'{spec.exercise}' is twice in the problem set",
                               {f"{where}.exercise": ["already in this problem set"]})
        if not 0 <= spec.points <= MAX_POINTS:  # also refuses NaN
            raise ServiceError(422, "validation_error", f"the points of '{spec.exercise}' must be from 0 to "
                               f"{MAX_POINTS:,}", {f"{where}.points": [f"from 0 to {MAX_POINTS}"]})
        if spec.attempts is not None and not 1 <= spec.attempts <= MAX_ATTEMPTS:
            raise ServiceError(422, "validation_error", f"the attempt limit of '{spec.exercise}' must be from 1 to "
                               f"{MAX_ATTEMPTS} (or none)", {f"{where}.attempts": [f"from 1 to {MAX_ATTEMPTS}"]})
        try:
            require_assignable(exercise, by)
        except ServiceError as exc:  # said of this entry of the list
            exc.errors = {f"{where}.exercise" if key == "exercise" else key: value for key, value in exc.errors.items()}
            raise
        resolved.append(exercise)
    return resolved


def check_settings(settings: dict[str, Any]) -> None:
    """Refuse (422, naming the field) a setting outside its choices or range: the API's schema checks the same,
    this holds for every other caller (pages, command line)."""
    for name, value in settings.items():
        choices = CHOICES.get(name)
        if choices is not None and value not in choices:
            raise ServiceError(422, "validation_error", f"{name.replace('_', ' ')} must be one of "
                               f"{', '.join(choices)}", {name: [f"one of {', '.join(choices)}"]})
    penalty = settings.get("late_penalty", 0.0)
    if not 0 <= penalty <= 1:
        raise ServiceError(422, "validation_error", "the late penalty is a fraction of the score, from 0 to 1",
                           {"late_penalty": ["from 0 to 1"]})
    if len(settings.get("title") or "") > 200:
        raise ServiceError(422, "validation_error", "the title is at most 200 characters",
                           {"title": ["at most 200 characters"]})


def revise_assignment(assignment: Assignment, items: list[ItemSpec], by: User | None = None,
                      **settings: Any) -> int:
    """Change a problem set's settings and its exercises at once (the workspace's edit form): the exercises
    become `items`, in this order, with these points and attempt limits. An exercise it held keeps its item
    (and so its submissions); a new one is checked as create_assignment checks it; one left out is removed,
    refused (409) while it has submissions. Everything is checked before anything changes; one transaction.
    Rescores the graded submissions where points, due date or late terms changed; returns how many."""
    check_settings(settings)
    exercises = _resolve(items, by)
    kept_ids = {exercise.id for exercise in exercises}
    removed = [item for item in assignment.items if item.exercise_id not in kept_ids]
    answered = [item for item in removed if db.session.scalar(
        select(Submission.id).where(Submission.item_id == item.id).limit(1)) is not None]
    if answered:
        slugs = ", ".join(item.exercise.slug for item in answered)
        raise ServiceError(409, "has_submissions", f"exercise {slugs} has submissions in this problem set: it "
                           "stays in it (archive the set and make a new one to drop it)",
                           {"exercises": [f"{slugs} answered"]})
    terms = _terms(assignment)
    existing = {item.exercise_id: item for item in assignment.items}
    for item in removed:
        assignment.items.remove(item)
    for position, (spec, exercise) in enumerate(zip(items, exercises, strict=True), start=1):
        item = existing.get(exercise.id)
        if item is None:
            item = AssignmentItem(exercise=exercise)
            assignment.items.append(item)
        item.position, item.points, item.attempt_limit = position, spec.points, spec.attempts
    for name, value in settings.items():
        setattr(assignment, name, value)
    if not assignment.title:
        assignment.title = exercises[0].title
    db.session.flush()
    rescored = rescore_assignment(assignment) if _terms(assignment) != terms else 0
    db.session.commit()
    return rescored


def _terms(assignment: Assignment) -> tuple[Any, ...]:
    """What a stored submission's points depend on (SCORING_TERMS, points per item)."""
    return (assignment.due_at, assignment.late_policy, assignment.late_penalty,
            {item.exercise_id: item.points for item in assignment.items})


def in_order(assignments: list[Assignment]) -> list[Assignment]:
    """A course's problem sets as students and staff see them listed: by position, then due date (none last)."""
    return sorted(assignments, key=lambda a: (a.position, a.due_at is None, a.due_at or datetime.max, a.id))


def move_assignment(assignment: Assignment, step: int) -> bool:
    """Move a problem set one place up (step -1) or down (+1) among its course's. The course's sets are
    numbered 1, 2, ... in their current order first, so sets sharing a position (made elsewhere) move too.
    False when it is already first (last)."""
    ordered = in_order(assignment.course.assignments)
    here = ordered.index(assignment)
    there = here + step
    if step not in (-1, 1) or not 0 <= there < len(ordered):
        return False
    ordered[here], ordered[there] = ordered[there], ordered[here]
    for position, each in enumerate(ordered, start=1):
        each.position = position
    db.session.commit()
    return True


def next_position(course: Course) -> int:
    """A position after every set of the course: where a new one goes on the workspace's list."""
    return max((a.position for a in course.assignments), default=0) + 1


@dataclass
class SetRow:
    """A problem set as the workspace lists it, with how many submissions and overrides it has."""

    assignment: Assignment
    submissions: int
    overrides: int


def problem_sets(course: Course) -> list[SetRow]:
    """The course's problem sets in order (in_order), each with its counts (two queries, not two per set)."""
    def counts(model: Any) -> dict[int, int]:
        return dict(db.session.execute(select(model.assignment_id, func.count()).join(Assignment).where(
            Assignment.course_id == course.id).group_by(model.assignment_id)).all())

    submissions, overrides = counts(Submission), counts(AssignmentOverride)
    return [SetRow(a, submissions.get(a.id, 0), overrides.get(a.id, 0)) for a in in_order(course.assignments)]


def delete_assignment(assignment: Assignment) -> None:
    """Delete a problem set with its items and overrides. Refused (409) while it has submissions, unless it is
    archived first: students' work is not thrown away by accident."""
    if not assignment.archived and db.session.scalar(
            select(Submission.id).where(Submission.assignment_id == assignment.id).limit(1)) is not None:
        raise ServiceError(409, "has_submissions", "this problem set has submissions: archive it first "
                           "(archived: true) to delete it with them, or hide it (visible: false)")
    # said outright rather than left to ON DELETE CASCADE, which SQLite only honours with its foreign keys on
    regrades = select(Regrade.id).where(Regrade.assignment_id == assignment.id).scalar_subquery()
    db.session.execute(delete(RegradeChange).where(RegradeChange.regrade_id.in_(regrades)))
    for model in (Regrade, Submission, ManualScore, GradeChange):
        db.session.execute(delete(model).where(model.assignment_id == assignment.id))
    db.session.delete(assignment)
    db.session.commit()


def update_assignment(assignment: Assignment, changes: dict[str, Any]) -> int:
    """Change a problem set's settings and, where points, due date or late terms changed, rescore what its
    graded submissions earn, so the gradebook always follows the set as it now reads (as an LMS does when a
    due date moves: lateness is judged against the new date). `points` and `attempt_limit` are an item's: they
    may be changed here on a set of one only (422 for a larger set). One transaction. Returns how many
    submissions were rescored."""
    check_settings(changes)
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
    score_changed(assignment)  # every student's score may have changed: the LMS's gradebook hears of it
    return rescored
