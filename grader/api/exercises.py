"""Exercise definitions (instructors): list, create, read, edit (a new version), delete; the solve preview.

Create and edit take the definition as JSON (`{"definition": {...}}`) or as its YAML text itself
(`Content-Type: application/yaml`); an invalid YAML definition's errors each carry their line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request
from flask.views import MethodView
from sqlalchemy import select

from grader import authoring
from grader import exercises as definitions
from grader.api import _bad_values, errors
from grader.api.auth import INSTRUCTORS, current_user, require
from grader.api.common import blueprint, not_found, page_of
from grader.api.schemas import DefinitionIn, ExerciseOut, ExerciseSummary, SolveIn, SolveOut
from grader.exercises.source import MAX_SOURCE_CHARS, SourceError, check_source
from grader.models import Exercise, db
from grader.service import ServiceError

blp = blueprint("exercises", "Exercise definitions and the authoring preview (instructors)")

_INDEX = re.compile(r"\.(\d+)(?=\.|$)")  # JSON's 'graph.0' as the definition's 'graph[0]'
YAML_TYPES = ("application/yaml", "text/yaml", "application/x-yaml")
YAML_EXAMPLE = """id: my-add-gate
title: "The add gate"
kind: numeric
prompt: Give $\\partial L/\\partial a$ for $z = a + b$.
inputs:
  a: {shape: [1, 3], random: {uniform: [-2.0, 2.0], decimals: 1}}
params:
  b: {shape: [1, 3], random: {uniform: [-2.0, 2.0], decimals: 1}}
graph:
  - z = add(a, b)
upstream:
  z: {shape: [1, 3], random: {uniform: [-3.0, 3.0], decimals: 1, nonzero: true}}
ask:
  - {grad: a, label: "dL/da"}
"""


def _live(slug: str) -> Exercise:
    """The exercise, if the caller may see it (the catalogue, their own, those of their courses: 404 for
    another instructor's own), and not one they take as a student (403: its definition holds solutions)."""
    exercise = db.session.scalar(select(Exercise).where(Exercise.slug == slug))
    if exercise is None or exercise.deleted or not authoring.may_see(current_user(), exercise):
        raise not_found("exercise")
    authoring.require_not_a_student_of(current_user(), exercise)
    return exercise


def _out(exercise: Exercise) -> dict[str, Any]:
    return {"slug": exercise.slug, "title": exercise.title, "kind": exercise.kind,
            "current_version": exercise.current_version, "deleted": exercise.deleted,
            "owner": exercise.owner.username if exercise.owner else None,
            "editable": authoring.may_change(current_user(), exercise),
            "created_at": exercise.created_at, "versions": [v.version for v in exercise.versions],
            "definition": exercise.current.definition, "checks": exercise.current.checks}


def definition_body(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view's `body` from JSON (DefinitionIn, parsed and documented by flask-smorest as before) or from
    the definition's YAML text (a Content-Type of YAML_TYPES): then `{"definition": document, "source": text}`,
    the text refused here with its errors' lines when it is not a valid definition."""
    from_json = blp.arguments(DefinitionIn)(view)

    @wraps(from_json)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.mimetype not in YAML_TYPES:
            return from_json(*args, **kwargs)
        return view(*args, _yaml_body(), **kwargs)

    yaml_content = {"schema": {"type": "string", "description": "the definition's YAML text "
                               f"(docs/exercise-format.md), at most {MAX_SOURCE_CHARS} bytes (413 above)"}}
    return blp.doc(requestBody={"content": {
        kind: {**yaml_content, "example": YAML_EXAMPLE} if kind == YAML_TYPES[0] else yaml_content
        for kind in YAML_TYPES}})(wrapper)


def _yaml_body() -> dict[str, Any]:
    raw = request.get_data(cache=True)  # 413 above MAX_CONTENT_LENGTH
    if len(raw) > MAX_SOURCE_CHARS:  # parsing YAML is slow: a definition is a few thousand characters
        raise ServiceError(413, "too_large", f"the YAML text is too long: at most {MAX_SOURCE_CHARS} bytes",
                           {"body": [f"at most {MAX_SOURCE_CHARS} bytes"]})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ServiceError(400, "bad_request", f"the body is not UTF-8 text (byte {exc.start})",
                           {"body": ["not UTF-8 text"]}) from None
    report = check_source(text)
    if report.ok:  # what no database stores (NUL, lone surrogates), as for JSON bodies
        report.errors = [SourceError(*report.locate(path), _INDEX.sub(r"[\1]", path), problem)
                         for path, problem in _bad_values(report.document).items()]
        report.exercise = report.exercise if report.ok else None
    errors.remember_source(report)
    if not report.ok:
        messages: dict[str, list[str]] = {}
        for error in report.errors:
            messages.setdefault(errors.definition_key(error.path), []).append(error.message)
        raise ServiceError(422, "invalid_definition", f"the exercise definition is invalid ({report.errors[0]})",
                           messages)
    return {"definition": report.document, "source": text}


@blp.route("/exercises")
class Exercises(MethodView):
    @require("exercises:read", roles=INSTRUCTORS)
    @blp.response(200, ExerciseSummary(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """The exercises you may use (the catalogue, your own, those of your courses), by slug."""
        visible = [e.id for e in authoring.library(current_user())]  # the workspace's library, by slug
        query = select(Exercise).where(Exercise.id.in_(visible))
        return db.session.scalars(page_of(query.order_by(Exercise.slug), pagination_parameters)).all()

    @require("exercises:write", roles=INSTRUCTORS)
    @definition_body
    @blp.response(201, ExerciseOut)
    def post(self, body):
        """Create an exercise from a definition; you own it (409 if the slug is taken). A deleted exercise's
        slug comes back to life only for its owner or an administrator (403 otherwise). Its question tests run
        on save: a failing exercise is stored as a draft that cannot be assigned (see `checks`)."""
        exercise, _ = authoring.save_checked(body["definition"], current_user(), source=body.get("source"))
        return _out(exercise)


@blp.route("/exercises/<slug>")
class ExerciseItem(MethodView):
    @require("exercises:read", roles=INSTRUCTORS)
    @blp.response(200, ExerciseOut)
    def get(self, slug: str):
        """One exercise with its current definition and the numbers of all its versions."""
        return _out(_live(slug))

    @require("exercises:write", roles=INSTRUCTORS)
    @definition_body
    @blp.response(200, ExerciseOut)
    def put(self, body, slug: str):
        """Edit: a changed definition becomes a new version (submissions keep the version they were graded
        against); an unchanged one changes nothing. Only its owner or an administrator (403 otherwise)."""
        exercise, _ = authoring.save_checked(body["definition"], current_user(), source=body.get("source"),
                                             existing=_live(slug))
        return _out(exercise)

    @require("exercises:write", roles=INSTRUCTORS)
    @blp.response(204)
    def delete(self, slug: str):
        """Mark deleted: hidden from the list; its versions and submissions stay. Only its owner or an
        administrator (403 otherwise)."""
        authoring.delete_exercise(_live(slug), current_user())


@blp.route("/solve")
class Solve(MethodView):
    @require("exercises:read", roles=INSTRUCTORS)
    @blp.arguments(SolveIn)
    @blp.response(200, SolveOut)
    def post(self, body):
        """The authoring preview: one variant's values, gradients, step trace and answers. Nothing stored."""
        parsed = authoring.validated(body["definition"], stored=False)  # the preview names the seed that fails
        try:
            return definitions.solve(parsed, body["seed"])
        except definitions.DegenerateVariantError as exc:
            raise ServiceError(422, "degenerate", str(exc), {"definition": [str(exc)]}) from None
