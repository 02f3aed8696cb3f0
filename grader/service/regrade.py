"""Regrading stored submissions: what a regrade would do (the dry run, which changes nothing), and which problem-set
totals it moves (the plan itself is grader.service.regrade_plan). Committing, undoing and the records are
grader.service.regrade_commit.

    check_request(assignment, exercise=..., students=[...], change="grader"|"tolerance"|"version", ...)
    dry_run(actor, assignment, request)   ->  Plan (its report(): "would change N submissions of M students", ...)
    totals_that_move(assignment, entries) ->  [TotalMove]: the students whose set total moves (LMS grades to resend)

What can change: the current grader (re-run on the stored answers or code with the version the student saw), a
new tolerance for one exercise (the same numbers, compared more or less strictly), or another version of one
exercise, graded on the same seed where that version draws the same numbers (else the submission is left and
its student named). Only graded submissions (an attempt used) are regraded; a student with a manual score for
the set keeps every submission as it is ("kept: overridden"), and with "never lower" a lower new score is kept
as it was. The plan's fingerprint digests every row it read and every outcome, so a commit can refuse when
anything moved since the dry run.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import Text, cast, select

from grader import exercises as definitions
from grader.authoring import definition_of
from grader.errors import ServiceError
from grader.grading.tolerance import Tolerance
from grader.models import (
    Assignment,
    AssignmentItem,
    ExerciseVersion,
    ManualScore,
    Membership,
    Submission,
    User,
    db,
)
from grader.service import regrade_store
from grader.service.access import course_role
from grader.service.limits import earned_points
from grader.service.regrade_plan import (
    CHANGED,
    KEPT_NEVER_LOWER,
    KEPT_OVERRIDDEN,
    NOT_GRADABLE,
    NUMBERS_DIFFER,
    SAME,
    Entry,
    Plan,
    TotalMove,
    read_token,
    totals_that_move,
)
from grader.service.submissions import grade
from grader.service.variants import cached_variant

CHANGES = ("grader", "tolerance", "version")
MAX_STUDENTS = 10_000
TA_REFUSED = ("a regrade changes the grades of many students at once: only the course's instructors regrade "
              "(TAs set manual scores for one student)")

_SUBMISSION_COLUMNS = (Submission.id, Submission.user_id, Submission.item_id, Submission.exercise_version_id,
                       Submission.seed, Submission.kind, Submission.answers, Submission.code, Submission.status,
                       Submission.attempt, Submission.score, Submission.points, Submission.late,
                       Submission.mistakes,
                       # the feedback as stored, decoded only where the outcome hangs on it (_judge): most rows
                       # whose score or mistakes move never need it, and decoding is half the cost of this read
                       cast(Submission.feedback, Text).label("feedback"))


def _invalid(name: str, message: str) -> ServiceError:
    return ServiceError(422, "validation_error", message, {name: [message]})


def require_instructor(actor: User, assignment: Assignment) -> None:
    """404 outside the course, 403 for its students and TAs."""
    role = course_role(actor, assignment.course)
    if role is None:
        raise ServiceError(404, "not_found", "no such assignment")
    if role != "instructor":
        raise ServiceError(403, "forbidden", TA_REFUSED)


@dataclass(frozen=True)
class RegradeRequest:
    """What to regrade (every item, or `item_id`; every student, or these user ids) and how."""

    change: str = "grader"
    item_id: int | None = None
    user_ids: tuple[int, ...] | None = None
    tolerance: dict[str, Any] | None = None
    version_id: int | None = None
    never_lower: bool = False

    def to_params(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "user_ids": list(self.user_ids) if self.user_ids is not None else None}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> RegradeRequest:
        users = params.get("user_ids")
        return cls(**{**params, "user_ids": tuple(users) if users is not None else None})


def check_request(assignment: Assignment, *, exercise: str | None = None, students: Iterable[str] | None = None,
                  change: str = "grader", tolerance: dict[str, Any] | None = None, version: int | None = None,
                  never_lower: bool = False) -> RegradeRequest:
    """A request, checked: 422 naming the field for an exercise not in the set, unknown students, an unknown
    change, a tolerance the grader refuses, or a version the exercise does not have."""
    if change not in CHANGES:
        raise _invalid("change", f"the change must be one of {', '.join(CHANGES)} (not {str(change)[:40]!r})")
    item: AssignmentItem | None = None
    if exercise:
        item = assignment.item_for(exercise)
        if item is None:
            raise _invalid("exercise", f"there is no exercise {exercise[:120]!r} in this problem set")
    elif change != "grader":
        item = assignment.single
        if item is None:
            raise _invalid("exercise", f"a {change} change is for one exercise: name it")
    user_ids = None
    if students is not None:
        names = sorted({str(s) for s in students})
        if not names or len(names) > MAX_STUDENTS:
            raise _invalid("students", f"name from 1 to {MAX_STUDENTS} students, or leave it out for all")
        found = dict(db.session.execute(select(User.username, User.id).join(Membership).where(
            Membership.course_id == assignment.course_id, Membership.role == "student", User.username.in_(names))
        ).all())
        unknown = [n for n in names if n not in found]
        if unknown:
            raise _invalid("students", "not students of this course: " + ", ".join(n[:80] for n in unknown[:20]))
        user_ids = tuple(sorted(found.values()))
    spec, version_id = None, None
    if change == "tolerance":
        if not isinstance(tolerance, dict) or not tolerance:
            raise _invalid("tolerance", "give the new tolerance: rtol and/or atol, or sigfigs")
        try:
            Tolerance.from_spec(tolerance, item.exercise.kind)
        except ValueError as exc:
            raise _invalid("tolerance", str(exc)) from None
        spec = dict(tolerance)
    elif change == "version":
        # a number no version can have is refused before the query (SQLite cannot bind an int over 64 bits)
        in_range = isinstance(version, int) and not isinstance(version, bool) and 1 <= version <= 2**31 - 1
        row = db.session.scalar(select(ExerciseVersion).where(ExerciseVersion.exercise_id == item.exercise_id,
                                                              ExerciseVersion.version == version)) if in_range else None
        if row is None:
            raise _invalid("version", f"exercise {item.exercise.slug} has no version {str(version)[:40]}")
        version_id = row.id
    return RegradeRequest(change, item.id if item is not None else None, user_ids, spec, version_id,
                          bool(never_lower))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def same_feedback(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Equal feedback but for the expected answers, which the solution policy adds or leaves out at read time,
    and the time each test of code took (never the same twice: not an outcome). Compared in place: this runs on
    every submission of a regrade."""
    if not a or not b:
        return a == b
    if a.keys() != b.keys() or any(a[k] != b[k] for k in a if k != "parts"):
        return False
    left, right = a.get("parts") or [], b.get("parts") or []
    if len(left) != len(right):
        return False
    for x, y in zip(left, right, strict=True):
        if not isinstance(x, dict) or not isinstance(y, dict):
            if x != y:
                return False
            continue
        if x.keys() != y.keys() or any(x[k] != y[k] for k in x if k not in ("expected", "details")):
            return False
        if not _same_details(x.get("details"), y.get("details")):
            return False
    return True


