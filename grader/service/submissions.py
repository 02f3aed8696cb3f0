"""The one place that grades and stores a submission. Every entry point (API, pages, LTI, CLI) calls it.

    submit(user, assignment, answers={...})   ->  Submission (graded, or invalid: no attempt used)
    submit(user, assignment, code="...")      ->  Submission (per-test results)

Order of work: check access, due date and attempts left (cheap, before grading); grade outside any
transaction (numeric in process, code through the sandbox pool); then store in one short transaction that
numbers the attempt. With GRADING_BACKEND=celery a code submission is stored as queued instead, numbered the
same way, and graded by a worker (grader.service.queued). The unique (assignment, user, attempt) constraint
is what keeps the attempt limit under concurrency: a racing insert that loses is retried with the next number,
or refused once the limit is met.
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
from grader.lti.outbox import score_changed
from grader.models import (
    Assignment,
    AssignmentItem,
    AssignmentOverride,
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
from grader.service.queued import grades_on_workers, queued_submission, runnable, send_grading
from grader.service.variants import cached_variant, variant_for

STORE_RETRIES = 20

# What one submission may hold, whatever the entry point (the API's schema says the same with these numbers).
MAX_ANSWERS = 200
MAX_ANSWER_TEXT = 20_000
MAX_CODE = 100_000
MAX_ANSWER_ENTRIES = 10_000  # numbers in one answer: as many as the largest tensor a definition may draw


@dataclass
class SubmitContext:
    """What submit() reads before grading: the assignment, the item answered and its exercise's current
    version, the user's course role, their graded attempts so far at the item and their stored seed (None
    before the first visit). `item` and `version` are None when the exercise named is not in the set (or none
    was named in a set of several): submit() says so once access is checked."""

    assignment: Assignment
    item: AssignmentItem | None
    version: ExerciseVersion | None
    role: str | None
    used: int
    seed: int | None
    due_at: datetime | None = None  # the student's override: a later due date (None: the set's)
    extra: int = 0  # ... and extra attempts at each exercise


@functools.cache
def _context_query() -> Select:
    """submit_context's statement, built once (building it costs about as much as running it): one row per
    item of the set, the user and the assignment bound parameters."""
    user_id, assignment_id = bindparam("user_id"), bindparam("assignment_id")
    role = select(Membership.role).where(Membership.user_id == user_id,
                                         Membership.course_id == Assignment.course_id).scalar_subquery()
    used = attempts_used(user_id, AssignmentItem.id).scalar_subquery()
    seed = select(Variant.seed).where(Variant.user_id == user_id,
                                      Variant.exercise_id == AssignmentItem.exercise_id).scalar_subquery()
    override = (AssignmentOverride.assignment_id == Assignment.id) & (AssignmentOverride.user_id == user_id)
    due = select(AssignmentOverride.due_at).where(override).scalar_subquery()
    extra = select(AssignmentOverride.extra_attempts).where(override).scalar_subquery()
    return (select(Assignment, AssignmentItem, Exercise.slug, ExerciseVersion, role, used, seed, due, extra)
            .join(AssignmentItem, AssignmentItem.assignment_id == Assignment.id)
            .join(Exercise, Exercise.id == AssignmentItem.exercise_id)  # for its current version only
            .join(ExerciseVersion, (ExerciseVersion.exercise_id == Exercise.id)
                  & (ExerciseVersion.version == Exercise.current_version))
            .where(Assignment.id == assignment_id).order_by(AssignmentItem.position, AssignmentItem.id))


def submit_context(user: User, assignment_id: int, exercise: str | None = None) -> SubmitContext | None:
    """Everything submit() reads before grading, in one round trip (the path every submission takes): the
    set's items joined to their exercises and only the current versions, with the role, the attempts used,
    the seed and the student's override as scalar subqueries; the item is the one placing `exercise` (a
    slug), or the only one. None when there is no such assignment."""
    rows = db.session.execute(_context_query(), {"user_id": user.id, "assignment_id": assignment_id}).all()
    if not rows:
        return None
    chosen = [r for r in rows if r[2] == exercise] if exercise is not None else rows[:1] if len(rows) == 1 else []
    role = "instructor" if user.role == "admin" else rows[0][4]
    if not chosen:
        return SubmitContext(rows[0][0], None, None, role, 0, None)
    assignment, item, _, version, _, used_value, seed_value, due, extra = chosen[0]
    return SubmitContext(assignment, item, version, role, used_value or 0, seed_value, due, extra or 0)


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


def submit(user: User, assignment: Assignment, *, exercise: str | None = None, answers: dict[str, Any] | None = None,
           code: str | None = None, now: datetime | None = None, context: SubmitContext | None = None,
           seen_version: int | None = None) -> Submission:
    """Grade and store one submission to an exercise of a problem set (`exercise`, its slug; may be left out
    for a set of one) atomically. Format errors and infrastructure failures are stored without an attempt
    number (they do not use an attempt). `context` is submit_context's for this user, assignment and exercise
    where the caller loaded the assignment with it (the API does: one query instead of two). `seen_version` is
    the exercise version whose numbers the student worked from, where the client says: if an instructor has
    edited the exercise since, the answers are to other numbers, and nothing is stored."""
    now = now or utcnow()
    if context is None or context.assignment is not assignment:
        context = submit_context(user, assignment.id, exercise)
        if context is None:  # an assignment object deleted since it was loaded
            raise ServiceError(404, "not_found", "no such assignment")
    role, used, seed, version, item = context.role, context.used, context.seed, context.version, context.item
    require_visible(role, assignment)
    if item is None or version is None:
        if exercise is None:
            raise ServiceError(422, "validation_error", "this problem set has several exercises: say which one "
                               "you answer", {"exercise": ["required for a problem set of several exercises"]})
        raise ServiceError(422, "validation_error", f"there is no exercise '{exercise}' in this problem set",
                           {"exercise": ["not in this problem set"]})
    spend_budget(user)
    check_payload(answers, code)
    if seen_version is not None and seen_version != version.version:
        raise ServiceError(409, "exercise_changed",
                           f"the exercise was changed after you opened it (you had version {seen_version}, it is "
                           f"now version {version.version}): open it again to see your numbers",
                           {"version": [f"the current version is {version.version}"]})
    definition = definition_of(version)
    late = check_open(item, definition, used, now, context.due_at, context.extra)
    if seed is None:
        seed = variant_for(user, item.exercise)[0].seed
    variant = cached_variant(definition, seed)
    if grades_on_workers(definition.kind) and code is not None and runnable(code, definition):
        # Graded by a worker: stored as queued now with its attempt number, the job sent after the commit.
        queued = queued_submission(assignment_id=assignment.id, item_id=item.id, user_id=user.id,
                                   exercise_version_id=version.id, seed=seed, code=code, late=late, created_at=now,
                                   reveal=solution_visible(item, user, now, role))
        stored = _store(queued, user, item, numbered=True, used=used,
                        limit=attempt_limit(item, definition, context.extra))
        send_grading([stored.id])
        return stored
    started = time.perf_counter()
    result = grade(definition, variant, answers=answers, code=code, reveal=solution_visible(item, user, now, role),
                   allow_weak=current_app.config.get("SANDBOX_ALLOW_WEAK", False), attempt=used + 1
                   ).withhold_ungraded()
    elapsed_ms = (time.perf_counter() - started) * 1000
    score = result.score if result.uses_attempt else None
    earned = None if score is None else earned_points(item, score, late)
    mistakes = sorted({p.diagnosis["mistake"] for p in result.parts if p.diagnosis})
    submission = Submission(
        assignment_id=assignment.id, item_id=item.id, user_id=user.id, exercise_version_id=version.id, seed=seed,
        kind=definition.kind, answers=answers if definition.kind == "numeric" else None,
        code=code if definition.kind == "code" else None, status=result.status, score=score, points=earned,
        late=late, feedback=result.to_dict(), mistakes=mistakes, grading_ms=round(elapsed_ms, 3), created_at=now,
    )
    return _store(submission, user, item, numbered=result.uses_attempt, used=used,
                  limit=attempt_limit(item, definition, context.extra))


def _store(submission: Submission, user: User, item: AssignmentItem, *, numbered: bool, used: int,
           limit: int | None) -> Submission:
    """Insert in one short transaction. `used` (counted before grading) is the first guess at the attempt
    number; a concurrent submission that took it makes the insert fail, and we count again."""
    for retry in range(STORE_RETRIES):
        if numbered:
            if retry:
                used = graded_attempts(user, item)
            if limit is not None and used >= limit:
                db.session.rollback()
                raise ServiceError(409, "no_attempts_left", "no attempts left for this exercise")
            submission.attempt = used + 1
        db.session.add(submission)
        try:
            if submission.score is not None:  # the LMS's gradebook hears of it, by the outbox (same commit)
                score_changed(submission.assignment_id, user)
            db.session.commit()
            return submission
        except IntegrityError:
            db.session.rollback()  # another submission took this attempt number: count again
            db.session.expunge(submission) if submission in db.session else None
    raise ServiceError(503, "busy", "too many simultaneous submissions; try again")
