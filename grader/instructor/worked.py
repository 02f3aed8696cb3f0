"""The whole worked solution of one variant, as the notes teach it: forward values, local gradients, then the
backward pass gate by gate (incoming gradient × local gradient = what the gate sends), in gate view and in
matrix form, then every asked answer. Instructors only: it is never shown to students.

Everything comes from the engine's own solution and step trace; this module only words and formats it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader import exercises as definitions
from grader.engine import Array
from grader.grading.mistakes import describe_gate

DIGITS = 6


def fmt(value: Any) -> str:
    """A number or array as a person reads it: 6 significant figures, matrices row by row."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return f"{float(array):.{DIGITS}g}"
    return np.array2string(array, precision=DIGITS, suppress_small=False, max_line_width=100,
                           formatter={"float_kind": lambda x: f"{x:.{DIGITS}g}"})


def shape_of(value: Any) -> str:
    shape = np.shape(value)
    return "×".join(map(str, shape)) if shape else "scalar"


@dataclass
class ForwardRow:
    line: str  # the gate line, e.g. "z1 = matmul(x, W1)"
    node: str
    value: str
    shape: str
    local: str | None = None  # an activation's g'(z), computed on the way forward


@dataclass
class Send:
    to: str  # the input it is sent to
    gate_view: str  # "dL/dx = dL/dz × W" in words of the gate
    matrix_form: str | None  # "dL/dx = G @ W.T" for matrix gates
    value: str
    shape: str


@dataclass
class BackwardRow:
    node: str
    op: str
    line: str
    incoming: str
    incoming_shape: str
    local: list[str | None]  # per input: what the incoming gradient is multiplied by (None: not a product)
    sends: list[Send] = field(default_factory=list)


@dataclass
class AnswerRow:
    label: str
    kind: str
    value: str
    shape: str


@dataclass
class Worked:
    forward: list[ForwardRow]
    backward: list[BackwardRow]
    answers: list[AnswerRow]
    upstream: list[tuple[str, str]]  # given upstream gradients (name, value)


def _gate_view(op: str, node: str, arg: str, other: str | None, first: bool) -> tuple[str, str | None]:
    """How a gate sends the gradient to one input: in the notes' gate words and, for matrices, the formula."""
    g = f"dL/d{node}"
    if op == "add":
        return f"dL/d{arg} = {g} (the add gate passes it on)", None
    if op == "sub":
        return f"dL/d{arg} = ±{g} (minus for the second input)", None
    if op == "mul":
        return f"dL/d{arg} = {g} × {other} (the multiply gate swaps its inputs)", None
    if op == "matmul":
        if other is None:
            return f"dL/d{arg} = {g} · (the other input)", None
        matrix = f"dL/d{arg} = G @ {other}.T" if first else f"dL/d{arg} = {other}.T @ G"
        return f"dL/d{arg} = {g} × {other} (swapped, transposed so the shapes fit)", f"{matrix}, with G = {g}"
    return f"dL/d{arg} = {g} × local gradient", None


LOSS_WORDS = {  # the gradient a loss gate sends to its prediction (the target gets the same, negated)
    "half_sse": "dL/d{p} = {p} − {t} (the ½ cancels the 2 of the square)",
    "mse": "dL/d{p} = 2({p} − {t}) / n (n entries averaged)",
    "softmax_cross_entropy": "dL/d{p} = (softmax({p}) − {t}) / N (N rows averaged)",
}


def _other_gate(op: str, node: str, arg: str, k: int, inputs: tuple[str, ...]) -> str:
    if len(inputs) == 1:
        return f"dL/d{arg} = dL/d{node} × {op}′({arg}) (the activation's local gradient, entry by entry)" \
            if op not in ("sum", "mean", "softmax") else f"dL/d{arg}: the {op} gate's gradient"
    if op in LOSS_WORDS and len(inputs) == 2:
        if k == 0:
            return LOSS_WORDS[op].format(p=inputs[0], t=inputs[1])
        return f"dL/d{arg}: the same, negated (the target {arg} is given: nothing further is done with it)"
    return f"dL/d{arg}: from the {op} gate"


def worked_solution(exercise: definitions.Exercise, variant: definitions.Variant) -> Worked:
    solution = variant.solution
    forward = []
    for step in exercise.graph.steps:
        local = solution.local_grads.get(step.name)
        forward.append(ForwardRow(describe_gate(step), step.name, fmt(solution.values[step.name]),
                                  shape_of(solution.values[step.name]),
                                  fmt(local) if local is not None else None))
    backward = []
    lines = {step.name: describe_gate(step) for step in exercise.graph.steps}  # as the prompts write them
    for trace in solution.trace:
        row = BackwardRow(trace.node, trace.op, lines.get(trace.node, trace.node), fmt(trace.incoming),
                          shape_of(trace.incoming), [None if x is None else fmt(x) for x in trace.local])
        for k, (arg, sent) in enumerate(zip(trace.inputs, trace.sends, strict=False)):
            others = [a for j, a in enumerate(trace.inputs) if j != k]
            other = others[0] if others else None
            gate_view, matrix = _gate_view(trace.op, trace.node, arg, other, first=k == 0)
            if trace.op not in ("add", "sub", "mul", "matmul"):
                gate_view = _other_gate(trace.op, trace.node, arg, k, trace.inputs)
            row.sends.append(Send(arg, gate_view, matrix, fmt(sent), shape_of(sent)))
        backward.append(row)
    answers = [AnswerRow(ask.label, ask.kind, fmt(variant.expected(ask)), shape_of(variant.expected(ask)))
               for ask in exercise.asks]
    upstream = [(f"dL/d{name}", fmt(value)) for name, value in (variant.upstream or {}).items()]
    return Worked(forward, backward, answers, upstream)


def as_typed(value: Array) -> Any:
    """An answer as the answer form takes it (a number, or nested lists)."""
    array = np.asarray(value, dtype=np.float64)
    return float(array) if array.ndim == 0 else array.tolist()
