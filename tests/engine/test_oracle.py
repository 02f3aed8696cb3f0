"""An independent oracle: the engine against PyTorch autograd on hundreds of random graphs.

A small seeded builder draws graphs gate by gate, picking ops and shape-compatible arguments (existing nodes
or fresh leaves, with broadcasting for the elementwise ops) and mixing in structured pieces (matmul chains
with a bias, a loss at the end). Half of the graphs end in a loss; the other half are graded in `upstream`
mode, with gradients given at one or more nodes, at least one of them an intermediate node that later gates
also use. The same steps are evaluated by torch from the builder's own records (never from the engine's
parser) and the engine must agree, in float64, on every value, every gradient (inputs, params and
intermediates via `retain_grad`) and every activation's local gradient.

Draws are kept where everything is smooth: no ReLU input within 1e-6 of the kink, `exp` of moderate values,
no huge values.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pytest

from grader.engine import GATES, Graph

if os.environ.get("CI") == "true":
    import torch  # CI installs torch: missing there is a failure, not a skip
else:
    torch = pytest.importorskip("torch", reason="torch not installed: pip install torch==2.13.0")

F = torch.nn.functional

pytestmark = pytest.mark.oracle

RTOL, ATOL = 1e-9, 1e-12
BATCHES, GRAPHS_PER_BATCH = 24, 10  # 240 graphs
ELEMENTWISE = ("add", "sub", "mul")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity", "exp")
LOSSES = ("half_sse", "mse", "softmax_cross_entropy")
KINK = 1e-6  # reject draws with a relu / leaky_relu input closer than this to 0
EXP_MAX = 4.0  # exp only of values up to this
VALUE_MAX = 1e3


# --- the random-graph builder ------------------------------------------------------------------------------

@dataclass
class RandomGraph:
    steps: list[tuple[str, str, tuple[str, ...], dict[str, float]]] = field(default_factory=list)
    leaves: dict[str, np.ndarray] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # every node
    upstream: dict[str, np.ndarray] | None = None
    broadcasts: set[str] = field(default_factory=set)  # e.g. "add (1, n) + (m, n)"

    @property
    def lines(self) -> list[str]:
        out = []
        for name, op, args, opts in self.steps:
            extra = [f"{k}={v!r}" for k, v in opts.items()]
            out.append(f"{name} = {op}({', '.join([*args, *extra])})")
        return out

    @property
    def ops(self) -> set[str]:
        return {op for _, op, _, _ in self.steps}

    def users(self, node: str) -> int:
        return sum(args.count(node) for _, _, args, _ in self.steps)


class Builder:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.g = RandomGraph()

    # leaves: inputs x*, params W*, targets y*
    def leaf(self, shape: tuple[int, ...], prefix: str = "W", value: np.ndarray | None = None) -> str:
        name = f"{prefix}{len(self.g.leaves)}"
        if value is None:
            value = self.rng.uniform(-1.5, 1.5, size=shape)
        self.g.leaves[name] = np.asarray(value, dtype=np.float64)
        self.g.shapes[name] = tuple(shape)
        return name

    def gate(self, op: str, *args: str, **opts: float) -> str:
        name = f"n{len(self.g.steps)}"
        shapes = [self.g.shapes[a] for a in args]
        if op in ELEMENTWISE:
            shape = np.broadcast_shapes(*shapes)
            if shapes[0] != shapes[1]:
                self.g.broadcasts.add(f"{op} {shapes[0]} {shapes[1]}")
        elif op == "matmul":
            shape = (shapes[0][0], shapes[1][1])
        elif op in ACTIVATIONS or op == "softmax":
            shape = shapes[0]
        else:  # reductions and losses
            shape = ()
        self.g.steps.append((name, op, args, opts))
        self.g.shapes[name] = shape
        return name

    def dim(self) -> int:
        return int(self.rng.integers(1, 5))

    def pick(self, nodes: list[str]) -> str:
        """A node, most often a recent one (so graphs grow deep as well as wide)."""
        if self.rng.random() < 0.6:
            return nodes[-1]
        return nodes[int(self.rng.integers(len(nodes)))]

    def partner(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts with `shape` to `shape` (or, from a scalar, to a matrix)."""
        if len(shape) == 2:
            m, n = shape
            options = [(m, n), (m, n), (1, n), (m, 1), (n,), ()]
        elif len(shape) == 1:
            options = [shape, shape, (1,), ()]
        else:
            options = [(), (self.dim(), self.dim())]
        return options[int(self.rng.integers(len(options)))]

    def wider(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that `shape` broadcasts up to: (1, n) -> (k, n), (m, 1) -> (m, k), () -> (k, k)."""
        return tuple(self.dim() + 1 if n == 1 else n for n in shape) if shape else (self.dim(), self.dim())

    def random_step(self, nodes: list[str]) -> str:
        rng = self.rng
        a = self.pick(nodes)
        shape = self.g.shapes[a]
        op = str(rng.choice([*ELEMENTWISE, "matmul", *ACTIVATIONS, "softmax", "sum", "mean"]))
        if op in ELEMENTWISE:
            same = [n for n in nodes if n != a and self.g.shapes[n] == shape]
            b = str(rng.choice(same)) if same and rng.random() < 0.3 else self.leaf(self.partner(shape))
            return self.gate(op, *((a, b) if rng.random() < 0.5 else (b, a)))
        if op == "matmul":
            if len(shape) != 2:  # a scalar (or a row vector) times a matrix instead
                return self.gate("mul", a, self.leaf((self.dim(), *(shape or (self.dim(),)))))
            if rng.random() < 0.7:
                return self.gate("matmul", a, self.leaf((shape[1], self.dim())))
            return self.gate("matmul", self.leaf((self.dim(), shape[0]), prefix="x"), a)
        if op == "softmax" and not shape:
            op = "sigmoid"
        if op in ("sum", "mean") and not shape:
            op = "tanh"
        if op == "leaky_relu":
            return self.gate(op, a, alpha=float(rng.choice([0.01, 0.1, 0.3])))
        return self.gate(op, a)

    def mlp_chain(self) -> str:
        """x @ W1 + b1 -> activation -> x @ W2 (+ b2) -> ...: the notes' matrix-form layers."""
        m = self.dim()
        h = self.leaf((m, self.dim()), prefix="x")
        for _ in range(int(self.rng.integers(1, 4))):
            z = self.gate("matmul", h, self.leaf((self.g.shapes[h][1], self.dim())))
            if self.rng.random() < 0.6:
                z = self.gate("add", z, self.leaf((1, self.g.shapes[z][1])))  # a (1, n) bias on an (m, n) matrix
            h = self.gate(str(self.rng.choice(ACTIVATIONS[:5])), z)
        return h

    def loss(self, pred: str) -> str:
        shape = self.g.shapes[pred]
        if not shape:
            return pred if self.g.steps else self.gate("sum", pred)
        op = str(self.rng.choice([*LOSSES, *LOSSES, "sum", "mean"]))
        if op in ("sum", "mean"):
            return self.gate(op, pred)
        if op == "softmax_cross_entropy":
            rows, n = (shape if len(shape) == 2 else (None, shape[0]))
            labels = self.rng.integers(n, size=rows if rows is not None else ())
            onehot = np.eye(n)[labels]
            return self.gate(op, pred, self.leaf(shape, prefix="y", value=onehot))
        target = [shape, shape, self.partner(shape), self.wider(shape)][int(self.rng.integers(4))]
        return self.gate(op, pred, self.leaf(target, prefix="y"))


def build(rng: np.random.Generator, upstream_mode: bool) -> RandomGraph:
    b = Builder(rng)
    start = b.mlp_chain() if rng.random() < 0.4 else b.leaf((b.dim(), b.dim()), prefix="x")
    nodes = [start]
    for _ in range(int(rng.integers(2, 7))):
        nodes.append(b.random_step(nodes))
    if not upstream_mode:
        b.loss(nodes[-1])
        return b.g
    # Gradients given at the last node and at an intermediate node that later gates also use (when there is
    # one), sometimes at one more node.
    gates = [s[0] for s in b.g.steps]
    chosen = {gates[-1]}
    reused = [n for n in gates[:-1] if b.g.users(n)]
    if reused:
        chosen.add(str(rng.choice(reused)))
    if len(gates) > 2 and rng.random() < 0.3:
        chosen.add(str(rng.choice(gates)))
    b.g.upstream = {n: rng.normal(0.0, 1.0, size=b.g.shapes[n]) for n in sorted(chosen)}
    return b.g


# --- torch evaluates the builder's records ---------------------------------------------------------------

def torch_op(op: str, args: list, opts: dict[str, float]):
    if op == "add":
        return args[0] + args[1]
    if op == "sub":
        return args[0] - args[1]
    if op == "mul":
        return args[0] * args[1]
    if op == "matmul":
        return args[0] @ args[1]
    if op == "sigmoid":
        return torch.sigmoid(args[0])
    if op == "tanh":
        return torch.tanh(args[0])
    if op == "relu":
        return F.relu(args[0])
    if op == "leaky_relu":
        return F.leaky_relu(args[0], negative_slope=opts.get("alpha", 0.01))  # the spec's default
    if op == "identity":
        return args[0].clone()
    if op == "exp":
        return torch.exp(args[0])
    if op == "softmax":
        return torch.softmax(args[0], dim=-1)
    if op == "sum":
        return args[0].sum()
    if op == "mean":
        return args[0].mean()
    if op == "half_sse":
        return 0.5 * ((args[0] - args[1]) ** 2).sum()
    if op == "mse":
        return ((args[0] - args[1]) ** 2).mean()
    if op == "softmax_cross_entropy":
        logits, onehot = args
        if logits.ndim == 2:
            return F.cross_entropy(logits, onehot)  # probability targets, mean over rows
        return -(onehot * torch.log_softmax(logits, dim=-1)).sum()
    raise AssertionError(f"no torch op for {op}")


def torch_solve(g: RandomGraph):
    """Values and gradients of every node, by torch autograd in float64."""
    t = {n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in g.leaves.items()}
    for name, op, args, opts in g.steps:
        t[name] = torch_op(op, [t[a] for a in args], opts)
        t[name].retain_grad()
    objective = t[g.steps[-1][0]]  # the loss, or in upstream mode the sum of upstream * node:
    if g.upstream:
        objective = sum((torch.tensor(u) * t[n]).sum() for n, u in g.upstream.items())
    objective.backward()
    values = {n: x.detach().numpy() for n, x in t.items()}
    grads = {n: np.zeros(g.shapes[n]) if x.grad is None else x.grad.numpy() for n, x in t.items()}
    return values, grads


def torch_local_grad(op: str, z: np.ndarray, opts: dict[str, float]) -> np.ndarray:
    """d out / d z, entry by entry, of an elementwise activation (its Jacobian is diagonal)."""
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    (dz,) = torch.autograd.grad(torch_op(op, [zt], opts).sum(), zt)
    return dz.numpy()


def smooth(g: RandomGraph) -> bool:
    """Every value moderate, no relu input at its kink, exp only of moderate values."""
    with torch.no_grad():
        t = {n: torch.tensor(v) for n, v in g.leaves.items()}
        for name, op, args, opts in g.steps:
            xs = [t[a] for a in args]
            if op in ("relu", "leaky_relu") and bool((xs[0].abs() < KINK).any()):
                return False
            if op == "exp" and bool((xs[0] > EXP_MAX).any()):
                return False
            t[name] = torch_op(op, xs, opts)
            if not bool(torch.isfinite(t[name]).all()) or bool((t[name].abs() > VALUE_MAX).any()):
                return False
    return True


@functools.cache
def batch(index: int) -> list[RandomGraph]:
    graphs = []
    for i in range(GRAPHS_PER_BATCH):
        rng = np.random.default_rng([20240611, index, i])
        while True:
            g = build(rng, upstream_mode=i % 2 == 1)
            if smooth(g):
                graphs.append(g)
                break
    return graphs


def first_graph(index: int) -> int:
    return index * GRAPHS_PER_BATCH


BATCH_IDS = [f"graphs{first_graph(i):03d}-{first_graph(i + 1) - 1:03d}" for i in range(BATCHES)]


# --- the comparisons -------------------------------------------------------------------------------------

@pytest.mark.parametrize("index", range(BATCHES), ids=BATCH_IDS)
def test_engine_matches_torch_autograd(index):
    for number, g in enumerate(batch(index), start=first_graph(index)):
        graph = Graph.parse(g.lines, {n: v.shape for n, v in g.leaves.items()})
        solution = graph.solve(g.leaves, g.upstream)
        values, grads = torch_solve(g)
        context = f"graph {number}: {g.lines}, upstream at {list(g.upstream or [])}"
        assert set(solution.grads) == set(grads), context
        for node in grads:
            np.testing.assert_allclose(solution.values[node], values[node], rtol=RTOL, atol=ATOL,
                                       err_msg=f"value of {node} in {context}")
            assert np.shape(solution.grads[node]) == g.shapes[node], f"shape of d/d{node} in {context}"
            np.testing.assert_allclose(solution.grads[node], grads[node], rtol=RTOL, atol=ATOL,
                                       err_msg=f"gradient of {node} in {context}")


@pytest.mark.parametrize("index", range(BATCHES), ids=BATCH_IDS)
def test_activation_local_gradients_match_torch(index):
    checked = 0
    for g in batch(index):
        graph = Graph.parse(g.lines, {n: v.shape for n, v in g.leaves.items()})
        solution = graph.solve(g.leaves, g.upstream)
        for name, op, args, opts in g.steps:
            if op in ACTIVATIONS:
                expected = torch_local_grad(op, solution.values[args[0]], opts)
                np.testing.assert_allclose(solution.local_grads[name], expected, rtol=RTOL, atol=ATOL,
                                           err_msg=f"local gradient of {name} = {op}({args[0]})")
                checked += 1
    assert checked > 0


@pytest.mark.parametrize("op", ACTIVATIONS)
def test_local_gradient_of_each_activation_matches_torch(op):
    rng = np.random.default_rng(7)
    z = rng.uniform(-3, 3, size=(4, 5))
    z[np.abs(z) < KINK] = 0.5
    opts = {"alpha": 0.2} if op == "leaky_relu" else {}
    option_text = ", alpha=0.2" if opts else ""
    graph = Graph.parse([f"h = {op}(z{option_text})"], {"z": (4, 5)})
    solution = graph.solve({"z": z}, upstream={"h": np.ones((4, 5))})
    np.testing.assert_allclose(solution.local_grads["h"], torch_local_grad(op, z, opts), rtol=RTOL, atol=ATOL)


def test_the_random_graphs_cover_every_op_broadcasting_and_upstream_mode():
    graphs = [g for i in range(BATCHES) for g in batch(i)]
    assert len(graphs) >= 200
    ops = Counter(op for g in graphs for op in g.ops)
    assert set(ops) == set(GATES), f"ops never drawn: {set(GATES) - set(ops)}"
    assert min(ops.values()) >= 5, ops
    broadcasts = {b for g in graphs for b in g.broadcasts}
    for op in ELEMENTWISE:
        assert any(b.startswith(f"{op} ") and "(1, " in b for b in broadcasts), f"{op}: no (1, n) with (m, n)"
        assert any(b.startswith(f"{op} ") and "()" in b for b in broadcasts), f"{op}: no scalar with a tensor"
    upstream = [g for g in graphs if g.upstream]
    assert len(upstream) >= 100
    reused = [g for g in upstream if any(n != g.steps[-1][0] and g.users(n) for n in g.upstream)]
    assert len(reused) >= 50, "upstream given at an intermediate node that later gates use"
    assert sum(len(g.upstream) >= 2 for g in upstream) >= 50
    # Some nodes do not reach the loss: their gradient must be zero, and is compared too.
    assert any(g.users(n) == 0 for g in graphs for n, *_ in g.steps[:-1])
