"""Definitions are validated with messages that name the path of the problem."""

import copy

import pytest

from grader.exercises import DefinitionError, parse_exercise

VALID = {
    "id": "tiny",
    "title": "Tiny",
    "kind": "numeric",
    "prompt": "Give dL/dW.",
    "inputs": {"x": {"shape": [1, 2], "value": [[0.1, 0.2]]}, "y": {"shape": [1, 1], "value": [[1.0]]}},
    "params": {"W": {"shape": [2, 1], "random": {"uniform": [-1, 1], "decimals": 1}}},
    "graph": ["z = matmul(x, W)", "out = sigmoid(z)", "L = half_sse(out, y)"],
    "ask": [{"grad": "W"}],
}


def errors_of(change) -> list[str]:
    document = copy.deepcopy(VALID)
    change(document)
    with pytest.raises(DefinitionError) as info:
        parse_exercise(document)
    return info.value.errors


def test_the_valid_document_parses():
    exercise = parse_exercise(copy.deepcopy(VALID))
    assert exercise.graph.shapes["z"] == (1, 1)
    assert exercise.asks[0].label == r"\partial L / \partial W"


def test_unknown_op_names_the_line_and_suggests():
    errors = errors_of(lambda d: d["graph"].__setitem__(1, "out = sigmod(z)"))
    assert errors == ["graph[1]: unknown op 'sigmod' (did you mean 'sigmoid'?)"]


def test_undefined_name():
    errors = errors_of(lambda d: d["graph"].__setitem__(1, "out = sigmoid(zz)"))
    assert errors[0].startswith("graph[1]: 'zz' is not defined before this line (did you mean 'z'?)")


def test_reused_name():
    errors = errors_of(lambda d: d["graph"].__setitem__(1, "z = sigmoid(z)"))
    assert errors == ["graph[1]: 'z' is already defined; each node has one name"]


def test_name_used_as_input_and_param():
    errors = errors_of(lambda d: d["params"].__setitem__("x", {"shape": [1, 2], "value": [[1, 2]]}))
    assert "params.x: 'x' is also an input; each name is used once" in errors


def test_shape_mismatch_names_the_shapes():
    errors = errors_of(lambda d: d["params"]["W"].__setitem__("shape", [3, 1]))
    assert len(errors) == 1
    assert errors[0].startswith("graph[0]: shape mismatch in matmul(x (1, 2), W (3, 1))")


def test_fixed_value_of_the_wrong_shape():
    errors = errors_of(lambda d: d["inputs"]["x"].__setitem__("value", [[0.1, 0.2, 0.3]]))
    assert errors == ["inputs.x.value: expected a list of 2 entries for shape [2], got 3 entries"]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"uniform": [1, -1]}, "params.W.random.uniform: lo must not exceed hi, got [1.0, -1.0]"),
        ({"uniform": [0, 1], "normal": [0, 1]}, "params.W.random: a random rule needs exactly one of"),
        ({"normal": [0, -1]}, "params.W.random.normal: the standard deviation must be >= 0"),
        ({"integers": [0.5, 2]}, "params.W.random.integers[0]: Not a valid integer."),
        ({"uniform": [0, 1], "decimals": -1}, "params.W.random.decimals: Must be greater than or equal to 0"),
        ({"unifrom": [0, 1]}, "params.W.random.unifrom: unknown key 'unifrom' (did you mean 'uniform'?)"),
    ],
)
def test_bad_random_rules(rule, expected):
    errors = errors_of(lambda d: d["params"]["W"].__setitem__("random", rule))
    assert any(e.startswith(expected) for e in errors), errors


def test_ask_for_a_missing_node():
    errors = errors_of(lambda d: d["ask"].__setitem__(0, {"grad": "W2"}))
    assert errors == ["ask[0].grad: no node 'W2' in the graph (did you mean 'W'?)"]


