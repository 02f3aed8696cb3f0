"""The code corpus (tests/grading/code_corpus): realistic submissions with their expected verdicts.

Two checks for every entry. First, independently of the grader and its engine: the function runs here, in
the test process (our own code: never do this with a student's), on fresh random inputs, and is compared with
central differences of this file's own forward passes. That proves the corpus right: correct entries agree,
wrong ones do not. Second, through the real grader and sandbox on seeds 0..19: every correct entry scores 1
on every seed, every wrong one less than 1, named as expected on at least 90% of its failed tests.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.exercises import load_catalogue
from grader.exercises import test_cases as grading_cases
from tests.grading.code_corpus import (
    CORRECT,
    ENTRIES,
    FORBIDS_IN_PLACE,
    MISTAKE_CODES,
    SEEDS,
    WRONG,
    Entry,
    failed_parts,
    grade,
    named,
)

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = load_catalogue(ROOT / "exercises")
NAMED_MIN = 0.90  # of an entry's failed tests, over all seeds, that must name its mistake
OUTPUT_CAP = 100_000  # characters a big printer must print over one grading run
EPS = 1e-6
TOLERANCE = {False: (1e-4, 1e-7), True: (1e-3, 1e-5)}  # float32? -> (rtol, atol relative to the gradient's scale)

Array = np.ndarray
Masks = dict[str, Array] | None  # ReLU masks held fixed (the relu'(0) = 0 convention at exact zeros), or None


# --- the four networks, forward only ----------------------------------------------------------------------

def relu(z: Array, mask: Array | None) -> Array:
    """max(z, 0); with a mask held fixed, z · mask: the same function near a point where mask = (z > 0),
    whose derivative at exact zeros is the exercise's convention relu'(0) = 0."""
    return z * (z > 0) if mask is None else z * mask


def sigmoid(z: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-z))


def affine_loss(a: dict[str, Array], masks: Masks) -> float:
    return float(np.sum(a["dout"] * (a["x"] @ a["W"])))


def relu_loss(a: dict[str, Array], masks: Masks) -> float:
    return float(np.sum(a["dout"] * relu(a["z"], masks and masks["z"])))


def sigmoid_loss(a: dict[str, Array], masks: Masks) -> float:
    return float(np.sum(a["dout"] * sigmoid(a["z"])))


def three_layer_loss(a: dict[str, Array], masks: Masks) -> float:
    z1 = a["x"] @ a["W1"]
    h1 = relu(z1, masks and masks["z1"])
    z2 = h1 @ a["W2"]
    h2 = relu(z2, masks and masks["z2"])
    out = sigmoid(h2 @ a["W3"])
    return float(0.5 * np.sum((out - a["y"]) ** 2))


def relu_masks(exercise_id: str, a: dict[str, Array], one_at_zero: bool = False) -> dict[str, Array]:
    """The ReLU masks at `a`: z > 0 (the exercises' convention), or z >= 0 (relu'(0) = 1, a mistake)."""
    on = np.greater_equal if one_at_zero else np.greater
    if exercise_id == "code-relu-backward":
        return {"z": on(a["z"], 0).astype(float)}
    z1 = a["x"] @ a["W1"]
    return {"z1": on(z1, 0).astype(float), "z2": on(np.maximum(z1, 0) @ a["W2"], 0).astype(float)}


@dataclass(frozen=True)
class Network:
    loss: Callable[[dict[str, Array], Masks], float]
    wrt: tuple[str, ...]  # what the function returns the gradients of, in order
    draw: Callable[[np.random.Generator, dict[str, int]], dict[str, Array]]
    zeros: Callable[[dict[str, Array]], dict[str, Array]] | None = None  # exact zeros into every ReLU input


def _normal(rng: np.random.Generator, *shape: int, mean: float = 0.0, sd: float = 1.0) -> Array:
    return rng.normal(mean, sd, shape)


def _zero_every_third(a: dict[str, Array]) -> dict[str, Array]:
    z = a["z"].copy()
    z.reshape(-1)[::3] = 0.0
    return {**a, "z": z}


def _zero_first_columns(a: dict[str, Array]) -> dict[str, Array]:
    """W1[:, 0] = 0 and W2[:, 0] = 0 make column 0 of z1 and of z2 exactly zero for every row, while x, h1
    and the rows of W2 and W3 that carry the gradient there stay non-zero: relu'(0) reaches dW1 and dW2."""
    W1, W2 = a["W1"].copy(), a["W2"].copy()
    W1[:, 0] = 0.0
    W2[:, 0] = 0.0
    return {**a, "W1": W1, "W2": W2}


