"""`flask jobs ...`: start long jobs and print their progress (the same rows the pages and the API read).

    flask --app wsgi jobs import-catalogue [PATH]   import a catalogue on a worker, printing progress
    flask --app wsgi jobs gradebook-csv CODE [-o F] a course's gradebook CSV built as a job, printing progress
    flask --app wsgi jobs show ID [--follow]        a job's state and progress (--follow: until it ends)
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from grader.jobs.models import Job
from grader.jobs.progress import FINISHED, job_output, job_view, start_job
from grader.models import Course, db

jobs_cli = AppGroup("jobs", help="Background jobs and their progress.")

POLL_S = 0.5


def progress_line(job: Job) -> str:
    view = job_view(job)
    total = "?" if job.total is None else job.total
    return f"job {job.id} {job.kind} [{job.state}] {job.done}/{total} ({view['fraction']:.0%})" + (
        f", {len(job.errors)} error(s)" if job.errors else "")


def follow(job_id: int, echo=click.echo, timeout_s: float | None = None) -> Job:
    """Print a line each time the job's progress changes, until it ends; the job."""
    last, started = None, time.monotonic()
    while True:
        db.session.rollback()  # a fresh read each time
        job = db.session.get(Job, job_id)
        line = progress_line(job)
        if line != last:
            echo(line)
            last = line
        if job.state in FINISHED:
            return job
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise click.ClickException(f"job {job_id} still {job.state} after {timeout_s:g} s")
        time.sleep(POLL_S)


def _report(job: Job) -> None:
    for error in job.errors:
        click.echo(f"  {error['step'] + ': ' if error.get('step') else ''}{error['message']}", err=True)
    if job.result:
        click.echo("  " + ", ".join(f"{count} {name}" for name, count in sorted(job.result.items())))
    if job.state == "failed":
        raise click.ClickException(f"job {job.id} failed")


@jobs_cli.command("import-catalogue")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--no-follow", is_flag=True, help="Print the job's id and return at once.")
def import_catalogue_command(path: Path | None, no_follow: bool) -> None:
    """Import PATH (a definition file or a directory; default: the catalogue) as a background job. The path
    must be readable on the worker's host (the same checkout in a multi-host setup)."""
    target = (path or Path(current_app.config["EXERCISES_DIR"])).resolve()
    job = start_job("catalogue_import", None, {"path": str(target)})
    if no_follow:
        click.echo(f"job {job.id} started: flask jobs show {job.id} --follow")
        return
    _report(follow(job.id))


@jobs_cli.command("gradebook-csv")
@click.argument("course_code")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the CSV (default: gradebook-CODE.csv here).")
def gradebook_csv_command(course_code: str, output: Path | None) -> None:
    """Build COURSE_CODE's gradebook CSV as a background job (as "Prepare CSV" does), printing its progress in
    students, then write the file."""
    course = db.session.scalar(select(Course).where(Course.code == course_code))
    if course is None:
        raise click.ClickException(f"no course {course_code!r}")
    finished = follow(start_job("gradebook_csv", None, {"course_id": course.id}).id)
    _report(finished)
    made = job_output(finished)
    target = output or Path(made.filename)
    target.write_bytes(made.content)
    click.echo(f"  written to {target}")


@jobs_cli.command("show")
@click.argument("job_id", type=click.IntRange(min=1, max=2**31 - 1))
@click.option("--follow", "following", is_flag=True, help="Keep printing progress until the job ends.")
def show_command(job_id: int, following: bool) -> None:
    """A job's state and progress."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise click.ClickException(f"no job {job_id}")
    _report(follow(job_id) if following else (click.echo(progress_line(job)) or job))
