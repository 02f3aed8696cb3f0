"""The ReLU edge cases test what they claim: every ReLU input holds exact zeros, behind non-zero inputs and
under a non-zero upstream gradient, so relu'(0) reaches the expected returns; and there are enough of them
that a function which flips a coin at exactly zero fails every attempt.

Each check recomputes the case with the engine from the case's own arguments and a ReLU gate varied here
(relu'(0) = 1, or a coin), the way mistake diagnosis varies gates, and compares at the grader's tolerance."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from grader.exercises import load_catalogue, parse_exercise
from grader.exercises import test_cases as code_test_cases  # (not collected as a test)
from grader.exercises.cases import RELU_ZERO, case_plan
from grader.grading.tolerance import Tolerance

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[2] / "exercises")
WITH_RELU = sorted(k for k, e in CATALOGUE.items()
                   if e.kind == "code" and any(s.gate.name in ("relu", "leaky_relu") for s in e.graph.steps))
SEEDS, ATTEMPTS = range(8), range(4)

# A leaky ReLU behind a bias (z = x W + b): its zeros need a zero column of W *and* the bias entry, and its
# sizes are small, so several zero cases are needed to reach enough zeros.
LEAKY = parse_exercise({
    "id": "code-leaky-bias", "title": "t", "kind": "code", "prompt": "p",
    "dims": {"N": {"integers": [1, 3]}, "D": 2, "H": {"integers": [2, 3]}},
    "inputs": {"x": {"shape": ["N", "D"], "random": {"normal": [0, 1]}},
               "y": {"shape": ["N", 1], "random": {"uniform": [0, 1]}}},
    "params": {"W1": {"shape": ["D", "H"], "random": {"normal": [0, 1]}},
               "b1": {"shape": ["H"], "random": {"normal": [0, 1]}},
               "W2": {"shape": ["H", 1], "random": {"normal": [0, 1]}}},
    "mlp": {"input": "x", "target": "y", "loss": "half_sse",
            "layers": [{"weights": "W1", "bias": "b1", "activation": "leaky_relu"},
                       {"weights": "W2", "activation": "sigmoid"}]},
    "function": {"name": "f", "args": {"x": "x", "y": "y", "W1": "W1", "b1": "b1", "W2": "W2"},
                 "returns": ["grad(W1)", "grad(b1)"], "starter": "def f(x, y, W1, b1, W2):\n    pass\n"},
})
EXERCISES = {**{k: CATALOGUE[k] for k in WITH_RELU}, LEAKY.id: LEAKY}


def kinked(exercise):
    return [s for s in exercise.graph.steps if s.gate.name in ("relu", "leaky_relu")]


def rebuilt(exercise, case):
    """The case's leaves and upstream gradients read back from its arguments, solved by the engine."""
    leaves = {ref.node: case.args[a] for a, ref in exercise.function.args.items() if not ref.grad}
    upstream = {ref.node: case.args[a] for a, ref in exercise.function.args.items() if ref.grad} or None
    return exercise.graph.solve(leaves, upstream), upstream


def returns_with(exercise, case, local_at_zero):
    """The expected returns when the local gradient at exactly zero of the ReLU `name` is
    `local_at_zero[name](z)` (an array of the shape of z, used only where z == 0)."""
    solution, upstream = rebuilt(exercise, case)
    variations = {}
    for name, at_zero in local_at_zero.items():
        gate = exercise.graph.step_by_name[name].gate
        variations[name] = replace(gate, local_grad=lambda out, z, g=gate, a=at_zero, **o: np.where(
            z == 0, a(z), g.local_grad(out, z, **o)))
    grads, _ = exercise.graph.backward(solution.values, solution.local_grads, upstream, variations=variations)
    return [(grads if ref.grad else solution.values)[ref.node] for ref in exercise.function.returns]


def wrong_entries(exercise, given, expected) -> int:
    tolerance = Tolerance.from_spec(exercise.tolerance, "code")
    return sum(int((~tolerance.close(g, e)).sum()) for g, e in zip(given, expected, strict=True))


def zero_cases(exercise, seed, attempt):
    cases = [c for c in code_test_cases(exercise, seed, attempt) if c.kind == RELU_ZERO]
    assert cases, "an exercise with a ReLU has cases with its inputs at exactly 0"
    return cases


