"""Long jobs started from the workspace, each with a page showing its progress bar.

    POST /instructor/catalogue/import   administrators: import the built-in catalogue as a background job,
                                        then 302 to its page (instructors and TAs: 403)
    GET  /instructor/jobs/<id>          the job's progress: the one who started it, or an administrator (else 404;
                                        a course's job: only while they are its staff); the bar moves by itself
                                        (job-progress.js, which reloads the page at the end), the page refreshes
                                        without it
    GET  /instructor/jobs/<id>/download the file the job made (the gradebook CSV), same rule; 404 while none

The job's work is grader.jobs' (the same runner as `flask jobs import-catalogue`); this only starts and shows.
"""

from __future__ import annotations

from flask import Response, abort, current_app, redirect, render_template, url_for
from flask_login import current_user

from grader.errors import ServiceError
from grader.instructor.views import bp
from grader.jobs.progress import job_for, job_output, output_info, start_job
from grader.models import Course, db


@bp.post("/catalogue/import")
def import_catalogue() -> Response:
    if current_user.role != "admin":  # the built-in catalogue belongs to no one: administrators change it
        abort(403)
    job = start_job("catalogue_import", current_user, {"path": current_app.config["EXERCISES_DIR"]})
    return redirect(url_for("instructor.job", job_id=job.id))


@bp.get("/jobs/<int(max=2147483647):job_id>")
def job(job_id: int) -> str | Response:
    try:
        found = job_for(current_user, job_id)
    except ServiceError:
        abort(404)
    if found.kind == "regrade_dry_run":  # its result is a report: shown on the regrade's own page
        return redirect(url_for("instructor.regrade_dry_run_job", assignment_id=found.params["assignment_id"],
                                job_id=found.id))
    course = db.session.get(Course, found.params["course_id"]) if "course_id" in (found.params or {}) else None
    return render_template("instructor/job.html", job=found, course=course, output=output_info(found))


@bp.get("/jobs/<int(max=2147483647):job_id>/download")
def job_download(job_id: int) -> Response:
    try:
        output = job_output(job_for(current_user, job_id))
    except ServiceError:
        abort(404)
    if output is None:
        abort(404)
    return Response(output.content, mimetype=output.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{output.filename}"'})
