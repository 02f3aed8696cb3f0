"""Code exercises end to end: the sandbox runs the student's function, the trusted process compares.

Correct implementations of every catalogue code exercise score full marks; typical wrong ones fail with
messages that say what is wrong."""

import json
from pathlib import Path

import pytest

from grader.exercises import load_catalogue
from grader.grading.code import grade_code
from tests.sandbox.conftest import stray_processes

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[2] / "exercises")

CORRECT = {
    "code-affine-backward": """
import numpy as np

def affine_backward(dout, x, W):
    return dout @ W.T, x.T @ dout
""",
    "code-relu-backward": """
import numpy as np

def relu_backward(dout, z):
    return dout * (z > 0)
""",
    "code-sigmoid-backward": """
import numpy as np

def sigmoid_backward(dout, z):
    s = 1 / (1 + np.exp(-z))
    return dout * s * (1 - s)
""",
    "code-three-layer-backward": """
import numpy as np

def three_layer_backward(x, y, W1, W2, W3):
    z1 = x @ W1; h1 = np.maximum(z1, 0)
    z2 = h1 @ W2; h2 = np.maximum(z2, 0)
    z3 = h2 @ W3; out = 1 / (1 + np.exp(-z3))
    g = (out - y) * out * (1 - out)
    dW3 = h2.T @ g
    g = (g @ W3.T) * (z2 > 0)
    dW2 = h1.T @ g
    g = (g @ W2.T) * (z1 > 0)
    return x.T @ g, dW2, dW3
""",
}


@pytest.mark.parametrize("exercise_id", sorted(CORRECT))
def test_correct_implementations_score_full_marks(pool, exercise_id):
    result = grade_code(CATALOGUE[exercise_id], seed=5, code=CORRECT[exercise_id], pool=pool)
    assert result.status == "graded", result.message
    assert result.score == 1.0, [p.message for p in result.parts if p.status != "correct"]
    assert len(result.parts) > CATALOGUE[exercise_id].tests["count"]  # the edge cases ran too


def test_a_missing_transpose_is_a_shape_message(pool):
    code = CORRECT["code-affine-backward"].replace("x.T @ dout", "dout.T @ x")
    result = grade_code(CATALOGUE["code-affine-backward"], seed=5, code=code, pool=pool)
    assert result.score < 1.0
    failing = [p for p in result.parts if p.status != "correct"]
    assert any("has shape" in p.message and "expected" in p.message for p in failing), failing[0].message


def test_a_missing_local_gradient_names_the_wrong_entries(pool):
    code = CORRECT["code-sigmoid-backward"].replace("return dout * s * (1 - s)", "return dout")
    result = grade_code(CATALOGUE["code-sigmoid-backward"], seed=5, code=code, pool=pool)
    assert result.score == 0.0
    assert "is wrong in" in result.parts[0].message and "largest error" in result.parts[0].message


def test_hard_coded_shapes_fail_on_fresh_dims(pool):
    code = """
import numpy as np

def relu_backward(dout, z):
    out = np.zeros((3, 4))
    out[:dout.shape[0], :dout.shape[1]] = (dout * (z > 0))[:3, :4]
    return out
"""
    result = grade_code(CATALOGUE["code-relu-backward"], seed=5, code=code, pool=pool)
    assert result.score < 1.0
    assert any("has shape" in p.message for p in result.parts)


def test_relu_gradient_at_zero_is_checked(pool):
    code = CORRECT["code-relu-backward"].replace("(z > 0)", "(z >= 0)")
    result = grade_code(CATALOGUE["code-relu-backward"], seed=5, code=code, pool=pool)
    failing = [p for p in result.parts if p.status != "correct"]
    assert failing, "the edge case with inputs at exactly zero must catch z >= 0"


def test_changing_an_input_in_place_is_reported(pool):
    code = """
def relu_backward(dout, z):
    dout[z <= 0] = 0
    return dout
"""
    result = grade_code(CATALOGUE["code-relu-backward"], seed=5, code=code, pool=pool)
    assert any("in place" in p.message for p in result.parts)


def test_an_exception_shows_the_students_own_traceback(pool):
    code = "def sigmoid_backward(dout, z):\n    return dout * undefined_name\n"
    result = grade_code(CATALOGUE["code-sigmoid-backward"], seed=5, code=code, pool=pool)
    part = result.parts[0]
    assert part.message.startswith("raised NameError")
    assert all("grader" not in line and "/work" not in line for line in part.details["traceback"])


def test_a_syntax_error_is_a_format_error(pool):
    result = grade_code(CATALOGUE["code-sigmoid-backward"], seed=5, code="def f(:\n", pool=pool)
    assert result.status == "invalid" and not result.uses_attempt
    assert "line 1" in result.message


