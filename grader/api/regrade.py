"""Regrading a problem set's stored submissions (grader.service.regrade): the course's instructors only.

    POST /api/v1/assignments/<id>/regrade                    {dry_run: true, ...}: the report, 200 (nothing changed);
                                                             of code: 202 and the dry run's job (its result: the report)
                                                             {dry_run: false, plan, reason, ...}: 202 and the job
    GET  /api/v1/assignments/<id>/regrades                   the set's regrade records, newest first
    POST /api/v1/assignments/<id>/regrades/<regrade_id>/undo restore what that regrade changed

A TA gets 403 (a regrade changes many students' grades: instructors decide; TAs set manual scores), a student
of the course 403, anyone outside it 404."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.views import MethodView
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from grader.api.auth import current_user, require
from grader.api.common import blueprint, not_found
from grader.api.jobs import JobOut
from grader.api.schemas import In, UTCDateTime
from grader.exercises.schema import ToleranceSchema
from grader.jobs.progress import job_view
from grader.models import Assignment, Job, db
from grader.service import MAX_REASON
from grader.service.regrade import CHANGES, MAX_STUDENTS, check_request, dry_run, require_instructor
from grader.service.regrade_commit import commit_regrade, regrade_for, regrade_view, regrades_of, undo_regrade
from grader.service.regrade_jobs import grades_code, start_dry_run

blp = blueprint("regrade", "Regrading stored submissions: a dry run, then a job that commits it, and undo")

NO_NUL = validate.Regexp(r"^[^\x00]*$", error="must not contain NUL bytes")


class RegradeIn(In):
    dry_run = fields.Boolean(load_default=True, metadata={
        "description": "true (default): say what would change, change nothing; false: commit the dry run's `plan`"})
    exercise = fields.String(validate=[validate.Length(min=1, max=120), NO_NUL], metadata={
        "description": "one exercise of the set (its slug); left out: every exercise (a grader change only)"})
    students = fields.List(fields.String(validate=[validate.Length(min=1, max=80), NO_NUL]),
                           validate=validate.Length(min=1, max=MAX_STUDENTS),
                           metadata={"description": "usernames; left out: every student of the course"})
    change = fields.String(load_default="grader", validate=validate.OneOf(CHANGES), metadata={
        "description": "grader: the current grader on the stored answers and versions; tolerance: a new "
                       "`tolerance` for `exercise`; version: another `version` of `exercise`, on the same seeds "
                       "(left where it draws other numbers)"})
    tolerance = fields.Nested(ToleranceSchema, metadata={"description": "for change=tolerance"})
    version = fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1),
                             metadata={"description": "for change=version: the exercise's version number"})
    never_lower = fields.Boolean(load_default=False, metadata={"description": "keep a score the regrade would lower"})
    reason = fields.String(validate=[validate.Length(min=1, max=MAX_REASON), NO_NUL],
                           metadata={"description": "why (required to commit): kept in the regrade's record"})
    plan = fields.String(validate=validate.Length(min=66, max=4_000_000), metadata={
        "description": "the `plan` the dry run answered (required to commit): the commit applies exactly that "
                       "dry run, or refuses if its rows changed since"})

    @validates_schema
    def _commit_needs(self, data: dict, **kwargs: Any) -> None:
        if not data.get("dry_run", True):
            missing = {name: ["required to commit (dry_run false)"] for name in ("plan", "reason")
                       if not data.get(name)}
            if missing:
                raise ValidationError(missing)


class EntryOut(Schema):
    submission_id = fields.Integer(required=True)
    user = fields.String(required=True)
    item_id = fields.Integer(required=True)
    attempt = fields.Integer(required=True)
    outcome = fields.String(required=True, metadata={
        "description": "changed, kept: overridden (a manual score), kept: never lower, numbers differ, not gradable"})
    note = fields.String(required=True)
    old_score = fields.Float(allow_none=True, required=True)
    new_score = fields.Float(allow_none=True, required=True)
    old_points = fields.Float(allow_none=True, required=True)
    new_points = fields.Float(allow_none=True, required=True)
    old_mistakes = fields.List(fields.String(), required=True)
    new_mistakes = fields.List(fields.String(), required=True)


class TotalOut(Schema):
    user = fields.String(required=True)
    old = fields.Float(allow_none=True, required=True)
    new = fields.Float(allow_none=True, required=True)


class ReportOut(Schema):
    summary = fields.String(required=True, metadata={"example": "would change 12 submissions of 9 students"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    fingerprint = fields.String(required=True, metadata={"description": "digest of the rows read and outcomes"})
    plan = fields.String(required=True, metadata={"description": "send it back with dry_run false to commit"})
    entries = fields.List(fields.Nested(EntryOut), required=True,
                          metadata={"description": "every submission the regrade changes or keeps, and why"})
    entries_left_out = fields.Integer(required=True)
    totals = fields.List(fields.Nested(TotalOut), required=True, metadata={"description": "set totals that move"})
    lms_resend = fields.List(fields.String(), required=True,
                             metadata={"description": "students whose LMS grade would be sent again"})
    numbers_differ = fields.List(fields.String(), required=True)
    kept_overridden = fields.List(fields.String(), required=True)


class RegradeOut(Schema):
    id = fields.Integer(required=True)
    assignment_id = fields.Integer(required=True)
    created_by = fields.Integer(allow_none=True, required=True)
    reason = fields.String(required=True)
    params = fields.Dict(required=True, metadata={"description": "scope and change, as asked"})
    state = fields.String(required=True, metadata={"description": "queued, committed, refused or undone"})
    job_id = fields.Integer(allow_none=True, required=True)
    counts = fields.Dict(allow_none=True, required=True)
    submissions = fields.Integer(required=True, metadata={"description": "submissions the dry run read"})
    created_at = UTCDateTime(required=True)
    committed_at = UTCDateTime(allow_none=True, required=True)
    undone_at = UTCDateTime(allow_none=True, required=True)
    undone_by = fields.Integer(allow_none=True, required=True)


class CommitOut(Schema):
    regrade = fields.Nested(RegradeOut, allow_none=True, required=True, metadata={
        "description": "the regrade's record (a commit); null for a dry run running as a job"})
    job = fields.Nested(JobOut, required=True, metadata={
        "description": "the commit's job, or the dry run's (a regrade of code): its `result` is the report"})


class UndoOut(Schema):
    regrade = fields.Nested(RegradeOut, required=True)
    restored = fields.Integer(required=True, metadata={"description": "submissions restored"})


def _assignment(assignment_id: int) -> Assignment:
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None:
        raise not_found("assignment")
    require_instructor(current_user(), assignment)
    return assignment


@blp.route("/assignments/<int(max=2147483647):assignment_id>/regrade")
class RegradeAction(MethodView):
    @require("gradebook:write")
    @blp.arguments(RegradeIn)
    @blp.response(200, ReportOut)
    @blp.alt_response(202, schema=CommitOut, description="Committed: the job applying it (its progress at "
                      "GET /api/v1/jobs/<id>) and the regrade's record; or the job of a dry run of code (its "
                      "`result`, once done, is the report)")
    def post(self, body, assignment_id: int):
        """Regrade the set's graded submissions (one `exercise`, or all; chosen `students`, or all) with the
        current grader, a new tolerance or another version. `dry_run` true (the default): what would change,
        each submission's old → new score and diagnosis, the totals that move and whose LMS grades would be
        sent again; nothing is stored. A dry run of a code exercise runs students' code again: 202 and its job,
        whose result is the report. `dry_run` false, with the dry run's `plan` and a `reason`: 202 and the
        job that applies exactly that dry run (it fails, changing nothing, if the rows changed since)."""
        assignment = _assignment(assignment_id)
        request = check_request(assignment, exercise=body.get("exercise"), students=body.get("students"),
                                change=body["change"], tolerance=body.get("tolerance"), version=body.get("version"),
                                never_lower=body["never_lower"])
        if body["dry_run"] and grades_code(assignment, request):  # the sandbox, on the grading workers
            job = start_dry_run(current_user(), assignment, request)
            job = db.session.get(Job, job.id, populate_existing=True)
            return jsonify(CommitOut().dump({"regrade": None, "job": job_view(job)})), 202
        if body["dry_run"]:
            return dry_run(current_user(), assignment, request).report()
        regrade = commit_regrade(current_user(), assignment, request, body["plan"], body["reason"])
        job = db.session.get(Job, regrade.job_id, populate_existing=True)
        # a Response: the 200 schema (the report) would otherwise filter this answer
        return jsonify(CommitOut().dump({"regrade": regrade_view(regrade), "job": job_view(job)})), 202


@blp.route("/assignments/<int(max=2147483647):assignment_id>/regrades")
class RegradeList(MethodView):
    @require("gradebook:read")
    @blp.response(200, RegradeOut(many=True))
    def get(self, assignment_id: int):
        """The set's regrades, newest first: who, when, why, what, and what came of it."""
        return [regrade_view(r) for r in regrades_of(current_user(), _assignment(assignment_id))]


@blp.route("/assignments/<int(max=2147483647):assignment_id>/regrades/<int(max=2147483647):regrade_id>/undo")
class RegradeUndo(MethodView):
    @require("gradebook:write")
    @blp.response(200, UndoOut)
    def post(self, assignment_id: int, regrade_id: int):
        """Restore every score, feedback and diagnosis the regrade changed; 409 unless it is committed and no
        later regrade of the set is in force."""
        regrade = regrade_for(current_user(), regrade_id, _assignment(assignment_id))
        restored = undo_regrade(current_user(), regrade)
        return {"regrade": regrade_view(regrade), "restored": restored}
