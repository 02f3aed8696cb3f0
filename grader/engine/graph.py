"""A computational graph built from gate lines, its forward pass, and its backward pass with a step trace.

    graph = Graph.parse(["z1 = matmul(x, W1)", "h1 = sigmoid(z1)", ...], {"x": (1, 2), "W1": (2, 2), ...})
    solution = graph.solve({"x": x, "W1": W1, ...})        # values, grads, local_grads, trace

The backward pass walks the gates in reverse order. Each step of the trace records what a worked solution
shows: the gradient arriving at the gate, the local gradient(s) it multiplies by, and what it sends to each
input. Shapes may name dimensions ("N", "H"): `Graph.parse` checks them symbolically, so a definition is
validated once for every draw of its dimensions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.engine.gates import GATES, Array, Gate

Dim = int | str
Shape = tuple[Dim, ...]

_LINE = re.compile(r"^\s*([A-Za-z_]\w*)\s*=\s*([A-Za-z_]\w*)\s*\((.*)\)\s*$")
_NAME = re.compile(r"^[A-Za-z_]\w*$")


class GraphError(ValueError):
    """A definition error in gate line `index` (None: the graph as a whole)."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index
        self.message = message


def suggest(word: str, choices: Sequence[str]) -> str:
    """' (did you mean 'x'?)' for a likely misspelling, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@dataclass(frozen=True)
class Step:
    """One gate line: `name = gate(args..., **options)`."""

    name: str
    gate: Gate
    args: tuple[str, ...]
    options: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        opts = [f"{k}={v:g}" for k, v in self.options.items()]
        return f"{self.name} = {self.gate.name}({', '.join([*self.args, *opts])})"


@dataclass(slots=True)
class TraceStep:
    """What one gate does on the way back."""

    node: str
    op: str
    inputs: tuple[str, ...]
    incoming: Array  # dL/d node, arriving from above
    factors: tuple[Array, ...]  # activation: (g'(z),); product gates: their inputs (see `local`)
    sends: tuple[Array, ...]  # per input, dL/d input contributed by this gate

    @property
    def local(self) -> tuple[Array | None, ...]:
        """Per input, what the incoming gradient is multiplied by (None where it is not a product): an
        activation's g'(z); for mul the *other* input; for matmul the other operand, transposed."""
        if self.op == "mul":
            return (self.factors[1], self.factors[0])
        if self.op == "matmul":
            return (self.factors[1].T, self.factors[0].T)  # dA = G @ B.T, dB = A.T @ G
        if len(self.factors) == 1 and len(self.inputs) == 1 and self.op not in ("sum", "mean"):
            return self.factors
        return tuple(None for _ in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "op": self.op,
            "inputs": list(self.inputs),
            "incoming": to_json(self.incoming),
            "local": [None if x is None else to_json(x) for x in self.local],
            "sends": [to_json(x) for x in self.sends],
        }


@dataclass
class Solution:
    values: dict[str, Array]
    grads: dict[str, Array]
    local_grads: dict[str, Array]  # activation gates: g'(z), elementwise, by the gate's output name
    trace: list[TraceStep]


def to_json(a: Array) -> Any:
    """A nested list, or a bare number for a scalar."""
    return a.tolist() if isinstance(a, np.ndarray) else float(a)


class Graph:
    def __init__(self, steps: list[Step], leaf_shapes: Mapping[str, Shape]):
        self.steps = steps
        self.leaf_shapes = dict(leaf_shapes)
        self.shapes = infer_shapes(steps, self.leaf_shapes)
        self.step_by_name = {s.name: s for s in steps}
        self._nodes = self.nodes()

    @classmethod
    def parse(cls, lines: Sequence[str], leaf_shapes: Mapping[str, Shape]) -> Graph:
        defined = set(leaf_shapes)
        steps = []
        for index, line in enumerate(lines):
            step = parse_line(line, index, defined)
            defined.add(step.name)
            steps.append(step)
        if not steps:
            raise GraphError("the graph has no gates")
        return cls(steps, leaf_shapes)

    @property
    def output(self) -> str:
        return self.steps[-1].name

    def nodes(self) -> list[str]:
        return [*self.leaf_shapes, *(s.name for s in self.steps)]

    # --- forward -----------------------------------------------------------------------------------------

    def forward(self, leaves: Mapping[str, Array], override: tuple[str, Array] | None = None
                ) -> tuple[dict[str, Array], dict[str, Array]]:
        """Values of every node, and the local gradients of activation gates (computed on the way, as in
        the notes). `override` replaces one node's value (the gradient check perturbs intermediates)."""
        values = dict(leaves)
        if override and override[0] in values:
            values[override[0]] = override[1]
        local_grads = {}
        for step in self.steps:
            if override and step.name == override[0]:
                values[step.name] = override[1]
                continue
            gate, options = step.gate, step.options
            xs = [values[a] for a in step.args]
            out = values[step.name] = gate.forward(*xs, **options)
            if gate.local_grad is not None:
                local_grads[step.name] = gate.local_grad(out, *xs, **options)
        return values, local_grads

    # --- backward ----------------------------------------------------------------------------------------

    def backward(
        self,
        values: Mapping[str, Array],
        local_grads: Mapping[str, Array],
        upstream: Mapping[str, Array] | None = None,
        *,
        variations: Mapping[str, Gate] | None = None,
        replace: Mapping[str, Array] | None = None,
        transform: Callable[[Array], Array] | None = None,
    ) -> tuple[dict[str, Array], list[TraceStep]]:
        """Gradients of every node and the step trace.

        Without `upstream` the last node is the loss and its gradient is 1. `variations` swaps the gate of
        some nodes for a varied one (how mistake diagnosis replays a student's error at one gate);
        `replace` sets the gradient arriving at a node (follow-through carries a student's own value on);
        `transform` is applied to each gradient sent (rounding intermediate results too early).
        """
        grads: dict[str, Array] = dict(upstream) if upstream else {self.output: np.array(1.0)}
        trace = []
        for step in reversed(self.steps):
            g = grads.get(step.name)
            if replace and step.name in replace:
                g = grads[step.name] = replace[step.name]
            if g is None:
                continue  # this node does not reach the loss
            gate = variations.get(step.name, step.gate) if variations else step.gate
            if gate.local_grad is not None:
                if gate is step.gate:
                    local = local_grads[step.name]  # computed on the way forward
                else:
                    xs = [values[a] for a in step.args]
                    local = gate.local_grad(values[step.name], *xs, **step.options)
                sends = (g * local,)
                factors = (local,)
            else:
                factors = tuple(values[a] for a in step.args)
                sends = gate.backward(g, values[step.name], *factors, **step.options)
            if transform is not None:
                sends = tuple(transform(s) for s in sends)
            trace.append(TraceStep(step.name, gate.name, step.args, g, factors, sends))
            for arg, send in zip(step.args, sends, strict=False):  # (strict=True doubles zip's cost)
                grads[arg] = grads[arg] + send if arg in grads else send
        for name in self._nodes:
            if name not in grads:
                grads[name] = np.zeros_like(values[name])
        return grads, trace

    def solve(self, leaves: Mapping[str, Array], upstream: Mapping[str, Array] | None = None) -> Solution:
        values, local_grads = self.forward(leaves)
        grads, trace = self.backward(values, local_grads, upstream)
        return Solution(values, grads, local_grads, trace)

    def objective(self, values: Mapping[str, Array], upstream: Mapping[str, Array] | None = None) -> float:
        """The scalar whose gradients `backward` computes: the loss, or sum(upstream * node) over the given
        upstream nodes (so a gradient check works the same in both modes)."""
        if not upstream:
            return float(values[self.output])
        return float(sum(np.sum(g * values[n]) for n, g in upstream.items()))


