"""The authoring workspace through the API (instructors): the worked solution of any variant, question tests,
the version history and diffs. The same service functions as the instructor pages (grader.authoring)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from grader import authoring
from grader import exercises as definitions
from grader.api.auth import INSTRUCTORS, current_user, require
from grader.api.common import blueprint, not_found
from grader.api.schemas import SolveOut
from grader.models import Exercise, db
from grader.service import ServiceError

blp = blueprint("authoring", "Preview, question tests and versions of an exercise (instructors)")

MAX_SEED = 2**31 - 1


def _live(slug: str) -> Exercise:
    exercise = db.session.scalar(db.select(Exercise).where(Exercise.slug == slug))
    if exercise is None or exercise.deleted or not authoring.may_see(current_user(), exercise):
        raise not_found("exercise")
    authoring.require_not_a_student_of(current_user(), exercise)  # every route here shows solutions
    return exercise


class PreviewArgs(Schema):
    seed = fields.Integer(load_default=0, validate=validate.Range(0, MAX_SEED),
                          metadata={"description": "the variant's seed (a student's own: see their variant)"})


class CheckIn(Schema):
    seeds = fields.Integer(load_default=100, validate=validate.Range(1, 500),
                           metadata={"description": "how many seeds (0 .. seeds-1) to test (code exercises: at "
                                                    "most 100)"})


class MistakeRowOut(Schema):
    mistake = fields.String(required=True)
    cases = fields.Integer(required=True)
    named = fields.Integer(required=True)
    share = fields.Float(required=True)
    missed_seeds = fields.List(fields.Integer(), required=True)
    passed = fields.Boolean(required=True)


class CodeCheckOut(Schema):
    what = fields.String(required=True)
    expect = fields.String(required=True)
    passed = fields.Boolean(required=True)
    detail = fields.String(required=True)


class CheckOut(Schema):
    exercise = fields.String(required=True)
    version = fields.Integer(required=True)
    seeds = fields.Integer(required=True)
    passed = fields.Boolean(required=True, metadata={"description": "false: a draft, which cannot be assigned"})
    failures = fields.List(fields.String(), required=True)
    reference = fields.Dict(required=True)
    mistakes = fields.List(fields.Nested(MistakeRowOut), required=True)
    degenerate = fields.Dict(required=True)
    code = fields.List(fields.Nested(CodeCheckOut), required=True)
    stored = fields.Boolean(required=True, metadata={"description": "whether this run replaced the kept report"})


class VersionOut(Schema):
    version = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    created_by = fields.String(allow_none=True, required=True)
    current = fields.Boolean(required=True)
    checks_passed = fields.Boolean(allow_none=True, required=True)


class VersionDetailOut(VersionOut):
    source = fields.String(required=True, metadata={"description": "the YAML, as its author wrote it"})
    definition = fields.Dict(required=True)


class DiffArgs(Schema):
    from_ = fields.Integer(data_key="from", required=True, validate=validate.Range(1, 100000))
    to = fields.Integer(required=True, validate=validate.Range(1, 100000))


class DiffOut(Schema):
    from_ = fields.Integer(data_key="from", required=True)
    to = fields.Integer(required=True)
    diff = fields.String(required=True, metadata={"description": "a unified diff of the two versions' YAML"})


def _version_out(exercise: Exercise, version: Any, detail: bool = False) -> dict[str, Any]:
    out = {"version": version.version, "created_at": version.created_at,
           "created_by": version.author.username if version.author else None,
           "current": version.version == exercise.current_version,
           "checks_passed": None if version.checks is None else bool(version.checks.get("passed"))}
    if detail:
        out.update(source=authoring.source_of(version), definition=version.definition)
    return out


@blp.route("/exercises/<slug>/preview")
class Preview(MethodView):
    @require("exercises:read", roles=INSTRUCTORS)
    @blp.arguments(PreviewArgs, location="query")
    @blp.response(200, SolveOut)
    def get(self, args, slug: str):
        """The worked solution of the variant for `seed`: values, gradients, local gradients, the step trace
        and every answer, with the keys of `flask exercises solve --json`. Nothing is stored."""
        exercise = authoring.definition_of(_live(slug).current)
        try:
            return definitions.solve(exercise, args["seed"])
        except definitions.DegenerateVariantError as exc:
            raise ServiceError(422, "degenerate", str(exc), {"seed": [str(exc)]}) from None


@blp.route("/exercises/<slug>/check")
class Check(MethodView):
    @require("exercises:write", roles=INSTRUCTORS)
    @blp.arguments(CheckIn)
    @blp.response(200, CheckOut)
    def post(self, body, slug: str):
        """Run the question tests of the current version on `seeds` seeds and keep the report with it: the
        reference answers score 100%, each classic mistake is named as itself, the definition's own code
        solutions pass or fail as they should. `passed` false makes the version a draft (not assignable). The
        report is kept (`stored`) only when the owner or an administrator runs at least 20 seeds."""
        return authoring.check_stored(_live(slug), body["seeds"], current_user())


@blp.route("/exercises/<slug>/versions")
class Versions(MethodView):
    @require("exercises:read", roles=INSTRUCTORS)
    @blp.response(200, VersionOut(many=True))
    def get(self, slug: str):
        """Every version, newest first: who saved it, when, and whether its question tests passed."""
        exercise = _live(slug)
        return [_version_out(exercise, v) for v in sorted(exercise.versions, key=lambda v: -v.version)]


@blp.route("/exercises/<slug>/versions/<int(max=100000):number>")
class VersionItem(MethodView):
    @require("exercises:read", roles=INSTRUCTORS)
    @blp.response(200, VersionDetailOut)
    def get(self, slug: str, number: int):
        """One version with its YAML source and its definition."""
        exercise = _live(slug)
        version = next((v for v in exercise.versions if v.version == number), None)
        if version is None:
            raise not_found("version")
        return _version_out(exercise, version, detail=True)


@blp.route("/exercises/<slug>/versions/<int(max=100000):number>/restore")
class Restore(MethodView):
    @require("exercises:write", roles=INSTRUCTORS)
    @blp.response(200, VersionOut)
    def post(self, slug: str, number: int):
        """Save version `number` again as the newest version (its owner or an administrator)."""
        exercise = authoring.restore_version(_live(slug), number, current_user())
        return _version_out(exercise, exercise.current)


@blp.route("/exercises/<slug>/diff")
class Diff(MethodView):
    @require("exercises:read", roles=INSTRUCTORS)
    @blp.arguments(DiffArgs, location="query")
    @blp.response(200, DiffOut)
    def get(self, args, slug: str):
        """A unified diff between two versions' YAML (`?from=1&to=2`)."""
        lines = authoring.diff_versions(_live(slug), args["from_"], args["to"])
        return {"from_": args["from_"], "to": args["to"], "diff": "\n".join(lines)}