def one(z):
    return np.ones_like(z)


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_every_relu_input_is_zero_behind_nonzero_inputs_and_gradients(exercise_id):
    exercise = EXERCISES[exercise_id]
    for seed in SEEDS:
        for attempt in ATTEMPTS:
            for case in zero_cases(exercise, seed, attempt):
                solution, _ = rebuilt(exercise, case)
                for step in kinked(exercise):
                    z = solution.values[step.args[0]]
                    zero = z == 0
                    assert zero.any() and not zero.all(), f"{exercise_id}: {step} needs some zeros, not only zeros"
                    assert case.zeros[step.args[0]] == int(zero.sum())
                    # the gradient arriving at the ReLU is non-zero where it decides (else relu'(0) is unseen)
                    assert np.all(solution.grads[step.name][zero] != 0), f"{exercise_id} seed {seed}: {step}"
                    producer = exercise.graph.step_by_name.get(step.args[0])
                    while producer is not None and producer.gate.name == "add":  # z = h W + b
                        producer = exercise.graph.step_by_name.get(producer.args[0])
                    if producer is not None and producer.gate.name == "matmul":  # z = h W: h is not zeroed
                        h = solution.values[producer.args[0]]
                        rows = np.unique(np.argwhere(zero)[:, 0])
                        assert np.all(np.any(h[rows] != 0, axis=1)), f"{exercise_id}: a zero row of h zeroes z"


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_relu_one_at_zero_changes_the_expected_returns_at_every_relu(exercise_id):
    """A `z >= 0` mask at any one ReLU, or at all of them, gives other returns in every zero case (in the
    three-layer exercise it used to score 1: the zero case zeroed a row of x, which changes nothing)."""
    exercise = EXERCISES[exercise_id]
    every = dict.fromkeys([s.name for s in kinked(exercise)], one)
    for seed in SEEDS:
        for attempt in ATTEMPTS:
            wrong = 0
            for case in zero_cases(exercise, seed, attempt):
                assert wrong_entries(exercise, returns_with(exercise, case, {}), case.returns) == 0  # the reference
                for step in kinked(exercise):
                    varied = returns_with(exercise, case, {step.name: one})
                    assert wrong_entries(exercise, varied, case.returns) >= 2, f"{exercise_id} seed {seed}: {step}"
                wrong += wrong_entries(exercise, returns_with(exercise, case, every), case.returns)
            assert wrong >= 10, f"{exercise_id} seed {seed} attempt {attempt}: relu'(0) = 1 shows in {wrong} entries"


def deciding_zeros(exercise, case) -> int:
    """The exact zeros of ReLU inputs where relu'(0) = 1 at that entry alone changes the returns."""
    solution, _ = rebuilt(exercise, case)
    count = 0
    for step in kinked(exercise):
        z = solution.values[step.args[0]]
        at_zero = float(step.gate.local_grad(np.zeros(()), np.zeros(()), **step.options))  # 0, or α if leaky
        for index in map(tuple, np.argwhere(z == 0)):
            def at_index(zz, index=index, at_zero=at_zero):
                local = np.full_like(zz, at_zero)
                local[index] = 1.0
                return local
            count += wrong_entries(exercise, returns_with(exercise, case, {step.name: at_index}), case.returns) > 0
    return count


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_a_coin_flip_at_zero_passes_with_probability_below_one_in_a_million(exercise_id):
    """A function that takes relu'(0) as 0 or 1 at random passes an attempt only if every zero that decides
    falls on 0: probability 2**-k for k deciding zeros across the attempt's zero cases."""
    exercise = EXERCISES[exercise_id]
    for seed in SEEDS:
        for attempt in ATTEMPTS:
            k = sum(deciding_zeros(exercise, case) for case in zero_cases(exercise, seed, attempt))
            assert 0.5 ** k < 1e-6, f"{exercise_id} seed {seed} attempt {attempt}: only {k} zeros decide"


@pytest.mark.parametrize("exercise_id", WITH_RELU)
def test_a_coin_flip_at_zero_fails_every_attempt(exercise_id):
    """np.where(z == 0, rng.random(z.shape) < 0.5, z > 0) at every ReLU, replayed by the engine: some zero
    case gives other returns, in every one of 25 tries on each of 32 attempts."""
    exercise = CATALOGUE[exercise_id]
    rng = np.random.default_rng(0)

    def coin(z):
        return (rng.random(z.shape) < 0.5).astype(float)

    for seed in SEEDS:
        for attempt in ATTEMPTS:
            cases = zero_cases(exercise, seed, attempt)
            for _ in range(25):
                flips = dict.fromkeys([s.name for s in kinked(exercise)], coin)
                assert any(wrong_entries(exercise, returns_with(exercise, c, flips), c.returns) for c in cases)


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_zero_cases_are_the_same_for_the_same_attempt_and_fresh_for_the_next(exercise_id):
    exercise = EXERCISES[exercise_id]
    first, again, other = (zero_cases(exercise, 3, a) for a in (1, 1, 2))
    for a, b in zip(first, again, strict=True):
        assert a.args.keys() == b.args.keys()
        assert all(np.array_equal(a.args[k], b.args[k]) for k in a.args)
        assert all(np.array_equal(x, y) for x, y in zip(a.returns, b.returns, strict=True))
    assert any(not np.array_equal(a.args[k], b.args[k]) for a, b in zip(first, other, strict=True) for k in a.args)


