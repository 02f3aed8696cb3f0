"""grade_answers: the result structure, scores, format errors, partial credit, answer keys, tolerance in words,
the notebook's chain with follow-through, numpy-printed matrices, and the `exercises grade` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader.cli import exercises_cli
from grader.exercises import load_catalogue, make_variant
from grader.grading.numeric import grade_answers
from grader.grading.result import CORRECT, INCORRECT, INVALID, PARTIAL

CATALOGUE = Path(__file__).resolve().parents[2] / "exercises"
TOLERANCE_WORDS = "within 1% of the exact value"

# The notebook's chain towards W1_22, each step rounded by hand (exact: −0.30903, −0.06599, −0.05279,
# −0.013113, −0.0026227).
HAND_ROUNDED = ["-0.309", "-0.066", "-0.053", "-0.0131", "-0.00262"]
# The numbers of the chain, to follow a wrong step 2 forward by hand (not with the engine).
W2_21, X_2, Z1_2 = 0.8, 0.2, 0.1 * 0.4 + 0.2 * 0.6
SIG_Z1_2 = 1 / (1 + np.exp(-Z1_2))
DW3_NUMPY = "[[0.11214822 0.00065075]\n [0.08597502 0.00049888]]"

PART_KEYS = {"index", "label", "status", "score", "points", "message", "diagnosis", "marks", "format_error",
             "given", "expected", "follow_through", "details"}


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(CATALOGUE)


@pytest.fixture(scope="module")
def variant(catalogue):
    return lambda exercise_id, seed=0: make_variant(catalogue[exercise_id], seed)


def exact_answers(v) -> dict[int, object]:
    return {i: v.expected(ask).tolist() for i, ask in enumerate(v.exercise.asks)}


# --- the result structure ---------------------------------------------------------------------------------

def test_result_is_json_serialisable_with_every_part_field(variant):
    v = variant("seed-chain-w1-22")
    answers = {0: "-0.309", 1: "0.5", 2: "abc", 3: "-0.0131", 4: "-0.00262"}
    result = grade_answers(v, answers).to_dict()
    again = json.loads(json.dumps(result))
    assert again == result
    assert set(result) == {"kind", "status", "score", "parts", "tolerance", "message", "diagnosis"}
    assert result["diagnosis"] is None  # the summary diagnosis is for code exercises
    assert result["kind"] == "numeric"
    assert [p["index"] for p in result["parts"]] == [0, 1, 2, 3, 4]
    for part in result["parts"]:
        assert set(part) == PART_KEYS
        assert part["status"] in (CORRECT, INCORRECT, PARTIAL, INVALID)
        assert 0.0 <= part["score"] <= 1.0
        assert part["message"]
        assert part["expected"] is None  # not revealed
    assert [p["status"] for p in result["parts"]] == [CORRECT, INCORRECT, INVALID, CORRECT, CORRECT]


def test_expected_only_with_reveal(variant):
    v = variant("seed-two-layer-w1-22")
    hidden = grade_answers(v, {0: "1"})
    shown = grade_answers(v, {0: "1"}, reveal=True)
    assert hidden.parts[0].expected is None
    assert shown.parts[0].expected == pytest.approx(-0.0026226946, rel=1e-7)
    assert all(p["expected"] is None for p in hidden.to_dict()["parts"])


def test_correct_part_fields(variant):
    v = variant("seed-two-layer-w1-22")
    result = grade_answers(v, {0: "-0.00262"})
    part = result.parts[0]
    assert (result.status, result.score, result.uses_attempt) == ("graded", 1.0, True)
    assert (part.status, part.score, part.marks, part.diagnosis) == (CORRECT, 1.0, True, None)
    assert part.given == pytest.approx(-0.00262)
    assert part.message == f"Correct: {TOLERANCE_WORDS} (or 1e-06 absolute)."


def test_wrong_part_fields(variant):
    v = variant("seed-two-layer-w1-22")
    part = grade_answers(v, {0: "0.5"}).parts[0]
    assert (part.status, part.score, part.marks) == (INCORRECT, 0.0, False)
    assert part.message.startswith(f"Not {TOLERANCE_WORDS}")


def test_tolerance_in_words(variant):
    result = grade_answers(variant("seed-two-layer-w1-22"), {0: "1"})
    assert result.tolerance == f"{TOLERANCE_WORDS} (or 1e-06 absolute)"
    assert TOLERANCE_WORDS in result.parts[0].message


# --- scores -----------------------------------------------------------------------------------------------

def test_overall_score_is_weighted_by_points(variant):
    v = variant("branch-sum", 3)
    assert [a.points for a in v.exercise.asks] == [1, 1, 1, 2]
    answers = exact_answers(v)
    assert grade_answers(v, answers).score == 1.0
    wrong_x = {**answers, 3: (np.asarray(answers[3]) * 3 + 1).tolist()}
    assert grade_answers(v, wrong_x).score == pytest.approx(3 / 5)
    wrong_f = {**answers, 0: (np.asarray(answers[0]) * 3 + 1).tolist()}
    assert grade_answers(v, wrong_f).score == pytest.approx(4 / 5)
    nothing_right = {i: "12345" for i in answers}
    result = grade_answers(v, nothing_right)
    assert (result.score, result.status) == (0.0, "graded")


def test_partial_credit_entry_by_entry(variant):
    v = variant("seed-three-layer-matrix")
    exact = v.expected(v.exercise.asks[0])  # dW1, 3×3
    given = exact.copy()
    given[0, 1] *= 2
    given[2, 2] = -given[2, 2]
    answers = {**exact_answers(v), 0: given.tolist()}
    result = grade_answers(v, answers)
    part = result.parts[0]
    assert part.status == PARTIAL
    assert part.score == pytest.approx(7 / 9)
    assert part.marks == [[True, False, True], [True, True, True], [True, True, False]]
    assert "7 of 9 entries are right" in part.message
    assert result.score == pytest.approx((7 / 9 + 1 + 1) / 3, abs=1e-6)


# --- format errors: invalid, no attempt used, the message beside the part ---------------------------------

@pytest.mark.parametrize(("ask", "typed", "kind", "words"), [
    (0, "[[1, 2, 3], [4, 5, x], [7, 8, 9]]", "not_a_number", "row 2, column 3"),
    (0, "[[1, 2], [3, 4]]", "shape", "expected a 3×3 matrix, got a 2×2 matrix"),
    (1, "[[1, 2, 3], [4, 5, 6]]", "transposed", "this looks transposed: expected 3×2, got 2×3"),
    (2, "", "empty", "empty"),
    (2, "[[nan, 1], [1, 1]]", "not_finite", "row 1, column 1"),
    (2, "[[1, inf], [1, 1]]", "not_finite", "row 1, column 2"),
])
def test_format_error_is_invalid_and_uses_no_attempt(variant, ask, typed, kind, words):
    v = variant("seed-three-layer-matrix")
    answers = {**exact_answers(v), ask: typed}
    result = grade_answers(v, answers)
    part = result.parts[ask]
    assert part.status == INVALID and part.score == 0.0
    assert part.format_error["kind"] == kind
    assert words in part.message
    assert part.message == part.format_error["message"]
    assert result.status == "invalid" and not result.uses_attempt and result.score == 0.0
    assert part.label in result.message and "did not use an attempt" in result.message
    others = [p.status for p in result.parts if p.index != ask]
    assert others == [CORRECT, CORRECT]  # the readable parts are still graded, for the page


def test_missing_answer_is_invalid(variant):
    result = grade_answers(variant("seed-two-layer-w1-22"), {})
    assert result.parts[0].status == INVALID and not result.uses_attempt


def test_nan_number_is_invalid(variant):
    result = grade_answers(variant("seed-two-layer-w1-22"), {0: float("nan")})
    assert result.parts[0].status == INVALID
    assert result.parts[0].format_error["kind"] == "not_finite"


# --- answers keyed by index, str index or label -----------------------------------------------------------

@pytest.mark.parametrize("key", [4, "4", "dL/dW1_22"])
def test_answer_keys(variant, key):
    v = variant("seed-chain-w1-22")
    result = grade_answers(v, {key: "-0.00262"})
    assert result.parts[4].status == CORRECT
    assert all(p.status == INVALID for p in result.parts[:4])


# --- the notebook's chain and follow-through --------------------------------------------------------------

def test_notebook_hand_rounded_chain_scores_full_marks(variant):
    result = grade_answers(variant("seed-chain-w1-22"), dict(enumerate(HAND_ROUNDED)))
    assert result.score == 1.0
    assert all(p.status == CORRECT and not p.follow_through and p.diagnosis is None for p in result.parts)


def chain_from_step_2(step2: float) -> list[float]:
    """Steps 3-5 carried forward by hand from a given step 2."""
    step3 = step2 * W2_21
    step4 = step3 * SIG_Z1_2 * (1 - SIG_Z1_2)
    return [step3, step4, step4 * X_2]


def test_wrong_step_2_then_right_given_it_earns_steps_3_to_5(variant):
    step2 = -0.309 * 0.2414  # the notebook's misprinted local gradient 0.2414 for σ'(z2)
    steps = [-0.309, step2, *chain_from_step_2(step2)]
    result = grade_answers(variant("seed-chain-w1-22"), dict(enumerate(steps)))
    parts = result.parts
    assert result.score == pytest.approx(0.8)
    assert (parts[0].status, parts[0].follow_through) == (CORRECT, False)
    assert (parts[1].status, parts[1].score, parts[1].follow_through) == (INCORRECT, 0.0, False)
    for part in parts[2:]:
        assert (part.status, part.score, part.follow_through) == (CORRECT, 1.0, True)
        assert "Right given your own answer" in part.message and "carried forward" in part.message
        assert np.all(part.marks) and part.diagnosis is None
    # each step follows on from the one before it
    assert "'dL/dz2'" in parts[2].message and "'dL/dh1_2'" in parts[3].message


def test_step_3_wrong_given_step_2_gets_nothing(variant):
    step2 = -0.309 * 0.2414
    step3, step4, step5 = chain_from_step_2(step2)
    steps = [-0.309, step2, step3 * 1.5, step4, step5]
    parts = grade_answers(variant("seed-chain-w1-22"), dict(enumerate(steps))).parts
    assert (parts[2].status, parts[2].score, parts[2].follow_through) == (INCORRECT, 0.0, False)
    assert "Right given" not in parts[2].message


def test_follow_through_is_only_for_chains_that_allow_it(catalogue):
    from dataclasses import replace

    exercise = replace(catalogue["seed-chain-w1-22"], follow_through=False)
    step2 = -0.309 * 0.2414
    steps = [-0.309, step2, *chain_from_step_2(step2)]
    result = grade_answers(make_variant(exercise, 0), dict(enumerate(steps)))
    assert result.score == pytest.approx(0.2)
    assert not any(p.follow_through for p in result.parts)


def test_numpy_printed_matrix_is_read_and_correct(variant):
    v = variant("seed-three-layer-matrix")
    result = grade_answers(v, {**exact_answers(v), 2: DW3_NUMPY})
    part = result.parts[2]
    assert part.status == CORRECT and part.marks == [[True, True], [True, True]]
    assert part.given == [[0.11214822, 0.00065075], [0.08597502, 0.00049888]]
    assert result.score == 1.0


# --- the CLI ----------------------------------------------------------------------------------------------

def run(app, *args):
    return app.test_cli_runner().invoke(exercises_cli, list(args))


def test_cli_grade_prints_the_result_structure(app):
    answers = json.dumps({"0": "-0.309", "dL/dz2": -0.066, "2": "-0.053", "3": "-0.0131", "4": "-2.62e-3"})
    result = run(app, "grade", "seed-chain-w1-22", "--seed", "0", "--answers", answers, "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["status"], printed["score"], printed["kind"]) == ("graded", 1.0, "numeric")
    assert [p["status"] for p in printed["parts"]] == [CORRECT] * 5
    assert set(printed["parts"][0]) == PART_KEYS
    assert printed["parts"][4]["expected"] == pytest.approx(-0.0026226946, rel=1e-7)  # instructor tool
    assert TOLERANCE_WORDS in printed["tolerance"]


def test_cli_grade_names_a_diagnosed_mistake(app):
    answers = json.dumps({"0": 0.0026226946})  # the sign error
    result = run(app, "grade", "seed-two-layer-w1-22", "--answers", answers, "--json")
    assert result.exit_code == 0, result.output
    part = json.loads(result.output)["parts"][0]
    assert part["diagnosis"]["mistake"] == "sign_error" and part["diagnosis"]["gates"] == ["L"]


@pytest.mark.parametrize(("answers", "words"), [
    ('{"0": -0.0026', "not JSON"),
    ("", "not JSON"),
    ("[-0.0026]", "expected a JSON object"),
])
def test_cli_grade_bad_answers_json_is_a_clear_error(app, answers, words):
    result = run(app, "grade", "seed-two-layer-w1-22", "--answers", answers, "--json")
    assert result.exit_code == 2
    assert "--answers" in result.output and words in result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, (ValueError, KeyError, TypeError))


def test_an_unreadable_box_reveals_nothing_about_the_others():
    from grader.exercises import load_catalogue, make_variant
    from grader.grading.numeric import grade_answers

    exercise = load_catalogue("exercises")["seed-chain-w1-22"]
    result = grade_answers(make_variant(exercise, 0), {"0": "-0.309", "1": "oops", "2": "5", "3": "5", "4": "5"},
                           reveal=True)
    assert result.parts[0].status == "correct"  # the library grades what it can read (instructor tools)...
    result.withhold_ungraded()  # ...and the service withholds it from students
    assert result.status == "invalid" and not result.uses_attempt
    assert result.parts[1].status == "invalid"
    for part in (result.parts[0], *result.parts[2:]):
        assert part.status == "not_graded" and part.marks is None and part.diagnosis is None
        assert part.expected is None and part.score == 0.0