def test_ask_index_out_of_range_and_of_wrong_rank():
    errors = errors_of(lambda d: d["ask"].append({"grad": "W", "index": [2, 0]}))
    assert errors == ["ask[1].index[0]: 2 is out of range for size 2 (indices start at 0)"]
    errors = errors_of(lambda d: d["ask"].append({"grad": "W", "index": [0]}))
    assert errors == ["ask[1].index: 'W' has 2 dimension(s), the index has 1"]


def test_local_grad_of_a_non_activation():
    errors = errors_of(lambda d: d["ask"].append({"local_grad": "z"}))
    assert errors == ["ask[1].local_grad: 'z' is not the output of an activation gate"]


def test_non_scalar_last_node_without_upstream():
    errors = errors_of(lambda d: d["graph"].pop())
    assert errors == ["graph: the last node 'out' has shape [1, 1]; without `upstream` it must be a scalar loss"]


def test_upstream_must_match_its_node():
    def change(d):
        d["graph"].pop()
        d["upstream"] = {"out": {"shape": [1, 2], "value": [[1.0, 2.0]]}}

    assert errors_of(change) == ["upstream.out.shape: expected [1, 1] (the shape of out), got [1, 2]"]


def test_unknown_keys_at_every_level():
    assert errors_of(lambda d: d.__setitem__("tolerence", {"rtol": 0.1})) == [
        "tolerence: unknown key 'tolerence' (did you mean 'tolerance'?)"
    ]
    assert errors_of(lambda d: d["inputs"]["x"].__setitem__("shap", [1, 2])) == [
        "inputs.x.shap: unknown key 'shap' (did you mean 'shape'?)"
    ]
    assert errors_of(lambda d: d["ask"][0].__setitem__("lable", "x")) == [
        "ask[0].lable: unknown key 'lable' (did you mean 'label'?)"
    ]


def test_undefined_dimension():
    errors = errors_of(lambda d: d["params"]["W"].__setitem__("shape", [2, "H"]))
    assert errors == ["params.W.shape[1]: 'H' is not a dimension in dims"]


def test_symbolic_shapes_are_checked_once_for_every_draw():
    def change(d):
        d["dims"] = {"D": {"integers": [2, 4]}, "H": {"integers": [2, 4]}}
        d["inputs"]["x"] = {"shape": [1, "D"], "random": {"normal": [0, 1]}}
        d["params"]["W"] = {"shape": ["H", 1], "random": {"normal": [0, 1]}}

    errors = errors_of(change)
    assert errors[0].startswith("graph[0]: shape mismatch in matmul(x (1, D), W (H, 1)): inner dimensions D and H")


def test_missing_required_keys_and_wrong_types():
    errors = errors_of(lambda d: (d.pop("title"), d.__setitem__("kind", "essay")))
    assert "title: Missing data for required field." in errors
    assert any(e.startswith("kind: Must be one of: numeric, code") for e in errors)


def test_graph_and_mlp_are_exclusive():
    errors = errors_of(lambda d: d.__setitem__("mlp", {"input": "x", "layers": [{"weights": "W",
                                                                                    "activation": "relu"}]}))
    assert errors == ["(top level): an exercise needs exactly one of graph, mlp (found: graph, mlp)"]


def test_mlp_expands_into_gate_lines():
    def to_mlp(d):
        del d["graph"]
        d["params"]["b"] = {"shape": [1, 1], "value": [[0.5]]}
        d["mlp"] = {"input": "x", "target": "y", "loss": "half_sse",
                    "layers": [{"weights": "W", "activation": "sigmoid", "bias": "b"}]}

    document = copy.deepcopy(VALID)
    to_mlp(document)
    exercise = parse_exercise(document)
    assert exercise.graph_lines == ["a1 = matmul(x, W)", "z1 = add(a1, b)", "out = sigmoid(z1)",
                                    "L = half_sse(out, y)"]


def test_every_problem_is_reported_at_once():
    def change(d):
        d["ask"] = [{"grad": "nope"}, {"value": "alsonope"}]

    assert len(errors_of(change)) == 2


def test_not_a_mapping():
    with pytest.raises(DefinitionError) as info:
        parse_exercise(["a", "list"])
    assert info.value.errors == ["(top level): expected a mapping of keys"]
