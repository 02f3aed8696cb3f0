"""Diagnosis messages name gates as the prompts write them ("L = ½Σ(out − y)²", "z1 = x W1", "h = σ(z)"),
with the step's own node names, never the engine's gate lines ("half_sse(out, y)"); the gates highlighted
on the page are still given by node name."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine import GATES, Graph
from grader.exercises import load_catalogue, make_variant
from grader.grading.mistakes import candidates, describe_gate
from grader.grading.numeric import grade_answers

CATALOGUE = load_catalogue(Path(__file__).resolve().parents[2] / "exercises")
# Gate names that the prompts never write: a message containing "name(" uses the engine's words.
ENGINE_ONLY = ("half_sse", "mse", "softmax_cross_entropy", "matmul", "mul", "add", "sub", "sigmoid", "identity",
               "sum")


def steps_of(lines: list[str], shapes: dict) -> dict[str, object]:
    return Graph.parse(lines, shapes).step_by_name


@pytest.mark.parametrize(("lines", "shapes", "node", "shown"), [
    (["z1 = matmul(x, W1)"], {"x": (1, 2), "W1": (2, 2)}, "z1", "z1 = x W1"),
    (["h = sigmoid(z)"], {"z": (1, 2)}, "h", "h = σ(z)"),
    (["h1 = tanh(p)"], {"p": ()}, "h1", "h1 = tanh(p)"),
    (["h2 = relu(z2)"], {"z2": (1, 2)}, "h2", "h2 = relu(z2)"),
    (["h = leaky_relu(z, alpha=0.1)"], {"z": (1, 3)}, "h", "h = leaky_relu(z)"),
    (["out = identity(z2)"], {"z2": (1, 1)}, "out", "out = z2"),
    (["s = softmax(z)"], {"z": (1, 3)}, "s", "s = softmax(z)"),
    (["p = mul(w1, x)"], {"w1": (), "x": ()}, "p", "p = w1·x"),
    (["f = add(h1, h2)"], {"h1": (), "h2": ()}, "f", "f = h1 + h2"),
    (["d = sub(a, b)"], {"a": (), "b": ()}, "d", "d = a − b"),
    (["S = sum(a)"], {"a": (1, 2)}, "S", "S = Σ a"),
    (["m = mean(a)"], {"a": (1, 2)}, "m", "m = mean(a)"),
    (["e = exp(a)"], {"a": (1, 2)}, "e", "e = exp(a)"),
    (["L = half_sse(out, y)"], {"out": (1, 1), "y": (1, 1)}, "L", "L = ½Σ(out − y)²"),
    (["L = mse(out, y)"], {"out": (3, 1), "y": (3, 1)}, "L", "L = mean((out − y)²)"),
    (["L = softmax_cross_entropy(z, y)"], {"z": (2, 3), "y": (2, 3)}, "L", "L = −(1/N)Σ y·log softmax(z)"),
])
def test_each_gate_is_shown_as_the_prompts_write_it(lines, shapes, node, shown):
    assert describe_gate(steps_of(lines, shapes)[node]) == shown


def test_every_engine_gate_has_a_notation():
    assert {name for name, gate in GATES.items() if not gate.notation} == set()


def test_the_loss_gate_is_named_in_prompt_notation_and_highlighted_by_node():
    v = make_variant(CATALOGUE["seed-two-layer-w1-22"], 0)
    exact = float(v.expected(v.exercise.asks[0]))
    part = grade_answers(v, {0: -exact}).parts[0]
    assert part.diagnosis["gates"] == ["L"]
    assert "L = ½Σ(out − y)²" in part.diagnosis["message"] and "half_sse" not in part.message


def test_a_mistake_at_every_gate_of_a_kind_lists_them_in_prompt_notation():
    v = make_variant(CATALOGUE["seed-two-layer-w1-22"], 0)
    ask = v.exercise.asks[0]
    both = [(gates, message) for code, gates, message, _ in candidates(v, ask)
            if code == "forgot_local_grad" and len(gates) > 1]
    assert both == [(["h1", "out"], "you passed the gradient through both h1 = σ(z1) and out = σ(z2) without "
                                    "multiplying by the local gradient")]
    three = [message for code, gates, message, _ in candidates(make_variant(CATALOGUE["three-layer-random"], 0),
                                                               CATALOGUE["three-layer-random"].asks[3])
             if code == "no_swap" and len(gates) == 3]
    assert three and "every one of z1 = x W1, z2 = h1 W2 and z3 = h2 W3" in three[0]


def test_no_diagnosis_in_the_catalogue_uses_an_engine_gate_line():
    messages = 0
    for exercise in (e for e in CATALOGUE.values() if e.kind == "numeric"):
        v = make_variant(exercise, 0)
        for ask in exercise.asks:
            for code, gates, message, _ in candidates(v, ask):
                messages += 1
                assert not [name for name in ENGINE_ONLY if f"{name}(" in message], (exercise.id, code, message)
                assert set(gates) <= set(exercise.graph.nodes()), (exercise.id, code, gates)
    assert messages > 300
