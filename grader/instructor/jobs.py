"""Long jobs started from the workspace, each with a page showing its progress bar.

    POST /instructor/catalogue/import   administrators: import the built-in catalogue as a background job,
                                        then 302 to its page (instructors and TAs: 403)
    GET  /instructor/jobs/<id>          the job's progress: the one who started it, or an administrator (else 404);
                                        the bar moves by itself (job-progress.js), the page refreshes without it

The job's work is grader.jobs' (the same runner as `flask jobs import-catalogue`); this only starts and shows.
"""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from grader.errors import ServiceError
from grader.instructor.views import bp
from grader.jobs.progress import job_for, start_job


@bp.post("/catalogue/import")
def import_catalogue() -> Response:
    if current_user.role != "admin":  # the built-in catalogue belongs to no one: administrators change it
        abort(403)
    job = start_job("catalogue_import", current_user, {"path": current_app.config["EXERCISES_DIR"]})
    return redirect(url_for("instructor.job", job_id=job.id))


@bp.get("/jobs/<int(max=2147483647):job_id>")
def job(job_id: int) -> str:
    try:
        found = job_for(current_user, job_id)
    except ServiceError:
        abort(404)
    return render_template("instructor/job.html", job=found)
