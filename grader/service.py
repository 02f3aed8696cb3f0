"""The one place that grades and stores a submission. Every entry point (API, pages, LTI, CLI) calls it.

    submit(user, assignment, answers={...})   ->  Submission (graded, or invalid: no attempt used)
    submit(user, assignment, code="...")      ->  Submission (per-test results)

Order of work: check access, due date and attempts left (cheap, before grading); grade outside any
transaction (numeric in process, code through the sandbox pool); then store in one short transaction that
numbers the attempt. The unique (assignment, user, attempt) constraint is what keeps the attempt limit under
concurrency: a racing insert that loses is retried with the next number, or refused once the limit is met.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from grader import exercises as definitions
from grader.authoring import definition_of
from grader.engine import to_json
from grader.errors import ServiceError
from grader.extensions import spend_submission
from grader.grading.numeric import grade_answers
from grader.grading.result import GradeResult
from grader.models import (
    Assignment,
    Course,
    Exercise,
    ExerciseVersion,
    Membership,
    Submission,
    User,
    Variant,
    db,
    utcnow,
)

STORE_RETRIES = 20

# What one submission may hold, whatever the entry point (the API's schema says the same with these numbers).
MAX_ANSWERS = 200
MAX_ANSWER_TEXT = 20_000
MAX_CODE = 100_000
MAX_ANSWER_ENTRIES = 10_000  # numbers in one answer: as many as the largest tensor a definition may draw


# --- variants --------------------------------------------------------------------------------------------

def derive_seed(user_id: int, exercise_slug: str) -> int:
    digest = hashlib.blake2b(f"{user_id}:{exercise_slug}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


def variant_for(user: User, exercise: Exercise) -> tuple[Variant, definitions.Variant]:
    """The student's stored seed (created on first use) and their variant of the current version."""
    row = db.session.scalar(select(Variant).where(Variant.user_id == user.id, Variant.exercise_id == exercise.id))
    if row is None:
        row = Variant(user_id=user.id, exercise_id=exercise.id, seed=derive_seed(user.id, exercise.slug))
        try:
            with db.session.begin_nested():
                db.session.add(row)
        except IntegrityError:  # created at the same moment by a concurrent request
            row = db.session.scalar(select(Variant).where(Variant.user_id == user.id,
                                                          Variant.exercise_id == exercise.id))
        db.session.commit()
    return row, cached_variant(definition_of(exercise.current), row.seed)


_variants: dict[tuple[int, int], tuple[definitions.Exercise, definitions.Variant]] = {}


def cached_variant(exercise: definitions.Exercise, seed: int) -> definitions.Variant:
    """make_variant, remembered: a variant is a pure function of (definition, seed) and nothing mutates it,
    and drawing and solving it is a good part of answering a submission."""
    key = (id(exercise), seed)
    hit = _variants.get(key)
    if hit is None or hit[0] is not exercise:  # the id of a parsed definition since dropped from the cache
        if len(_variants) > 4096:
            _variants.clear()
        try:
            variant = definitions.make_variant(exercise, seed)
        except definitions.DegenerateVariantError as exc:  # stored before definitions were checked for this
            current_app.logger.error("exercise %s cannot draw seed %d: %s", exercise.id, seed, exc)
            raise ServiceError(503, "exercise_unavailable", "this exercise cannot draw your numbers (its "
                               "definition needs fixing); nothing was recorded, tell your instructor") from None
        hit = _variants[key] = (exercise, variant)
    return hit[1]


# --- access ----------------------------------------------------------------------------------------------

def course_role(user: User, course: Course) -> str | None:
    if user.role == "admin":
        return "instructor"
    return db.session.scalar(select(Membership.role).where(Membership.user_id == user.id,
                                                           Membership.course_id == course.id))


def require_student_access(user: User, assignment: Assignment) -> str:
    """The user's role in the assignment's course; 404 when they may not see it (no hint it exists)."""
    role = course_role(user, assignment.course)
    _require_visible(role, assignment)
    return role


