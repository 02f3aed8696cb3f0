"""A validated exercise: the schema's output turned into a graph, asks and a function spec.

`parse_exercise(document)` runs the marshmallow schema, expands the `mlp` sugar into gate lines, builds the
engine's graph over symbolic shapes and checks everything that needs the graph. All problems are collected
and raised together as `DefinitionError`, each line naming its path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError

from grader.engine import Graph, GraphError
from grader.engine.graph import Shape, suggest
from grader.exercises.cases import code_rules
from grader.exercises.schema import ASK_KINDS, ExerciseSchema, flatten_errors

_GRAD_REF = re.compile(r"^grad\(\s*([A-Za-z_]\w*)\s*\)$")


class DefinitionError(ValueError):
    """An invalid exercise definition; `errors` are 'path: message' lines."""

    def __init__(self, errors: list[str], source: str | None = None):
        self.errors = errors
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__("\n".join(prefix + e for e in errors))


@dataclass(frozen=True)
class Ask:
    """One thing the student must give: kind is grad, value, local_grad or jacobian."""

    kind: str
    node: str
    index: tuple[int, ...] | None
    label: str
    points: float

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "node": self.node, "index": list(self.index) if self.index else None,
                "label": self.label, "points": self.points}


@dataclass(frozen=True)
class Ref:
    """A function argument or return: a node's value, or grad(node)."""

    node: str
    grad: bool

    def __str__(self) -> str:
        return f"grad({self.node})" if self.grad else self.node


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    args: dict[str, Ref]
    returns: tuple[Ref, ...]
    starter: str
    in_place: str = "allowed"  # "forbidden": the function must leave its input arrays as they were
    solution: str | None = None  # question tests: a reference solution (never shown to students)
    wrong: tuple[dict[str, str], ...] = ()  # question tests: known wrong solutions, {code, expect}


@dataclass
class Exercise:
    id: str
    version: int
    title: str
    kind: str
    prompt: str  # as shown: the definition's prompt, then for a code exercise the paragraph `code_rules`
    dims: dict[str, Any]
    inputs: dict[str, dict]
    params: dict[str, dict]
    graph_lines: list[str]
    graph: Graph
    upstream: dict[str, dict] | None
    asks: list[Ask]
    follow_through: bool
    allow_zero: bool
    function: FunctionSpec | None
    tests: dict[str, Any]
    tolerance: dict[str, Any] | None
    points: float
    attempts: int | None
    code_rules: str = ""  # code exercises: how the function is tested, generated (cases.code_rules)
    document: dict[str, Any] = field(repr=False, default_factory=dict)  # as written, for storage and the API

    @property
    def tensors(self) -> dict[str, dict]:
        return {**self.inputs, **self.params}


def expand_mlp(mlp: dict[str, Any]) -> list[str]:
    """The `mlp` sugar as gate lines: z_i = matmul(h_{i-1}, W_i) [a_i, z_i = add(a_i, b_i)], h_i = g(z_i);
    the last activation is `out`, then `L = loss(out, target)`."""
    lines, prev, n = [], mlp["input"], len(mlp["layers"])
    for i, layer in enumerate(mlp["layers"], start=1):
        if "bias" in layer:
            lines += [f"a{i} = matmul({prev}, {layer['weights']})", f"z{i} = add(a{i}, {layer['bias']})"]
        else:
            lines.append(f"z{i} = matmul({prev}, {layer['weights']})")
        prev = "out" if i == n else f"h{i}"
        lines.append(f"{prev} = {layer['activation']}(z{i})")
    if "loss" in mlp:
        lines.append(f"L = {mlp['loss']}(out, {mlp['target']})")
    return lines


