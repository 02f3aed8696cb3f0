"""One student's work in a course, for its staff: every problem set in the course's order with the due date
and attempts that hold for them (their override), and per exercise their seed, attempts used of the limit,
the points earned and every submission, newest first.

The queries are a fixed number, whatever the student submitted: the member, the sets (with their items and
exercises), the exercises' current versions, the student's overrides, their seeds and ALL their submissions
in the course at once; reading the feedback as the student may see it adds a few per exercise, never per
submission.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from grader.authoring import definition_of
from grader.errors import ServiceError
from grader.models import (
    Assignment,
    AssignmentItem,
    AssignmentOverride,
    Course,
    Exercise,
    ExerciseVersion,
    Membership,
    Submission,
    User,
    Variant,
    db,
)
from grader.service.access import feedback_for, solution_visible
from grader.service.assignments import in_order
from grader.service.limits import attempt_limit
from grader.service.variants import derive_seed


@dataclass
class ExerciseWork:
    """One exercise of a set as the student stands there."""

    item: AssignmentItem
    seed: int  # their Variant's (or the one it will get on their first visit: `seed_stored` says which)
    seed_stored: bool
    used: int  # graded attempts
    limit: int | None  # with their extra attempts; None: unlimited
    earned: float | None  # the counted attempt's points (best or last, as the set scores); None: nothing graded
    submissions: list[Submission] = field(default_factory=list)  # every one, newest first
    feedback: dict[int, dict[str, Any]] = field(default_factory=dict)  # submission id -> as the student sees it


@dataclass
class SetWork:
    """One problem set: the due date that holds for the student, the set's own where an override moved it."""

    assignment: Assignment
    due_at: datetime | None
    moved: bool  # their override sets a due date of its own
    extended_from: datetime | None  # then: the set's due date (None: the set has none)
    extra_attempts: int
    exercises: list[ExerciseWork]

    @property
    def earned(self) -> float | None:
        scored = [e.earned for e in self.exercises if e.earned is not None]
        return round(sum(scored), 6) if scored else None


@dataclass
class StudentWork:
    course: Course
    student: User
    role: str  # their role in the course (staff may have submitted too)
    sets: list[SetWork]

    @property
    def submission_count(self) -> int:
        return sum(len(e.submissions) for s in self.sets for e in s.exercises)


def member_of(course: Course, username: str) -> tuple[User, str]:
    """A member of the course by username, with their role; 404 naming them otherwise."""
    row = db.session.execute(select(User, Membership.role).join(Membership, Membership.user_id == User.id)
                             .where(Membership.course_id == course.id, User.username == username)).first()
    if row is None:
        raise ServiceError(404, "not_found", f"{username!r} is not a member of this course",
                           {"user": ["not a member of this course"]})
    return row[0], row[1]


def _counted(graded: list[Submission], scoring: str) -> Submission | None:
    """The graded attempt a score comes from: the last, or the best (the later one of equal points)."""
    if not graded:
        return None
    if scoring == "last":
        return max(graded, key=lambda s: s.attempt or 0)
    return max(graded, key=lambda s: (s.points or 0.0, s.attempt or 0))


def student_work(course: Course, username: str) -> StudentWork:
    """Everything `username` did in `course` (404 when they are not a member), as its staff read it."""
    student, role = member_of(course, username)
    assignments = in_order(list(db.session.scalars(
        select(Assignment).where(Assignment.course_id == course.id)
        .options(selectinload(Assignment.items).selectinload(AssignmentItem.exercise)))))
    items = [item for a in assignments for item in a.items]
    exercise_ids = {item.exercise_id for item in items}
    # the current versions, for each exercise's own attempt limit (one query rather than one per exercise)
    current = {v.exercise_id: v for v in db.session.scalars(select(ExerciseVersion).join(
        Exercise, (Exercise.id == ExerciseVersion.exercise_id) & (ExerciseVersion.version == Exercise.current_version))
        .where(Exercise.id.in_(exercise_ids)))}
    overrides = {o.assignment_id: o for o in db.session.scalars(select(AssignmentOverride).where(
        AssignmentOverride.user_id == student.id,
        AssignmentOverride.assignment_id.in_([a.id for a in assignments])))}
    seeds = dict(db.session.execute(select(Variant.exercise_id, Variant.seed).where(
        Variant.user_id == student.id, Variant.exercise_id.in_(exercise_ids))).all())
    by_item: dict[int, list[Submission]] = defaultdict(list)
    for submission in db.session.scalars(select(Submission).where(
            Submission.user_id == student.id, Submission.assignment_id.in_([a.id for a in assignments]))
            .options(selectinload(Submission.exercise_version))
            .order_by(Submission.created_at.desc(), Submission.id.desc())):
        by_item[submission.item_id].append(submission)

    sets = []
    for assignment in assignments:
        override = overrides.get(assignment.id)
        extra = override.extra_attempts if override is not None else 0
        moved = override is not None and override.due_at is not None
        exercises = []
        for item in assignment.items:
            submissions = by_item.get(item.id, [])
            graded = [s for s in submissions if s.attempt is not None]
            counted = _counted(graded, assignment.scoring)
            version = current.get(item.exercise_id)
            limit = attempt_limit(item, definition_of(version) if version is not None else None, extra)
            seed = seeds.get(item.exercise_id)
            work = ExerciseWork(item=item, seed=seed if seed is not None else derive_seed(student.id,
                                item.exercise.slug), seed_stored=seed is not None,
                                used=max((s.attempt or 0 for s in graded), default=0), limit=limit,
                                earned=(counted.points or 0.0) if counted is not None else None,
                                submissions=submissions)
            if submissions:  # what the student sees: expected answers only where the policy shows them now
                visible = solution_visible(item, student, role=role)
                work.feedback = {s.id: feedback_for(s, student, visible=visible) for s in submissions}
            exercises.append(work)
        sets.append(SetWork(assignment=assignment, due_at=override.due_at if moved else assignment.due_at,
                            moved=moved, extended_from=assignment.due_at if moved else None, extra_attempts=extra,
                            exercises=exercises))
    return StudentWork(course=course, student=student, role=role, sets=sets)