def _attempts_used(user_id: int, assignment_id: Any) -> Select:
    """Graded attempts so far: the highest attempt number, since graded submissions are numbered 1, 2, ...
    with no gap (the next takes used + 1; submissions are never deleted). One step down the unique
    (assignment, user, attempt) index, where a count would read every earlier attempt."""
    return select(func.coalesce(func.max(Submission.attempt), 0)).where(
        Submission.assignment_id == assignment_id, Submission.user_id == user_id)


def graded_attempts(user: User, assignment: Assignment) -> int:
    return db.session.scalar(_attempts_used(user.id, assignment.id)) or 0


def attempt_limit(assignment: Assignment, exercise: definitions.Exercise | None = None) -> int | None:
    """The assignment's limit, else the exercise's own `attempts`, else unlimited (None). `exercise` is the
    current definition where the caller has it already (saves loading the versions)."""
    if assignment.attempt_limit:
        return assignment.attempt_limit
    return (exercise or definition_of(assignment.exercise.current)).attempts


def attempts_left(user: User, assignment: Assignment) -> int | None:
    limit = attempt_limit(assignment)
    return None if limit is None else max(0, limit - graded_attempts(user, assignment))


def solution_visible(assignment: Assignment, user: User, now: datetime | None = None, role: str | None = None
                     ) -> bool:
    """May this user see the expected answers? Instructors always; students when the assignment's policy
    allows it and so does every other assignment of the same exercise they take: the seed is the student's
    and the exercise's, so the numbers, and the answers, are the same there. `role` is the user's course role
    where the caller knows it already (saves a query)."""
    if (role or course_role(user, assignment.course)) == "instructor":
        return True
    if not _policy_shows(assignment, user, now):
        return False
    elsewhere = db.session.scalars(
        select(Assignment).join(Membership, (Membership.course_id == Assignment.course_id)
                                & (Membership.user_id == user.id) & (Membership.role == "student"))
        .where(Assignment.exercise_id == assignment.exercise_id, Assignment.id != assignment.id))
    return all(_policy_shows(other, user, now) for other in elsewhere)


def _policy_shows(assignment: Assignment, user: User, now: datetime | None) -> bool:
    """The assignment's solution policy for a student, on its own."""
    policy = assignment.solution_policy
    if policy == "always":
        return True
    if policy == "after_due":
        # Only once nothing more can be earned: while late submissions are still taken, showing the answer
        # would let the next (late) submission copy it.
        if assignment.due_at is None or (now or utcnow()) <= assignment.due_at:
            return False
        return assignment.late_policy == "reject" or attempts_left(user, assignment) == 0
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
        visible = solution_visible(submission.assignment, viewer, now)
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


# --- submitting ------------------------------------------------------------------------------------------

@dataclass
class SubmitContext:
    """What submit() reads before grading: the assignment, its exercise's current version,
    the user's course role, their graded attempts so far and their stored seed (None before the first visit)."""

    assignment: Assignment
    version: ExerciseVersion
    role: str | None
    used: int
    seed: int | None


@functools.cache
def _context_query() -> Select:
    """submit_context's statement, built once (building it costs about as much as running it); the user and
    the assignment are bound parameters."""
    user_id, assignment_id = bindparam("user_id"), bindparam("assignment_id")
    role = select(Membership.role).where(Membership.user_id == user_id,
                                         Membership.course_id == Assignment.course_id).scalar_subquery()
    used = _attempts_used(user_id, Assignment.id).scalar_subquery()
    seed = select(Variant.seed).where(Variant.user_id == user_id,
                                      Variant.exercise_id == Assignment.exercise_id).scalar_subquery()
    return (select(Assignment, ExerciseVersion, role, used, seed)
            .join(Exercise, Exercise.id == Assignment.exercise_id)  # for its current version only
            .join(ExerciseVersion, (ExerciseVersion.exercise_id == Exercise.id)
                  & (ExerciseVersion.version == Exercise.current_version))
            .where(Assignment.id == assignment_id))


