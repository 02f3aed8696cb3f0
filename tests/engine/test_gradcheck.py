"""The engine's gradients against central differences: every op, and every catalogue exercise over many seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.engine import GATES, Gate, Graph, Step, check_gradients, numeric_grad
from grader.exercises import load_catalogue, make_variant
from grader.exercises import test_cases as code_test_cases  # (not collected as a test)
from grader.exercises.variants import KINK_MARGIN

TOL = 1e-6  # |analytic - numeric| / max(1, |numeric|), with the check's eps = 1e-6
SEEDS = range(25)
CATALOGUE = load_catalogue(Path(__file__).resolve().parents[2] / "exercises")

# (op line, leaf shapes): each op in a small graph, with broadcasting where it applies. A graph whose last node
# is not a scalar is checked in upstream mode, with a random gradient given at that node.
OP_CASES = {
    "add": ("out = add(a, b)", {"a": (2, 3), "b": (2, 3)}),
    "add-row-bias": ("out = add(a, b)", {"a": (3, 4), "b": (1, 4)}),
    "add-column": ("out = add(a, b)", {"a": (3, 1), "b": (3, 4)}),
    "add-vector": ("out = add(a, b)", {"a": (3, 4), "b": (4,)}),
    "sub": ("out = sub(a, b)", {"a": (2, 3), "b": (2, 3)}),
    "sub-scalar": ("out = sub(a, b)", {"a": (), "b": (2, 3)}),
    "mul": ("out = mul(a, b)", {"a": (2, 3), "b": (2, 3)}),
    "mul-scalar": ("out = mul(a, b)", {"a": (), "b": (3, 2)}),
    "mul-row": ("out = mul(a, b)", {"a": (3, 2), "b": (1, 2)}),
    "matmul": ("out = matmul(a, b)", {"a": (3, 2), "b": (2, 4)}),
    "matmul-1x1": ("out = matmul(a, b)", {"a": (1, 1), "b": (1, 1)}),
    "sigmoid": ("out = sigmoid(a)", {"a": (2, 3)}),
    "tanh": ("out = tanh(a)", {"a": (2, 3)}),
    "relu": ("out = relu(a)", {"a": (2, 3)}),
    "leaky_relu": ("out = leaky_relu(a)", {"a": (2, 3)}),
    "leaky_relu-alpha": ("out = leaky_relu(a, alpha=0.2)", {"a": (2, 3)}),
    "identity": ("out = identity(a)", {"a": (2, 3)}),
    "exp": ("out = exp(a)", {"a": (2, 3)}),
    "softmax": ("out = softmax(a)", {"a": (3, 4)}),
    "softmax-vector": ("out = softmax(a)", {"a": (4,)}),
    "sum": ("out = sum(a)", {"a": (2, 3)}),
    "mean": ("out = mean(a)", {"a": (2, 3)}),
    "half_sse": ("out = half_sse(a, b)", {"a": (2, 3), "b": (2, 3)}),
    "half_sse-broadcast": ("out = half_sse(a, b)", {"a": (2, 3), "b": (1, 3)}),
    "mse": ("out = mse(a, b)", {"a": (2, 3), "b": (2, 3)}),
    "mse-broadcast": ("out = mse(a, b)", {"a": (1, 3), "b": (4, 3)}),
    "softmax_cross_entropy": ("out = softmax_cross_entropy(a, b)", {"a": (3, 4), "b": (3, 4)}),
    "softmax_cross_entropy-vector": ("out = softmax_cross_entropy(a, b)", {"a": (4,), "b": (4,)}),
}


def leaves_for(shapes: dict[str, tuple[int, ...]], rng: np.random.Generator, onehot: bool) -> dict[str, np.ndarray]:
    leaves = {}
    for name, shape in shapes.items():
        x = rng.uniform(-2.0, 2.0, size=shape)
        x = np.where(np.abs(x) < 0.05, 0.5, x)  # keep relu inputs off the kink
        leaves[name] = np.asarray(x)
    if onehot:  # the second argument of softmax_cross_entropy: one-hot rows
        shape = shapes["b"]
        leaves["b"] = np.eye(shape[-1])[rng.integers(shape[-1], size=shape[:-1])]
    return leaves


def assert_gradients_agree(graph: Graph, leaves, upstream=None, context: str = "") -> None:
    errors = check_gradients(graph, leaves, upstream)
    assert set(errors) == set(graph.nodes())
    bad = {node: err for node, err in errors.items() if not err < TOL}
    assert not bad, f"{context}: gradients disagree with central differences at {bad}"


@pytest.mark.parametrize("case", OP_CASES)
@pytest.mark.parametrize("mode", ["upstream", "loss"])
def test_op_gradients_agree_with_central_differences(case, mode):
    line, shapes = OP_CASES[case]
    rng = np.random.default_rng(sorted(OP_CASES).index(case))
    out_shape = Graph.parse([line], shapes).shapes["out"]
    leaves = leaves_for(shapes, rng, onehot=line.startswith("out = softmax_cross_entropy"))
    if mode == "upstream":
        graph = Graph.parse([line], shapes)
        upstream = {"out": rng.normal(0.0, 1.0, size=out_shape)}
    else:  # a loss further on, so the gradient arriving at `out` is not all ones
        graph = Graph.parse([line, "L = half_sse(out, target)"], {**shapes, "target": out_shape})
        leaves["target"] = rng.normal(0.0, 1.0, size=out_shape)
        upstream = None
    assert_gradients_agree(graph, leaves, upstream, f"{graph.steps} ({mode})")


def test_every_op_has_a_gradient_check_case():
    checked = {line.split("=")[1].split("(")[0].strip() for line, _ in OP_CASES.values()}
    assert checked == set(GATES)


def test_the_check_catches_a_wrong_backward():
    """A gate whose backward forgets a factor of 2 must show up as a large error."""
    square = Gate("square", 1, lambda a: a * a, lambda g, out, a: (g * a,), "activation")
    graph = Graph([Step("s", square, ("a",)), Step("L", GATES["sum"], ("s",))], {"a": (3,)})
    errors = check_gradients(graph, {"a": np.array([0.5, -1.0, 2.0])})
    assert errors["s"] < TOL
    assert errors["a"] > 0.1


@pytest.mark.parametrize("exercise_id", sorted(CATALOGUE))
def test_catalogue_gradients_agree_with_central_differences(exercise_id):
    exercise = CATALOGUE[exercise_id]
    for seed in SEEDS:
        variant = make_variant(exercise, seed)
        assert_gradients_agree(exercise.graph, variant.leaves, variant.upstream, f"{exercise_id} seed {seed}")


def near_kink(graph: Graph, values) -> bool:
    """A relu / leaky_relu input within KINK_MARGIN of 0, where a central difference straddles the kink."""
    return any(step.gate.name in ("relu", "leaky_relu") and np.any(np.abs(values[step.args[0]]) < KINK_MARGIN)
               for step in graph.steps)


def case_inputs(exercise, case):
    """The leaves and upstream gradients of a code test case, read back from its arguments."""
    leaves, upstream = {}, {}
    for arg, ref in exercise.function.args.items():
        if ref.grad:
            upstream[ref.node] = case.args[arg]
        elif ref.node in exercise.graph.leaf_shapes:
            leaves[ref.node] = case.args[arg]
    assert set(leaves) == set(exercise.graph.leaf_shapes), "every leaf is an argument"
    assert set(upstream) == set(exercise.upstream or {}), "every upstream gradient is an argument"
    return leaves, upstream or None


@pytest.mark.parametrize("exercise_id", sorted(k for k, e in CATALOGUE.items() if e.kind == "code"))
def test_code_exercise_test_cases_agree_with_central_differences(exercise_id):
    """Each test case's expected returns (grad(node) refs) are the central-difference gradients of its inputs,
    and so is every node's gradient. Cases with a relu input at (or within 1e-3 of) its kink, where a central
    difference straddles the kink and the convention relu'(0) = 0 decides, are left out (test_gates covers
    the convention); they must stay a minority."""
    exercise = CATALOGUE[exercise_id]
    checked = total = 0
    for seed in SEEDS:
        cases = code_test_cases(exercise, seed)
        assert len(cases) >= exercise.tests["count"]
        for i, case in enumerate(cases):
            total += 1
            leaves, upstream = case_inputs(exercise, case)
            solution = exercise.graph.solve(leaves, upstream)
            if near_kink(exercise.graph, solution.values):
                continue
            context = f"{exercise_id} seed {seed} test {i}"
            assert_gradients_agree(exercise.graph, leaves, upstream, context)
            for ref, expected in zip(exercise.function.returns, case.returns, strict=True):
                numeric = (numeric_grad(exercise.graph, leaves, ref.node, upstream) if ref.grad
                           else solution.values[ref.node])
                np.testing.assert_allclose(expected, numeric, rtol=TOL, atol=TOL, err_msg=f"{context}: {ref}")
            checked += 1
    assert checked >= 0.8 * total, f"only {checked} of {total} test cases are off the kink"
