"""The editor's completion words are the schema's own: every key it offers is accepted where it is offered,
every key the catalogue uses is offered, and the ops are the engine's gates."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from grader.engine import GATES
from grader.exercises import DefinitionError, parse_exercise
from grader.exercises.schema import ExerciseSchema, FunctionSchema, MlpSchema, TensorSchema
from grader.exercises.vocabulary import vocabulary

CATALOGUE = sorted((Path(__file__).resolve().parents[2] / "exercises").glob("*.yaml"))
NAMED = {"dims", "inputs", "params", "upstream", "function.args"}  # keys there are names the author picks


def test_keys_are_the_schemas_fields():
    keys, required = vocabulary()["keys"], vocabulary()["required"]
    assert keys[""] == sorted(ExerciseSchema().fields)
    assert keys["function"] == sorted(FunctionSchema().fields)
    assert keys["mlp"] == sorted(MlpSchema().fields)
    assert keys["inputs.*"] == keys["params.*"] == keys["upstream.*"] == sorted(TensorSchema().fields)
    assert required[""] == sorted(name for name, f in ExerciseSchema().fields.items() if f.required)
    assert "uniform" in keys["inputs.*.random"] and {"integers", "choice"} <= set(keys["dims.*"])


def test_ops_and_fixed_values():
    words = vocabulary()
    assert words["ops"] == sorted(GATES) and "sigmoid" in words["ops"]
    assert words["values"]["kind"] == ["code", "numeric"]
    assert set(words["values"]["mlp.layers[].activation"]) == {n for n, g in GATES.items() if g.kind == "activation"}


def parents(value: Any, path: str = "") -> list[tuple[str, list[str]]]:
    """(vocabulary path, keys) of every mapping of a document whose keys are the format's."""
    found = []
    if isinstance(value, dict):
        if path not in NAMED:
            found.append((path, list(value)))
        for key, sub in value.items():
            child = f"{path}.{'*' if path in NAMED else key}" if path else key
            found += parents(sub, child)
    elif isinstance(value, list):
        for item in value:
            found += parents(item, f"{path}[]")
    return found


def test_every_key_the_catalogue_uses_is_offered_where_it_is_used():
    keys = vocabulary()["keys"]
    seen = set()
    for path in CATALOGUE:
        for parent, used in parents(yaml.safe_load(path.read_text(encoding="utf-8"))):
            assert parent in keys, (path.name, parent)
            assert set(used) <= set(keys[parent]), (path.name, parent, used)
            seen.add(parent)
    assert {"", "function", "inputs.*", "inputs.*.random", "mlp", "mlp.layers[]", "ask[]"} <= seen


MAPPINGS = {"": lambda d: d, "inputs.*": lambda d: d["inputs"]["x"],
            "inputs.*.random": lambda d: d["inputs"]["x"]["random"], "ask[]": lambda d: d["ask"][0]}


def test_every_offered_key_is_accepted_there():
    # An offered key added to a valid document is never "unknown" (it may be wrong in other ways).
    document = yaml.safe_load((CATALOGUE[0].parent / "two-layer-random.yaml").read_text(encoding="utf-8"))
    for parent, mapping_of in MAPPINGS.items():
        for key in vocabulary()["keys"][parent]:
            changed = copy.deepcopy(document)
            mapping_of(changed).setdefault(key, 1)
            try:
                parse_exercise(changed)
            except DefinitionError as exc:
                assert not any("unknown key" in line for line in exc.errors), (parent, key, exc.errors)
        extra = copy.deepcopy(document)
        mapping_of(extra)["not_a_key"] = 1  # and the check can fail
        try:
            parse_exercise(extra)
        except DefinitionError as exc:
            assert any("unknown key 'not_a_key'" in line for line in exc.errors)
        else:
            raise AssertionError(f"not_a_key accepted at {parent!r}")