def test_the_zero_cases_alternate_columns_at_the_largest_sizes():
    exercise = CATALOGUE["code-relu-backward"]
    first, second = zero_cases(exercise, 0, 0)
    assert first.dims == second.dims == {"N": 5, "D": 6}
    assert np.all(first.args["z"][:, ::2] == 0) and np.all(first.args["z"][:, 1::2] != 0)
    assert np.all(second.args["z"][:, 1::2] == 0) and np.all(second.args["z"][:, ::2] != 0)


def test_a_relu_input_that_cannot_be_exactly_zero_gets_no_zero_case():
    exercise = parse_exercise({
        "id": "code-relu-of-sigmoid", "title": "t", "kind": "code", "prompt": "p",
        "dims": {"N": {"integers": [1, 3]}}, "inputs": {"z": {"shape": ["N", 2], "random": {"normal": [0, 1]}}},
        "graph": ["s = sigmoid(z)", "h = relu(s)"],
        "upstream": {"h": {"shape": ["N", 2], "random": {"normal": [0, 1]}}},
        "function": {"name": "f", "args": {"dout": "grad(h)", "z": "z"}, "returns": ["grad(z)"],
                     "starter": "def f(dout, z):\n    pass\n"},
    })
    assert RELU_ZERO not in case_plan(exercise)  # a sigmoid's output is never 0: nothing to claim
    assert "ReLU" not in exercise.code_rules
    assert [c.kind for c in code_test_cases(exercise, 0)] == case_plan(exercise)


def test_the_leaky_relu_exercise_needs_several_zero_cases():
    plan = case_plan(LEAKY)
    assert plan.count(RELU_ZERO) >= 3  # 3 rows of 3 columns at most: a few zeros per case
    assert "ReLU inputs at exactly 0" in LEAKY.code_rules


# --- the same, run in the sandbox ------------------------------------------------------------------------

RELU_CODE = """
import numpy as np

def relu_backward(dout, z):
    return dout * MASK
"""
THREE_LAYER_CODE = """
import numpy as np

def relu_grad(z):
    return MASK

def three_layer_backward(x, y, W1, W2, W3):
    z1 = x @ W1; h1 = np.maximum(z1, 0)
    z2 = h1 @ W2; h2 = np.maximum(z2, 0)
    z3 = h2 @ W3; out = 1 / (1 + np.exp(-z3))
    g = (out - y) * out * (1 - out)
    dW3 = h2.T @ g
    g = (g @ W3.T) * relu_grad(z2)
    dW2 = h1.T @ g
    g = (g @ W2.T) * relu_grad(z1)
    return x.T @ g, dW2, dW3
"""
MASKS = {"right": "(z > 0)", "one at zero": "(z >= 0)",
         "coin at zero": "np.where(z == 0, np.random.default_rng().random(z.shape) < 0.5, z > 0)"}


@pytest.mark.parametrize(("exercise_id", "code"), [("code-relu-backward", RELU_CODE),
                                                   ("code-three-layer-backward", THREE_LAYER_CODE)])
def test_in_the_sandbox_only_the_zero_cases_catch_a_guess_at_zero(pool, exercise_id, code):
    from grader.grading.code import grade_code

    exercise = CATALOGUE[exercise_id]
    for attempt in range(1, 5):
        zero = [i for i, c in enumerate(code_test_cases(exercise, 11, attempt)) if c.kind == RELU_ZERO]
        scores = {}
        for name, mask in MASKS.items():
            result = grade_code(exercise, 11, code.replace("MASK", mask), pool=pool, attempt=attempt)
            assert result.status == "graded", result.message
            scores[name] = result.score
            failed = [i for i, part in enumerate(result.parts) if part.status != "correct"]
            if name == "one at zero":
                assert failed == zero, [p.message for p in result.parts]  # every zero case, nothing else
            elif name == "coin at zero":
                assert failed and set(failed) <= set(zero)
        assert scores["right"] == 1.0 and scores["one at zero"] < 1.0 and scores["coin at zero"] < 1.0, scores


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_the_graders_count_of_deciding_zeros_is_the_full_replays(exercise_id):
    """cases.deciding_zeros carries only the extra gradient down from the ReLU (the backward pass is linear);
    replaying the whole backward pass with the varied gate, as above, counts the same zeros."""
    from grader.exercises.cases import deciding_zeros as graders_count

    exercise = EXERCISES[exercise_id]
    for seed in range(3):
        for case in zero_cases(exercise, seed, 1):
            solution, _ = rebuilt(exercise, case)
            assert graders_count(exercise, solution) == deciding_zeros(exercise, case)
