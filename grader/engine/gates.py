"""The gates: each op's forward and backward side by side.

A backward takes the incoming gradient `g` (dL/d out), the gate's inputs and its output, and returns
dL/d input for each input, in order. Matrix form is the default: the same code serves a 1x1 "gate view"
and a whole layer. Elementwise gates follow numpy broadcasting, so their gradients are summed back to the
shape of the input that was broadcast (`unbroadcast`).

Activation gates are defined by their forward and their *local gradient* g'(z) alone: their backward is
always `g * local_grad`, which is what the notes teach and what the step trace shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


def unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum `grad` over the axes numpy broadcast when an input of `shape` met a larger one."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


@dataclass(frozen=True)
class Gate:
    """One op: `forward(*inputs, **options)` and `backward(g, out, *inputs, **options) -> grads`."""

    name: str
    arity: int
    forward: Callable[..., Array]
    backward: Callable[..., tuple[Array, ...]]
    kind: str  # "elementwise", "matmul", "activation", "reduce" or "loss": how pages and diagnosis treat it
    local_grad: Callable[..., Array] | None = None  # activations only: g'(z) from (out, z)
    options: dict[str, float] = field(default_factory=dict)  # keyword options and their defaults
    # How the prompts write the gate, for students: {out} is the node, {0}, {1} its inputs, options by name.
    notation: str = ""


GATES: dict[str, Gate] = {}


def _gate(name: str, arity: int, kind: str, forward, backward, local_grad=None, *, notation: str,
          **options) -> None:
    GATES[name] = Gate(name, arity, forward, backward, kind, local_grad, options, notation)


# --- the add, multiply and matrix-multiply gates ------------------------------------------------------

# add: passes the incoming gradient on to both inputs unchanged.
_gate("add", 2, "elementwise", lambda a, b: a + b,
      lambda g, out, a, b: (unbroadcast(g, a.shape), unbroadcast(g, b.shape)), notation="{out} = {0} + {1}")
_gate("sub", 2, "elementwise", lambda a, b: a - b,
      lambda g, out, a, b: (unbroadcast(g, a.shape), unbroadcast(-g, b.shape)), notation="{out} = {0} − {1}")
# mul: each input's gradient is the incoming gradient times the *other* input (the inputs swap).
_gate("mul", 2, "elementwise", lambda a, b: a * b,
      lambda g, out, a, b: (unbroadcast(g * b, a.shape), unbroadcast(g * a, b.shape)), notation="{out} = {0}·{1}")
# matmul: the matrix form of the swap, dA = G @ B.T and dB = A.T @ G (written with .dot as in the notes:
# for the small matrices of exercises it is about twice as fast as the @ operator).
_gate("matmul", 2, "matmul", lambda a, b: a.dot(b),
      lambda g, out, a, b: (g.dot(b.T), a.T.dot(g)), notation="{out} = {0} {1}")


# --- activation gates: forward and local gradient ------------------------------------------------------

def _sigmoid(z: Array) -> Array:
    # 1 / (1 + e^-z) is accurate to a few ulp for every z; only exp(-z) can overflow (z < -709). Capping the
    # exponent at 700 keeps it finite: sigmoid(z) for z < -700 comes out as 1e-304 instead of an even tinier
    # number, and there is no overflow warning.
    return 1.0 / (1.0 + np.exp(np.minimum(-z, 700.0)))


def _activation(name: str, forward, local_grad, *, notation: str, **options) -> None:
    def backward(g, out, z, **opts):
        return (g * local_grad(out, z, **opts),)

    _gate(name, 1, "activation", forward, backward, local_grad, notation=notation, **options)


_activation("sigmoid", _sigmoid, lambda out, z: out * (1.0 - out), notation="{out} = σ({0})")
_activation("tanh", np.tanh, lambda out, z: 1.0 - out * out, notation="{out} = tanh({0})")
# relu's derivative is the step function, taken as 0 at exactly zero (the subgradient frameworks use).
_activation("relu", lambda z: np.maximum(z, 0.0), lambda out, z: np.heaviside(z, 0.0),
            notation="{out} = relu({0})")
_activation("leaky_relu", lambda z, alpha=0.01: np.where(z > 0, z, alpha * z),
            lambda out, z, alpha=0.01: np.where(z > 0, 1.0, alpha), alpha=0.01,
            notation="{out} = leaky_relu({0})")
_activation("identity", lambda z: z * 1.0, lambda out, z: np.ones_like(z), notation="{out} = {0}")
_activation("exp", np.exp, lambda out, z: out, notation="{out} = exp({0})")


# --- softmax, reductions and losses --------------------------------------------------------------------

def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(z: Array) -> Array:
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _rows(a: Array) -> int:
    return a.shape[0] if a.ndim > 1 else 1


# softmax: row-wise; its Jacobian is diag(s) - s s^T, applied to g without forming it.
_gate("softmax", 1, "activation", _softmax,
      lambda g, out, z: (out * (g - (g * out).sum(axis=-1, keepdims=True)),), notation="{out} = softmax({0})")
# (the .sum() method rather than np.sum: the same result with a third of the call overhead)
_gate("sum", 1, "reduce", lambda a: a.sum(), lambda g, out, a: (np.broadcast_to(g, a.shape) * 1.0,),
      notation="{out} = Σ {0}")
_gate("mean", 1, "reduce", lambda a: a.mean(), lambda g, out, a: (np.broadcast_to(g / a.size, a.shape) * 1.0,),
      notation="{out} = mean({0})")
_gate("half_sse", 2, "loss", lambda p, t: 0.5 * ((p - t) ** 2).sum(),
      lambda g, out, p, t: _half_sse_backward(g, p, t), notation="{out} = ½Σ({0} − {1})²")
_gate("mse", 2, "loss", lambda p, t: np.mean((p - t) ** 2),
      lambda g, out, p, t: _mse_backward(g, p, t), notation="{out} = mean(({0} − {1})²)")
_gate("softmax_cross_entropy", 2, "loss",
      lambda z, y: -np.sum(y * _log_softmax(z)) / _rows(z),
      lambda g, out, z, y: (g * (_softmax(z) * y.sum(axis=-1, keepdims=True) - y) / _rows(z),
                            g * -_log_softmax(z) / _rows(z)),
      notation="{out} = −(1/N)Σ {1}·log softmax({0})")


def _half_sse_backward(g: Array, p: Array, t: Array) -> tuple[Array, Array]:
    d = g * (p - t)
    return unbroadcast(d, p.shape), unbroadcast(-d, t.shape)


def _mse_backward(g: Array, p: Array, t: Array) -> tuple[Array, Array]:
    n = np.broadcast_shapes(p.shape, t.shape)
    d = g * 2.0 * (p - t) / np.prod(n, dtype=np.float64)
    return unbroadcast(d, p.shape), unbroadcast(-d, t.shape)
