"""Statistics and mistake tallies of a problem set (course staff: instructors and TAs), computed from the
stored submissions at each request:

    GET /api/v1/assignments/<id>/statistics      the set's and each exercise's statistics (?format=csv: a file)
    GET /api/v1/assignments/<id>/mistakes        per exercise and quantity: named mistakes, unexplained answers

A student of the course gets 403, anyone outside it 404. Scores are fractions of the most that can be earned
(0..1); an absent number is null with the reason in `why`."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from grader import service
from grader.api.auth import current_user, require
from grader.api.common import blueprint
from grader.api.schemas import In
from grader.service import statistics as st
from grader.service.tallies import ItemTally

blp = blueprint("statistics", "Statistics and mistake tallies of a problem set, from its stored submissions")


class StatisticsQuery(In):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "json (default) or csv: one row per number"})


class MeasureOut(Schema):
    value = fields.Float(allow_none=True, required=True, metadata={"description": "null: absent (see why)"})
    why = fields.String(allow_none=True, required=True,
                        metadata={"description": "why it is absent, e.g. 'needs at least 2 students'"})


def _measure(**kw: Any) -> fields.Nested:
    return fields.Nested(MeasureOut, required=True, **kw)


class DescriptivesOut(Schema):
    students = fields.Integer(required=True)
    mean, median, sd, minimum, maximum = _measure(), _measure(), _measure(metadata={
        "description": "sample standard deviation (n - 1)"}), _measure(), _measure()
    at_zero = fields.Integer(required=True, metadata={"description": "students at exactly 0%"})
    at_full = fields.Integer(required=True, metadata={"description": "students at exactly 100%"})
    histogram = fields.List(fields.Integer(), required=True,
                            metadata={"description": "students per tenth: 0-10%, ..., 90-100% (100% in the last)"})


class ByAttemptOut(Schema):
    number = fields.Integer(required=True)
    students = fields.Integer(required=True)
    mean = fields.Float(required=True)


class FifthOut(Schema):
    label = fields.String(required=True)
    students = fields.Integer(required=True)
    mean = _measure()


class DurationsOut(Schema):
    students = fields.Integer(required=True)
    median = _measure(metadata={"description": "seconds"})
    mean = _measure(metadata={"description": "seconds"})


class SetExerciseOut(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    points = fields.Float(required=True)


class ItemStatisticsOut(Schema):
    item = fields.Nested(SetExerciseOut, required=True)
    scores = fields.Nested(DescriptivesOut, required=True)
    first_mean, best_mean, last_mean = _measure(), _measure(), _measure()
    by_attempt = fields.List(fields.Nested(ByAttemptOut), required=True)
    attempts_mean, attempts_median = _measure(), _measure()
    attempts_max = fields.Integer(required=True)
    facility = _measure(metadata={"description": "mean first-attempt score / points (Moodle)"})
    first_sd = _measure()
    discrimination = _measure(metadata={"description": "correlation of first-attempt points with the rest of the "
                                                       "set's (Moodle's discrimination index)"})
    efficiency = _measure(metadata={"description": "covariance / its largest possible value (Moodle's "
                                                   "discriminative efficiency)"})
    dubious = fields.Boolean(required=True, metadata={"description": "discrimination index under 15%"})
    quintiles = fields.List(fields.Nested(FifthOut), required=True)
    quintiles_why = fields.String(allow_none=True, required=True)
    time_to_first = fields.Nested(DurationsOut, required=True)


class StatisticsOut(Schema):
    assignment_id = fields.Integer(required=True)
    points = fields.Float(required=True)
    scoring = fields.String(required=True)
    totals = fields.Nested(DescriptivesOut, required=True)
    first_mean, best_mean, last_mean = _measure(), _measure(), _measure()
    attempts_mean, attempts_median = _measure(), _measure()
    time_to_first = fields.Nested(DurationsOut, required=True)
    items = fields.List(fields.Nested(ItemStatisticsOut), required=True)


class TallyRowOut(Schema):
    quantity = fields.String(required=True, metadata={"description": "the ask's index, or a code output's name"})
    label = fields.String(required=True)
    mistake = fields.String(required=True)
    first_attempt_students = fields.Integer(required=True)
    first_attempt_share = fields.Float(required=True)
    students = fields.Integer(required=True, metadata={"description": "with it at any attempt"})
    submissions = fields.Integer(required=True)
    submission_share = fields.Float(required=True)


class ValueGroupOut(Schema):
    quantity = fields.String(required=True)
    label = fields.String(required=True)
    value = fields.String(required=True, metadata={"description": "rounded to 3 significant figures"})
    submissions = fields.List(fields.Integer(), required=True, metadata={"description": "submission ids"})
    students = fields.Integer(required=True)


class ItemTallyOut(Schema):
    item = fields.Nested(SetExerciseOut, required=True)
    students = fields.Integer(required=True)
    first_attempts = fields.Integer(required=True)
    submissions = fields.Integer(required=True)
    rows = fields.List(fields.Nested(TallyRowOut), required=True)
    unexplained = fields.List(fields.Nested(ValueGroupOut), required=True)


class MistakesOut(Schema):
    assignment_id = fields.Integer(required=True)
    items = fields.List(fields.Nested(ItemTallyOut), required=True)


CSV_EXAMPLE = "scope,measure,value,why_absent\r\nset,students,12,\r\nset,sd,,needs at least 2 students\r\n"


def _statistics_out(assignment_id: int, stats: st.SetStatistics) -> dict[str, Any]:
    out = vars(stats) | {"assignment_id": assignment_id}
    out["items"] = [vars(s) | {"item": vars(s.item), "dubious": s.dubious} for s in stats.items]
    return out


def _tally_out(t: ItemTally) -> dict[str, Any]:
    return {"item": vars(t.item), "students": t.students, "first_attempts": t.first_attempts,
            "submissions": t.submissions,
            "rows": [{"quantity": r.quantity.key, "label": r.quantity.label, "mistake": r.mistake,
                      "first_attempt_students": len(r.first_students), "first_attempt_share": t.first_share(r),
                      "students": len(r.students), "submissions": len(r.submissions),
                      "submission_share": t.submission_share(r)} for r in t.rows],
            "unexplained": [{"quantity": g.quantity.key, "label": g.quantity.label, "value": g.value,
                             "submissions": [s.submission_id for s in g.submissions], "students": len(g.students)}
                            for g in t.unexplained]}


@blp.route("/assignments/<int(max=2147483647):assignment_id>/statistics")
class Statistics(MethodView):
    @require("gradebook:read")
    @blp.arguments(StatisticsQuery, location="query")
    @blp.response(200, StatisticsOut)
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", example=CSV_EXAMPLE,
                      description="The statistics (JSON; with ?format=csv a CSV file, one row per number)")
    def get(self, args, assignment_id: int):
        """The problem set's statistics and each exercise's: students, mean, median, SD, min, max, counts at 0%
        and 100%, first/best/last attempt means, mean by attempt, attempts used, facility, discrimination index
        and discriminative efficiency on first attempts (Moodle's definitions; `dubious` under 15%), quintiles
        and the time from opening to the first attempt."""
        assignment = service.staff_assignment(current_user(), assignment_id)
        stats = service.assignment_statistics(assignment)
        if args["format"] == "csv":
            return Response(service.statistics_csv(stats), mimetype="text/csv", headers={
                "Content-Disposition": f'attachment; filename="{service.statistics_filename(assignment)}"'})
        return _statistics_out(assignment.id, stats)


@blp.route("/assignments/<int(max=2147483647):assignment_id>/mistakes")
class Mistakes(MethodView):
    @require("gradebook:read")
    @blp.response(200, MistakesOut)
    def get(self, assignment_id: int):
        """Per exercise and asked quantity, how often each named mistake occurs (students on their first
        attempt, students at any attempt, submissions), and the wrong answers no mistake explains, grouped by
        value, the most common first."""
        assignment = service.staff_assignment(current_user(), assignment_id)
        return {"assignment_id": assignment.id, "items": [_tally_out(t) for t in service.mistake_tallies(assignment)]}
