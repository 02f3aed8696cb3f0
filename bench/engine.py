"""Benchmark of the reference engine, on one core.

    .venv/bin/python -m bench.engine

Prints, from one run:

1. the time to solve the seed notebook's three-layer network (forward pass and every gradient) with the
   engine (`graph.solve`), with the notebook's hand-written numpy backward, and with torch autograd (float64,
   when torch is installed), on the same numbers; targets: the engine at most 2x the hand-written numpy and
   at least 2.5x faster than torch;
2. variants generated and solved per second over the whole catalogue (`make_variant` for every exercise over
   many seeds; for code exercises their test cases too); target: at least 5,000/s.

Each figure is the best of several repeats of many loops (as `timeit` does), so it measures the code and
not whatever else the machine was doing.
"""

from __future__ import annotations

import os

# One core: set before numpy (or torch) is imported, or their thread pools are already sized.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import math  # noqa: E402
import sys  # noqa: E402
import timeit  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.engine import Graph  # noqa: E402
from grader.exercises import load_catalogue, make_variant, test_cases  # noqa: E402

ENGINE_VS_NUMPY_MAX = 2.0  # the engine may take at most 2x the hand-written numpy
TORCH_VS_ENGINE_MIN = 2.5  # torch must take at least 2.5x the engine
VARIANTS_PER_S_MIN = 5_000

# The seed notebook's three-layer network (matrix form).
SEED = {
    "x": [[0.9, 0.2, 0.7]],
    "y": [[0.3, 0.7]],
    "W1": [[0.3, 0.9, 0.5], [0.8, 0.1, 0.5], [0.8, 0.2, 0.7]],
    "W2": [[0.7, 0.5], [0.1, 0.5], [0.6, 0.1]],
    "W3": [[0.2, 0.3], [0.3, 0.4]],
}
GRAPH = [
    "z1 = matmul(x, W1)", "h1 = relu(z1)",
    "z2 = matmul(h1, W2)", "h2 = relu(z2)",
    "z3 = matmul(h2, W3)", "out = sigmoid(z3)",
    "L = half_sse(out, y)",
]


# --- the notebook's hand-written numpy, as written there (In [17]) --------------------------------------
# The target compares with this code. A tightened version (sigmoid computed once, np.maximum) is timed
# beside it for reference only, so the reader sees how far the engine is from the best hand-written numpy.

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoidGradient(z):  # noqa: N802 -- the notebook's names
    return sigmoid(z) * (1 - sigmoid(z))


def relu(z):
    return (z > 0) * z


def reluGradient(z):  # noqa: N802
    return (z > 0) * 1.0


def numpy_backward(X, y, W1, W2, W3):  # noqa: N803
    z1 = X.dot(W1)
    h1 = relu(z1)
    dh1 = reluGradient(z1)
    z2 = h1.dot(W2)
    h2 = relu(z2)
    dh2 = reluGradient(z2)
    z3 = h2.dot(W3)
    pred = sigmoid(z3)
    dh3 = sigmoidGradient(z3)
    error = (1 / 2.0) * (pred - y) ** 2
    df = pred - y
    grad = df * dh3
    dW3 = h2.T.dot(grad)
    grad = grad.dot(W3.T)
    grad = grad * dh2
    dW2 = h1.T.dot(grad)
    grad = grad.dot(W2.T)
    grad = grad * dh1
    dW1 = X.T.dot(grad)
    return error, dW1, dW2, dW3


def tight_numpy_backward(x, y, W1, W2, W3):  # noqa: N803
    z1 = x.dot(W1)
    h1 = np.maximum(z1, 0)
    z2 = h1.dot(W2)
    h2 = np.maximum(z2, 0)
    z3 = h2.dot(W3)
    out = 1 / (1 + np.exp(-z3))
    loss = 0.5 * np.sum((out - y) ** 2)
    grad = (out - y) * out * (1 - out)
    dW3 = h2.T.dot(grad)
    grad = grad.dot(W3.T) * (z2 > 0)
    dW2 = h1.T.dot(grad)
    grad = grad.dot(W2.T) * (z1 > 0)
    dW1 = x.T.dot(grad)
    return loss, dW1, dW2, dW3


def torch_backward(torch, arrays):
    """The same network by torch autograd, from the same float64 numpy arrays (shared, not copied)."""
    x, y = torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"])
    W1, W2, W3 = (torch.from_numpy(arrays[k]).requires_grad_() for k in ("W1", "W2", "W3"))  # noqa: N806
    out = torch.sigmoid(torch.relu(torch.relu(x @ W1) @ W2) @ W3)
    loss = 0.5 * ((out - y) ** 2).sum()
    loss.backward()
    return loss, W1.grad, W2.grad, W3.grad


