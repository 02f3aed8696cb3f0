"""`flask regrade ...`: regrade a problem set's stored submissions (grader.service.regrade), as an instructor.

    flask --app wsgi regrade run ASSIGNMENT_ID --as USER [--exercise SLUG] [--student NAME ...]
          [--change grader|tolerance|version] [--rtol X] [--atol X] [--sigfigs N] [--version N] [--never-lower]
          --dry-run                 what would change (nothing is stored)
          --reason TEXT             commit: the same dry run, then its job, its progress printed until it ends
    flask --app wsgi regrade list ASSIGNMENT_ID --as USER     the set's regrades
    flask --app wsgi regrade undo REGRADE_ID --as USER        restore what a regrade changed
"""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup

from grader.errors import ServiceError
from grader.jobs.cli import follow
from grader.models import Assignment, User, db
from grader.service.regrade import CHANGES, RegradeRequest, check_request, dry_run
from grader.service.regrade_commit import commit_regrade, regrade_for, regrades_of, undo_regrade
from grader.service.regrade_jobs import grades_code, start_dry_run

regrade_cli = AppGroup("regrade", help="Regrade stored submissions: a dry run, a commit (a job), undo.")
ROWS_SHOWN = 50


def _actor(username: str) -> User:
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user '{username}'")
    return user


def _assignment(assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise click.ClickException(f"no problem set {assignment_id}")
    return assignment


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def print_report(assignment: Assignment, report: dict[str, Any], limit: int = ROWS_SHOWN) -> None:
    click.echo(report["summary"] + f" ({report['counts']['scores_move']} scores move)")
    slugs = {item.id: item.exercise.slug for item in assignment.items}
    for e in report["entries"][:limit]:
        mistakes = f"  [{', '.join(e['old_mistakes']) or '-'} -> {', '.join(e['new_mistakes']) or '-'}]"
        click.echo(f"  {e['user']:<16} {slugs.get(e['item_id'], '?'):<24} #{e['attempt']:<3} "
                   f"{_score(e['old_score'])} -> {_score(e['new_score'])}  {e['outcome']}{mistakes}")
    left_out = report["entries_left_out"] + max(0, len(report["entries"]) - limit)
    if left_out:
        click.echo(f"  ... and {left_out} more")
    for t in report["totals"]:
        click.echo(f"  total {t['user']}: {t['old']:g} -> {t['new']:g}")
    for label, names in (("LMS grades sent again", report["lms_resend"]),
                         ("numbers differ (left as they are)", report["numbers_differ"]),
                         ("kept: overridden (manual scores)", report["kept_overridden"])):
        if names:
            click.echo(f"  {label}: {', '.join(names)}")


@regrade_cli.command("run")
@click.argument("assignment_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--as", "username", required=True, help="The instructor regrading (recorded).")
@click.option("--exercise", help="One exercise of the set (its slug); default: all (a grader change).")
@click.option("--student", "students", multiple=True, help="A student's username (repeat); default: all.")
@click.option("--change", type=click.Choice(CHANGES), default="grader", show_default=True)
@click.option("--rtol", type=float, help="change=tolerance: relative tolerance (0.05 is 5%).")
@click.option("--atol", type=float, help="change=tolerance: absolute tolerance.")
@click.option("--sigfigs", type=int, help="change=tolerance: significant figures instead of rtol.")
@click.option("--version", "version", type=int, help="change=version: the exercise's version number.")
@click.option("--never-lower", is_flag=True, help="Keep a score the regrade would lower.")
@click.option("--dry-run", is_flag=True, help="Say what would change; store nothing.")
@click.option("--reason", help="Why (required to commit): kept in the regrade's record.")
def run_command(assignment_id: int, username: str, exercise: str | None, students: tuple[str, ...], change: str,
                rtol: float | None, atol: float | None, sigfigs: int | None, version: int | None,
                never_lower: bool, dry_run: bool, reason: str | None) -> None:
    """Regrade problem set ASSIGNMENT_ID: with --dry-run say what would change; else commit that dry run as a
    job and print its progress."""
    actor, assignment = _actor(username), _assignment(assignment_id)
    tolerance = {k: v for k, v in (("rtol", rtol), ("atol", atol), ("sigfigs", sigfigs)) if v is not None}
    if not dry_run and not reason:
        raise click.BadParameter("give a --reason to commit (or --dry-run)", param_hint="--reason")
    try:
        request = check_request(assignment, exercise=exercise, students=students or None, change=change,
                                tolerance=tolerance or None, version=version, never_lower=never_lower)
        report = _dry_run_report(actor, assignment, request)
        print_report(assignment, report)
        if dry_run:
            return
        regrade = commit_regrade(actor, assignment, request, report["plan"], reason)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    job = follow(regrade.job_id)
    db.session.expire_all()
    if job.state != "done":
        raise click.ClickException("; ".join(e["message"] for e in job.errors) or f"job {job.id} {job.state}")
    click.echo(f"regrade {regrade.id} committed: {job.result.get('changed', 0)} submissions changed "
               f"(undo: flask regrade undo {regrade.id} --as {username})")


def _dry_run_report(actor: User, assignment: Assignment, request: RegradeRequest) -> dict[str, Any]:
    """The dry run's report: here, or from its job for a regrade of code (its progress printed meanwhile)."""
    if not grades_code(assignment, request):
        return dry_run(actor, assignment, request).report(limit=ROWS_SHOWN)
    job = follow(start_dry_run(actor, assignment, request).id)
    db.session.expire_all()
    if job.state != "done":
        raise click.ClickException("; ".join(e["message"] for e in job.errors) or f"job {job.id} {job.state}")
    return job.result


@regrade_cli.command("list")
@click.argument("assignment_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--as", "username", required=True, help="An instructor of the course.")
def list_command(assignment_id: int, username: str) -> None:
    """The problem set's regrades, newest first."""
    try:
        records = regrades_of(_actor(username), _assignment(assignment_id))
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    for r in records:
        counts = r.counts or {}
        click.echo(f"regrade {r.id} [{r.state}] {r.created_at:%Y-%m-%d %H:%M} {r.params.get('change')}: "
                   f"{counts.get('changed', '-')} changed; {r.reason}")


@regrade_cli.command("undo")
@click.argument("regrade_id", type=click.IntRange(1, 2**31 - 1))
@click.option("--as", "username", required=True, help="An instructor of the course.")
def undo_command(regrade_id: int, username: str) -> None:
    """Restore every score and feedback regrade REGRADE_ID changed."""
    actor = _actor(username)
    try:
        restored = undo_regrade(actor, regrade_for(actor, regrade_id))
    except ServiceError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"regrade {regrade_id} undone: {restored} submissions restored")
