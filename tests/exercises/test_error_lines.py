"""Every error of a definition's YAML text is reported at the line a person would point at.

Each case takes a real catalogue file, breaks it by editing one line, and asserts the one error reported: its
line is exactly the edited line (or, for a missing key, the line of the mapping it is missing from), with the
path and the message the service gives.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.exercises import DefinitionError, parse_exercise
from grader.exercises.source import MAX_VALUES, SourceError, SourceReport, check_source

CATALOGUE = Path(__file__).resolve().parents[2] / "exercises"
FILES = sorted(CATALOGUE.glob("*.yaml"))


def edited(name: str, old: str, new: str | None) -> tuple[str, int]:
    """The file with the one line containing `old` replaced by `new` (None: deleted), and that line's number."""
    lines = (CATALOGUE / name).read_text(encoding="utf-8").split("\n")
    hits = [i for i, line in enumerate(lines) if old in line]
    assert len(hits) == 1, f"{old!r} is not on exactly one line of {name}"
    i = hits[0]
    lines[i : i + 1] = [] if new is None else [lines[i].replace(old, new)]
    return "\n".join(lines), i + 1


def line_of(name: str, text: str) -> int:
    lines = (CATALOGUE / name).read_text(encoding="utf-8").split("\n")
    return next(i for i, line in enumerate(lines) if text in line) + 1


def only_error(text: str) -> SourceError:
    report = check_source(text)
    assert report.exercise is None
    assert len(report.errors) == 1, report.errors
    return report.errors[0]


def test_every_catalogue_file_is_clean():
    for path in FILES:
        report = check_source(path.read_text(encoding="utf-8"))
        assert report.ok and report.errors == [], (path.name, report.errors)
        assert report.exercise is not None and report.exercise.id == path.stem
        assert report.document == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_yaml_syntax_error_at_its_line():
    text, line = edited("two-layer-random.yaml", "sigmoid network with", "sigmoid network: with")
    error = only_error(text)
    assert (error.line, error.path) == (line, "(top level)") and line == 2
    assert error.message.startswith("not valid YAML: mapping values are not allowed")
    assert error.column == len("title: A 2-2-1 sigmoid network:")  # at the second ':'


def test_an_unclosed_bracket_is_shown_where_it_opens():
    text, line = edited("gate-multiply.yaml", "  - z = mul(w, x)", "  - [z = mul(w, x)")
    error = only_error(text)
    assert error.line == line and error.column == 5
    assert error.message.startswith("not valid YAML: this [ is never closed")


def test_a_tab_in_the_indentation_is_named():
    text, line = edited("code-relu-backward.yaml", "  name: relu_backward", "\tname: relu_backward")
    error = only_error(text)
    assert (error.line, error.column) == (line, 1)
    assert "tab" in error.message and "spaces" in error.message


def test_unknown_key_at_the_key():
    text, line = edited("two-layer-random.yaml", "version: 1", "verison: 1")
    error = only_error(text)
    assert (error.line, error.column, error.path) == (line, 1, "verison")
    assert error.message == "unknown key 'verison' (did you mean 'version'?)"


def test_unknown_key_inside_a_flow_mapping_of_a_list_item():
    text, line = edited("two-layer-random.yaml", '{grad: W2, label: "dL/dW2"}', '{grad: W2, lable: "dL/dW2"}')
    error = only_error(text)
    assert (error.line, error.path) == (line, "ask[1].lable")
    assert error.column == text.split("\n")[line - 1].index("lable") + 1
    assert error.message == "unknown key 'lable' (did you mean 'label'?)"


def test_unknown_op_at_its_gate_line_with_the_engines_suggestion():
    text, line = edited("two-layer-random.yaml", "h1 = sigmoid(z1)", "h1 = sigmod(z1)")
    error = only_error(text)
    assert (error.line, error.path) == (line, "graph[1]")
    assert error.message == "unknown op 'sigmod' (did you mean 'sigmoid'?)"
    assert str(error) == f"line {line}, graph[1]: unknown op 'sigmod' (did you mean 'sigmoid'?)"


def test_shape_mismatch_at_the_gate_whose_shapes_do_not_fit():
    text, line = edited("two-layer-random.yaml", "z2 = matmul(h1, W2)", "z2 = matmul(h1, x)")
    error = only_error(text)
    assert (error.line, error.path) == (line, "graph[2]")
    assert error.message.startswith("shape mismatch in matmul(h1 (1, 2), x (1, 2))")