# --- measuring -------------------------------------------------------------------------------------------

def best_per_call(fns: dict[str, Callable[[], object]], number: int = 20, repeat: int = 300) -> dict[str, float]:
    """Seconds per call of each function: the best of `repeat` rounds, each round timing `number` calls of
    every function in turn, so that a busy moment of the machine hits all of them alike. Short rounds (about a
    millisecond) and many of them: on a shared machine the best round is then one nobody interrupted."""
    for fn in fns.values():
        fn()  # warm up
    best = dict.fromkeys(fns, math.inf)
    for _ in range(repeat):
        for name, fn in fns.items():
            best[name] = min(best[name], timeit.timeit(fn, number=number) / number)
    return best


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def bench_seed_network() -> dict[str, float]:
    arrays = {k: np.array(v, dtype=np.float64) for k, v in SEED.items()}
    shapes = {k: v.shape for k, v in arrays.items()}
    graph = Graph.parse(GRAPH, shapes)

    # The three must agree, or the timing compares different work.
    solution = graph.solve(arrays)
    _, dW1, dW2, dW3 = numpy_backward(*arrays.values())
    for name, hand in (("W1", dW1), ("W2", dW2), ("W3", dW3)):
        np.testing.assert_allclose(solution.grads[name], hand, rtol=1e-12, atol=1e-15, err_msg=name)

    contenders = {
        "engine": lambda: graph.solve(arrays),
        "numpy": lambda: numpy_backward(*arrays.values()),
        "tight": lambda: tight_numpy_backward(*arrays.values()),
    }
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
        grads = torch_backward(torch, arrays)[1:]
        for name, got in zip(("W1", "W2", "W3"), grads, strict=True):
            np.testing.assert_allclose(got.numpy(), solution.grads[name], rtol=1e-12, atol=1e-15, err_msg=name)
        contenders["torch"] = lambda: torch_backward(torch, arrays)
    times = best_per_call(contenders)

    print("Seed three-layer network (forward and every gradient), per solve:")
    print(f"  engine (graph.solve)        {times['engine'] * 1e6:9.1f} us")
    print(f"  notebook's hand-written numpy {times['numpy'] * 1e6:7.1f} us")
    print(f"  (tightened numpy, reference  {times['tight'] * 1e6:7.1f} us, "
          f"engine / tightened {times['engine'] / times['tight']:.2f}x: no target)")
    ratio = times["engine"] / times["numpy"]
    print(f"  engine / numpy              {ratio:9.2f}x   target <= {ENGINE_VS_NUMPY_MAX}x   "
          f"{verdict(ratio <= ENGINE_VS_NUMPY_MAX)}")
    if "torch" in times:
        speedup = times["torch"] / times["engine"]
        print(f"  torch autograd (float64)    {times['torch'] * 1e6:9.1f} us")
        print(f"  torch / engine              {speedup:9.2f}x   target >= {TORCH_VS_ENGINE_MIN}x   "
              f"{verdict(speedup >= TORCH_VS_ENGINE_MIN)}")
    else:
        print("  torch autograd              not installed (pip install torch==2.13.0): comparison skipped")
    return times


def bench_catalogue(seeds: int = 50, repeat: int = 15) -> float:
    """Variants generated and solved per second, over every exercise of the catalogue and `seeds` seeds.
    A code exercise counts its variant and each of its test cases (each a fresh draw, solved). Each exercise
    is timed on its own (best of `repeat` passes over its seeds), and the rate is all the variants over the
    sum of those times."""
    catalogue = list(load_catalogue(ROOT / "exercises").values())

    def variants(exercise) -> int:
        count = 0
        for seed in range(seeds):
            make_variant(exercise, seed)
            count += 1
            if exercise.kind == "code":
                count += len(test_cases(exercise, seed))
        return count

    total_count, total_time = 0, 0.0
    for exercise in catalogue:
        total_count += variants(exercise)  # warm up, and count
        total_time += min(timeit.repeat(lambda exercise=exercise: variants(exercise), number=1, repeat=repeat))
    rate = total_count / total_time
    print(f"Catalogue: {len(catalogue)} exercises x {seeds} seeds = {total_count} variants "
          f"(code exercises: variant + test cases)")
    print(f"  variants generated and solved {rate:9.0f} /s   target >= {VARIANTS_PER_S_MIN}/s   "
          f"{verdict(rate >= VARIANTS_PER_S_MIN)}")
    return rate


def main() -> None:
    print(f"numpy {np.__version__}, one core (OPENBLAS_NUM_THREADS=1), best of repeated runs")
    bench_seed_network()
    bench_catalogue()


if __name__ == "__main__":
    main()