NETWORKS: dict[str, Network] = {
    "code-affine-backward": Network(affine_loss, ("x", "W"), lambda r, d: {
        "dout": _normal(r, d["N"], d["M"]), "x": _normal(r, d["N"], d["D"]), "W": _normal(r, d["D"], d["M"])}),
    "code-relu-backward": Network(relu_loss, ("z",), lambda r, d: {
        "dout": _normal(r, d["N"], d["D"]), "z": _normal(r, d["N"], d["D"])}, _zero_every_third),
    "code-sigmoid-backward": Network(sigmoid_loss, ("z",), lambda r, d: {
        "dout": _normal(r, d["N"], d["D"]), "z": _normal(r, d["N"], d["D"], sd=2.0)}),
    "code-three-layer-backward": Network(three_layer_loss, ("W1", "W2", "W3"), lambda r, d: {
        "x": r.uniform(0.0, 1.0, (d["N"], d["D"])), "y": r.uniform(0.0, 1.0, (d["N"], d["K"])),
        "W1": _normal(r, d["D"], d["H1"], mean=0.3, sd=0.5), "W2": _normal(r, d["H1"], d["H2"], mean=0.3, sd=0.5),
        "W3": _normal(r, d["H2"], d["K"])}, _zero_first_columns),
}


def central_difference(loss: Callable[[dict[str, Array], Masks], float], a: dict[str, Array], wrt: str,
                       masks: Masks) -> Array:
    grad = np.zeros_like(a[wrt])
    for index in np.ndindex(grad.shape):
        plus, minus = a[wrt].copy(), a[wrt].copy()
        plus[index] += EPS
        minus[index] -= EPS
        grad[index] = (loss({**a, wrt: plus}, masks) - loss({**a, wrt: minus}, masks)) / (2 * EPS)
    return grad


# --- running an entry here --------------------------------------------------------------------------------

def function_of(entry: Entry) -> Callable[..., Any]:
    namespace: dict[str, Any] = {"__name__": "submission"}
    exec(compile(entry.code, f"<corpus {entry.name}>", "exec"), namespace)  # our own corpus, never student code
    return namespace[CATALOGUE[entry.exercise].function.name]


def call_quietly(function: Callable[..., Any], args: dict[str, Array]) -> tuple[Any, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)  # np.matrix entries
        returned = function(**args)
    return returned, out.getvalue()


def as_outputs(returned: Any, count: int) -> list[Array]:
    """The returned gradients as float64 arrays, read the obvious way: a sequence of `count` of them, or one."""
    items = list(returned) if count > 1 else [returned]
    if len(items) != count:
        raise ValueError(f"returned {len(items)} values, expected {count}")
    return [np.array(item, dtype=np.float64) for item in items]


def sizes(exercise_id: str, pick: str, rng: np.random.Generator) -> dict[str, int]:
    """The exercise's dims at their smallest, largest, or drawn at random within its ranges."""
    ranges = {name: spec["integers"] for name, spec in CATALOGUE[exercise_id].dims.items()}
    if pick == "smallest":
        return {name: lo for name, (lo, _) in ranges.items()}
    if pick == "largest":
        return {name: hi for name, (_, hi) in ranges.items()}
    return {name: int(rng.integers(lo, hi + 1)) for name, (lo, hi) in ranges.items()}


def inputs_for(exercise_id: str, seed: int) -> list[tuple[dict[str, Array], Masks]]:
    """A few input sets: the largest and smallest sizes, random ones, and (where there is a ReLU) exact zeros
    in every ReLU input, with the ReLU masks held fixed for the central differences there."""
    net, rng = NETWORKS[exercise_id], np.random.default_rng(seed)
    picks = ["largest", "smallest", "random", "random", "random", "random"]
    sets: list[tuple[dict[str, Array], Masks]] = [(net.draw(rng, sizes(exercise_id, p, rng)), None) for p in picks]
    if net.zeros:
        zeroed = net.zeros(net.draw(rng, sizes(exercise_id, "random", rng)))
        sets.append((zeroed, relu_masks(exercise_id, zeroed)))
    return sets


