"""The rules of a code exercise's run are an option of the format (`function.in_place`) and a paragraph
generated from the definition, counted from the cases that really run, and shown wherever the prompt is."""

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from grader import authoring
from grader.exercises import DefinitionError, load_catalogue, load_file, make_variant, parse_exercise, solve
from grader.exercises import test_cases as code_test_cases  # (not collected as a test)
from grader.exercises.solve import worked_text
from grader.models import Course, Membership, db

CATALOGUE_DIR = Path(__file__).resolve().parents[2] / "exercises"
CATALOGUE = load_catalogue(CATALOGUE_DIR)
CODE = sorted(k for k, e in CATALOGUE.items() if e.kind == "code")

CODE_DOCUMENT = {
    "id": "code-tiny", "title": "t", "kind": "code", "prompt": "Write it.",
    "inputs": {"z": {"shape": [2, 3], "random": {"normal": [0, 1]}}},
    "graph": ["h = sigmoid(z)"], "upstream": {"h": {"shape": [2, 3], "random": {"normal": [0, 1]}}},
    "function": {"name": "f", "args": {"g": "grad(h)", "z": "z"}, "returns": ["grad(z)"],
                 "starter": "def f(g, z):\n    pass\n"},
    "tests": {"count": 3, "time_limit_s": 1.5},
}


def code_document(**function):
    document = copy.deepcopy(CODE_DOCUMENT)
    document["function"].update(function)
    return document


def counted(rules: str) -> dict[str, int]:
    """The numbers the paragraph states, by kind of case."""
    match = re.search(r"called on (\d+) (?:random )?cases?", rules)
    assert match, rules
    found = {"random": int(match.group(1))}
    edges = re.search(r"and (\d+) edge cases? \(([^)]*)\)", rules)
    if edges:
        found["edge"] = int(edges.group(1))
        for kind, words in (("smallest", "every size at its smallest"), ("relu_zero", "ReLU inputs at exactly 0")):
            if words in edges.group(2):
                n = re.search(rf"(\d+) with {words}", edges.group(2))
                found[kind] = int(n.group(1)) if n else found["edge"]
    return found


@pytest.mark.parametrize("exercise_id", CODE)
def test_the_paragraph_counts_the_cases_that_run(exercise_id):
    exercise = CATALOGUE[exercise_id]
    for seed, attempt in ((0, 0), (4, 1), (9, 3)):
        kinds = [case.kind for case in code_test_cases(exercise, seed, attempt)]
        stated = counted(exercise.code_rules)
        assert stated["random"] == kinds.count("random") == exercise.tests["count"]
        assert stated.get("edge", 0) == len(kinds) - kinds.count("random")
        for kind in ("smallest", "relu_zero"):
            assert stated.get(kind, 0) == kinds.count(kind), (kind, exercise.code_rules)
    assert f"{exercise.tests['time_limit_s']:g} s each" in exercise.code_rules
    assert "numpy and the Python standard library" in exercise.code_rules


def test_the_catalogue_states_its_rules_once_generated():
    relu, three = CATALOGUE["code-relu-backward"], CATALOGUE["code-three-layer-backward"]
    assert relu.code_rules == (
        "**How your function is tested.** It is called on 10 random cases (random sizes) and 3 edge cases "
        "(1 with every size at its smallest; 2 with ReLU inputs at exactly 0), 2 s each, with numpy and the "
        "Python standard library available. Do not change the input arrays in place: the caller still needs "
        "them (work on a copy, e.g. `dout.copy()`).")
    assert three.code_rules.endswith("You may change the input arrays in place.")
    for exercise_id in CODE:
        exercise = CATALOGUE[exercise_id]
        written = exercise.document["prompt"]
        assert "random cases" not in written and "in place" not in written  # nothing hand-written left
        assert exercise.prompt == f"{written.rstrip()}\n\n{exercise.code_rules}\n"
        assert exercise.prompt.count("How your function is tested") == 1
    numeric = CATALOGUE["seed-two-layer-w1-22"]
    assert numeric.prompt == numeric.document["prompt"] and numeric.code_rules == ""


def test_in_place_is_an_option_of_the_function():
    assert CATALOGUE["code-relu-backward"].function.in_place == "forbidden"
    assert {CATALOGUE[k].function.in_place for k in CODE if k != "code-relu-backward"} == {"allowed"}
    assert parse_exercise(code_document()).function.in_place == "allowed"  # the default
    forbidden = parse_exercise(code_document(in_place="forbidden"))
    assert forbidden.function.in_place == "forbidden"
    assert "Do not change the input arrays in place" in forbidden.prompt and "`g.copy()`" in forbidden.prompt


@pytest.mark.parametrize(("value", "message"), [
    ("never", "function.in_place: expected 'allowed' or 'forbidden', got 'never'"),
    ("Forbidden", "function.in_place: expected 'allowed' or 'forbidden', got 'Forbidden'"),
    (3, "function.in_place: expected 'allowed' or 'forbidden', got 3"),
    (None, "function.in_place: expected 'allowed' or 'forbidden', got null"),
])
def test_a_bad_in_place_rule_names_its_path_and_the_choices(value, message):
    with pytest.raises(DefinitionError) as info:
        parse_exercise(code_document(in_place=value))
    assert info.value.errors == [message]


