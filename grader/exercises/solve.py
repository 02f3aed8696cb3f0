"""Worked solutions: everything the reference engine knows about one variant, as JSON or readable text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.engine import Array, to_json
from grader.exercises.definition import Exercise
from grader.exercises.variants import Variant, draw, generator, make_variant


@dataclass
class TestCase:
    """One code-exercise test: the function's arguments and the returns the engine expects."""

    dims: dict[str, int]
    args: dict[str, Array]
    returns: list[Array]


def function_io(exercise: Exercise, variant: Variant) -> tuple[dict[str, Array], list[Array]]:
    """The code exercise's arguments and expected returns for one draw."""
    assert exercise.function is not None
    solution = variant.solution

    def resolve(ref) -> Array:
        return (solution.grads if ref.grad else solution.values)[ref.node]

    args = {name: resolve(ref) for name, ref in exercise.function.args.items()}
    return args, [resolve(ref) for ref in exercise.function.returns]


CASE_STREAMS = 1000  # random streams reserved per attempt: count + edge cases must stay below


def test_cases(exercise: Exercise, seed: int, attempt: int = 0) -> list[TestCase]:
    """`tests.count` fresh draws, each with its own dims and random stream, then the edge cases: every
    dimension at its smallest (N = 1), and ReLU inputs at exactly zero (where the gradient convention shows).
    Each attempt gets new draws, so outputs printed on one attempt cannot be looked up on the next."""
    count = exercise.tests["count"]
    base = 1 + attempt * CASE_STREAMS
    draws = [draw(exercise, generator(exercise, seed, stream=base + i)) for i in range(count)]
    if exercise.dims:
        smallest = {name: _smallest(spec) for name, spec in exercise.dims.items()}
        draws.append(draw(exercise, generator(exercise, seed, stream=base + count), smallest))
    if any(step.gate.name in ("relu", "leaky_relu") for step in exercise.graph.steps):
        dims, leaves, upstream, _ = draw(exercise, generator(exercise, seed, stream=base + count + 1))
        leaves = _zero_relu_inputs(exercise, leaves)
        draws.append((dims, leaves, upstream, exercise.graph.solve(leaves, upstream)))
    cases = []
    for dims, leaves, upstream, solution in draws:
        args, returns = function_io(exercise, Variant(exercise, seed, dims, leaves, upstream, solution))
        cases.append(TestCase(dims, args, returns))
    return cases


def _smallest(spec: Any) -> int:
    if isinstance(spec, int):
        return spec
    return int(spec["integers"][0]) if "integers" in spec else int(min(spec["choice"]))


def _zero_relu_inputs(exercise: Exercise, leaves: dict[str, Array]) -> dict[str, Array]:
    """Put exact zeros where ReLU gates look: every third entry of a leaf fed to a ReLU, or the first row of
    the data that a matmul feeds to one (a zero row times W is exactly zero)."""
    leaves = {name: value.copy() for name, value in leaves.items()}
    for step in exercise.graph.steps:
        if step.gate.name not in ("relu", "leaky_relu"):
            continue
        source = step.args[0]
        if source in leaves:
            leaves[source].reshape(-1)[::3] = 0.0
            continue
        producer = exercise.graph.step_by_name[source]
        if producer.gate.name == "matmul" and producer.args[0] in leaves:
            leaves[producer.args[0]][0] = 0.0
    return leaves


def solve(exercise: Exercise, seed: int) -> dict[str, Any]:
    """The worked solution as JSON: values, gradients, step trace and the asked answers (for a code exercise,
    the test cases with their expected returns)."""
    variant = make_variant(exercise, seed)
    solution = variant.solution
    if exercise.kind == "code":
        answers = [{"test": i, "dims": c.dims, "args": {k: to_json(v) for k, v in c.args.items()},
                    "returns": [to_json(r) for r in c.returns]} for i, c in enumerate(test_cases(exercise, seed))]
    else:
        answers = [{**ask.to_dict(), "expected": to_json(variant.expected(ask)),
                    "shape": list(np.shape(variant.expected(ask)))} for ask in exercise.asks]
    return {
        "id": exercise.id,
        "version": exercise.version,
        "seed": seed,
        "dims": variant.dims,
        "graph": exercise.graph_lines,
        "values": {k: to_json(v) for k, v in solution.values.items()},
        "grads": {k: to_json(v) for k, v in solution.grads.items()},
        "local_grads": {k: to_json(v) for k, v in solution.local_grads.items()},
        "answers": answers,
        "trace": [step.to_dict() for step in solution.trace],
    }


def _fmt(a: Any) -> str:
    text = np.array2string(np.asarray(a, dtype=float), precision=8, max_line_width=10_000, separator=" ")
    return text.replace("\n", "")


def worked_text(exercise: Exercise, seed: int) -> str:
    """A readable worked solution: the forward pass, each gate of the backward pass, the answers."""
    variant = make_variant(exercise, seed)
    solution = variant.solution
    lines = [f"{exercise.title} ({exercise.id} v{exercise.version}, seed {seed})", "", "Forward pass:"]
    for name, value in variant.leaves.items():
        lines.append(f"  {name} = {_fmt(value)}")
    for step in exercise.graph.steps:
        lines.append(f"  {step}  ->  {_fmt(solution.values[step.name])}")
    lines += ["", "Backward pass, gate by gate:"]
    for t in solution.trace:
        lines.append(f"  at {t.node} = {t.op}({', '.join(t.inputs)}): incoming dL/d{t.node} = {_fmt(t.incoming)}")
        for arg, local, send in zip(t.inputs, t.local, t.sends, strict=True):
            via = f" (times {_fmt(local)})" if local is not None else ""
            lines.append(f"      sends dL/d{arg} = {_fmt(send)}{via}")
    lines += ["", "Answers:" if exercise.kind == "numeric" else "Test cases:"]
    if exercise.kind == "numeric":
        for ask in exercise.asks:
            lines.append(f"  {ask.label} = {_fmt(variant.expected(ask))}")
    else:
        for i, case in enumerate(test_cases(exercise, seed)):
            lines.append(f"  test {i}: dims {case.dims}, returns shapes {[list(r.shape) for r in case.returns]}")
    return "\n".join(lines)