def _same_details(a: Any, b: Any) -> bool:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return a == b
    return a.keys() == b.keys() and all(a[k] == b[k] for k in a if k != "seconds")


def _same_numbers(seen: definitions.Variant, new: definitions.Variant) -> bool:
    if seen.dims != new.dims or set(seen.leaves) != set(new.leaves):
        return False
    if any(not np.array_equal(seen.leaves[k], new.leaves[k]) for k in seen.leaves):
        return False
    a, b = seen.upstream or {}, new.upstream or {}
    return set(a) == set(b) and all(np.array_equal(a[k], b[k]) for k in a)


class _Grader:
    """The definition each submission is regraded with, built once per stored version."""

    def __init__(self, request: RegradeRequest) -> None:
        self.request = request
        self.versions: dict[int, ExerciseVersion] = {}
        self.targets: dict[int, definitions.Exercise] = {}
        self.definitions: dict[int, definitions.Exercise] = {}
        self.variants: dict[tuple[int, int], definitions.Variant] = {}  # (version id, seed): attempts share it
        self.allow_weak = bool(current_app.config.get("SANDBOX_ALLOW_WEAK", False))

    def version(self, version_id: int) -> ExerciseVersion:
        if version_id not in self.versions:
            self.versions[version_id] = db.session.get(ExerciseVersion, version_id)
        return self.versions[version_id]

    def definition(self, version_id: int) -> definitions.Exercise:
        found = self.definitions.get(version_id)
        if found is None:
            found = self.definitions[version_id] = definition_of(self.version(version_id))
        return found

    def regrade(self, row: Any, item: AssignmentItem, entry: Entry) -> None:
        try:
            self._regrade(row, item, entry)
        except definitions.DefinitionError as exc:  # a stored version today's checks refuse: left as it is
            entry.outcome = NOT_GRADABLE
            entry.note = ("its exercise version no longer passes today's checks: " + "; ".join(exc.errors))[:500]

    def _regrade(self, row: Any, item: AssignmentItem, entry: Entry) -> None:
        request = self.request
        version_id = entry.old_version_id  # the version the student saw (before this regrade, when started again)
        seen_definition = self.definition(version_id)
        seen = cached_variant(seen_definition, row.seed)
        entry.new_version_id = version_id
        variant = seen
        if request.change == "tolerance" and row.item_id == request.item_id:
            target = self.targets.get(version_id)
            if target is None:
                target = self.targets[version_id] = dataclasses.replace(
                    seen_definition, tolerance=request.tolerance)
            variant = self.variants.get((version_id, row.seed))
            if variant is None or variant.exercise is not target or variant.leaves is not seen.leaves:
                variant = self.variants[(version_id, row.seed)] = dataclasses.replace(seen, exercise=target)
        elif request.change == "version" and row.item_id == request.item_id:
            variant = cached_variant(self.definition(request.version_id), row.seed)
            if not _same_numbers(seen, variant):
                entry.outcome, entry.note = NUMBERS_DIFFER, "that version draws other numbers for this student"
                return
            entry.new_version_id = request.version_id
        try:
            result = grade(variant.exercise, variant, answers=row.answers, code=row.code, reveal=False,
                           allow_weak=self.allow_weak, attempt=row.attempt).withhold_ungraded()
        except ServiceError as exc:
            entry.outcome, entry.note = NOT_GRADABLE, exc.message
            return
        if result.status != "graded":
            entry.outcome, entry.note = NOT_GRADABLE, result.message
            return
        entry.new_score = result.score
        entry.new_points = earned_points(item, result.score, row.late)
        entry.new_mistakes = sorted({p.diagnosis["mistake"] for p in result.parts if p.diagnosis})
        entry.new_feedback = result.to_dict()


