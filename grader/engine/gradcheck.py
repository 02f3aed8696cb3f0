"""Central-difference gradient check: the engine's own test of its backward pass."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from grader.engine.gates import Array
from grader.engine.graph import Graph


def numeric_grad(graph: Graph, leaves: Mapping[str, Array], node: str,
                 upstream: Mapping[str, Array] | None = None, eps: float = 1e-6) -> Array:
    """d objective / d node by central differences, perturbing one entry of `node` at a time."""
    values, _ = graph.forward(leaves)
    base = np.array(values[node], dtype=np.float64)
    grad = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        estimates = []
        for sign in (1.0, -1.0):
            bumped = base.copy()
            bumped[index] += sign * eps
            perturbed, _ = graph.forward(leaves, override=(node, bumped))
            estimates.append(graph.objective(perturbed, upstream))
        grad[index] = (estimates[0] - estimates[1]) / (2 * eps)
    return grad


def check_gradients(graph: Graph, leaves: Mapping[str, Array], upstream: Mapping[str, Array] | None = None,
                    nodes: Iterable[str] | None = None, eps: float = 1e-6) -> dict[str, float]:
    """The largest relative error |analytic - numeric| / max(1, |numeric|) per node (params, inputs and
    intermediates by default)."""
    solution = graph.solve(leaves, upstream)
    errors = {}
    for node in nodes if nodes is not None else graph.nodes():
        numeric = numeric_grad(graph, leaves, node, upstream, eps)
        analytic = solution.grads[node]
        errors[node] = float(np.max(np.abs(analytic - numeric) / np.maximum(1.0, np.abs(numeric)), initial=0.0))
    return errors
