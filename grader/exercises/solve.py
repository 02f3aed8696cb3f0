"""Worked solutions: everything the reference engine knows about one variant, as JSON or readable text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.engine import Array, Solution, to_json
from grader.exercises import cases
from grader.exercises.definition import Exercise
from grader.exercises.variants import Variant, draw, generator, make_variant


@dataclass
class TestCase:
    """One code-exercise test: the function's arguments, the returns the engine expects, and what kind of case
    it is, for feedback ("test 12 (ReLU inputs at exactly 0) failed")."""

    dims: dict[str, int]
    args: dict[str, Array]
    returns: list[Array]
    kind: str = cases.RANDOM  # "random", "smallest" or "relu_zero" (cases.RANDOM, SMALLEST, RELU_ZERO)
    label: str = cases.LABELS[cases.RANDOM]  # the kind in a student's words: "random", "smallest sizes", ...
    zeros: dict[str, int] = field(default_factory=dict)  # "relu_zero": entries exactly 0, by ReLU input node


def function_io(exercise: Exercise, variant: Variant) -> tuple[dict[str, Array], list[Array]]:
    """The code exercise's arguments and expected returns for one draw."""
    assert exercise.function is not None
    values, grads = variant.solution.values, variant.solution.grads
    args = dict(zip(exercise.function.args, cases.resolve(list(exercise.function.args.values()), values, grads),
                    strict=True))
    return args, cases.resolve(exercise.function.returns, values, grads)


CASE_STREAMS = 1000  # random streams reserved per attempt: count + edge cases must stay below


def test_cases(exercise: Exercise, seed: int, attempt: int = 0) -> list[TestCase]:
    """The cases of `case_plan`, each drawn from its own random stream: `tests.count` fresh draws, every
    dimension at its smallest, and the ReLU zero cases. Each attempt gets new draws, so outputs printed on one
    attempt cannot be looked up on the next; the same (exercise, seed, attempt) always gives the same cases."""
    base = 1 + attempt * CASE_STREAMS
    drawn, zero_cases = [], 0
    for i, kind in enumerate(cases.case_plan(exercise)):
        rng = generator(exercise, seed, stream=base + i)
        zeros: dict[str, int] = {}
        if kind == cases.RELU_ZERO:
            dims, leaves, upstream, solution, zeros = _zero_case(exercise, rng, zero_cases)
            zero_cases += 1
        else:
            smallest = cases.smallest_dims(exercise.dims) if kind == cases.SMALLEST else None
            dims, leaves, upstream, solution = draw(exercise, rng, smallest)
        args, returns = function_io(exercise, Variant(exercise, seed, dims, leaves, upstream, solution))
        drawn.append(TestCase(dims, args, returns, kind, cases.LABELS[kind], zeros))
    return drawn


def _zero_case(exercise: Exercise, rng: np.random.Generator, case: int
               ) -> tuple[dict[str, int], dict[str, Array], dict[str, Array] | None, Solution, dict[str, int]]:
    """A draw at the largest sizes with exact zeros in its ReLU inputs, drawn again (from the same stream)
    until the gradient reaching each zero is non-zero and enough zeros decide the expected returns (see
    `cases.deciding_zeros`); else the first draw where most do."""
    dims = cases.largest_dims(exercise.dims)
    needed = cases.deciding_needed(exercise, case)
    best: tuple[int, Any] | None = None
    for _ in range(cases.ZERO_DRAWS):
        _, leaves, upstream, _ = draw(exercise, rng, dims)
        leaves = cases.zero_relu_inputs(exercise, leaves, dims, case)
        solution = exercise.graph.solve(leaves, upstream)
        deciding = (cases.deciding_zeros(exercise, solution, enough=needed)
                    if cases.gradient_at_zeros(exercise, solution) else -1)  # -1: not worth counting
        if best is None or deciding > best[0]:
            best = (deciding, (dims, leaves, upstream, solution, cases.zero_counts(exercise, solution)))
        if deciding >= needed:
            break
    assert best is not None
    return best[1]


def solve(exercise: Exercise, seed: int) -> dict[str, Any]:
    """The worked solution as JSON: values, gradients, step trace and the asked answers (for a code exercise,
    the test cases with their expected returns)."""
    variant = make_variant(exercise, seed)
    solution = variant.solution
    if exercise.kind == "code":
        answers = [{"test": i, "kind": c.kind, "label": c.label, "zeros": c.zeros, "dims": c.dims,
                    "args": {k: to_json(v) for k, v in c.args.items()}, "returns": [to_json(r) for r in c.returns]}
                   for i, c in enumerate(test_cases(exercise, seed))]
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
        "rules": exercise.code_rules or None,
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
        lines.append("  " + exercise.code_rules.replace("**", ""))
        for i, case in enumerate(test_cases(exercise, seed)):
            zeros = "".join(f", {n} zeros in {node}" for node, n in case.zeros.items())
            lines.append(f"  test {i} ({case.label}{zeros}): dims {case.dims}, "
                         f"returns shapes {[list(r.shape) for r in case.returns]}")
    return "\n".join(lines)