def default_label(kind: str, node: str, index: tuple[int, ...] | None) -> str:
    """LaTeX with the notes' one-based subscripts: \\partial L / \\partial W1_{22}."""
    sub = "_{" + "".join(str(i + 1) for i in index) + "}" if index else ""
    if kind == "grad":
        return rf"\partial L / \partial {node}{sub}"
    if kind == "local_grad":
        return rf"\text{{local gradient of }} {node}{sub}"
    if kind == "jacobian":
        return rf"\text{{Jacobian }} \partial {node} / \partial z"
    return f"{node}{sub}"


def parse_exercise(document: Any, source: str | None = None) -> Exercise:
    """Validate a definition document (parsed YAML or JSON); raise DefinitionError listing every problem."""
    if not isinstance(document, dict):
        raise DefinitionError(["(top level): expected a mapping of keys"], source)
    try:
        data = ExerciseSchema().load(document)
    except ValidationError as exc:
        raise DefinitionError(flatten_errors(exc.messages), source) from None
    errors: list[str] = []
    exercise = _build(data, document, errors)
    if errors:
        raise DefinitionError(errors, source)
    if exercise.kind == "code":  # the rules of the run, stated with the prompt wherever it is shown
        exercise.code_rules = code_rules(exercise)
        exercise.prompt = f"{exercise.prompt.rstrip()}\n\n{exercise.code_rules}\n"
    return exercise


def _build(data: dict[str, Any], document: dict[str, Any], errors: list[str]) -> Exercise | None:
    inputs, params, dims = data["inputs"], data["params"], data["dims"]
    for name in set(inputs) & set(params):
        errors.append(f"params.{name}: '{name}' is also an input; each name is used once")
    tensors = {**inputs, **params}
    for where, specs in (("inputs", inputs), ("params", params), ("upstream", data.get("upstream") or {})):
        for name, spec in specs.items():
            _check_tensor(f"{where}.{name}", spec, dims, errors)
    if errors:
        return None

    lines = data["graph"] if "graph" in data else expand_mlp(data["mlp"])
    where = "graph" if "graph" in data else "mlp"
    try:
        graph = Graph.parse(lines, {name: tuple(spec["shape"]) for name, spec in tensors.items()})
    except GraphError as exc:
        at = f"[{exc.index}]" if exc.index is not None and where == "graph" else ""
        shown = f" (expanded line '{lines[exc.index]}')" if exc.index is not None and where == "mlp" else ""
        errors.append(f"{where}{at}: {exc.message}{shown}")
        return None

    upstream = data.get("upstream")
    _check_upstream(graph, upstream, errors)
    asks = [_ask(i, spec, graph, errors) for i, spec in enumerate(data.get("ask") or [])]
    function = _function(data.get("function"), graph, errors)
    default_points = sum(a.points for a in asks) if asks else float((data.get("tests") or {}).get("count", 10))
    points = data.get("points", default_points)
    return Exercise(
        id=data["id"], version=data["version"], title=data["title"], kind=data["kind"], prompt=data["prompt"],
        dims=dims, inputs=inputs, params=params, graph_lines=lines, graph=graph, upstream=upstream,
        asks=asks, follow_through=data["follow_through"], allow_zero=data["allow_zero"], function=function,
        tests=data.get("tests") or {"count": 10, "time_limit_s": 2.0}, tolerance=data.get("tolerance"),
        points=points, attempts=data.get("attempts"), document=document,
    )


def _check_tensor(path: str, spec: dict, dims: dict, errors: list[str]) -> None:
    for i, d in enumerate(spec["shape"]):
        if isinstance(d, str) and d not in dims:
            errors.append(f"{path}.shape[{i}]: '{d}' is not a dimension in dims{suggest(d, list(dims))}")
    if "value" not in spec:
        return
    if any(isinstance(d, str) for d in spec["shape"]):
        errors.append(f"{path}.value: a fixed value needs a fixed shape; use random for named dimensions")
        return
    problem = _value_problem(spec["value"], list(spec["shape"]))
    if problem:
        errors.append(f"{path}.value: {problem}")