def compute_plan(assignment: Assignment, request: RegradeRequest, *, ids: Iterable[int] | None = None,
                 restore: dict[int, Any] | None = None, on_progress: Callable[[int], None] | None = None,
                 every: int = 500) -> Plan:
    """The plan: every graded submission in scope (or of `ids`, those a dry run read) regraded in memory.
    `restore` (submission id -> RegradeChange) gives the values from before for rows this plan's own commit
    changed already (a commit started again), so that the fingerprint is the dry run's. Writes nothing."""
    with collector_waits():
        return _compute_plan(assignment, request, ids, restore, on_progress, every)


@contextmanager
def collector_waits() -> Iterator[None]:
    """A plan holds every row's feedback, old and new (a million small objects for 20,000 submissions): the
    cyclic collector would walk them all again each time a generation fills; it waits till the plan is made."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def in_scope(assignment: Assignment, request: RegradeRequest, *columns: Any) -> Any:
    """The graded submissions a regrade reads (of the course's students; of its item and students, if named)."""
    query = (select(*columns).join(Membership, (Membership.user_id == Submission.user_id)
                                   & (Membership.course_id == assignment.course_id)
                                   & (Membership.role == "student"))
             .where(Submission.assignment_id == assignment.id, Submission.attempt.is_not(None),
                    Submission.status == "graded").order_by(Submission.id))
    if request.item_id is not None:
        query = query.where(Submission.item_id == request.item_id)
    if request.user_ids is not None:
        query = query.where(Submission.user_id.in_(request.user_ids))
    return query


def terms_of(assignment: Assignment, request: RegradeRequest) -> tuple[set[int], Any]:
    """The students with a manual score for the set, and the digest of the regrade's terms: what was asked, who
    has a manual score, the set's items, points, late policy and scoring (the fingerprint starts with it)."""
    manual = set(db.session.scalars(select(ManualScore.user_id).where(ManualScore.assignment_id == assignment.id)))
    digest = hashlib.sha256(_canonical([request.to_params(), sorted(manual),
                                        [(i.id, i.points, i.exercise_id) for i in assignment.items],
                                        assignment.late_policy, assignment.late_penalty, assignment.scoring]
                                       ).encode())
    return manual, digest


def _plan(assignment: Assignment, request: RegradeRequest, entries: list[Entry], fingerprint: str,
          ids: list[int], terms: str) -> Plan:
    users = {e.user_id for e in entries}
    usernames = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(users))).all()) \
        if users else {}
    plan = Plan(assignment, request, entries, fingerprint, ids, usernames, [], terms)
    plan.totals = totals_that_move(assignment, plan.changed, usernames)
    return plan


