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
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError

from grader import exercises as definitions
from grader.authoring import definition_of
from grader.errors import ServiceError
from grader.extensions import spend_submission
from grader.grading.numeric import grade_answers
from grader.grading.result import GradeResult
from grader.models import (
    Assignment,
    Exercise,
    ExerciseVersion,
    Membership,
    Submission,
    User,
    Variant,
    db,
    utcnow,
)
from grader.service.access import require_visible, solution_visible
from grader.service.limits import attempt_limit, attempts_used, check_open, earned_points, graded_attempts
from grader.service.variants import cached_variant, variant_for

STORE_RETRIES = 20

# What one submission may hold, whatever the entry point (the API's schema says the same with these numbers).
MAX_ANSWERS = 200
MAX_ANSWER_TEXT = 20_000
MAX_CODE = 100_000
MAX_ANSWER_ENTRIES = 10_000  # numbers in one answer: as many as the largest tensor a definition may draw


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
    used = attempts_used(user_id, Assignment.id).scalar_subquery()
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
    require_visible(role, assignment)
    spend_budget(user)
    check_payload(answers, code)
    if seen_version is not None and seen_version != version.version:
        raise ServiceError(409, "exercise_changed",
                           f"the exercise was changed after you opened it (you had version {seen_version}, it is "
                           f"now version {version.version}): open it again to see your numbers",
                           {"version": [f"the current version is {version.version}"]})
    exercise = definition_of(version)
    late = check_open(assignment, exercise, used, now)
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