def test_shape_mismatch_of_an_mlp_at_the_layer_that_writes_the_gate():
    # W3 of the wrong height: the third layer's matmul does not fit; the params line is fine as YAML.
    text, _ = edited("three-layer-random.yaml", "W3: {shape: [2, 2]", "W3: {shape: [3, 2]")
    error = only_error(text)
    assert error.line == line_of("three-layer-random.yaml", "{weights: W3, activation: sigmoid}")
    assert error.path == "mlp" and "shape mismatch in matmul(h2 (1, 2), W3 (3, 2))" in error.message
    text, _ = edited("three-layer-random.yaml", "y: {shape: [1, 2]", "y: {shape: [1, 3]")
    assert only_error(text).line == line_of("three-layer-random.yaml", "loss: half_sse")


def test_missing_node_at_the_gate_that_uses_it():
    text, line = edited("two-layer-random.yaml", "out = sigmoid(z2)", "out = sigmoid(z3)")
    error = only_error(text)
    assert (error.line, error.path) == (line, "graph[3]")
    assert error.message.startswith("'z3' is not defined before this line")


def test_missing_node_in_an_ask_and_in_a_function_argument():
    text, line = edited("two-layer-random.yaml", '{grad: W2, label: "dL/dW2"}', '{grad: W4, label: "dL/dW2"}')
    error = only_error(text)
    assert (error.line, error.path) == (line, "ask[1].grad")
    assert error.message.startswith("no node 'W4' in the graph")
    text, line = edited("code-relu-backward.yaml", "args: {dout: grad(h), z: z}", "args: {dout: grad(h), z: q}")
    error = only_error(text)
    assert (error.line, error.path) == (line, "function.args.z")
    assert error.column == text.split("\n")[line - 1].index("q}") + 1


def test_wrong_value_type_at_the_value():
    text, line = edited("code-relu-backward.yaml", "tests: {count: 10,", "tests: {count: ten,")
    error = only_error(text)
    assert (error.line, error.path, error.message) == (line, "tests.count", "Not a valid integer.")
    assert error.column == text.split("\n")[line - 1].index("ten") + 1
    text, line = edited("three-layer-random.yaml", "{weights: W2, activation: relu}",
                        "{weights: W2, activation: relu6}")
    error = only_error(text)
    assert (error.line, error.path) == (line, "mlp.layers[1].activation")
    assert error.message.startswith("Must be one of")


def test_wrong_value_inside_a_nested_list_at_its_entry():
    text, line = edited("two-layer-random.yaml", "uniform: [0.1, 1.0], decimals: 1}",
                        "uniform: [0.1, high], decimals: 1}")
    error = only_error(text)
    assert (error.line, error.path) == (line, "inputs.x.random.uniform[1]")
    assert error.column == text.split("\n")[line - 1].index("high") + 1


def test_missing_required_key_at_its_parent_mapping():
    text, _ = edited("code-relu-backward.yaml", "  name: relu_backward", None)
    error = only_error(text)
    assert (error.line, error.path) == (line_of("code-relu-backward.yaml", "function:"), "function.name")
    assert error.message == "Missing data for required field."


def test_missing_required_top_level_key_at_line_1():
    text, _ = edited("gate-add.yaml", 'title: "The add gate', None)
    error = only_error(text)
    assert (error.line, error.column, error.path) == (1, None, "title")


def test_duplicate_key_at_its_second_occurrence():
    text, line = edited("two-layer-random.yaml", "version: 1", "title: Again")
    report = check_source(text)
    assert [(e.line, e.path) for e in report.errors] == [(line, "title")]
    assert report.errors[0].message.startswith("duplicate key 'title': it is also at line 2")
    assert report.exercise is None  # PyYAML would have kept "Again" silently
    text, line = edited("two-layer-random.yaml", "  W2: {shape: [2, 1]", "  W1: {shape: [2, 1]")
    assert [(e.line, e.path) for e in check_source(text).errors] == [(line, "params.W1")]


def test_a_document_that_is_not_a_mapping_or_is_empty():
    assert [(e.line, e.message) for e in check_source("- a\n- b\n").errors] == [(1, "expected a mapping of keys")]
    for text in ("", "   \n", "# only a comment\n"):
        [error] = check_source(text).errors
        assert error.line == 1 and "empty" in error.message


