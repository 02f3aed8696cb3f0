"""The gradebook of a course, its manual scores and their log (course staff: instructors and TAs):

    GET    /api/v1/courses/<id>/gradebook                            students × problem sets (?format=csv: a file)
    PUT    /api/v1/courses/<id>/gradebook/<assignment_id>/<username>  set a manual score {points, reason}
    DELETE /api/v1/courses/<id>/gradebook/<assignment_id>/<username>  remove it {reason} (or ?reason=)
    GET    /api/v1/courses/<id>/grade-log                            who changed what, newest first

A student of the course gets 403, anyone outside it 404. Every change goes through grader.service, which
writes the grade log in the same transaction."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from grader import service
from grader.api.auth import current_user, require
from grader.api.common import blueprint, course_for, not_found, page_of
from grader.api.schemas import In, UTCDateTime
from grader.models import Assignment, Course, GradeChange, User, db
from grader.service import MAX_REASON, Cell, ServiceError
from grader.service.manual_scores import GRADERS

blp = blueprint("gradebook", "The gradebook: points per student and problem set, manual scores, the grade log")

NO_NUL = validate.Regexp(r"^[^\x00]*$", error="must not contain NUL bytes")
REASON = fields.String(required=True, validate=[validate.Length(min=1, max=MAX_REASON), NO_NUL],
                       metadata={"description": "why: kept in the grade log (not blank)"})


class GradebookQuery(In):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")),
                           metadata={"description": "json (default) or csv: a file, one row per student"})


class GradebookColumn(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    points = fields.Float(required=True)


class OverrideMark(Schema):
    due_at = UTCDateTime(allow_none=True, required=True, metadata={"description": "null: the set's own"})
    extra_attempts = fields.Integer(required=True)


class CellOut(Schema):
    assignment_id = fields.Integer(required=True)
    user = fields.String(required=True, metadata={"description": "the student's username"})
    points = fields.Float(allow_none=True, required=True,
                          metadata={"description": "what counts: the manual score where set, else `earned`"})
    earned = fields.Float(allow_none=True, required=True,
                          metadata={"description": "what the submissions earn (null: nothing graded)"})
    manual = fields.Float(allow_none=True, required=True, metadata={"description": "the manual score, if any"})
    late = fields.Boolean(required=True, metadata={"description": "a submission that counts was late"})
    attempts = fields.Integer(required=True, metadata={"description": "graded attempts over the set's exercises"})
    override = fields.Nested(OverrideMark, allow_none=True, required=True,
                             metadata={"description": "the student's override of the set, if any"})
    possible = fields.Float(required=True, metadata={"description": "the set's points"})


class GradebookRow(Schema):
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    name = fields.String(required=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), required=True,
                         metadata={"description": "assignment id -> the points that count (null: none yet)"})
    cells = fields.Dict(keys=fields.String(), values=fields.Nested(CellOut), required=True,
                        metadata={"description": "assignment id -> the cell: late, attempts, override, manual"})
    total = fields.Float(required=True)


class GradebookOut(Schema):
    course_id = fields.Integer(required=True)
    assignments = fields.List(fields.Nested(GradebookColumn), required=True,
                              metadata={"description": "the problem sets, in course order (archived ones left out)"})
    students = fields.List(fields.Nested(GradebookRow), required=True)
    possible = fields.Float(required=True, metadata={"description": "the most a student's total can be"})


class ManualScoreIn(In):
    points = fields.Float(required=True, allow_nan=False,
                          metadata={"description": "from 0 to the set's points", "example": 4})
    reason = REASON


class ReasonIn(In):
    reason = fields.String(validate=[validate.Length(min=1, max=MAX_REASON), NO_NUL],
                           metadata={"description": "why (or ?reason=): kept in the grade log"})


class ReasonQuery(In):
    reason = fields.String(validate=[validate.Length(min=1, max=MAX_REASON), NO_NUL],
                           metadata={"description": "why (or in the body): kept in the grade log"})


class GradeLogQuery(In):
    user = fields.String(validate=[validate.Length(min=1, max=80), NO_NUL],
                         metadata={"description": "only this student's (username)"})
    assignment = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                metadata={"description": "only this problem set's (id)"})


class GradeChangeOut(Schema):
    id = fields.Integer(required=True)
    assignment_id = fields.Integer(required=True)
    assignment = fields.String(required=True, metadata={"description": "the set's title"})
    user = fields.String(required=True, metadata={"description": "the student's username"})
    actor = fields.String(allow_none=True, required=True,
                          metadata={"description": "who made the change (null: the account is gone)"})
    old_points = fields.Float(allow_none=True, required=True, metadata={"description": "null: no manual score"})
    new_points = fields.Float(allow_none=True, required=True, metadata={"description": "null: removed"})
    reason = fields.String(required=True)
    created_at = UTCDateTime(required=True)


def _staff_course(course_id: int) -> Course:
    """The course, for its instructors and TAs (and administrators); 403 for a student of it, 404 outside."""
    course, role = course_for(current_user(), course_id)
    if role not in GRADERS:
        raise ServiceError(403, "forbidden", "only the course's instructors and TAs may see its gradebook")
    return course


def _assignment_of(course: Course, assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.course_id != course.id:
        raise not_found("assignment")
    return assignment


def cell_out(cell: Cell, assignment_id: int, username: str, possible: float) -> dict[str, Any]:
    override = ({"due_at": cell.override_due, "extra_attempts": cell.extra_attempts} if cell.override else None)
    return {"assignment_id": assignment_id, "user": username, "points": cell.points, "earned": cell.earned,
            "manual": cell.manual, "late": cell.late, "attempts": cell.attempts, "override": override,
            "possible": possible}


def csv_response(course: Course) -> Response:
    return Response(service.gradebook_csv(course), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{service.gradebook_filename(course)}"'})


CSV_EXAMPLE = "username,name,email,Week 1 (id 3),total\r\nada,Ada Lovelace,,4,4\r\n"


@blp.route("/courses/<int(max=2147483647):course_id>/gradebook")
class Gradebook(MethodView):
    @require("gradebook:read")
    @blp.arguments(GradebookQuery, location="query")
    @blp.response(200, GradebookOut)
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", example=CSV_EXAMPLE,
                      description="The gradebook (JSON; with ?format=csv a CSV file, as an attachment)")
    def get(self, args, course_id: int):
        """Each student's points per problem set (best or last attempt, as the set says; a manual score in its
        place where set), with per cell: what the submissions earn, lateness, attempts used, the override and
        the manual score. `?format=csv`: the same as a CSV file (a leading ' on cells a spreadsheet would run)."""
        course = _staff_course(course_id)
        if args["format"] == "csv":
            return csv_response(course)
        book = service.gradebook(course)
        rows = []
        for student in book.students:
            cells = {a.id: book.cell(student, a) for a in book.assignments}
            rows.append({"user_id": student.id, "username": student.username, "name": student.name,
                         "scores": {str(aid): c.points for aid, c in cells.items()},
                         "cells": {str(aid): cell_out(c, aid, student.username, book.possible[aid])
                                   for aid, c in cells.items()},
                         "total": book.total(student)})
        return {"course_id": course.id, "students": rows, "possible": book.possible_total,
                "assignments": [{"id": a.id, "title": a.title, "points": book.possible[a.id]}
                                for a in book.assignments]}


@blp.route("/courses/<int(max=2147483647):course_id>/gradebook/<int(max=2147483647):assignment_id>/"
           "<string(maxlength=80):username>")
class GradebookCell(MethodView):
    @require("gradebook:write")
    @blp.arguments(ManualScoreIn)
    @blp.response(200, CellOut)
    def put(self, body, course_id: int, assignment_id: int, username: str):
        """Set a manual score: `points` (0 to the set's points) in place of what the student's submissions earn,
        with a `reason` for the grade log. 422 naming the field for points out of range, a blank reason or
        someone who is not a student of the course."""
        assignment = _assignment_of(_staff_course(course_id), assignment_id)
        score = service.set_manual_score(current_user(), assignment, username, body["points"], body["reason"])
        student = db.session.get(User, score.user_id)
        return cell_out(service.gradebook_cell(assignment, student), assignment.id, student.username,
                        assignment.points)

    @require("gradebook:write")
    @blp.arguments(ReasonIn(), location="json", required=False)
    @blp.arguments(ReasonQuery, location="query")
    @blp.response(204)
    def delete(self, body, args, course_id: int, assignment_id: int, username: str):
        """Remove the manual score (back to what the submissions earn), with a `reason` in the body or the query
        for the grade log. Idempotent: 204 also when there was none (nothing is logged then)."""
        assignment = _assignment_of(_staff_course(course_id), assignment_id)
        reason = (body or {}).get("reason") or args.get("reason")
        service.remove_manual_score(current_user(), assignment, username, reason)


@blp.route("/courses/<int(max=2147483647):course_id>/grade-log")
class GradeLog(MethodView):
    @require("gradebook:read")
    @blp.arguments(GradeLogQuery, location="query")
    @blp.response(200, GradeChangeOut(many=True))
    @blp.paginate()
    def get(self, args, course_id: int, pagination_parameters):
        """Every manual score set or removed in the course, newest first: who, when, before and after, why
        (`?user=` one student's, `?assignment=` one set's)."""
        course = _staff_course(course_id)
        query = service.grade_log_query(course, args.get("assignment"), args.get("user"))
        return [_change_out(c) for c in db.session.scalars(page_of(query, pagination_parameters)).unique()]


def _change_out(change: GradeChange) -> dict[str, Any]:
    return {"id": change.id, "assignment_id": change.assignment_id, "assignment": change.assignment.title,
            "user": change.user.username, "actor": change.actor.username if change.actor else None,
            "old_points": change.old_points, "new_points": change.new_points, "reason": change.reason,
            "created_at": change.created_at}