def submit_context(user: User, assignment_id: int) -> SubmitContext | None:
    """Everything submit() reads before grading, in one round trip (the path every submission takes): the
    assignment joined to its exercise and only the current version, with the role, the attempts used and the
    seed as scalar subqueries. None when there is no such assignment."""
    row = db.session.execute(_context_query(), {"user_id": user.id, "assignment_id": assignment_id}).one_or_none()
    if row is None:
        return None
    assignment, version, role_value, used_value, seed_value = row
    return SubmitContext(assignment, version, "instructor" if user.role == "admin" else role_value,
                         used_value or 0, seed_value)


def _require_visible(role: str | None, assignment: Assignment) -> None:
    if role is None or (role == "student" and not assignment.visible):
        raise ServiceError(404, "not_found", "no such assignment")


def check_payload(answers: dict[str, Any] | None, code: str | None) -> None:
    """Refuse (nothing stored) what no grader needs and no page should echo back: oversized answers or
    code, and NUL bytes, which PostgreSQL cannot store in text."""
    if code is not None:
        if len(code) > MAX_CODE:
            raise ServiceError(413, "too_large", f"the code is longer than {MAX_CODE:,} characters",
                               {"code": [f"at most {MAX_CODE} characters"]})
        if "\x00" in code:
            raise ServiceError(422, "invalid", "the code contains a NUL byte", {"code": ["must not contain NUL bytes"]})
    if answers is not None:
        if len(answers) > MAX_ANSWERS:
            raise ServiceError(413, "too_large", f"more than {MAX_ANSWERS} answers",
                               {"answers": [f"at most {MAX_ANSWERS} answers"]})
        for key, value in answers.items():
            problem = _oversized(value)
            if problem:
                raise ServiceError(413, "too_large", f"answer {key} is {problem}", {f"answers.{key}": [problem]})


def _oversized(value: Any) -> str | None:
    """What is too large about one answer: text as typed, or (nested) lists of numbers or of the texts of a
    page's boxes. None when it is fine."""
    entries, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > MAX_ANSWER_TEXT:
                return f"longer than {MAX_ANSWER_TEXT:,} characters"
            entries += 1
        elif isinstance(item, list | tuple):
            stack.extend(item)
        else:
            entries += 1
        if entries > MAX_ANSWER_ENTRIES:
            return f"more than {MAX_ANSWER_ENTRIES:,} numbers"
    return None


def _check_open(assignment: Assignment, exercise: definitions.Exercise, used: int, now: datetime) -> bool:
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


# Terms that change what a stored submission earns; changing any of them rescores the graded ones.
SCORING_TERMS = ("points", "due_at", "late_policy", "late_penalty")


def update_assignment(assignment: Assignment, changes: dict[str, Any]) -> int:
    """Change an assignment's settings and, where points, due date or late terms changed, rescore what its
    graded submissions earn, so the gradebook always follows the assignment as it now reads (as an LMS does
    when a due date moves: lateness is judged against the new date). One transaction. Returns how many
    submissions were rescored."""
    rescore = any(name in SCORING_TERMS and getattr(assignment, name) != value for name, value in changes.items())
    for name, value in changes.items():
        setattr(assignment, name, value)
    rescored = 0
    if rescore:
        graded = db.session.scalars(select(Submission).where(Submission.assignment_id == assignment.id,
                                                             Submission.attempt.is_not(None)))
        for submission in graded:
            submission.late = assignment.due_at is not None and submission.created_at > assignment.due_at
            submission.points = earned_points(assignment, submission.score or 0.0, submission.late)
            rescored += 1
    db.session.commit()
    return rescored


def grade(exercise: definitions.Exercise, variant: definitions.Variant, *, answers: dict | None, code: str | None,
          reveal: bool, allow_weak: bool = False, attempt: int = 0) -> GradeResult:
    """Grade without storing: numeric answers in process, code through the sandbox pool (on test cases drawn
    anew for each `attempt`)."""
    if exercise.kind == "numeric":
        if answers is None:
            raise ServiceError(422, "invalid", "this exercise takes answers", {"answers": ["required"]})
        return grade_answers(variant, answers, reveal=reveal)
    if code is None:
        raise ServiceError(422, "invalid", "this exercise takes code", {"code": ["required"]})
    from grader.grading.code import grade_code  # the sandbox is only loaded where code is graded

    return grade_code(exercise, variant.seed, code, reveal=reveal, allow_weak=allow_weak, attempt=attempt)


