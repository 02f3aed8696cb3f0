"""Naming the mistake in a wrong backward function (grader.grading.code_mistakes), without the sandbox.

The functions here are our own, run in this process on the catalogue's test cases; the end-to-end corpus
(tests/grading/test_code_corpus.py) sends real-looking submissions through the sandbox."""

from pathlib import Path

import numpy as np
import pytest

from grader.exercises import load_catalogue
from grader.exercises import test_cases as cases_of
from grader.grading import code_mistakes
from grader.grading.code import repro
from grader.grading.tolerance import Tolerance

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[2] / "exercises")
TOLERANCE = Tolerance.from_spec(None, "code")


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def three_layer(x, y, W1, W2, W3, *, sign=1.0, factor=1.0, mask=lambda z: z > 0, mean=False, transpose=False):
    z1 = x @ W1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ W2
    h2 = np.maximum(z2, 0)
    out = sigmoid(h2 @ W3)
    g = factor * sign * (out - y) * out * (1 - out)
    if mean:
        g = g / x.shape[0]
    dW3 = h2.T @ g
    g = (g @ W3.T) * mask(z2)
    dW2 = h1.T @ g
    g = (g @ W2.T) * mask(z1)
    dW1 = x.T @ g
    return (dW1.T, dW2, dW3) if transpose else (dW1, dW2, dW3)


WRONG = [  # (exercise, expected mistake, the wrong function)
    ("code-affine-backward", "batch_mean", lambda dout, x, W: (dout @ W.T / len(x), x.T @ dout / len(x))),
    ("code-affine-backward", "transposed", lambda dout, x, W: (dout @ W.T, dout.T @ x)),
    ("code-affine-backward", "ignored_upstream", lambda dout, x, W: (np.ones_like(dout) @ W.T,
                                                                     x.T @ np.ones_like(dout))),
    ("code-affine-backward", "wrong_order", lambda dout, x, W: (x.T @ dout, dout @ W.T)),
    ("code-affine-backward", "squeezed", lambda dout, x, W: (np.squeeze(dout @ W.T), x.T @ dout)),
    ("code-relu-backward", "forgot_local_grad", lambda dout, z: dout.copy()),
    ("code-relu-backward", "relu_wrong_side", lambda dout, z: dout * (z < 0)),
    ("code-relu-backward", "ignored_upstream", lambda dout, z: (z > 0) * 1.0),
    ("code-sigmoid-backward", "used_output", lambda dout, z: dout * sigmoid(z)),
    ("code-sigmoid-backward", "derivative_at_output", lambda dout, z: dout * sigmoid(sigmoid(z))
     * (1 - sigmoid(sigmoid(z)))),
    ("code-sigmoid-backward", "formula_on_input", lambda dout, z: dout * z * (1 - z)),
    ("code-sigmoid-backward", "negated", lambda dout, z: -dout * sigmoid(z) * (1 - sigmoid(z))),
    ("code-three-layer-backward", "sign_error", lambda **a: three_layer(**a, sign=-1.0)),
    ("code-three-layer-backward", "factor_two", lambda **a: three_layer(**a, factor=2.0)),
    ("code-three-layer-backward", "batch_mean", lambda **a: three_layer(**a, mean=True)),
    ("code-three-layer-backward", "forgot_local_grad", lambda **a: three_layer(**a, mask=lambda z: 1.0)),
]


def _outputs(function, case):
    returned = function(**{name: value.copy() for name, value in case.args.items()})
    return [np.asarray(r, dtype=np.float64) for r in (returned if isinstance(returned, tuple) else (returned,))]


def _failed_cases(exercise, function, seeds=range(6)):
    for seed in seeds:
        for case in cases_of(exercise, seed):
            outputs = _outputs(function, case)
            if not all(o.shape == r.shape and np.all(TOLERANCE.close(o, r)) for o, r in zip(outputs, case.returns,
                                                                                          strict=True)):
                yield case, outputs


@pytest.mark.parametrize(("exercise_id", "mistake", "function"), WRONG, ids=[f"{e}-{m}" for e, m, _ in WRONG])
def test_each_mistake_is_named_in_most_failed_cases(exercise_id, mistake, function):
    exercise = CATALOGUE[exercise_id]
    failed = list(_failed_cases(exercise, function))
    assert failed, "the mistake must fail some case"
    named = [code_mistakes.diagnose_case(exercise, case, outputs, [TOLERANCE] * len(outputs))
             for case, outputs in failed]
    share = sum(d is not None and d.code == mistake for d in named) / len(named)
    assert share >= 0.9, (share, [d.code if d else None for d in named])


