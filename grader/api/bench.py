"""The benchmark's floor (registered only when BENCH_FLOOR is set): the same stack as a submission (gunicorn,
Flask, token auth, a validated JSON body, the database) doing nothing but insert one row."""

from __future__ import annotations

from flask.views import MethodView

from grader.api.auth import current_user, require
from grader.api.common import blueprint
from grader.api.schemas import FloorIn, FloorOut
from grader.models import Submission, db

blp = blueprint("bench", "Benchmark floor (BENCH_FLOOR=1 only)")


@blp.route("/_bench/floor")
class Floor(MethodView):
    @require("submissions:write")
    @blp.arguments(FloorIn)
    @blp.response(201, FloorOut)
    def post(self, body):
        """Insert one ungraded row and return its id."""
        db.session().expire_on_commit = False  # as the submission view: no reload of what was just written
        row = Submission(assignment_id=body["assignment_id"], user_id=current_user().id,
                         exercise_version_id=body["version_id"], seed=0, kind="numeric", status="floor",
                         attempt=None, feedback={}, mistakes=[])
        db.session.add(row)
        db.session.commit()
        return {"id": row.id}
