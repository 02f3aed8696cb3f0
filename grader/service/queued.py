"""Code graded by workers (GRADING_BACKEND=celery): the submission is stored as queued when it is accepted, with
its attempt number, and a grading worker stores the result on that same row.

    accept_queued(...)        ->  Submission (status queued, attempt numbered; the job is sent after commit)
    grade_queued(id)          ->  its status once graded, or None when it was graded already (a repeat: no-op)
    stale_queued(older_than)  ->  ids of submissions still queued (their message was lost; sent again)

The submission is the idempotency key: the result is written with `UPDATE ... WHERE status = 'queued'`, so of
two deliveries of one job (a worker that died after grading, a resend by the periodic task) exactly one stores.
Attempts are numbered at acceptance (as submit() numbers them), so the limit holds while results are pending.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from grader.authoring import definition_of
from grader.lti.outbox import score_changed
from grader.models import AssignmentItem, Submission, db, utcnow
from grader.service.limits import late_terms
from grader.service.variants import cached_variant

log = logging.getLogger(__name__)

QUEUED = "queued"
QUEUED_FEEDBACK = {"kind": "code", "status": QUEUED, "score": None, "parts": [], "tolerance": "",
                   "message": "Grading…: your code is waiting for a grading worker."}


def grades_on_workers(kind: str) -> bool:
    """Whether a submission of this kind is queued for a grading worker (code, with GRADING_BACKEND=celery)."""
    return kind == "code" and current_app.config.get("GRADING_BACKEND", "local") == "celery"


def runnable(code: str, exercise: Any) -> bool:
    """Whether the code gets as far as the sandbox: one that does not parse (or is the starter) is graded at
    once in this process as invalid, using no attempt, instead of being queued."""
    from grader.grading.code import format_problem  # the sandbox package is only loaded where code is graded

    return format_problem(code, exercise) is None


def queued_submission(*, reveal: bool = False, **columns: Any) -> Submission:
    """A code submission accepted for grading: no score yet, feedback saying it is being graded (and whether
    the solution policy shows expected values at this moment, for the worker's feedback, as submit() grades)."""
    return Submission(kind="code", answers=None, status=QUEUED, score=None, points=None,
                      feedback={**QUEUED_FEEDBACK, "reveal": reveal}, mistakes=[], grading_ms=0.0, **columns)


def send_grading(submission_ids: list[int]) -> int:
    """Send a grading job per submission (after the commit that stored them). A broker that is down is logged,
    not raised: the submissions stay queued and the periodic resend (grader.jobs) sends them again. Returns
    how many were sent."""
    from grader.jobs import TASK_GRADE

    celery = current_app.extensions["celery"]
    queue = current_app.config["GRADING_QUEUE"]
    sent = 0
    for submission_id in submission_ids:
        try:
            celery.tasks[TASK_GRADE].apply_async((submission_id,), queue=queue, retry=True,
                                                 retry_policy=celery.conf.task_publish_retry_policy)
            sent += 1
        except Exception as exc:  # kombu raises the transport's own errors (redis ConnectionError, ...)
            log.warning("grading job for submission %s not sent (%s: %s); the periodic resend will send it",
                        submission_id, type(exc).__name__, exc)
    return sent


def grade_queued(submission_id: int) -> str | None:
    """Grade a queued submission in the sandbox and store the result, once: its new status, or None when there
    is nothing to do (no such submission, or graded already). Database errors propagate: the task retries."""
    from grader.service.submissions import grade

    submission = db.session.scalar(select(Submission).where(Submission.id == submission_id).options(
        joinedload(Submission.item).joinedload(AssignmentItem.assignment), joinedload(Submission.exercise_version)))
    if submission is None or submission.status != QUEUED:
        db.session.rollback()
        return None
    definition = definition_of(submission.exercise_version)
    variant = cached_variant(definition, submission.seed)
    points = late_terms(submission.item, submission.late)
    reveal = bool((submission.feedback or {}).get("reveal"))  # the solution policy when it was accepted
    code, attempt, item_id, user_id = submission.code, submission.attempt, submission.item_id, submission.user_id
    assignment_id = submission.assignment_id
    db.session.rollback()  # no transaction open while the sandbox runs (SQLite would hold its lock)
    started = time.perf_counter()
    result = grade(definition, variant, answers=None, code=code, reveal=reveal,
                   allow_weak=current_app.config.get("SANDBOX_ALLOW_WEAK", False), attempt=attempt or 0
                   ).withhold_ungraded()
    values: dict[str, Any] = {
        "status": result.status, "feedback": result.to_dict(), "grading_ms": round((time.perf_counter() - started)
                                                                                  * 1000, 3),
        "mistakes": sorted({p.diagnosis["mistake"] for p in result.parts if p.diagnosis}),
    }
    if result.uses_attempt:
        values.update(score=result.score, points=points(result.score))
    elif attempt is not None and _latest_attempt(item_id, user_id) == attempt:
        # A module that cannot be loaded (found in the sandbox) uses no attempt, as in the local path: give the
        # number back where no later submission took the next one (else it stays, and counts as used).
        values["attempt"] = None
    stored = db.session.execute(update(Submission).where(Submission.id == submission_id,
                                                         Submission.status == QUEUED).values(**values)
                                .execution_options(synchronize_session=False)).rowcount
    if stored and result.uses_attempt:
        score_changed(assignment_id, user_id)  # the LMS's gradebook hears of it in this same commit
    db.session.commit()
    if not stored:
        log.info("submission %s was graded by another delivery; this result is dropped", submission_id)
        return None
    return result.status


def _latest_attempt(item_id: int, user_id: int) -> int | None:
    return db.session.scalar(select(func.max(Submission.attempt)).where(
        Submission.item_id == item_id, Submission.user_id == user_id))


def stale_queued(older_than_s: float, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Submissions still queued `older_than_s` after acceptance, oldest first: their job was never sent (the
    broker was down) or was lost. Sending them again is safe (a graded one is a no-op)."""
    cutoff = (now or utcnow()) - timedelta(seconds=older_than_s)
    return list(db.session.scalars(select(Submission.id).where(Submission.status == QUEUED,
                                                               Submission.created_at < cutoff)
                                   .order_by(Submission.id).limit(limit)))


def wait_for_result(submission: Submission, wait_s: float, interval_s: float = 0.05) -> bool:
    """Wait up to `wait_s` for a worker to grade `submission` (refreshed when it has); whether it was."""
    deadline = time.monotonic() + wait_s
    while True:
        db.session.rollback()  # a fresh snapshot for each look
        status = db.session.scalar(select(Submission.status).where(Submission.id == submission.id))
        if status != QUEUED:
            db.session.refresh(submission)
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)