def spend_budget(user: User) -> None:
    """Count one grading (a submission, or a check on the example) against the account's budget; 429 past it."""
    wait = spend_submission(user.id)
    if wait is not None:
        raise ServiceError(429, "too_many_requests", f"too many submissions in a short time (at most "
                           f"{current_app.config['SUBMIT_RATE_LIMIT']}, checks on the example included): try "
                           f"again in {math.ceil(wait)} s; nothing was graded and no attempt used",
                           headers={"Retry-After": str(math.ceil(wait))})


def submit(user: User, assignment: Assignment, *, answers: dict[str, Any] | None = None, code: str | None = None,
           now: datetime | None = None, context: SubmitContext | None = None, seen_version: int | None = None
           ) -> Submission:
    """Grade and store one submission atomically. Format errors and infrastructure failures are stored
    without an attempt number (they do not use an attempt). `context` is submit_context's for this user and
    assignment where the caller loaded the assignment with it (the API does: one query instead of two).
    `seen_version` is the exercise version whose numbers the student worked from, where the client says: if
    an instructor has edited the exercise since, the answers are to other numbers, and nothing is stored."""
    now = now or utcnow()
    if context is None or context.assignment is not assignment:
        context = submit_context(user, assignment.id)
    role, used, seed, version = context.role, context.used, context.seed, context.version
    _require_visible(role, assignment)
    spend_budget(user)
    check_payload(answers, code)
    if seen_version is not None and seen_version != version.version:
        raise ServiceError(409, "exercise_changed",
                           f"the exercise was changed after you opened it (you had version {seen_version}, it is "
                           f"now version {version.version}): open it again to see your numbers",
                           {"version": [f"the current version is {version.version}"]})
    exercise = definition_of(version)
    late = _check_open(assignment, exercise, used, now)
    if seed is None:
        seed = variant_for(user, assignment.exercise)[0].seed
    variant = cached_variant(exercise, seed)
    started = time.perf_counter()
    result = grade(exercise, variant, answers=answers, code=code, reveal=solution_visible(assignment, user, now, role),
                   allow_weak=current_app.config.get("SANDBOX_ALLOW_WEAK", False), attempt=used + 1
                   ).withhold_ungraded()
    elapsed_ms = (time.perf_counter() - started) * 1000
    score = result.score if result.uses_attempt else None
    earned = None if score is None else earned_points(assignment, score, late)
    mistakes = sorted({p.diagnosis["mistake"] for p in result.parts if p.diagnosis})
    submission = Submission(
        assignment_id=assignment.id, user_id=user.id, exercise_version_id=version.id, seed=seed,
        kind=exercise.kind, answers=answers if exercise.kind == "numeric" else None,
        code=code if exercise.kind == "code" else None, status=result.status, score=score, points=earned,
        late=late, feedback=result.to_dict(), mistakes=mistakes, grading_ms=round(elapsed_ms, 3), created_at=now,
    )
    return _store(submission, user, assignment, numbered=result.uses_attempt, used=used,
                  limit=attempt_limit(assignment, exercise))


def _store(submission: Submission, user: User, assignment: Assignment, *, numbered: bool, used: int,
           limit: int | None) -> Submission:
    """Insert in one short transaction. `used` (counted before grading) is the first guess at the attempt
    number; a concurrent submission that took it makes the insert fail, and we count again."""
    for retry in range(STORE_RETRIES):
        if numbered:
            if retry:
                used = graded_attempts(user, assignment)
            if limit is not None and used >= limit:
                db.session.rollback()
                raise ServiceError(409, "no_attempts_left", "no attempts left for this assignment")
            submission.attempt = used + 1
        db.session.add(submission)
        try:
            db.session.commit()
            return submission
        except IntegrityError:
            db.session.rollback()  # another submission took this attempt number: count again
            db.session.expunge(submission) if submission in db.session else None
    raise ServiceError(503, "busy", "too many simultaneous submissions; try again")


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
