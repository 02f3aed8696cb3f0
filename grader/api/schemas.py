"""marshmallow schemas of the API: request bodies reject unknown fields (marshmallow's RAISE, the default),
responses document exactly what is sent (the OpenAPI document is generated from them)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from grader.models import COURSE_ROLES, SCOPES
from grader.service import MAX_ANSWER_TEXT, MAX_ANSWERS, MAX_CODE  # one set of limits for every entry point

MAX_NESTING = 4


class In(Schema):
    class Meta:
        unknown = RAISE


class UTCDateTime(fields.DateTime):
    """Stored naive in UTC; sent with an explicit offset; accepted with any offset (or none: UTC)."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is not None:
            try:
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:  # within hours of year 1 or 9999: the nearest representable instant
                parsed = datetime.min if parsed.year == 1 else datetime.max
        return parsed


class AnswerValue(fields.Field):
    """One answer: text as typed ("0.25", "[[1, 2], [3, 4]]"), a number, or nested lists of them."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        self._check(value, 0)
        return value

    def _check(self, value: Any, depth: int) -> None:
        if isinstance(value, bool) or value is None:
            raise ValidationError("an answer is text, a number or a list of numbers")
        if isinstance(value, str):
            if len(value) > MAX_ANSWER_TEXT:
                raise ValidationError(f"at most {MAX_ANSWER_TEXT} characters")
            return
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise ValidationError("numbers must be finite")
            return
        if isinstance(value, list):
            if depth >= MAX_NESTING:
                raise ValidationError(f"lists nest at most {MAX_NESTING} deep")
            for item in value:
                self._check(item, depth + 1)
            return
        raise ValidationError("an answer is text, a number or a list of numbers")


# --- requests --------------------------------------------------------------------------------------------

class DefinitionIn(In):
    definition = fields.Dict(required=True, metadata={"description": "the exercise definition "
                                                      "(spec/exercise-format.md), as JSON"})


class SolveIn(In):
    definition = fields.Dict(required=True, metadata={"description": "an exercise definition"})
    seed = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=2**31 - 1))


EXERCISE_SLUG = {"validate": [validate.Length(min=1, max=120),
                                validate.Regexp(r"^[^\x00]+$", error="must not contain NUL bytes")]}


class SubmissionIn(In):
    exercise = fields.String(**EXERCISE_SLUG, metadata={
        "description": "the slug of the problem set's exercise answered (may be left out for a set of one)"})
    answers = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=200)), values=AnswerValue(),
                          validate=validate.Length(max=MAX_ANSWERS),
                          metadata={"description": "answer per ask, keyed by its position ('0', '1', ...) or "
                                                   "label; each is text as typed, a number or nested lists"})
    code = fields.String(validate=validate.Length(min=1, max=MAX_CODE),
                         metadata={"description": "Python source of the backward function (code exercises)"})
    version = fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1),
                             metadata={"description": "the exercise version the answers were worked out for (the "
                                                      "variant's `version`); if the exercise has been edited "
                                                      "since, 409 exercise_changed and nothing is stored"})

    @validates_schema
    def _one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("answers" in data) == ("code" in data):
            raise ValidationError("send exactly one of answers or code", "body")


class PrecheckIn(In):
    exercise = fields.String(**EXERCISE_SLUG, metadata={
        "description": "the problem set's exercise (may be left out for a set of one)"})
    code = fields.String(required=True, validate=validate.Length(min=1, max=MAX_CODE),
                         metadata={"description": "Python source of the backward function"})


class AssignmentFields(In):
    title = fields.String(validate=validate.Length(max=200))
    due_at = UTCDateTime(allow_none=True)
    attempt_limit = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=1000))
    points = fields.Float(validate=validate.Range(min=0, max=1_000_000))
    late_policy = fields.String(validate=validate.OneOf(["reject", "penalty", "accept"]))
    late_penalty = fields.Float(validate=validate.Range(min=0, max=1))
    visible = fields.Boolean()
    scoring = fields.String(validate=validate.OneOf(["best", "last"]))
    solution_policy = fields.String(validate=validate.OneOf(["never", "after_due", "always"]))
    position = fields.Integer(strict=True, validate=validate.Range(min=0, max=100_000), metadata={
        "description": "order among the course's problem sets (ascending; equal positions: by due date)"})
    archived = fields.Boolean(metadata={"description": "retired: hidden from students; may then be deleted "
                                                      "with its submissions"})


class ItemIn(In):
    exercise = fields.String(required=True, **EXERCISE_SLUG, metadata={"description": "the exercise's slug"})
    points = fields.Float(load_default=1.0, validate=validate.Range(min=0, max=1_000_000))
    attempts = fields.Integer(strict=True, allow_none=True, load_default=None,
                              validate=validate.Range(min=1, max=1000),
                              metadata={"description": "attempt limit (null: the exercise's own, if any)"})


class AssignmentIn(AssignmentFields):
    exercise = fields.String(**EXERCISE_SLUG, metadata={
        "description": "a set of one: the exercise's slug (with `points` and `attempt_limit`)"})
    exercises = fields.List(fields.Nested(ItemIn), validate=validate.Length(min=1, max=100),
                            metadata={"description": "the problem set's exercises, in order"})

    @validates_schema
    def _one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "exercise" in data and "exercises" in data:
            raise ValidationError("send exercise (a set of one) or exercises, not both", "exercise")
        if "exercise" not in data and "exercises" not in data:
            raise ValidationError("required: an exercise, or a list of exercises", "exercise")
        if "exercises" in data and ({"points", "attempt_limit"} & set(data)):
            raise ValidationError("with exercises, points and attempts are given per exercise", "body")


class OverrideIn(In):
    user = fields.String(required=True, validate=[validate.Length(min=1, max=80),
                                                  validate.Regexp(r"^[^\x00]+$", error="must not contain NUL bytes")],
                         metadata={"description": "the student's username"})
    due_at = UTCDateTime(metadata={"description": "their own due date (left out: the set's, or as before)"})
    extra_attempts = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000),
                                    metadata={"description": "attempts added to each exercise's limit"})


class OverrideQuery(In):
    user = fields.String(required=True, validate=[validate.Length(min=1, max=80),
                                                  validate.Regexp(r"^[^\x00]+$", error="must not contain NUL bytes")],
                         metadata={"description": "the student's username"})


class OverrideOut(Schema):
    id = fields.Integer(required=True)
    assignment_id = fields.Integer(required=True)
    user = fields.String(required=True)
    due_at = UTCDateTime(allow_none=True, required=True)
    extra_attempts = fields.Integer(required=True)
    created_at = UTCDateTime(required=True)


STUDENT_USERNAME = {"validate": [validate.Length(min=1, max=80),
                                  validate.Regexp(r"^[^\x00]+$", error="must not contain NUL bytes")]}


class VariantQuery(In):
    exercise = fields.String(**EXERCISE_SLUG, metadata={
        "description": "the problem set's exercise (may be left out for a set of one)"})
    user = fields.String(**STUDENT_USERNAME, metadata={
        "description": "the course's instructors and TAs: this student's variant (their numbers and seed); "
                       "a student may name only themselves (403 otherwise)"})


class AssignmentPatch(AssignmentFields):
    pass


class MembershipIn(In):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    role = fields.String(load_default="student", validate=validate.OneOf(COURSE_ROLES))


class TokenIn(In):
    name = fields.String(load_default="", validate=validate.Length(max=120))
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)), required=True,
                         validate=validate.Length(max=len(SCOPES)))
    expires_in_days = fields.Integer(strict=True, load_default=90, validate=validate.Range(min=1, max=3650))


class SubmissionQuery(In):
    user = fields.String(**STUDENT_USERNAME, metadata={
        "description": "the course's instructors and TAs: only this student's submissions; a student may name "
                       "only themselves (403 otherwise)"})


class FloorIn(In):
    assignment_id = fields.Integer(strict=True, required=True)
    version_id = fields.Integer(strict=True, required=True)


# --- responses -------------------------------------------------------------------------------------------

class ExerciseSummary(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    version = fields.Integer(required=True, attribute="current_version")
    deleted = fields.Boolean(required=True)
    created_at = UTCDateTime(required=True)


class ExerciseOut(ExerciseSummary):
    owner = fields.String(allow_none=True, required=True,
                          metadata={"description": "who created it (null: the built-in catalogue or imported files)"})
    editable = fields.Boolean(required=True, metadata={"description": "whether you may edit or delete it"})
    versions = fields.List(fields.Integer(), required=True)
    definition = fields.Dict(required=True)
    checks = fields.Dict(allow_none=True, required=True, metadata={
        "description": "the current version's question-test report ({passed, failures, ...}; null: not run). "
                       "passed false: a draft, which cannot be assigned until its tests pass"})


class SolveOut(Schema):
    id = fields.String(required=True)
    version = fields.Integer(required=True)
    seed = fields.Integer(required=True)
    dims = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    graph = fields.List(fields.String(), required=True)
    values = fields.Dict(required=True)
    grads = fields.Dict(required=True)
    local_grads = fields.Dict(required=True)
    answers = fields.List(fields.Dict(), required=True)
    trace = fields.List(fields.Dict(), required=True)


class AskOut(Schema):
    position = fields.Integer(required=True, metadata={"description": "the key to answer it by"})
    kind = fields.String(required=True)
    node = fields.String(required=True)
    entry = fields.List(fields.Integer(), allow_none=True, required=True,
                        metadata={"description": "the entry asked for (zero-based), or null for the whole"})
    label = fields.String(required=True)
    points = fields.Float(required=True)
    shape = fields.List(fields.Integer(), required=True, metadata={"description": "the expected shape"})


class FunctionOut(Schema):
    name = fields.String(required=True)
    args = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    returns = fields.List(fields.String(), required=True)
    starter = fields.String(required=True)


class VariantOut(Schema):
    assignment_id = fields.Integer(required=True)
    exercise = fields.String(required=True)
    user = fields.String(required=True, metadata={"description": "whose numbers these are (a username)"})
    seed = fields.Integer(allow_none=True, required=True, metadata={
        "description": "the seed the numbers are drawn from: for the course's instructors and TAs (null for a "
                       "student)"})
    version = fields.Integer(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True)
    prompt = fields.String(required=True)
    dims = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    inputs = fields.Dict(required=True, metadata={"description": "name -> numbers (nested lists)"})
    params = fields.Dict(required=True)
    upstream = fields.Dict(allow_none=True, required=True)
    graph = fields.List(fields.String(), required=True)
    asks = fields.List(fields.Nested(AskOut), required=True)
    tolerance = fields.String(required=True)
    function = fields.Nested(FunctionOut, allow_none=True, required=True)
    attempts_left = fields.Integer(allow_none=True, required=True)
    due_at = UTCDateTime(allow_none=True, required=True)
    late_policy = fields.String(required=True)


class SubmissionOut(Schema):
    id = fields.Integer(required=True)
    assignment_id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    item_id = fields.Integer(required=True, metadata={"description": "the problem set's item it answers"})
    exercise = fields.String(required=True, metadata={"description": "that item's exercise id, e.g. "
                                                      "relu-backward"})
    exercise_version = fields.Integer(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "graded, invalid (a format error: no "
                                                    "attempt used), error (infrastructure: no attempt used) or "
                                                    "queued (a grading worker has it; its attempt is numbered)"})
    attempt = fields.Integer(allow_none=True, required=True)
    score = fields.Float(allow_none=True, required=True)
    points = fields.Float(allow_none=True, required=True)
    late = fields.Boolean(required=True)
    answers = fields.Dict(allow_none=True, required=True)
    code = fields.String(allow_none=True, required=True)
    feedback = fields.Dict(required=True)
    mistakes = fields.List(fields.String(), required=True)
    grading_ms = fields.Float(required=True)
    created_at = UTCDateTime(required=True)


class PrecheckOutput(Schema):
    name = fields.String(required=True, metadata={"description": "the return value, e.g. grad(x)"})
    expected = fields.Raw(required=True, metadata={"description": "its expected value (nested lists)"})
    given = fields.Raw(allow_none=True, required=True,
                       metadata={"description": "what your function returned (nested lists), null if nothing usable"})
    expected_shape = fields.List(fields.Integer(), required=True)
    given_shape = fields.List(fields.Integer(), allow_none=True, required=True)
    problem = fields.String(allow_none=True, required=True, metadata={"description": "what is wrong with it"})


class PrecheckOut(Schema):
    status = fields.String(required=True, metadata={"description": "passed, failed, invalid (the code cannot run: "
                                                    "a format error) or error (the grader could not run it)"})
    message = fields.String(required=True)
    dims = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    inputs = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                         metadata={"description": "the example's arguments by name (nested lists)"})
    outputs = fields.List(fields.Nested(PrecheckOutput), required=True)
    part = fields.Dict(allow_none=True, required=True,
                       metadata={"description": "the example graded as a test (message, details, diagnosis, "
                                                "format_error), as in a submission's feedback"})


class CourseOut(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    title = fields.String(required=True)
    role = fields.String(allow_none=True, required=True, metadata={"description": "yours in the course"})


class MembershipOut(Schema):
    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    username = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)


class ItemOut(Schema):
    exercise = fields.String(required=True)
    title = fields.String(required=True)
    position = fields.Integer(required=True)
    points = fields.Float(required=True)
    attempts = fields.Integer(allow_none=True, required=True)


class AssignmentOut(Schema):
    id = fields.Integer(required=True)
    course_id = fields.Integer(required=True)
    exercise = fields.String(required=True, metadata={"description": "the first exercise's slug"})
    exercises = fields.List(fields.Nested(ItemOut), required=True)
    title = fields.String(required=True)
    due_at = UTCDateTime(allow_none=True, required=True)
    attempt_limit = fields.Integer(allow_none=True, required=True, metadata={
        "description": "a set of one: its exercise's limit; null for a larger set (see exercises)"})
    points = fields.Float(required=True, metadata={"description": "the sum of the exercises' points"})
    late_policy = fields.String(required=True)
    late_penalty = fields.Float(required=True)
    visible = fields.Boolean(required=True)
    scoring = fields.String(required=True)
    solution_policy = fields.String(required=True)
    position = fields.Integer(required=True)
    archived = fields.Boolean(required=True)
    created_at = UTCDateTime(required=True)


class TokenOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True)
    scopes = fields.List(fields.String(), required=True)
    expires_at = UTCDateTime(allow_none=True, required=True)
    revoked_at = UTCDateTime(allow_none=True, required=True)
    last_used_at = UTCDateTime(allow_none=True, required=True)
    created_at = UTCDateTime(required=True)


class TokenCreated(TokenOut):
    token = fields.String(required=True, metadata={"description": "the secret: shown this once only"})


class FloorOut(Schema):
    id = fields.Integer(required=True)