def test_the_cli_grades_a_code_file(pool, app, tmp_path):
    from grader.cli import exercises_cli

    solution = tmp_path / "affine.py"
    solution.write_text(CORRECT["code-affine-backward"])
    result = app.test_cli_runner().invoke(
        exercises_cli, ["grade", "code-affine-backward", "--seed", "3", "--code-file", str(solution), "--json"])
    assert result.exit_code == 0, result.output
    graded = json.loads(result.output)
    assert graded["status"] == "graded" and graded["score"] == 1.0
    assert graded["parts"][0]["details"]["outputs"][0]["given_shape"] == graded["parts"][0]["details"]["outputs"][0][
        "expected_shape"]


def test_the_cli_asks_for_a_code_file(app):
    from grader.cli import exercises_cli

    result = app.test_cli_runner().invoke(exercises_cli, ["grade", "code-affine-backward"])
    assert result.exit_code == 2 and "give --code-file" in result.output


@pytest.mark.parametrize("code", ["", "import numpy as np\n", "def other(dout, z):\n    return dout\n"])
def test_code_without_the_function_is_a_format_error(code):
    result = grade_code(CATALOGUE["code-relu-backward"], seed=5, code=code, pool=object())  # never reaches it
    assert result.status == "invalid" and not result.uses_attempt
    assert "does not define `relu_backward`" in result.message


def test_each_attempt_gets_fresh_test_cases():
    from grader.exercises import test_cases

    exercise = CATALOGUE["code-relu-backward"]
    first, second = test_cases(exercise, 5, attempt=1), test_cases(exercise, 5, attempt=2)
    assert [c.args["z"].shape for c in first] != [c.args["z"].shape for c in second] or not all(
        (a.args["z"] == b.args["z"]).all() for a, b in zip(first, second, strict=True))
    again = test_cases(exercise, 5, attempt=1)
    assert all((a.args["z"] == b.args["z"]).all() for a, b in zip(first, again, strict=True))  # reproducible


FORKING_AFFINE = """
import os, time
import numpy as np

def affine_backward(dout, x, W):
    if os.fork() == 0:
        os.setsid()
        os.fork()          # a second fork: four copies return from here
        time.sleep(0.05)
    return dout @ W.T, x.T @ dout
"""


def test_a_forking_function_with_correct_results_scores_1_on_50_runs(pool):
    for attempt in range(50):
        result = grade_code(CATALOGUE["code-affine-backward"], seed=attempt, code=FORKING_AFFINE, pool=pool,
                            attempt=attempt)
        assert result.status == "graded" and result.score == 1.0, (attempt, [
            p.message for p in result.parts if p.status != "correct"])
    assert stray_processes(pool) == []  # the forked copies did not outlive their runs


@pytest.mark.parametrize(("code", "words"), [
    ("import scipy\n\ndef relu_backward(dout, z):\n    return dout\n", "numpy and the Python standard library"),
    ("x = 1 / 0\n\ndef relu_backward(dout, z):\n    return dout\n", "ZeroDivisionError at line 1"),
    (CATALOGUE["code-relu-backward"].function.starter, "starter code unchanged"),
    ("def relu_backward(dout, z):\n    # todo\n    raise NotImplementedError\n", "still raises NotImplementedError"),
], ids=["missing-module", "raises-at-import", "starter", "placeholder"])
def test_what_a_student_could_not_grade_costs_no_attempt_and_is_said_once(pool, code, words):
    result = grade_code(CATALOGUE["code-relu-backward"], seed=5, code=code, pool=pool)
    assert result.status == "invalid" and not result.uses_attempt
    assert len(result.parts) == 1 and words in result.message, result.message


def test_a_test_that_hangs_fails_alone_and_the_others_are_graded(pool):
    code = ("def relu_backward(dout, z):\n    if z.shape == (1, 2):\n        while True:\n            pass\n"
            "    return dout * (z > 0)\n")
    result = grade_code(CATALOGUE["code-relu-backward"], seed=5, code=code, pool=pool)
    failed = [p for p in result.parts if p.status != "correct"]
    assert result.status == "graded" and 0 < len(failed) < len(result.parts)
    assert all("time limit" in p.message and "forbidden" not in p.message for p in failed)


def test_a_list_holding_the_one_array_is_that_array_and_a_sum_is_told_to_keep_its_shape(pool):
    listed = "def relu_backward(dout, z):\n    return [dout * (z > 0)]\n"
    assert grade_code(CATALOGUE["code-relu-backward"], seed=5, code=listed, pool=pool).score == 1.0
    summed = "import numpy as np\n\ndef relu_backward(dout, z):\n    return np.sum(dout * (z > 0))\n"
    result = grade_code(CATALOGUE["code-relu-backward"], seed=5, code=summed, pool=pool)
    assert result.score == 0.0 and "did a sum" in result.parts[0].message
    assert result.diagnosis is None or result.diagnosis["mistake"] != "hard_coded_size"