def test_a_diagnosis_names_the_output_and_the_gate():
    exercise = CATALOGUE["code-three-layer-backward"]
    case, outputs = next(_failed_cases(exercise, lambda **a: three_layer(**a, mask=lambda z: 1.0)))
    diagnosis = code_mistakes.diagnose_case(exercise, case, outputs, [TOLERANCE] * 3)
    assert diagnosis.code == "forgot_local_grad"
    assert set(diagnosis.gates) <= {"h1", "h2"} and diagnosis.gates
    assert "grad(W3)" not in diagnosis.outputs  # the sigmoid gate above the ReLUs was right
    assert diagnosis.message.startswith(diagnosis.outputs[0]) and "relu" in diagnosis.message


def test_right_outputs_get_no_diagnosis_and_random_errors_rarely_one():
    rng = np.random.default_rng(0)
    exercise = CATALOGUE["code-affine-backward"]
    named = total = 0
    for case in cases_of(exercise, 3):
        assert code_mistakes.diagnose_case(exercise, case, list(case.returns), [TOLERANCE] * 2) is None
        for _ in range(20):
            noisy = [r + rng.normal(0, 0.3, r.shape) for r in case.returns]
            named += code_mistakes.diagnose_case(exercise, case, noisy, [TOLERANCE] * 2) is not None
            total += 1
    assert named == 0, f"{named} of {total} random wrong answers were given a mistake's name"


def test_a_mistake_in_most_failed_tests_is_said_once_at_the_top():
    d = code_mistakes.CaseDiagnosis("batch_mean", [], "grad(W) is N = 3 times too small.", ["grad(W)"])
    other = code_mistakes.CaseDiagnosis("transposed", [], "grad(W) is transposed.", ["grad(W)"])
    top = code_mistakes.summary([(0, d), (1, d), (3, other)], failed=4)
    assert top["mistake"] == "batch_mean" and top["tests"] == [0, 1]
    assert top["message"].startswith("In 2 of the 4 failed tests: grad(W) is N times too small")
    assert code_mistakes.summary([(0, d)], failed=3) is None  # one test in three is not "most"


def test_a_hard_coded_size_is_seen_across_the_cases():
    exercise = CATALOGUE["code-relu-backward"]
    cases = cases_of(exercise, 1)
    ns = [c.dims["N"] for c in cases]
    value = max(set(ns), key=ns.count)
    passed = [n == value for n in ns]
    if sum(passed) >= 2 and not all(passed):
        assert code_mistakes.hard_coded_size(cases, passed) == {"N": value}
    assert code_mistakes.hard_coded_size(cases, [True] * len(cases)) is None
    assert code_mistakes.hard_coded_size(cases, [i == 0 for i in range(len(cases))]) is None  # one pass is luck


def test_the_reproduction_code_rebuilds_the_inputs_exactly():
    exercise = CATALOGUE["code-three-layer-backward"]
    case = cases_of(exercise, 2)[0]
    namespace = {}
    source = repro(exercise, case)
    exec("\n".join(source.splitlines()[:-1]), namespace)  # our own generated code, not a student's
    for name, value in case.args.items():
        assert np.array_equal(namespace[name], value)
    assert source.splitlines()[-1].startswith("three_layer_backward(x=x")


def test_diagnosis_stays_fast_on_many_outputs_and_long_ones():
    """A hostile function's outputs reach the trusted grader: n! orders or n² block cuts would hang it."""
    import time

    exercise = CATALOGUE["code-affine-backward"]
    case = cases_of(exercise, 0)[0]
    many = [np.zeros_like(case.returns[0])] * 9
    started = time.perf_counter()
    assert code_mistakes._shape_slip(exercise, many[:2], case.returns, [TOLERANCE] * 2, [0, 1]) is None
    assert list(code_mistakes._orders(9))[:1] and len(list(code_mistakes._orders(9))) == 36
    long = np.zeros((1, 10_000))
    want = np.ones((1, 10_000))
    assert code_mistakes._leading_block(long, want, TOLERANCE) is None
    assert time.perf_counter() - started < 1.0


def test_a_loop_over_a_fixed_range_is_found_by_its_zero_tail():
    want = np.arange(1.0, 13.0).reshape(3, 4)
    given = want.copy()
    given[:, 2:] = 0.0
    assert code_mistakes._leading_block(given, want, TOLERANCE) == (1, 2)
    assert code_mistakes._leading_block(want, want, TOLERANCE) is None


def test_a_transposed_elementwise_gradient_is_not_told_about_matrix_products():
    exercise = CATALOGUE["code-relu-backward"]
    case = next(c for c in cases_of(exercise, 4) if c.returns[0].shape[0] != c.returns[0].shape[1])
    d = code_mistakes.diagnose_case(exercise, case, [case.returns[0].T.copy()], [TOLERANCE])
    assert d.code == "transposed" and "x W" not in d.message and "shape of the thing" in d.message
