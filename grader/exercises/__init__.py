"""Exercise definitions: schema, loader, mlp sugar, variants and worked solutions. No Flask here."""

from grader.exercises.catalogue import find, load_catalogue, load_file
from grader.exercises.definition import Ask, DefinitionError, Exercise, FunctionSpec, Ref, parse_exercise
from grader.exercises.solve import TestCase, function_io, solve, test_cases, worked_text
from grader.exercises.variants import DegenerateVariantError, Variant, check_drawable, make_variant

__all__ = [
    "Ask", "DefinitionError", "DegenerateVariantError", "Exercise", "FunctionSpec", "Ref", "TestCase",
    "Variant", "check_drawable", "find", "function_io", "load_catalogue", "load_file", "make_variant", "parse_exercise",
    "solve", "test_cases", "worked_text",
]