def disagreement(entry: Entry, args: dict[str, Array], masks: Masks) -> str | None:
    """Why the entry's answer on `args` is not the numerical gradient (or breaks the in-place rule), or None."""
    net = NETWORKS[entry.exercise]
    given_args = {k: v.copy() for k, v in args.items()}
    try:
        returned, _ = call_quietly(function_of(entry), given_args)
        given = as_outputs(returned, len(net.wrt))
    except Exception as exc:  # a wrong entry may raise (a hard-coded size, say): that is a disagreement
        return f"raised {type(exc).__name__}: {exc}"
    rtol, atol = TOLERANCE[entry.float32]
    for name, value in zip(net.wrt, given, strict=True):
        numeric = central_difference(net.loss, args, name, masks)
        if value.shape != numeric.shape:
            return f"d{name} has shape {value.shape}, expected {numeric.shape}"
        scale = max(1.0, float(np.abs(numeric).max(initial=0.0)))
        if not np.allclose(value, numeric, rtol=rtol, atol=atol * scale):
            return f"d{name} is off by up to {np.abs(value - numeric).max():.3g}"
    if entry.exercise in FORBIDS_IN_PLACE:
        changed = [k for k in args if not np.array_equal(args[k], given_args[k])]
        if changed:
            return f"changed {', '.join(changed)} in place, which {entry.exercise} forbids"
    return None


def numerical_gradients(exercise_id: str, args: dict[str, Array], masks: Masks) -> list[Array]:
    net = NETWORKS[exercise_id]
    return [central_difference(net.loss, args, name, masks) for name in net.wrt]


def _one_replaced(grads: list[Array], change: Callable[[Array], Array]) -> list[list[Array]]:
    return [[change(g) if j == i else g for j, g in enumerate(grads)] for i in range(len(grads))]


# What each mistake makes of the true gradients, in numbers (code-typical and loss mistakes; the gate ones are
# the corpus code itself written again). Each gives the candidate answers, any of which is the mistake.
Prediction = Callable[[str, dict[str, Array], Masks], list[list[Array]]]
PREDICTIONS: dict[str, Prediction] = {
    "batch_mean": lambda ex, a, m: [[g / a["x"].shape[0] for g in numerical_gradients(ex, a, m)]],
    "wrong_order": lambda ex, a, m: [numerical_gradients(ex, a, m)[::-1]],
    "transposed": lambda ex, a, m: _one_replaced(numerical_gradients(ex, a, m), np.transpose),
    "squeezed": lambda ex, a, m: _one_replaced(numerical_gradients(ex, a, m), np.ravel),
    "sign_error": lambda ex, a, m: [[-g for g in numerical_gradients(ex, a, m)]],
    "factor_two": lambda ex, a, m: [[2 * g for g in numerical_gradients(ex, a, m)]],
    "ignored_upstream": lambda ex, a, m: [numerical_gradients(ex, {**a, "dout": np.ones_like(a["dout"])}, m)],
    "relu_one_at_zero": lambda ex, a, m: [numerical_gradients(ex, a, m and relu_masks(ex, a, one_at_zero=True))],
}


# --- the corpus itself ------------------------------------------------------------------------------------

def test_corpus_is_large_and_covers_every_mistake():
    wrong = [e for e in ENTRIES if e.verdict == WRONG]
    assert len(ENTRIES) >= 34
    assert {e.mistake for e in wrong} >= set(MISTAKE_CODES)
    assert sum(e.mistake is None for e in wrong) >= 2
    for exercise_id in NETWORKS:
        kinds = {e.verdict for e in ENTRIES if e.exercise == exercise_id}
        assert kinds == {CORRECT, WRONG}, exercise_id
    assert any(e.float32 for e in ENTRIES if e.verdict == CORRECT)
    assert any(e.big_print for e in ENTRIES if e.verdict == CORRECT)


