"""Long jobs' progress (grader.jobs.progress): `GET /jobs/<id>` for the one who started it, or an admin.

Any token of that account may read it (a job's progress is its starter's own information, as tokens are)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields

from grader.api.auth import current_user, require
from grader.api.common import blueprint
from grader.api.schemas import UTCDateTime
from grader.jobs.progress import job_for, job_view

blp = blueprint("jobs", "Background jobs and their progress")


class JobError(Schema):
    step = fields.String(allow_none=True, required=True, metadata={"description": "the step that failed, if one"})
    message = fields.String(required=True)


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
        return job_view(job_for(current_user(), job_id))