def test_data_json_cannot_hold_is_refused_where_it_is():
    text, line = edited("gate-add.yaml", "version: 1", "version: 2024-01-31")
    error = only_error(text)
    assert (error.line, error.path) == (line, "version") and "date" in error.message and "quote" in error.message
    text, line = edited("gate-add.yaml", "version: 1", "version: 2024-13-45")  # looks like a date, is none
    assert only_error(text).line == line


def test_aliases_that_loop_or_explode_are_refused():
    [cycle] = check_source("id: &a [*a]\n").errors
    assert "cycle" in cycle.message
    laughs = "a: &a [" + ", ".join(["x"] * 10) + "]\n"
    for level in "bcdef":
        previous = chr(ord(level) - 1)
        laughs += f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 10) + "]\n"
    [bomb] = check_source(laughs).errors
    assert str(MAX_VALUES) in bomb.message


def test_control_characters_and_deep_nesting_are_reported_not_raised():
    [error] = check_source("id: x\ntitle: a\x07b\n").errors
    assert error.line == 2 and "not valid YAML" in error.message
    [error] = check_source("[" * 5000 + "]" * 5000).errors
    assert error.line == 1 and "not valid YAML" in error.message


# --- never raises, and agrees with the service -----------------------------------------------------------

def assert_sound(text: str, report: SourceReport) -> None:
    """A report whatever the text: lines inside the text, and exactly the service's verdict when PyYAML
    reads the text as the catalogue loader does."""
    assert isinstance(report, SourceReport)
    assert report.ok == (report.exercise is not None)
    # lines as YAML counts them: a lone \r (which the editor breaks on too), NEL and the Unicode separators
    # also end a line
    last = len(re.split("\r\n|[\n\r\x85\u2028\u2029]", text))
    for error in report.errors:
        assert 1 <= error.line <= last and error.message and error.path
        assert error.column is None or error.column >= 1
    try:
        document = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        assert not report.ok
        return
    if any(words in e.message for e in report.errors
           for words in ("duplicate key", "not allowed here", "a key must be text")):
        return  # what PyYAML lets pass
    if report.errors and "empty" in report.errors[0].message:
        assert document is None  # said so, rather than "expected a mapping"
        return
    try:
        parse_exercise(document)
    except DefinitionError as exc:
        assert [f"{e.path}: {e.message}" for e in report.errors] == [
            line if ": " in line else f"(top level): {line}" for line in exc.errors]
    else:
        if document is not None:
            assert report.ok, report.errors


YAML_BITS = [":", ": ", "-", "- ", "[", "]", "{", "}", ",", "\t", " ", "  ", "\n", "#", "&a ", "*a", "'", '"',
             "!", "!!set ", "?", "|", ">", "~", "0", "x", "2024-01-01", "\\", "%"]


@st.composite
def mutated_catalogue_files(draw) -> str:
    lines = FILES[draw(st.integers(0, len(FILES) - 1))].read_text(encoding="utf-8").split("\n")
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    for _ in range(draw(st.integers(1, 4))):
        i = rng.randrange(len(lines))
        action = rng.choice(["insert", "delete", "duplicate", "swap", "drop"])
        if action == "insert":
            at = rng.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:at] + rng.choice(YAML_BITS) + lines[i][at:]
        elif action == "delete" and lines[i]:
            at = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:at] + lines[i][at + 1 :]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif len(lines) > 1:
            del lines[i]
    return "\n".join(lines)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated_catalogue_files())
def test_mutated_catalogue_files_give_a_report_never_an_exception(text):
    assert_sound(text, check_source(text))


@FUZZ
@given(st.lists(st.sampled_from(YAML_BITS) | st.text(max_size=3), max_size=80).map("".join))
def test_random_text_gives_a_report_never_an_exception(text):
    assert_sound(text, check_source(text))


@pytest.mark.parametrize("path", FILES[:6], ids=lambda p: p.stem)
def test_every_single_line_deleted_gives_a_sound_report(path):
    lines = path.read_text(encoding="utf-8").split("\n")
    for i in range(len(lines)):
        text = "\n".join(lines[:i] + lines[i + 1 :])
        assert_sound(text, check_source(text))
