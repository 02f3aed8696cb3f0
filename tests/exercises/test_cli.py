"""`flask exercises validate` and `flask exercises solve`."""

import json

from grader.cli import exercises_cli


def run(app, *args):
    return app.test_cli_runner().invoke(exercises_cli, list(args))


def test_validate_the_catalogue(app):
    result = run(app, "validate")
    assert result.exit_code == 0, result.output
    assert " 0 invalid" in result.output


def test_validate_a_bad_file_exits_1_with_paths(app, tmp_path):
    bad = tmp_path / "bad-one.yaml"
    bad.write_text(
        "id: bad-one\ntitle: t\nkind: numeric\nprompt: p\n"
        "inputs: {x: {shape: [1, 2], value: [[1, 2]]}}\nparams: {}\n"
        "graph: ['z = sigmod(x)', 'L = sum(z)']\nask: [{grad: x}]\n"
    )
    broken_yaml = tmp_path / "broken.yaml"
    broken_yaml.write_text("id: [unclosed\n")
    result = run(app, "validate", str(bad), str(broken_yaml))
    assert result.exit_code == 1
    assert f"{bad}: graph[0]: unknown op 'sigmod' (did you mean 'sigmoid'?)" in result.output
    assert f"{broken_yaml}: line 2, column 1: not valid YAML" in result.output


def test_solve_json(app):
    result = run(app, "solve", "seed-two-layer-w1-22", "--seed", "0", "--json")
    assert result.exit_code == 0, result.output
    worked = json.loads(result.output)
    assert worked["id"] == "seed-two-layer-w1-22" and worked["seed"] == 0
    assert abs(worked["answers"][0]["expected"] - -0.0026226946) < 1e-9
    assert abs(worked["grads"]["W1"][1][1] - -0.0026226946) < 1e-9


def test_solve_readable_shows_each_gate(app):
    result = run(app, "solve", "seed-two-layer-w1-22")
    assert result.exit_code == 0
    assert "at out = sigmoid(z2): incoming dL/dout = [[-0.30903174]]" in result.output
    assert "dL/dW1_22 = -0.00262269" in result.output


def test_solve_unknown_id_suggests(app):
    result = run(app, "solve", "seed-two-layer-w1-2")
    assert result.exit_code == 1
    assert "no exercise 'seed-two-layer-w1-2' in the catalogue (did you mean 'seed-two-layer-w1-22'?)" in result.output


def test_bad_command_line_input_is_one_clear_line(app, tmp_path):
    not_utf8 = tmp_path / "latin.yaml"
    not_utf8.write_bytes(b"id: latin\ntitle: caf\xe9\n")
    code = tmp_path / "relu.py"
    code.write_bytes(b"# caf\xe9\ndef relu_backward(dout, x):\n    return dout\n")
    cases = [
        (("validate", str(not_utf8)), "not UTF-8 text"),
        (("solve", "gate-add", "--seed", "-1"), "-1 is not in the range 0<=x<=2147483647"),
        (("grade", "gate-add", "--seed", str(2**80), "--answers", "{}"), "is not in the range"),
        (("grade", "gate-add"), "give --answers"),
        (("grade", "code-relu-backward", "--code-file", str(code)), "--code-file"),
    ]
    for args, says in cases:
        result = run(app, *args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert says in result.output, (args, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
