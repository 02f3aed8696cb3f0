"""The exercise format's words for the editor's completion: the keys allowed under each parent, the fixed
choices of some values, and the engine's ops. Read off the marshmallow schemas and the engine's GATES, so it
cannot drift from what `parse_exercise` accepts.

Parent paths: "" is the top level, "function" a nested mapping, "ask[]" each item of a list, "inputs.*" the
mapping under any name the author chooses (a tensor), "dims.*" a dimension's random rule.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from grader.engine import GATES
from grader.exercises.schema import DimField, ExerciseSchema, NamedMap, RandomRuleSchema

# Fields that load a mapping through a schema of their own rather than a Nested one.
_RULE_SCHEMAS: dict[type[fields.Field], type[Schema]] = {DimField: RandomRuleSchema}


def vocabulary() -> dict[str, Any]:
    """{"keys": {parent: [key, ...]}, "required": {parent: [key, ...]}, "values": {path: [choice, ...]},
    "ops": [name, ...]}, every list sorted."""
    keys: dict[str, list[str]] = {}
    required: dict[str, list[str]] = {}
    values: dict[str, list[str]] = {}
    _collect(ExerciseSchema, "", keys, required, values)
    return {"keys": keys, "required": required, "values": values, "ops": sorted(GATES)}


def _collect(schema: type[Schema], path: str, keys: dict, required: dict, values: dict) -> None:
    declared = schema().fields
    keys[path] = sorted(f.data_key or name for name, f in declared.items())
    required[path] = sorted(f.data_key or name for name, f in declared.items() if f.required)
    for name, field in declared.items():
        here = f"{path}.{name}" if path else name
        # A OneOf validator, or a field of a few words of its own (`choices`, as schema.Word has).
        choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
        choices += [field.choices] if isinstance(getattr(field, "choices", None), tuple | list) else []
        if choices:
            values[here] = sorted(str(c) for c in choices[0])
        for child_path, child in _children(here, field):
            _collect(child, child_path, keys, required, values)


def _children(path: str, field: fields.Field) -> list[tuple[str, type[Schema]]]:
    """The mappings a field holds, with their parent paths."""
    if isinstance(field, fields.Nested):
        return [(path, _schema_class(field.nested))]
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        return [(f"{path}[]", _schema_class(field.inner.nested))]
    if isinstance(field, NamedMap):
        inner = field.schema
        if isinstance(inner, fields.Field):
            rule = _RULE_SCHEMAS.get(type(inner))
            return [(f"{path}.*", rule)] if rule else []
        return [(f"{path}.*", inner)]
    return []


def _schema_class(nested: Any) -> type[Schema]:
    return nested if isinstance(nested, type) else type(nested)