# --- parsing ---------------------------------------------------------------------------------------------

def parse_line(line: str, index: int, defined: set[str]) -> Step:
    """`name = op(arg, ..., key=number)`; raises GraphError naming the problem."""
    if not isinstance(line, str):
        raise GraphError(f"expected a gate line 'name = op(arg, ...)', got {type(line).__name__}", index)
    match = _LINE.match(line)
    if not match:
        raise GraphError(f"cannot read {line!r}: expected 'name = op(arg, ...)'", index)
    name, op, arg_text = match.groups()
    if op not in GATES:
        raise GraphError(f"unknown op '{op}'{suggest(op, list(GATES))}", index)
    if name in defined:
        raise GraphError(f"'{name}' is already defined; each node has one name", index)
    gate = GATES[op]
    args, options = [], {}
    for part in [p.strip() for p in arg_text.split(",")] if arg_text.strip() else []:
        if "=" in part:
            key, _, literal = (t.strip() for t in part.partition("="))
            if key not in gate.options:
                allowed = ", ".join(gate.options) or "none"
                raise GraphError(f"{op} has no option '{key}' (options: {allowed})", index)
            try:
                options[key] = float(literal)
            except ValueError:
                raise GraphError(f"option {key} must be a number, got {literal!r}", index) from None
        elif not _NAME.match(part):
            raise GraphError(f"argument {part!r} is not a name", index)
        elif part not in defined:
            raise GraphError(f"'{part}' is not defined before this line{suggest(part, sorted(defined))}", index)
        else:
            args.append(part)
    if len(args) != gate.arity:
        raise GraphError(f"{op} takes {gate.arity} input(s), got {len(args)}", index)
    return Step(name, gate, tuple(args), options)


# --- symbolic shapes -------------------------------------------------------------------------------------

def infer_shapes(steps: Sequence[Step], leaf_shapes: Mapping[str, Shape]) -> dict[str, Shape]:
    """The shape of every node, with named dimensions kept as names; GraphError on a mismatch."""
    shapes = {k: tuple(v) for k, v in leaf_shapes.items()}
    for index, step in enumerate(steps):
        ins = [shapes[a] for a in step.args]
        try:
            shapes[step.name] = _shape_of(step.gate, ins)
        except ValueError as exc:
            described = ", ".join(f"{a} {_fmt(s)}" for a, s in zip(step.args, ins, strict=True))
            raise GraphError(f"shape mismatch in {step.gate.name}({described}): {exc}", index) from None
    return shapes


def _fmt(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")" if shape else "scalar"


def _broadcast(a: Shape, b: Shape) -> Shape:
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x != y and 1 not in (x, y):
            raise ValueError(f"dimension {x} does not match {y}")
        out.append(y if x == 1 else x)
    return tuple(reversed(out))


def _shape_of(gate: Gate, ins: list[Shape]) -> Shape:
    if gate.kind == "matmul":
        a, b = ins
        if len(a) != 2 or len(b) != 2:
            raise ValueError("matmul needs two matrices")
        if a[1] != b[0]:
            raise ValueError(f"inner dimensions {a[1]} and {b[0]} differ")
        return (a[0], b[1])
    if gate.kind == "elementwise":
        return _broadcast(*ins)
    if gate.kind == "activation":
        if gate.name == "softmax" and not ins[0]:
            raise ValueError("softmax needs a vector or matrix")
        return ins[0]
    if gate.kind == "reduce":
        return ()
    if gate.name == "softmax_cross_entropy" and (ins[0] != ins[1] or not ins[0]):
        raise ValueError("logits and one-hot targets must have the same (non-scalar) shape")
    _broadcast(*ins)  # losses compare prediction and target entry by entry
    return ()