def test_the_central_differences_are_right():
    """The harness's own check, on a gradient known by hand: d/dW of sum(dout * (x W)) is x.T dout."""
    rng = np.random.default_rng(7)
    a = {"dout": rng.normal(size=(3, 2)), "x": rng.normal(size=(3, 4)), "W": rng.normal(size=(4, 2))}
    np.testing.assert_allclose(central_difference(affine_loss, a, "W", None), a["x"].T @ a["dout"], rtol=1e-7)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_entry_verdict_matches_central_differences(entry):
    problems = {}
    for seed in range(3):
        for i, (args, masks) in enumerate(inputs_for(entry.exercise, seed)):
            problem = disagreement(entry, args, masks)
            if problem:
                problems[(seed, i)] = problem
    if entry.verdict == CORRECT:
        assert problems == {}
    else:
        assert problems, f"{entry.name} is meant to be wrong but agrees with the numerical gradient everywhere"


CHECKABLE = [e for e in ENTRIES if e.mistake in PREDICTIONS]


@pytest.mark.parametrize("entry", CHECKABLE, ids=[e.name for e in CHECKABLE])
def test_wrong_entry_makes_the_mistake_it_is_labelled_with(entry):
    """Wherever the entry is wrong, its answer is the mistake's answer, computed here from central differences."""
    wrong_sets = 0
    for seed in range(3):
        for args, masks in inputs_for(entry.exercise, seed):
            if disagreement(entry, args, masks) is None:
                continue
            wrong_sets += 1
            returned, _ = call_quietly(function_of(entry), {k: v.copy() for k, v in args.items()})
            given = as_outputs(returned, len(NETWORKS[entry.exercise].wrt))
            assert any(all(g.shape == p.shape and np.allclose(g, p, rtol=1e-4, atol=1e-7) for g, p in
                           zip(given, prediction, strict=True))
                       for prediction in PREDICTIONS[entry.mistake](entry.exercise, args, masks)), (seed, given)
    assert wrong_sets > 0


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_entry_flags_say_what_it_does(entry):
    """float32 entries return float32 arrays; in_place entries change an input, and no other entry does."""
    args, _ = inputs_for(entry.exercise, 0)[0]
    given_args = {k: v.copy() for k, v in args.items()}
    returned, _ = call_quietly(function_of(entry), given_args)
    changed = [k for k in args if not np.array_equal(args[k], given_args[k])]
    assert bool(changed) == entry.in_place, changed
    if entry.float32:
        items = returned if isinstance(returned, tuple) else (returned,)
        assert all(np.asarray(item).dtype == np.float32 for item in items)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.big_print], ids=lambda e: e.name)
def test_big_printers_print_more_than_the_output_cap(entry):
    function = function_of(entry)
    printed = 0
    for case in grading_cases(CATALOGUE[entry.exercise], 0, 0):
        printed += len(call_quietly(function, {k: v.copy() for k, v in case.args.items()})[1])
    assert printed > OUTPUT_CAP


# --- through the real grader ------------------------------------------------------------------------------

@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.verdict == CORRECT], ids=lambda e: e.name)
def test_correct_entry_scores_1_on_every_seed(pool, entry):
    short = {}
    for seed in SEEDS:
        result = grade(entry, seed, pool, CATALOGUE)
        if result.status != "graded" or result.score != 1.0:
            short[seed] = (result.status, result.score, [p.message for p in failed_parts(result)][:2] or
                           result.message)
    assert short == {}


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.verdict == WRONG], ids=lambda e: e.name)
def test_wrong_entry_scores_below_1_and_is_named(pool, entry):
    failed, named_right, others = 0, 0, {}
    for seed in SEEDS:
        result = grade(entry, seed, pool, CATALOGUE)
        assert result.status == "graded", (seed, result.message)
        assert result.score < 1.0, f"seed {seed}: a wrong function scored {result.score}"
        if entry.mistake is None:
            continue
        parts = failed_parts(result)
        hits = [named(p.diagnosis) == entry.mistake for p in parts]
        failed, named_right = failed + len(parts), named_right + sum(hits)
        for p in parts:
            if named(p.diagnosis) != entry.mistake:
                others.setdefault(named(p.diagnosis), f"seed {seed}: {p.message}")
        if sum(hits) > len(parts) / 2:  # seen in most failed tests: said once, at the top
            assert named(result.diagnosis) == entry.mistake, f"seed {seed}: result diagnosis {result.diagnosis}"
    if entry.mistake is not None:
        assert named_right >= NAMED_MIN * failed, (f"{named_right} of {failed} failed tests named "
                                                   f"{entry.mistake}; instead: {others}")
