"""The benchmark's floor (registered only when BENCH_FLOOR is set): the same stack as a submission (gunicorn,
Flask, token auth, a validated JSON body, the database) doing nothing but insert one row."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from grader.api.auth import current_user, require
from grader.api.common import blueprint
from grader.api.schemas import FloorIn, FloorOut
from grader.models import AssignmentItem, Submission, db

blp = blueprint("bench", "Benchmark floor (BENCH_FLOOR=1 only)")


@blp.route("/_bench/floor")
class Floor(MethodView):
    @require("submissions:write")
    @blp.arguments(FloorIn)
    @blp.response(201, FloorOut)
    def post(self, body):
        """Insert one ungraded row and return its id."""
        db.session().expire_on_commit = False  # as the submission view: no reload of what was just written
        # the set's first item, inside the same INSERT (a submission names its item; the floor stays one statement)
        item = (select(AssignmentItem.id).where(AssignmentItem.assignment_id == body["assignment_id"])
                .order_by(AssignmentItem.position).limit(1).scalar_subquery())
        row = Submission(assignment_id=body["assignment_id"], item_id=item, user_id=current_user().id,
                         exercise_version_id=body["version_id"], seed=0, kind="numeric", status="floor",
                         attempt=None, feedback={}, mistakes=[])
        db.session.add(row)
        db.session.commit()
        return {"id": row.id}