def _value_problem(value: Any, shape: list[int]) -> str | None:
    """Why a nested list does not have `shape` (None if it does)."""
    if not shape:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value
        return None if ok and abs(value) != float("inf") else f"expected a finite number, got {value!r}"
    if not isinstance(value, list) or len(value) != shape[0]:
        got = f"{len(value)} entries" if isinstance(value, list) else repr(value)
        return f"expected a list of {shape[0]} entries for shape {shape}, got {got}"
    for item in value:
        problem = _value_problem(item, shape[1:])
        if problem:
            return problem
    return None


def _node_problem(graph: Graph, node: str) -> str | None:
    if node in graph.shapes:
        return None
    return f"no node '{node}' in the graph{suggest(node, graph.nodes())}"


def _check_upstream(graph: Graph, upstream: dict | None, errors: list[str]) -> None:
    if not upstream:
        if graph.shapes[graph.output] != ():
            errors.append(f"graph: the last node '{graph.output}' has shape {list(graph.shapes[graph.output])}; "
                          "without `upstream` it must be a scalar loss")
        return
    for node, spec in upstream.items():
        problem = _node_problem(graph, node)
        if problem:
            errors.append(f"upstream.{node}: {problem}")
        elif tuple(spec["shape"]) != graph.shapes[node]:
            errors.append(f"upstream.{node}.shape: expected {list(graph.shapes[node])} (the shape of {node}), "
                          f"got {spec['shape']}")


def _ask(i: int, spec: dict, graph: Graph, errors: list[str]) -> Ask:
    kind = next(k for k in ASK_KINDS if k in spec)
    node, index = spec[kind], tuple(spec["index"]) if "index" in spec else None
    path = f"ask[{i}]"
    problem = _node_problem(graph, node)
    if problem:
        errors.append(f"{path}.{kind}: {problem}")
    elif kind in ("local_grad", "jacobian"):
        step = graph.step_by_name.get(node)
        if step is None or step.gate.kind != "activation":
            errors.append(f"{path}.{kind}: '{node}' is not the output of an activation gate")
        elif kind == "local_grad" and step.gate.local_grad is None:
            errors.append(f"{path}.local_grad: {step.gate.name} is not elementwise; ask for its jacobian")
        elif kind == "jacobian" and not _is_row(graph.shapes[node]):
            errors.append(f"{path}.jacobian: needs a single-row activation, '{node}' has shape "
                          f"{list(graph.shapes[node])}")
    if index is not None and not problem:
        shape = graph.shapes[node]
        if len(index) != len(shape):
            errors.append(f"{path}.index: '{node}' has {len(shape)} dimension(s), the index has {len(index)}")
        for axis, (k, n) in enumerate(zip(index, shape, strict=False)):
            if isinstance(n, int) and k >= n:
                errors.append(f"{path}.index[{axis}]: {k} is out of range for size {n} (indices start at 0)")
    label = spec.get("label") or default_label(kind, node, index)
    return Ask(kind, node, index, label, spec.get("points", 1.0))


def _is_row(shape: Shape) -> bool:
    return len(shape) == 1 or (len(shape) == 2 and shape[0] == 1)


def _function(spec: dict | None, graph: Graph, errors: list[str]) -> FunctionSpec | None:
    if spec is None:
        return None

    def ref(path: str, text: str) -> Ref:
        match = _GRAD_REF.match(text.strip())
        node = match.group(1) if match else text.strip()
        problem = _node_problem(graph, node)
        if problem:
            errors.append(f"{path}: {problem}")
        return Ref(node, bool(match))

    args = {name: ref(f"function.args.{name}", text) for name, text in spec["args"].items()}
    returns = tuple(ref(f"function.returns[{i}]", text) for i, text in enumerate(spec["returns"]))
    if f"def {spec['name']}(" not in spec["starter"]:
        errors.append(f"function.starter: should define `def {spec['name']}(...)`")
    return FunctionSpec(spec["name"], args, returns, spec["starter"], spec["in_place"], spec.get("solution"),
                        tuple(dict(w) for w in spec.get("wrong", ())))
