"""The example a check on the example runs on: small, the student's own, stable, and never one of the graded
test cases (those are fresh draws per attempt that the check must not reveal)."""

from __future__ import annotations

import numpy as np
import pytest

from grader import exercises as definitions
from grader.exercises import load_catalogue
from grader.precheck import example_case

CODE_EXERCISES = sorted(i for i, e in load_catalogue("exercises").items() if e.kind == "code")


@pytest.mark.parametrize("exercise_id", CODE_EXERCISES)
def test_the_example_is_small_stable_and_never_a_graded_case(exercise_id):
    exercise = load_catalogue("exercises")[exercise_id]
    seed = 1234
    example = example_case(exercise, seed)
    for name, spec in exercise.dims.items():  # every dimension at its smallest
        low = spec if isinstance(spec, int) else spec["integers"][0] if "integers" in spec else min(spec["choice"])
        assert example.dims[name] == low
    again = example_case(exercise, seed)
    assert all(np.array_equal(example.args[k], again.args[k]) for k in example.args)
    other = example_case(exercise, seed + 1)
    assert any(not np.array_equal(example.args[k], other.args[k]) for k in example.args)  # the student's own
    for attempt in range(4):
        for case in definitions.test_cases(exercise, seed, attempt):
            same = [k for k in example.args if case.args[k].shape == example.args[k].shape
                    and np.array_equal(case.args[k], example.args[k])]
            # an exercise's fixed tensors may repeat; its random ones never
            assert len(same) < len(example.args), (attempt, case.dims)