def _compute_plan(assignment: Assignment, request: RegradeRequest, ids: Iterable[int] | None,
                  restore: dict[int, Any] | None, on_progress: Callable[[int], None] | None, every: int) -> Plan:
    items = {item.id: item for item in assignment.items}
    wanted = set(ids) if ids is not None else None
    rows = [r for r in db.session.execute(in_scope(assignment, request, *_SUBMISSION_COLUMNS))
            if wanted is None or r.id in wanted]
    restore = restore or {}
    manual, digest = terms_of(assignment, request)
    terms = digest.hexdigest()
    grader, entries = _Grader(request), []
    for count, row in enumerate(rows, start=1):
        before = restore.get(row.id)
        score, points, mistakes, version_id, feedback = (
            (before.old_score, before.old_points, before.old_mistakes, before.old_version_id, before.old_feedback)
            if before is not None else (row.score, row.points, row.mistakes, row.exercise_version_id, row.feedback))
        entry = Entry(row.id, row.user_id, row.item_id, row.attempt, SAME, score, points, list(mistakes or []),
                      version_id, feedback, late=row.late, feedback_digest=feedback_digest(feedback))
        grader.regrade(row, items[row.item_id], entry)
        if entry.outcome == SAME:
            _judge(entry, row.user_id in manual, request.never_lower)
        # the feedback counts by its own digest (its text is the costly part to digest again), and the commit
        # copies the feedback it replaces from the row itself
        digest.update(_canonical([row.id, row.user_id, row.item_id, version_id, row.seed, row.status, row.attempt,
                                  score, points, row.late, entry.old_mistakes, entry.feedback_digest, row.answers,
                                  row.code, entry.outcome,
                                  entry.new_score, entry.new_points, entry.new_mistakes, entry.new_version_id]
                                 ).encode())
        entries.append(entry)
        if on_progress is not None and count % every == 0:
            on_progress(every)
    if on_progress is not None and len(rows) % every:
        on_progress(len(rows) % every)
    return _plan(assignment, request, entries, digest.hexdigest(), [r.id for r in rows], terms)


def feedback_digest(text: str | None) -> str:
    """The digest of a row's feedback as stored (its JSON text), as PostgreSQL's md5() gives it."""
    return hashlib.md5((text or "").encode(), usedforsecurity=False).hexdigest()


def _decoded(feedback: dict[str, Any] | str | None) -> dict[str, Any] | None:
    return json.loads(feedback) if isinstance(feedback, str) else feedback


def _judge(entry: Entry, overridden: bool, never_lower: bool) -> None:
    """Changed, the same, or kept as it is (a manual score for the set; a lower score under "never lower")."""
    graded_alike = (entry.new_score == entry.old_score and entry.new_points == entry.old_points
                    and entry.new_mistakes == entry.old_mistakes and entry.new_version_id == entry.old_version_id)
    if graded_alike and same_feedback(entry.new_feedback, _decoded(entry.old_feedback)):
        entry.outcome = SAME
    elif overridden:
        entry.outcome, entry.note = KEPT_OVERRIDDEN, "the student has a manual score for this set"
    elif never_lower and entry.old_score is not None and entry.new_score < entry.old_score:
        entry.outcome, entry.note = KEPT_NEVER_LOWER, "the new score is lower"
    else:
        # the same score and diagnosis: what the student reads changes (a tolerance stated, a message reworded)
        entry.outcome, entry.note = CHANGED, "its feedback only" if graded_alike else ""


__all__ = ["CHANGED", "KEPT_NEVER_LOWER", "KEPT_OVERRIDDEN", "NOT_GRADABLE", "NUMBERS_DIFFER", "SAME", "Entry",
           "Plan", "RegradeRequest", "TotalMove", "check_request", "compute_plan", "dry_run", "read_token",
           "require_instructor", "totals_that_move"]


def dry_run(actor: User, assignment: Assignment, request: RegradeRequest) -> Plan:
    """What the regrade would do, for the course's instructors; changes nothing (not even a seed). Numbers are
    regraded here at thousands a second; a regrade of code runs as a job (grader.service.regrade_jobs)."""
    require_instructor(actor, assignment)
    plan = compute_plan(assignment, request)
    db.session.rollback()  # nothing read is kept in the session's transaction
    regrade_store.keep(plan)  # for the commit, outside the database
    return plan
