"""Long jobs with progress: the one place that starts, updates and reads them (pages, API and CLI alike).

    start_job(kind, user, params)   ->  Job (stored queued, then sent to the default queue; without a broker it
                                        runs at once in this process)
    run_job(job_id)                     the worker's side: the kind's runner, with a Progress to report to
    job_for(viewer, job_id)         ->  Job (the one who started it, or an admin; else 404; a course's job also
                                        needs its starter to be that course's staff still)
    job_view(job)                   ->  the dict the API and the CLI show
    job_output(job)                 ->  JobOutput | None (the file the job made, for download)

A runner is `runner(params, progress) -> result dict`; it says `progress.set_total(n)` once it knows, and
`progress.step(label, error=None)` after each step, which commits (its own work of that step with it, so what
the progress says is done is stored). A job delivered again after its worker died starts over: runners are
written to be repeatable (a catalogue import leaves an unchanged definition alone). A runner that makes a file
(an export) hands it to `progress.attach(...)`: it is stored in the database with the job's end, so any web host
serves it (files on a worker's disk are not shared).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from grader.errors import ServiceError
from grader.jobs.models import Job, JobOutput
from grader.models import User, db, utcnow

log = logging.getLogger(__name__)

FINISHED = ("done", "failed")
MAX_ERRORS = 200  # kept per job: enough to fix a catalogue, bounded for a job of 10,000 steps

Runner = Callable[[dict[str, Any], "Progress"], dict[str, Any] | None]
RUNNERS: dict[str, Runner] = {}


def runner(kind: str) -> Callable[[Runner], Runner]:
    """Register the function that does jobs of `kind`."""

    def register(function: Runner) -> Runner:
        RUNNERS[kind] = function
        return function

    return register


class Progress:
    """What a runner reports to: written to the job's row at each step."""

    def __init__(self, job: Job) -> None:
        self.job = job

    def set_total(self, total: int) -> None:
        self.job.total = total
        db.session.commit()

    def step(self, label: str | None = None, error: str | None = None, count: int = 1) -> None:
        self.job.done += count
        if error is not None and len(self.job.errors) < MAX_ERRORS:
            self.job.errors = [*self.job.errors, {"step": label, "message": error}]
        if db.session.get_bind().dialect.name == "postgresql":
            # A step's commit need not wait for the disk: the job's end does, which makes every step before it
            # durable too; a database that crashed before it lost at most the last steps of a job still running,
            # which is delivered again and runs again (every runner is written to be run again)
            db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        db.session.commit()

    def attach(self, filename: str, media_type: str, content: bytes) -> None:
        """The job's output file, stored with the job's end (a job run again replaces it)."""
        output = db.session.get(JobOutput, self.job.id) or JobOutput(job_id=self.job.id)
        output.filename, output.media_type, output.size, output.content = filename, media_type, len(content), content
        output.created_at = utcnow()
        db.session.add(output)

    def fail(self, problems: list[str]) -> None:
        """Stop before doing anything (bad input): the problems are the job's errors."""
        raise JobRefused(problems)


class JobRefused(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def start_job(kind: str, user: User | None, params: dict[str, Any], queue: str | None = None) -> Job:
    """Store a job and send it to a worker (after the commit, so the worker finds it): on the default queue, or
    `queue` (the grading queue, for a job that runs students' code)."""
    from grader.jobs import TASK_RUN_JOB

    if kind not in RUNNERS:
        raise ServiceError(422, "validation_error", f"no such kind of job: {kind!r}", {"kind": sorted(RUNNERS)})
    job = Job(kind=kind, started_by=user.id if user is not None else None, state="queued", done=0, errors=[],
              params=params)
    db.session.add(job)
    db.session.commit()
    job_id = job.id
    celery = current_app.extensions["celery"]
    celery.tasks[TASK_RUN_JOB].apply_async((job_id,), queue=queue or current_app.config["DEFAULT_QUEUE"])
    return db.session.get(Job, job_id)


def run_job(job_id: int) -> str | None:
    """Run a queued (or interrupted: running) job to its end; a finished one is left alone. Its state."""
    job = db.session.get(Job, job_id)
    if job is None or job.state in FINISHED:
        db.session.rollback()
        return None
    job.state, job.started_at, job.done, job.errors, job.finished_at = "running", utcnow(), 0, [], None
    db.session.commit()
    try:
        result = RUNNERS[job.kind](dict(job.params), Progress(job))
        job.state, job.result = "done", result
    except JobRefused as exc:
        db.session.rollback()
        job.state = "failed"
        job.errors = [{"step": None, "message": problem} for problem in exc.problems[:MAX_ERRORS]]
    except Exception as exc:
        if isinstance(exc, OperationalError):
            raise  # the task retries it: the job starts over once the database is back
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        job.state = "failed"
        job.errors = [*job.errors, {"step": None, "message": f"{type(exc).__name__}: {exc}"}]
    job.finished_at = utcnow()
    db.session.commit()
    return job.state


def job_for(viewer: User, job_id: int) -> Job:
    """The job, for the one who started it or an admin; anyone else gets 404 (no hint it exists)."""
    job = db.session.get(Job, job_id, populate_existing=True)  # progress: never the session's older copy
    if job is None or (job.started_by != viewer.id and viewer.role != "admin") or not _still_staff(viewer, job):
        raise ServiceError(404, "not_found", "no such job")
    return job


def _still_staff(viewer: User, job: Job) -> bool:
    """A course's job (its gradebook CSV, a regrade of one of its sets) is for that course's instructors and
    TAs: one who has left the course's staff since starting it reads it no more (a regrade's result names the
    students whose totals moved)."""
    from grader.models import Course, Regrade
    from grader.service.access import course_role

    params = job.params or {}
    course_id = params.get("course_id")
    if course_id is None and "regrade_id" in params:
        course_id = db.session.scalar(select(Regrade.course_id).where(Regrade.id == params["regrade_id"]))
    if course_id is None or viewer.role == "admin":
        return True
    course = db.session.get(Course, course_id)
    return course is not None and course_role(viewer, course) in ("instructor", "ta")


def job_output(job: Job) -> JobOutput | None:
    return db.session.get(JobOutput, job.id) if job.state == "done" else None


def output_info(job: Job) -> dict[str, Any] | None:
    """The output file's name, type and size (not its content: progress is read every second)."""
    row = db.session.execute(select(JobOutput.filename, JobOutput.media_type, JobOutput.size)
                             .where(JobOutput.job_id == job.id)).first() if job.state == "done" else None
    return None if row is None else {"filename": row.filename, "media_type": row.media_type, "size": row.size}


def job_view(job: Job) -> dict[str, Any]:
    fraction = job.done / job.total if job.total else (1.0 if job.state == "done" else 0.0)
    return {"id": job.id, "kind": job.kind, "started_by": job.started_by, "state": job.state, "done": job.done,
            "total": job.total, "fraction": round(min(fraction, 1.0), 4), "errors": job.errors,
            "result": job.result, "output": output_info(job), "created_at": job.created_at,
            "started_at": job.started_at, "finished_at": job.finished_at}
