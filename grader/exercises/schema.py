"""Marshmallow schemas for the exercise definition format (docs/exercise-format.md).

These check the structure: keys, types, ranges. What needs the graph (names, shapes, asks) is checked
afterwards in `definition.py`. Every schema rejects unknown keys and suggests the key that was meant.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from grader.engine import GATES
from grader.engine.graph import suggest
from grader.grading.tolerance import Tolerance

NAME = validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]*$", error="must be a name (letters, digits, _), got {input!r}")
SLUG = validate.Regexp(r"^[a-z0-9][a-z0-9-]*$", error="must be a slug [a-z0-9][a-z0-9-]*, got {input!r}")
ACTIVATIONS = sorted(name for name, gate in GATES.items() if gate.kind == "activation")
LOSSES = sorted(name for name, gate in GATES.items() if gate.kind == "loss")
DISTRIBUTIONS = ("uniform", "normal", "integers", "choice")
ASK_KINDS = ("grad", "value", "local_grad", "jacobian")
IN_PLACE_RULES = ("allowed", "forbidden")


class Strict(Schema):
    class Meta:
        unknown = RAISE

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        # marshmallow says only "Unknown field."; say which key and what was probably meant.
        if isinstance(error.messages, dict) and isinstance(data, dict):
            known = [f.data_key or name for name, f in self.fields.items()]
            for key, messages in error.messages.items():
                if messages == ["Unknown field."]:
                    error.messages[key] = [f"unknown key '{key}'{suggest(str(key), known)}"]


def _exactly_one(data: dict, keys: tuple[str, ...], where: str) -> None:
    present = [k for k in keys if k in data]
    if len(present) != 1:
        found = ", ".join(present) or "none"
        raise ValidationError(f"{where} needs exactly one of {', '.join(keys)} (found: {found})")


class Pair(fields.List):
    """[lo, hi] with lo <= hi."""

    def __init__(self, inner: fields.Field, **kwargs: Any):
        super().__init__(inner, validate=validate.Length(equal=2, error="expected [lo, hi]"), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        pair = super()._deserialize(value, attr, data, **kwargs)
        if len(pair) != 2:  # the Length validator runs only after this method
            raise ValidationError("expected [lo, hi]")
        if pair[0] > pair[1]:
            raise ValidationError(f"lo must not exceed hi, got {pair}")
        return pair


class RandomRuleSchema(Strict):
    uniform = Pair(fields.Float(allow_nan=False))
    normal = fields.List(fields.Float(allow_nan=False), validate=validate.Length(equal=2, error="expected [mean, std]"))
    integers = Pair(fields.Integer(strict=True))
    choice = fields.List(fields.Float(allow_nan=False), validate=validate.Length(min=1))
    decimals = fields.Integer(strict=True, validate=validate.Range(0, 12))
    nonzero = fields.Boolean()

    @validates_schema
    def _one_distribution(self, data: dict, **kwargs: Any) -> None:
        _exactly_one(data, DISTRIBUTIONS, "a random rule")
        if "normal" in data and data["normal"][1] < 0:
            raise ValidationError("the standard deviation must be >= 0", "normal")
        if data.get("nonzero") and data.get("choice") == [0.0]:
            raise ValidationError("nonzero cannot be met by choice [0]", "choice")


class DimField(fields.Field):
    """A dimension: a positive int, or a random rule over positive ints (`integers` or `choice`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValidationError(f"a dimension must be >= 1, got {value}")
            return value
        if not isinstance(value, dict):
            raise ValidationError("expected a positive int or a random rule {integers: [lo, hi]}")
        rule = RandomRuleSchema().load(value)
        if "integers" in rule and rule["integers"][0] < 1:
            raise ValidationError("dimensions are drawn from integers >= 1", "integers")
        if "choice" in rule and not all(c >= 1 and float(c).is_integer() for c in rule["choice"]):
            raise ValidationError("a choice of dimensions must be whole numbers >= 1", "choice")
        if "uniform" in rule or "normal" in rule:
            raise ValidationError("dimensions are drawn with integers or choice")
        return rule


class ShapeEntry(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        if isinstance(value, str) and NAME.regex.match(value):
            return value
        raise ValidationError(f"a shape entry is a positive int or a dimension name, got {value!r}")


class TensorSchema(Strict):
    shape = fields.List(ShapeEntry(), required=True)
    value = fields.Raw()
    random = fields.Nested(RandomRuleSchema)

    @validates_schema
    def _value_or_random(self, data: dict, **kwargs: Any) -> None:
        _exactly_one(data, ("value", "random"), "a tensor")


class NamedMap(fields.Field):
    """A mapping from names to a nested schema; errors are keyed by the name alone."""

    def __init__(self, schema: type[Schema] | fields.Field, **kwargs: Any):
        super().__init__(**kwargs)
        self.schema = schema

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("expected a mapping of names")
        out, errors = {}, {}
        for name, item in value.items():
            try:
                NAME(name) if isinstance(name, str) else self.fail_name(name)
                if isinstance(self.schema, fields.Field):
                    out[name] = self.schema.deserialize(item)
                else:
                    out[name] = self.schema().load(item if item is not None else {})
            except ValidationError as exc:
                errors[name] = exc.messages
        if errors:
            raise ValidationError(errors)
        return out

    @staticmethod
    def fail_name(name: Any) -> None:
        raise ValidationError(f"names must be text, got {name!r}")


class LayerSchema(Strict):
    weights = fields.String(required=True, validate=NAME)
    activation = fields.String(required=True, validate=validate.OneOf(ACTIVATIONS))
    bias = fields.String(validate=NAME)


class MlpSchema(Strict):
    input = fields.String(required=True, validate=NAME)
    target = fields.String(validate=NAME)
    layers = fields.List(fields.Nested(LayerSchema), required=True, validate=validate.Length(min=1))
    loss = fields.String(validate=validate.OneOf(LOSSES))

    @validates_schema
    def _loss_needs_target(self, data: dict, **kwargs: Any) -> None:
        if ("loss" in data) != ("target" in data):
            raise ValidationError("give both a loss and a target, or neither (then give `upstream`)")


class AskSchema(Strict):
    grad = fields.String(validate=NAME)
    value = fields.String(validate=NAME)
    local_grad = fields.String(validate=NAME)
    jacobian = fields.String(validate=NAME)
    index = fields.List(fields.Integer(strict=True, validate=validate.Range(min=0)))
    label = fields.String(validate=validate.Length(min=1, max=200))
    points = fields.Float(validate=validate.Range(min=0, max=1_000_000, min_inclusive=False))

    @validates_schema
    def _one_kind(self, data: dict, **kwargs: Any) -> None:
        _exactly_one(data, ASK_KINDS, "an ask")
        if "index" in data and "jacobian" in data:
            raise ValidationError("a jacobian ask is the whole matrix; drop index", "index")


class Word(fields.Field):
    """One of a few words. YAML reads `no`, `off` or `false` as a boolean, so say what was read and expected."""

    def __init__(self, choices: tuple[str, ...], **kwargs: Any):
        self.choices, self.expected = choices, " or ".join(repr(c) for c in choices)
        super().__init__(error_messages={"null": f"expected {self.expected}, got null"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value in self.choices:
            return value
        expected = self.expected
        hint = " (YAML reads yes/no/true/false as a boolean: write the word)" if isinstance(value, bool) else ""
        raise ValidationError(f"expected {expected}, got {value!r}{hint}")


class WrongSolutionSchema(Strict):
    code = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    expect = fields.String(validate=validate.Regexp(r"^[a-z_]+$", error="a mistake's code, e.g. sign_error"))


class FunctionSchema(Strict):
    name = fields.String(required=True, validate=NAME)
    args = fields.Dict(keys=fields.String(validate=NAME), values=fields.String(), required=True)
    returns = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    starter = fields.String(required=True)
    in_place = Word(IN_PLACE_RULES, load_default="allowed")  # may the function change its input arrays?
    # For the question tests (never shown to students): a reference solution that must pass every test, and
    # known wrong solutions with the mistake each must be named as (or none: it must only fail).
    solution = fields.String(validate=validate.Length(min=1, max=20_000))
    wrong = fields.List(fields.Nested(WrongSolutionSchema), validate=validate.Length(max=20))


class TestsSchema(Strict):
    count = fields.Integer(strict=True, load_default=10, validate=validate.Range(1, 50))
    time_limit_s = fields.Float(load_default=2.0, validate=validate.Range(0, 30, min_inclusive=False))


class ToleranceSchema(Strict):
    rtol = fields.Float(validate=validate.Range(min=0), allow_nan=False)
    atol = fields.Float(validate=validate.Range(min=0), allow_nan=False)
    sigfigs = fields.Integer(strict=True, validate=validate.Range(1, 15))

    @validates_schema
    def _one_style(self, data: dict, **kwargs: Any) -> None:
        if not data:
            raise ValidationError("give rtol and/or atol, or sigfigs")
        try:  # the grader's own rules, so the two can never disagree
            Tolerance.from_spec(data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class ExerciseSchema(Strict):
    id = fields.String(required=True, validate=SLUG)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(["numeric", "code"]))
    prompt = fields.String(required=True, validate=validate.Length(min=1))
    version = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1))
    dims = NamedMap(DimField(), load_default=dict)
    inputs = NamedMap(TensorSchema, required=True)
    params = NamedMap(TensorSchema, load_default=dict)  # a lone gate may have no weights
    graph = fields.List(fields.String())
    mlp = fields.Nested(MlpSchema)
    upstream = NamedMap(TensorSchema)
    ask = fields.List(fields.Nested(AskSchema))
    follow_through = fields.Boolean(load_default=False)
    allow_zero = fields.Boolean(load_default=False)
    function = fields.Nested(FunctionSchema)
    tests = fields.Nested(TestsSchema)
    tolerance = fields.Nested(ToleranceSchema)
    points = fields.Float(validate=validate.Range(min=0, max=1_000_000, min_inclusive=False))
    attempts = fields.Integer(strict=True, validate=validate.Range(min=1))

    @validates_schema
    def _graph_or_mlp(self, data: dict, **kwargs: Any) -> None:
        _exactly_one(data, ("graph", "mlp"), "an exercise")
        if data["kind"] == "numeric" and not data.get("ask"):
            raise ValidationError("a numeric exercise needs at least one ask", "ask")
        if data["kind"] == "code" and "function" not in data:
            raise ValidationError("a code exercise needs a function", "function")
        if data["kind"] == "code" and data.get("ask"):
            raise ValidationError("a code exercise is graded by its tests; drop ask", "ask")


def flatten_errors(messages: Any, path: str = "") -> list[str]:
    """marshmallow's nested error dict as 'path: message' lines, e.g. 'graph[2]: unknown op ...'."""
    if isinstance(messages, dict):
        lines = []
        for key, sub in messages.items():
            if key == "_schema":
                lines += flatten_errors(sub, path)
            elif isinstance(key, int):
                lines += flatten_errors(sub, f"{path}[{key}]")
            else:
                lines += flatten_errors(sub, f"{path}.{key}" if path else str(key))
        return lines
    if isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            return [f"{path or '(top level)'}: {m}" for m in messages]
        return [line for m in messages for line in flatten_errors(m, path)]
    return [f"{path or '(top level)'}: {messages}"]
