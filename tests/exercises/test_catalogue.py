"""The catalogue: the seed examples solve to the published numbers; variants are deterministic."""

import json
from pathlib import Path

import numpy as np
import pytest

from grader.exercises import load_catalogue, make_variant, solve
from grader.exercises.variants import degeneracy, is_random

CATALOGUE = Path(__file__).resolve().parents[2] / "exercises"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(CATALOGUE)


def test_the_catalogue_is_large_and_varied(catalogue):
    assert len(catalogue) >= 12
    assert {e.kind for e in catalogue.values()} == {"numeric", "code"}
    assert any(e.follow_through for e in catalogue.values())
    assert any(a.kind == "jacobian" for e in catalogue.values() for a in e.asks)
    assert any(e.upstream for e in catalogue.values())


def test_seed_two_layer(catalogue):
    worked = solve(catalogue["seed-two-layer-w1-22"], seed=0)
    assert worked["answers"][0]["expected"] == pytest.approx(-0.0026226946, abs=1e-9)
    grads = worked["grads"]
    assert grads["out"][0][0] == pytest.approx(-0.30903174, abs=1e-8)
    assert grads["z2"][0][0] == pytest.approx(-0.06598789, abs=1e-8)
    assert grads["h1"][0][1] == pytest.approx(-0.05279031, abs=1e-8)
    assert grads["z1"][0][1] == pytest.approx(-0.01311347, abs=1e-8)
    assert worked["local_grads"]["out"][0][0] == pytest.approx(0.21353112, abs=1e-8)


def test_seed_three_layer_matrix(catalogue):
    exercise = catalogue["seed-three-layer-matrix"]
    assert [(a.kind, a.node, a.index) for a in exercise.asks] == [("grad", "W1", None), ("grad", "W2", None),
                                                                   ("grad", "W3", None)]
    dW1, dW2, dW3 = (np.array(a["expected"]) for a in solve(exercise, seed=0)["answers"])
    np.testing.assert_allclose(dW3, [[0.11214822, 0.00065075], [0.08597502, 0.00049888]], atol=1e-8)
    np.testing.assert_allclose(dW2, [[0.01584061, 0.02373813], [0.0155206, 0.02325858],
                                     [0.01664064, 0.02493703]], atol=1e-8)
    np.testing.assert_allclose(dW1, [[0.02087045, 0.01223012, 0.01079834], [0.00463788, 0.0027178, 0.00239963],
                                     [0.01623257, 0.00951231, 0.00839871]], atol=1e-8)


def test_variants_are_deterministic_and_differ_by_seed(catalogue):
    for exercise in catalogue.values():
        a, b = make_variant(exercise, 7), make_variant(exercise, 7)
        for name in a.leaves:
            np.testing.assert_array_equal(a.leaves[name], b.leaves[name])
    randomized = catalogue["two-layer-random"]
    draws = {tuple(make_variant(randomized, seed).leaves["W1"].ravel()) for seed in range(20)}
    assert len(draws) > 15


def test_variants_are_never_degenerate(catalogue):
    randomized = [e for e in catalogue.values() if is_random(e)]
    assert len(randomized) >= 8
    for exercise in randomized:
        for seed in range(30):
            assert degeneracy(exercise, make_variant(exercise, seed).solution) == ""


def test_degenerate_draws_are_redrawn():
    from grader.exercises import parse_exercise

    exercise = parse_exercise({
        "id": "kinky", "title": "t", "kind": "numeric", "prompt": "p",
        "inputs": {"x": {"shape": [1, 3], "random": {"integers": [-1, 1]}}},
        "graph": ["h = relu(x)", "L = sum(h)"], "ask": [{"grad": "x"}],
    })
    for seed in range(10):
        x = make_variant(exercise, seed).leaves["x"]
        assert np.all(np.abs(x) >= 1e-3)  # integer draws of 0 sit on the kink and are drawn again


def test_solve_json_shape(catalogue):
    worked = solve(catalogue["seed-two-layer-w1-22"], seed=3)
    assert set(worked) >= {"id", "seed", "values", "grads", "answers", "trace"}
    assert isinstance(worked["values"]["L"], float)  # a scalar is a bare number
    assert [step["node"] for step in worked["trace"]] == ["L", "out", "z2", "h1", "z1"]
    json.dumps(worked)


def test_code_exercises_solve_to_test_cases(catalogue):
    code = [e for e in catalogue.values() if e.kind == "code"]
    assert len(code) >= 4
    for exercise in code:
        answers = solve(exercise, seed=1)["answers"]
        assert len(answers) > exercise.tests["count"]  # plus the edge cases
        assert len(answers[0]["returns"]) == len(exercise.function.returns)
