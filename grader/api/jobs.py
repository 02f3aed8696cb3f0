"""Long jobs (grader.jobs.progress): their progress and their output files.

    GET  /jobs/<id>                             progress, for the one who started it, or an admin (else 404);
                                                `download` is the output file's URL once there is one
    GET  /jobs/<id>/download                    that file (a gradebook CSV also needs the gradebook:read scope)
    POST /courses/<id>/gradebook/csv-job        start building a course's gradebook CSV (its instructors and
                                                TAs): 202 with the job, to follow and download from

Any token of the starter may read a job's progress (its starter's own information, as tokens are); a course's
job is for its staff only (one who left the course's staff reads it no more)."""

from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask.views import MethodView
from marshmallow import Schema, fields

from grader.api.auth import current_scopes, current_user, require
from grader.api.common import blueprint
from grader.api.gradebook import _staff_course
from grader.api.schemas import UTCDateTime
from grader.errors import ServiceError
from grader.jobs.gradebook import KIND as GRADEBOOK_CSV
from grader.jobs.models import Job
from grader.jobs.progress import job_for, job_output, job_view, start_job

blp = blueprint("jobs", "Background jobs and their progress")


class JobError(Schema):
    step = fields.String(allow_none=True, required=True, metadata={"description": "the step that failed, if one"})
    message = fields.String(required=True)


class JobOutputOut(Schema):
    filename = fields.String(required=True)
    media_type = fields.String(required=True)
    size = fields.Integer(required=True, metadata={"description": "bytes"})


class JobOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "e.g. catalogue_import"})
    started_by = fields.Integer(allow_none=True, required=True)
    state = fields.String(required=True, metadata={"description": "queued, running, done or failed"})
    done = fields.Integer(required=True, metadata={"description": "steps done"})
    total = fields.Integer(allow_none=True, required=True, metadata={"description": "steps in all (null: not "
                                                                                    "known yet)"})
    fraction = fields.Float(required=True, metadata={"description": "done / total, in [0, 1]"})
    errors = fields.List(fields.Nested(JobError), required=True)
    result = fields.Dict(allow_none=True, required=True)
    output = fields.Nested(JobOutputOut, allow_none=True, required=True,
                           metadata={"description": "the file the job made (null: none, or not yet)"})
    download = fields.String(allow_none=True, required=True,
                             metadata={"description": "where to GET that file (null: no file)"})
    created_at = UTCDateTime(required=True)
    started_at = UTCDateTime(allow_none=True, required=True)
    finished_at = UTCDateTime(allow_none=True, required=True)


@blp.route("/jobs/<int(max=2147483647):job_id>")
class JobItem(MethodView):
    @require(None)
    @blp.response(200, JobOut)
    def get(self, job_id: int):
        """A job's state and progress (done of total steps, the errors so far); 404 unless you started it (or
        are an admin)."""
        return job_out(job_for(current_user(), job_id))


# What reading a kind's output needs beyond reading its job: the scope that reads the same data directly.
OUTPUT_SCOPES = {GRADEBOOK_CSV: "gradebook:read"}


def job_out(job: Job) -> dict[str, Any]:
    view = job_view(job)
    view["download"] = url_for("jobs.JobDownload", job_id=job.id) if view["output"] else None
    return view


@blp.route("/jobs/<int(max=2147483647):job_id>/download")
class JobDownload(MethodView):
    @require(None)
    @blp.response(200, content_type="text/csv", description="the job's output file, as an attachment")
    def get(self, job_id: int):
        """The file a finished job made (a gradebook CSV: the same as `GET /courses/<id>/gradebook?format=csv`
        of the moment it ran); 404 while there is none. A gradebook CSV needs the gradebook:read scope."""
        job = job_for(current_user(), job_id)
        scope = OUTPUT_SCOPES.get(job.kind)
        if scope is not None and scope not in current_scopes():
            raise ServiceError(403, "missing_scope", f"this token lacks the scope {scope}")
        output = job_output(job)
        if output is None:
            raise ServiceError(404, "not_found", "this job has no file (yet)")
        return Response(output.content, mimetype=output.media_type,
                        headers={"Content-Disposition": f'attachment; filename="{output.filename}"'})


@blp.route("/courses/<int(max=2147483647):course_id>/gradebook/csv-job")
class GradebookCsvJob(MethodView):
    @require("gradebook:read")
    @blp.response(202, JobOut, description="the job, started: follow it, then GET its `download`")
    def post(self, course_id: int):
        """Build the course's gradebook CSV as a background job with progress (students done of the course's),
        for a large course; the course's instructors and TAs. Without a broker (the embedded default) it runs
        before this answers."""
        course = _staff_course(course_id)
        job = start_job(GRADEBOOK_CSV, current_user(), {"course_id": course.id})
        return job_out(job), 202, {"Location": url_for("jobs.JobItem", job_id=job.id)}
