"""Benchmark of numeric grading, on one core.

    .venv/bin/python -m bench.grading

Grades a 3×3 matrix answer (dL/dW1 of `seed-three-layer-matrix`, the notes' matrix-form example) through
`grade_answers`, the entry point the service and the CLI use, and prints answers graded per second for

(a) the correct answer typed as text, exactly as numpy prints it in a terminal;
(b) a wrong answer that is diagnosed (the output sigmoid's local gradient forgotten), also typed as text;

with the targets **at least 10,000 correct/s and 1,000 diagnosed wrong/s**. For scale, the same run measures a
baseline: bare `np.allclose` on the already-parsed arrays (no reading, no shape check, no result). Also shown,
without targets: a wrong answer that matches the *last* mistake tried, a wrong answer no mistake explains (it
also replays the early-rounded chain), and a diagnosis on a variant never graded before (the candidate answers
are computed, not taken from the cache).

Each figure is the best of several repeats of many calls (as `timeit` does).
"""

from __future__ import annotations

import os

# One core: set before numpy is imported, or its thread pool is already sized.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = "1"

import cProfile  # noqa: E402
import dataclasses  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import sys  # noqa: E402
import timeit  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.exercises import load_catalogue, make_variant  # noqa: E402
from grader.grading import mistakes  # noqa: E402
from grader.grading.numeric import grade_answers  # noqa: E402

CORRECT_PER_S_MIN = 10_000
DIAGNOSED_PER_S_MIN = 1_000
EXERCISE, ASK = "seed-three-layer-matrix", 0  # dL/dW1, 3×3


def best_rate(fn: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Calls per second: the best of `repeat` rounds of `number` calls."""
    return number / min(timeit.repeat(fn, number=number, repeat=repeat))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def one_ask(variant):
    """The variant with only the 3×3 ask, so each call grades exactly one answer."""
    exercise = dataclasses.replace(variant.exercise, asks=[variant.exercise.asks[ASK]])
    return dataclasses.replace(variant, exercise=exercise)


def typed(array: np.ndarray) -> str:
    return str(array)  # numpy's printed form: [[0.02087045 0.01223012 0.01079834]\n [...]]


def profile(fn: Callable[[], object], calls: int = 2000) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(15)
    return out.getvalue()


def main() -> None:
    catalogue = load_catalogue(ROOT / "exercises")
    variant = one_ask(make_variant(catalogue[EXERCISE], 0))
    ask = variant.exercise.asks[0]
    exact = variant.expected(ask)
    assert exact.shape == (3, 3)
    found = {(code, tuple(gates)): answer for code, gates, _, answer in mistakes.candidates(variant, ask)}
    wrong = found[("forgot_local_grad", ("out",))]
    last = found[("factor_two", ("L",))]  # the last mistake tried
    unexplained = exact * np.array([[1.7, -0.4, 2.2], [0.3, 1.9, -1.1], [2.6, 0.5, -0.8]])

    texts = {"correct": typed(exact), "wrong": typed(wrong), "last": typed(last), "unexplained": typed(unexplained)}
    checks = {"correct": (None, 1.0), "wrong": ("forgot_local_grad", 0.0), "last": ("factor_two", 0.0),
              "unexplained": (None, 0.0)}
    for name, text in texts.items():
        part = grade_answers(variant, {0: text}).parts[0]
        mistake = part.diagnosis and part.diagnosis["mistake"]
        assert (mistake, part.score) == checks[name], (name, part)

    parsed, expected = np.array(exact), exact.copy()
    baseline = best_rate(lambda: np.allclose(parsed, expected, rtol=0.01, atol=1e-6), 20_000)
    rates = {name: best_rate(lambda text=text: grade_answers(variant, {0: text}), 2_000 if name == "correct" else 500)
             for name, text in texts.items()}

    fresh = iter(range(1, 10**9))
    exercise = variant.exercise

    def cold() -> None:  # a new variant: make it, then diagnose (every candidate replayed)
        v = make_variant(exercise, next(fresh))
        grade_answers(v, {0: texts["wrong"]})

    rates["cold"] = best_rate(cold, 100, repeat=5)

    print(f"numpy {np.__version__}, one core (OPENBLAS_NUM_THREADS=1), best of repeated runs")
    print(f"Grading one 3×3 answer (dL/dW1 of {EXERCISE}) typed as numpy prints it:")
    print(f"  baseline: np.allclose on parsed arrays {baseline:10.0f} /s")
    for name, label, target in (("correct", "correct answer", CORRECT_PER_S_MIN),
                                ("wrong", "wrong, diagnosed (forgot_local_grad)", DIAGNOSED_PER_S_MIN)):
        ok = rates[name] >= target
        print(f"  {label:<38} {rates[name]:10.0f} /s   baseline/this {baseline / rates[name]:6.1f}x   "
              f"target >= {target}/s   {verdict(ok)}")
    for name, label in (("last", "wrong, diagnosed (last mistake tried)"),
                        ("unexplained", "wrong, no mistake matches"),
                        ("cold", "wrong, diagnosed, new variant each")):
        print(f"  {label:<38} {rates[name]:10.0f} /s   baseline/this {baseline / rates[name]:6.1f}x")
    misses = [name for name, target in (("correct", CORRECT_PER_S_MIN), ("wrong", DIAGNOSED_PER_S_MIN))
              if rates[name] < target]
    for name in misses:
        print(f"\nProfile of the {name} answer (cProfile, cumulative):")
        print(profile(lambda name=name: grade_answers(variant, {0: texts[name]})))


if __name__ == "__main__":
    main()