def test_a_yaml_boolean_for_in_place_says_to_write_the_word(tmp_path):
    path = tmp_path / "code-tiny.yaml"
    document = code_document()
    path.write_text(yaml.safe_dump(document).replace("  name: f\n", "  name: f\n  in_place: no\n"))
    with pytest.raises(DefinitionError) as info:
        load_file(path)
    assert info.value.errors == ["function.in_place: expected 'allowed' or 'forbidden', got False (YAML reads "
                                 "yes/no/true/false as a boolean: write the word)"]


def test_the_paragraph_follows_the_definition():
    tiny = parse_exercise(code_document())
    assert tiny.code_rules == ("**How your function is tested.** It is called on 3 random cases, 1.5 s each, with "
                               "numpy and the Python standard library available. You may change the input arrays "
                               "in place.")  # no dims: no smallest case; no ReLU: no zero case
    assert len(code_test_cases(tiny, 0)) == 3
    fixed = copy.deepcopy(CODE_DOCUMENT)
    fixed["inputs"]["z"] = {"shape": [1, 2], "value": [[0.5, -1.0]]}
    fixed["upstream"]["h"] = {"shape": [1, 2], "value": [[1.0, 2.0]]}
    fixed["tests"] = {"count": 1}
    assert "called on 1 case, 2 s each" in parse_exercise(fixed).code_rules  # nothing random to say


def test_solve_shows_the_rules_and_each_cases_kind():
    exercise = CATALOGUE["code-three-layer-backward"]
    worked = solve(exercise, seed=2)
    json.dumps(worked)
    assert worked["rules"] == exercise.code_rules
    assert [a["kind"] for a in worked["answers"]] == ["random"] * 10 + ["smallest", "relu_zero", "relu_zero"]
    assert worked["answers"][-1]["label"] == "ReLU inputs at exactly 0"
    assert worked["answers"][-1]["zeros"]["z1"] > 0 and worked["answers"][-1]["zeros"]["z2"] > 0
    text = worked_text(exercise, seed=2)
    assert "How your function is tested. It is called on 10 random cases" in text
    assert "test 10 (smallest sizes)" in text and "test 12 (ReLU inputs at exactly 0, " in text
    assert solve(CATALOGUE["seed-two-layer-w1-22"], seed=0)["rules"] is None


def old_relu_document() -> dict:
    """code-relu-backward as stored before the rules were generated: hand-written, no in_place."""
    document = copy.deepcopy(CATALOGUE["code-relu-backward"].document)
    del document["function"]["in_place"]
    document["prompt"] += ("Do not modify `dout` or `z` in place. Your function is run on 10 random cases, "
                           "2 seconds each.\n")
    return document


def test_importing_the_changed_catalogue_adds_a_version_and_keeps_the_old_one_working(app):
    exercise, _ = authoring.save_exercise(old_relu_document())
    db.session.commit()
    assert exercise.current_version == 1
    changed = dict(authoring.import_catalogue(str(CATALOGUE_DIR)))
    assert changed["code-relu-backward"] is True and changed["code-affine-backward"] is True
    db.session.refresh(exercise)
    assert exercise.current_version == 2  # students who opened version 1 are told it changed (409)
    old, new = (authoring.definition_of(v) for v in sorted(exercise.versions, key=lambda v: v.version))
    assert old.function.in_place == "allowed" and new.function.in_place == "forbidden"
    assert old.version == new.version == 1  # the numbers' version: a student's numbers do not move
    for name, value in make_variant(old, 7).leaves.items():
        np.testing.assert_array_equal(value, make_variant(new, 7).leaves[name])
    for a, b in zip(code_test_cases(old, 7, 2)[:10], code_test_cases(new, 7, 2)[:10], strict=True):
        np.testing.assert_array_equal(a.args["z"], b.args["z"])  # the same random cases for every attempt
    assert "How your function is tested" in old.prompt  # an old version still loads and shows a prompt


def test_the_student_page_and_the_api_show_the_paragraph(app, client):
    from tests.api.conftest import bearer
    from tests.service.conftest import assign, make_user
    from tests.web.conftest import login

    authoring.import_catalogue(str(CATALOGUE_DIR))
    course = Course(code="bp101", title="Backprop 101")
    alice = make_user("alice")
    db.session.add_all([course, Membership(user=alice, course=course)])
    db.session.commit()
    assignment = assign(course, "code-relu-backward")
    login(client)
    html = client.get(f"/assignments/{assignment.id}").text
    assert "<strong>How your function is tested.</strong> It is called on 10 random cases" in html
    assert "<code>dout.copy()</code>" in html
    body = client.get(f"/api/v1/assignments/{assignment.id}/variant", headers=bearer("alice")).get_json()
    assert body["prompt"].endswith(CATALOGUE["code-relu-backward"].code_rules + "\n")
