"""The workspace's regrade pages (on grader.instructor.views.bp; the work is grader.service.regrade's):

    GET  /instructor/assignments/<id>/regrade                 the form (scope, change, never lower) and past regrades
    POST /instructor/assignments/<id>/regrade                 the dry run: its report table, and a form to commit it
                                                              (a regrade of code: 302 to its job's page)
    GET  /instructor/assignments/<id>/regrade/dry-runs/<jid>  a dry run's job: its progress bar, then the report
    POST /instructor/assignments/<id>/regrade/commit          commit that dry run (its plan) with a reason: the job
    GET  /instructor/assignments/<id>/regrades/<rid>          the regrade: its job's progress bar, then its result
    POST /instructor/assignments/<id>/regrades/<rid>/undo     restore what it changed

The course's instructors (and administrators) only: a TA gets 403 (a regrade changes many students' grades),
anyone else 404."""

from __future__ import annotations

import re
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from grader.errors import ServiceError
from grader.instructor.views import bp
from grader.jobs.progress import job_for
from grader.models import Assignment, Job, User, db
from grader.service.regrade import CHANGES, check_request, dry_run, require_instructor
from grader.service.regrade_commit import commit_regrade, regrade_for, regrades_of, undo_regrade
from grader.service.regrade_jobs import grades_code, start_dry_run

ASSIGNMENT = "/assignments/<int(max=2147483647):assignment_id>"
REPORT_ROWS = 500
FIELDS = ("exercise", "students", "change", "rtol", "atol", "sigfigs", "version", "never_lower")


def _assignment(assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise ServiceError(404, "not_found", "no such problem set")
    require_instructor(current_user, assignment)
    return assignment


def _read(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's fields in the service's terms, and a message per field that is not a number where one is."""
    values, errors = {k: form.get(k, "").strip() for k in FIELDS}, {}
    options: dict[str, Any] = {"exercise": values["exercise"] or None, "change": values["change"] or "grader",
                               "never_lower": bool(values["never_lower"])}
    names = [n for n in re.split(r"[\s,;]+", values["students"]) if n]
    options["students"] = names or None
    tolerance = {}
    for name, kind in (("rtol", float), ("atol", float), ("sigfigs", int)):
        if values[name]:
            try:
                tolerance[name] = kind(values[name])
            except ValueError:
                errors[name] = f"{name}: expected a {'whole ' if kind is int else ''}number, not {values[name][:40]!r}"
    options["tolerance"] = tolerance or None
    if values["version"]:
        try:
            options["version"] = int(values["version"])
        except ValueError:
            errors["version"] = f"version: expected a whole number, not {values['version'][:40]!r}"
    return options, errors


def _form(assignment: Assignment, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> tuple[str, int]:
    return render_template("instructor/regrade/form.html", assignment=assignment, values=values or {},
                           errors=errors or {}, changes=CHANGES, records=regrades_of(current_user, assignment),
                           users=_names([r.created_by for r in regrades_of(current_user, assignment)])), status


def _names(ids: list[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    return dict(db.session.execute(db.select(User.id, User.username).where(User.id.in_(wanted))).all()) \
        if wanted else {}


@bp.get(ASSIGNMENT + "/regrade")
def regrade_form(assignment_id: int) -> tuple[str, int]:
    return _form(_assignment(assignment_id))


@bp.post(ASSIGNMENT + "/regrade")
def regrade_dry_run(assignment_id: int) -> Response | tuple[str, int]:
    assignment = _assignment(assignment_id)
    values = {k: request.form.get(k, "") for k in FIELDS}
    options, errors = _read(request.form)
    if errors:
        return _form(assignment, values, errors, 400)
    try:
        regrade_request = check_request(assignment, **options)
        if grades_code(assignment, regrade_request):  # students' code runs again: a job, with its progress
            job = start_dry_run(current_user, assignment, regrade_request)
            return redirect(url_for("instructor.regrade_dry_run_job", assignment_id=assignment.id, job_id=job.id,
                                    **{k: v for k, v in values.items() if v}))
        plan = dry_run(current_user, assignment, regrade_request)
    except ServiceError as exc:
        if exc.status != 422:
            raise
        return _form(assignment, values, {k: "; ".join(v) for k, v in (exc.errors or {}).items()}
                     or {"change": exc.message}, 400)
    return _report(assignment, plan.report(limit=REPORT_ROWS), values)


def _report(assignment: Assignment, report: dict[str, Any], values: dict[str, str]) -> tuple[str, int]:
    slugs = {item.id: item.exercise.slug for item in assignment.items}
    return render_template("instructor/regrade/report.html", assignment=assignment, report=report, values=values,
                           slugs=slugs), 200


@bp.get(ASSIGNMENT + "/regrade/dry-runs/<int(max=2147483647):job_id>")
def regrade_dry_run_job(assignment_id: int, job_id: int) -> tuple[str, int]:
    """The dry run's job: its progress while it runs, then its report (the form's values ride in the address,
    for the commit form; the plan is the job's)."""
    assignment = _assignment(assignment_id)
    job = job_for(current_user, job_id)
    if job.kind != "regrade_dry_run" or (job.params or {}).get("assignment_id") != assignment.id:
        raise ServiceError(404, "not_found", "no such dry run")
    values = {k: request.args.get(k, "") for k in FIELDS}
    if job.state == "done":
        report = dict(job.result)
        shown = report["entries"][:REPORT_ROWS]
        report.update(entries=shown, entries_left_out=report["entries_left_out"] + len(report["entries"]) - len(shown))
        return _report(assignment, report, values)
    return render_template("instructor/regrade/running.html", assignment=assignment, job=job), 200


@bp.post(ASSIGNMENT + "/regrade/commit")
def regrade_commit(assignment_id: int) -> Response | tuple[str, int]:
    assignment = _assignment(assignment_id)
    options, errors = _read(request.form)
    if errors:
        return _form(assignment, {k: request.form.get(k, "") for k in FIELDS}, errors, 400)
    try:
        regrade = commit_regrade(current_user, assignment, check_request(assignment, **options),
                                 request.form.get("plan", ""), request.form.get("reason", ""))
    except ServiceError as exc:
        if exc.status != 422:
            raise
        flash(exc.message, "error")
        return _form(assignment, {k: request.form.get(k, "") for k in FIELDS},
                     {k: "; ".join(v) for k, v in (exc.errors or {}).items()}, 400)
    return redirect(url_for("instructor.regrade_record", assignment_id=assignment.id, regrade_id=regrade.id))


@bp.get(ASSIGNMENT + "/regrades/<int(max=2147483647):regrade_id>")
def regrade_record(assignment_id: int, regrade_id: int) -> str:
    assignment = _assignment(assignment_id)
    regrade = regrade_for(current_user, regrade_id, assignment)
    job = db.session.get(Job, regrade.job_id, populate_existing=True) if regrade.job_id else None
    return render_template("instructor/regrade/record.html", assignment=assignment, regrade=regrade, job=job,
                           users=_names([regrade.created_by, regrade.undone_by]))


@bp.post(ASSIGNMENT + "/regrades/<int(max=2147483647):regrade_id>/undo")
def regrade_undo(assignment_id: int, regrade_id: int) -> Response:
    assignment = _assignment(assignment_id)
    regrade = regrade_for(current_user, regrade_id, assignment)
    restored = undo_regrade(current_user, regrade)
    flash(f"Regrade {regrade.id} undone: {restored} submission{'s' * (restored != 1)} restored.", "info")
    return redirect(url_for("instructor.regrade_record", assignment_id=assignment.id, regrade_id=regrade.id))
