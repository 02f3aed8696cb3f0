"""What a function returns, through the real pool: n_returns decides how lists are read, and each output's
dtype in the child is reported (CaseOutcome.dtypes) before the parent makes it float64."""

from __future__ import annotations

import numpy as np
import pytest

CASE = {"x": np.arange(6.0).reshape(2, 3), "W": np.arange(12.0).reshape(3, 4)}


@pytest.mark.parametrize("body", [
    "return [(x @ W).tolist(), W.T.tolist()]",
    "return (x @ W).tolist(), W.T.tolist()",
    "return [x @ W, W.T]",
    "return x @ W, W.T",
])
def test_two_outputs_in_any_container(pool, body):
    result = pool.run(f"def f(x, W):\n    {body}\n", "f", [CASE], n_returns=2)
    outcome = result.cases[0]
    assert outcome.status == "ok", outcome.error_message
    np.testing.assert_array_equal(outcome.outputs[0], CASE["x"] @ CASE["W"])
    np.testing.assert_array_equal(outcome.outputs[1], CASE["W"].T)


@pytest.mark.parametrize("body", ["return (x @ W).tolist()", "return (x @ W,)", "return [list(r) for r in x @ W]"])
def test_one_output_as_lists_is_one_matrix(pool, body):
    outcome = pool.run(f"def f(x, W):\n    {body}\n", "f", [CASE], n_returns=1).cases[0]
    assert outcome.status == "ok"
    assert len(outcome.outputs) == 1
    np.testing.assert_array_equal(outcome.outputs[0], CASE["x"] @ CASE["W"])


def test_bad_n_returns_is_refused(pool):
    with pytest.raises(ValueError):
        pool.run("def f(x, W):\n    return x\n", "f", [CASE], n_returns=0)


def test_dtypes_as_returned(pool):
    code = """
import numpy as np
def f(x, W):
    return (x @ W).astype(np.float32), W.T.astype(np.int64), float(x.sum()), (x > 2), np.float16(1.5)
"""
    outcome = pool.run(code, "f", [CASE], n_returns=5).cases[0]
    assert outcome.status == "ok"
    assert outcome.dtypes == ["float32", "int64", "float64", "bool", "float16"]
    assert all(o.dtype == np.float64 for o in outcome.outputs)
    np.testing.assert_allclose(outcome.outputs[0], CASE["x"] @ CASE["W"])
