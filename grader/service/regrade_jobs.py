"""Where a regrade's work runs: a regrade of code (students' code run again in the sandbox: seconds per hundred
submissions, and only on the grading workers where they grade code) has its dry run as a job too, and both its
jobs on the grading queue (grader.service.regrade plans; grader.service.regrade_commit commits).

    grades_code(assignment, request)          -> whether the regrade runs students' code
    job_queue(assignment, request)            -> the queue of its jobs (None: the default)
    start_dry_run(actor, assignment, request) -> Job ("regrade_dry_run": its result is the report)
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from grader.jobs.models import Job
from grader.jobs.progress import Progress, start_job
from grader.models import Assignment, Submission, User, db
from grader.service import regrade_store
from grader.service.regrade import RegradeRequest, compute_plan, in_scope, require_instructor

DRY_RUN_JOB_ROWS = 2_000  # the submissions a dry-run job's report lists at most


def grades_code(assignment: Assignment, request: RegradeRequest) -> bool:
    """Whether the regrade runs students' code: the sandbox takes seconds per hundred submissions, and where
    grading workers grade code (GRADING_BACKEND=celery) only they have it. Such a dry run is a job."""
    return any(item.exercise.kind == "code" for item in assignment.items if request.item_id in (None, item.id))


def job_queue(assignment: Assignment, request: RegradeRequest) -> str | None:
    """The queue of a regrade's jobs: the grading workers' where they grade code, else the default."""
    if grades_code(assignment, request) and current_app.config["GRADING_BACKEND"] == "celery":
        return current_app.config["GRADING_QUEUE"]
    return None


def start_dry_run(actor: User, assignment: Assignment, request: RegradeRequest) -> Job:
    """The dry run as a job ("regrade_dry_run", with progress): its result is the report, and its plan is kept
    for the commit as a dry run's is. For the course's instructors."""
    require_instructor(actor, assignment)
    return start_job("regrade_dry_run", actor, {"course_id": assignment.course_id, "assignment_id": assignment.id,
                                                 "request": request.to_params()}, queue=job_queue(assignment, request))


def dry_run_job(params: dict[str, Any], progress: Progress) -> dict[str, Any]:
    """The dry-run job's work: the plan, a progress step per ten submissions regraded; the report (at most
    DRY_RUN_JOB_ROWS submissions listed) is the job's result."""
    assignment = db.session.get(Assignment, params["assignment_id"])
    if assignment is None:
        progress.fail(["the problem set was deleted"])
    request = RegradeRequest.from_params(params["request"])
    progress.set_total(db.session.scalar(select(func.count()).select_from(
        in_scope(assignment, request, Submission.id).subquery())))
    plan = compute_plan(assignment, request, on_progress=lambda n: progress.step(count=n), every=10)
    regrade_store.keep(plan)
    return plan.report(limit=DRY_RUN_JOB_ROWS)
