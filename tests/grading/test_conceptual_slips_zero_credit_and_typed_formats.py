"""Conceptual slips that could hide inside the rounding band are named, zeros carry no credit (structural
zeros earn nothing on their own), and the formats students type are read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.exercises import load_catalogue, make_variant
from grader.grading.numeric import grade_answers
from grader.grading.reader import read_answer
from grader.grading.result import INCORRECT, INVALID, PARTIAL

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[2] / "exercises")


def grade(exercise_id: str, answers: dict, seed: int = 0):
    return grade_answers(make_variant(CATALOGUE[exercise_id], seed), answers)


def test_the_derivative_taken_at_the_output_is_named_not_accepted_as_rounding():
    # sigma'(out) in place of sigma'(z2) on the notes' own network, to four figures: 2.5% off the truth.
    result = grade("seed-two-layer-w1-22", {"0": "-0.002558"})
    part = result.parts[0]
    assert result.score == 0 and part.status == INCORRECT
    assert part.diagnosis["mistake"] == "derivative_at_output" and "g'(h) in place of g'(z)" in part.message
    chain = grade("seed-chain-w1-22", {"0": "-0.309", "1": "-0.06872", "2": "-0.05498", "3": "-0.01279",
                                       "4": "-0.002558"})
    assert chain.parts[1].diagnosis["mistake"] == "derivative_at_output" and chain.score < 1


def test_the_output_formula_fed_with_z_is_named():
    variant = make_variant(CATALOGUE["gate-sigmoid"], 0)
    z = variant.leaves["z"]
    wrong_local = z * (1 - z)  # h(1 - h) with z put in for h
    index = next(i for i, ask in enumerate(variant.exercise.asks) if ask.kind == "local_grad")
    result = grade_answers(variant, {str(index): wrong_local.tolist()})
    assert result.parts[index].diagnosis["mistake"] == "formula_on_input"
    assert "You put z into the derivative's formula" in result.parts[index].message


def test_one_gate_on_the_numbers_shown_has_no_rounding_band():
    variant = make_variant(CATALOGUE["gate-sigmoid"], 0)
    index = next(i for i, ask in enumerate(variant.exercise.asks) if ask.kind == "value")
    four_percent_off = variant.expected(variant.exercise.asks[index]) * 1.04
    part = grade_answers(variant, {str(index): four_percent_off.tolist()}).parts[index]
    assert part.status == INCORRECT and part.score == 0 and part.diagnosis is None


def test_the_rounding_band_still_credits_a_chain_rounded_by_hand():
    # The notes' hand-rounded chain (two figures at each step) keeps full marks.
    result = grade("seed-chain-w1-22", dict(enumerate(["-0.309", "-0.066", "-0.053", "-0.0131", "-0.00262"])))
    assert result.score == 1


def test_zeros_carry_no_credit_forward():
    result = grade("seed-chain-w1-22", {str(i): "0" for i in range(5)})
    assert result.score == 0 and not any(part.follow_through for part in result.parts)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_diagonal_jacobians_zeros_earn_nothing_on_their_own(seed):
    variant = make_variant(CATALOGUE["jacobian-sigmoid-layer"], seed)
    asks = variant.exercise.asks
    index = next(i for i, ask in enumerate(asks) if ask.kind == "jacobian")
    right = variant.expected(asks[index])
    n = right.shape[0]

    def score(answer: np.ndarray) -> float:
        return grade_answers(variant, {str(index): answer.tolist()}).parts[index].score

    assert score(np.zeros_like(right)) == 0 and score(np.eye(n)) == 0
    one_slip = right.copy()
    one_slip[0, 0] *= 2
    assert score(one_slip) == pytest.approx((n - 1) / n)  # a real slip on the diagonal: partial credit
    junk = right + (1 - np.eye(n)) * 0.5
    assert score(junk) == pytest.approx(n / (n + n * n - n))  # right diagonal, wrong everywhere else
    part = grade_answers(variant, {str(index): one_slip.tolist()}).parts[index]
    assert part.status == PARTIAL and "Entries that are exactly 0 earn no credit on their own." in part.message


@pytest.mark.parametrize("text", ["-2.62*10^(-3)", "-2.62 × 10^-3", "-2.62 x 10^(-3)", "-2.62*10**-3",
                                  "−2.62 · 10^−3"])
def test_times_ten_to_the_forms(text):
    assert read_answer(text) == pytest.approx(-0.00262)


@pytest.mark.parametrize("text", ["2*10^2.5", "[2*10^1.5]", "[1.1x10^0.5 3]", "2 x 10^-1.5"])
def test_a_decimal_power_of_ten_is_not_split_into_two_numbers(text):
    from grader.grading.reader import AnswerFormatError

    with pytest.raises(AnswerFormatError):
        read_answer(text)


@pytest.mark.parametrize("text", ["dW3: [[0.11214822 0.00065075]\n [0.08597502 0.00049888]]",
                                  "The gradient of the weights, dW3: [[0.11214822 0.00065075]\n"
                                  " [0.08597502 0.00049888]]"])
def test_the_notes_labelled_printouts(text):
    assert read_answer(text).tolist() == [[0.11214822, 0.00065075], [0.08597502, 0.00049888]]


def test_a_decimal_comma_gets_a_hint():
    part = grade("seed-two-layer-w1-22", {"0": "-0,00262"}).parts[0]
    assert part.status == INVALID and "write a point: -0.00262" in part.message
    assert part.format_error["message"] == part.message


def test_the_random_three_layer_network_switches_relus_off():
    # With only positive numbers every ReLU was on, and leaving out its mask could never be caught.
    exercise = CATALOGUE["three-layer-random"]
    off = sum(bool((v.solution.values["z1"] <= 0).any() or (v.solution.values["z2"] <= 0).any())
              for v in (make_variant(exercise, seed) for seed in range(200)))
    assert off >= 120
