"""Check on the example: run a student's function on one small visible case and show expected and given side by
side, before they submit. Nothing is stored and no attempt is used; it spends the same per-account budget as a
submission (service.spend_budget), since each check takes a sandbox slot as a submission does.

The example is the student's own, drawn with every dimension at its smallest on a random stream of its own
(EXAMPLE_STREAM), so it never repeats a graded test case: those come from streams 1, 2, ... per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from grader import exercises as definitions
from grader import service
from grader.errors import ServiceError
from grader.exercises.cases import smallest_dims  # as the graded "smallest sizes" case draws them
from grader.exercises.variants import draw, generator
from grader.models import Assignment, AssignmentItem, User

# Beyond every graded case's stream (1 + attempt * CASE_STREAMS + i would need ~4.6e15 attempts to reach it)
# and distinct from the variant's own stream 0.
EXAMPLE_STREAM = 2**62


def example_case(exercise: definitions.Exercise, seed: int) -> definitions.TestCase:
    """The one small case a check runs on: the student's seed, every dimension at its smallest."""
    dims, leaves, upstream, solution = draw(exercise, generator(exercise, seed, stream=EXAMPLE_STREAM),
                                            smallest_dims(exercise.dims))
    args, returns = definitions.function_io(exercise, definitions.Variant(exercise, seed, dims, leaves, upstream,
                                                                          solution))
    return definitions.TestCase(dims, args, returns)


@dataclass
class Precheck:
    """What a check on the example found. `status`: passed, failed, invalid (the code cannot run: a format
    error, shown as on submit) or error (the grader could not run it)."""

    status: str
    message: str
    dims: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)  # argument name -> nested lists
    outputs: list[dict[str, Any]] = field(default_factory=list)  # per return: name, expected, given, shapes, problem
    part: dict[str, Any] | None = None  # the graded test (message, details, diagnosis, format_error)

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def precheck(user: User, assignment: Assignment, code: str, item: AssignmentItem | None = None) -> Precheck:
    """Run `code` on the example of the student's variant of the set's exercise `item` (None: the only one of
    a set of one). Raises ServiceError: 404 outside the course, 422 for a numeric exercise (or no exercise
    named in a larger set), 429 past the submission budget, 413/422 for code no submission may hold."""
    service.require_student_access(user, assignment)
    _, variant = service.variant_for(user, (item or service.item_of(assignment)).exercise)
    exercise = variant.exercise
    if exercise.kind != "code" or exercise.function is None:
        raise ServiceError(422, "invalid", "only code exercises have a check on the example; this one takes "
                           "answers", {"code": ["this exercise takes answers"]})
    service.spend_budget(user)
    service.check_payload(None, code)
    from grader.grading.code import grade_code  # the sandbox is only loaded where code is graded

    case = example_case(exercise, variant.seed)
    result = grade_code(exercise, variant.seed, code, cases=[case], reveal=True,
                        allow_weak=current_app.config.get("SANDBOX_ALLOW_WEAK", False))
    inputs = {name: value.tolist() for name, value in case.args.items()}
    if result.status == "error" or not result.parts:
        return Precheck("error", result.message, case.dims, inputs)
    part = result.parts[0]
    if result.status == "invalid":
        return Precheck("invalid", result.message, case.dims, inputs, part=dict(vars(part)))
    return Precheck("passed" if part.status == "correct" else "failed", _message(part.status, part.message),
                    case.dims, inputs, _outputs(exercise, case, part), dict(vars(part)))


def _message(status: str, detail: str) -> str:
    if status == "correct":
        return ("Your function gives the expected result on the example. Nothing was recorded and no attempt "
                "used: submit to be graded on fresh test cases.")
    return f"Not yet right on the example: {detail}. Nothing was recorded and no attempt used."


def _outputs(exercise: definitions.Exercise, case: definitions.TestCase, part: Any) -> list[dict[str, Any]]:
    """Expected and given, per return value, with the shape checks the grader made."""
    assert exercise.function is not None
    checks = {o.get("name"): o for o in part.details.get("outputs") or []}
    given = part.given if isinstance(part.given, list) else []
    rows = []
    for i, (ref, want) in enumerate(zip(exercise.function.returns, case.returns, strict=True)):
        name = str(ref)
        check = checks.get(name, {})
        mine = given[i] if i < len(given) else None
        rows.append({"name": name, "expected": want.tolist(), "given": mine, "expected_shape": list(want.shape),
                     "given_shape": check.get("given_shape"), "problem": check.get("problem")})
    return rows
