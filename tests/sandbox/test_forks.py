"""A function that forks: its copies' results are never taken for a case, and nothing of it outlives the run.

Results are tied to the case and the process: a forked copy that returns exits without writing, frames
carry their case's index, and a frame out of place (a second writer) fails the case it concerns.
"""

from __future__ import annotations

import time

import numpy as np

from grader.sandbox import SandboxPool
from grader.sandbox.isolate import processes_of_uid

from .conftest import require_isolation, stray_processes

FORKING = """
import os, time
import numpy as np

def f(x, W):
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.fork()          # both copies go on, and return too
        time.sleep(0.05)
    return x @ W, W.T.copy()
"""


def cases(rng: np.random.Generator, n: int = 10) -> list[dict[str, np.ndarray]]:
    # Different shapes per case: a result taken for the wrong case would not even have the right shape.
    return [{"x": rng.standard_normal((i + 1, 3)), "W": rng.standard_normal((3, 5 - i % 3))} for i in range(n)]


def test_a_forking_function_gets_its_own_results_50_times_and_leaves_nothing():
    require_isolation()
    rng = np.random.default_rng(10)
    with SandboxPool(1) as single:
        uids = single.uids
        for attempt in range(50):
            run_cases = cases(rng)
            result = single.run(FORKING, "f", run_cases, time_limit_s=2.0)
            assert result.status == "ok", result.message
            for i, (case, outcome) in enumerate(zip(run_cases, result.cases, strict=True)):
                assert outcome.status == "ok", (attempt, i, outcome.status, outcome.error_message)
                assert [o.shape for o in outcome.outputs] == [(i + 1, case["W"].shape[1]), case["W"].T.shape]
                np.testing.assert_allclose(outcome.outputs[0], case["x"] @ case["W"])
                np.testing.assert_allclose(outcome.outputs[1], case["W"].T)
        assert stray_processes(single) == []  # between runs: only the zygote and its warm child
    deadline = time.monotonic() + 5
    while any(processes_of_uid(u) for u in uids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p for u in uids for p in processes_of_uid(u)] == []


def test_a_fork_that_outlives_its_case_is_killed_before_the_next(pool):
    # The copy would report "case 1" only after the next case started; it never gets the chance.
    code = """
import os, time
import numpy as np
def f(x):
    if os.fork() == 0:
        time.sleep(0.3)
        return x * 0 - 1
    return x + 1
"""
    run_cases = [{"x": np.full((2, 2), float(i))} for i in range(3)]
    result = pool.run(code, "f", run_cases, time_limit_s=2.0)
    assert [c.status for c in result.cases] == ["ok", "ok", "ok"]
    for case, outcome in zip(run_cases, result.cases, strict=True):
        np.testing.assert_array_equal(outcome.outputs[0], case["x"] + 1)
    assert stray_processes(pool) == []


FORGER = """
import os, struct, time
import numpy as np
from grader.sandbox import runner, wire

def forged(index, value):
    arr = np.full((2, 2), value)
    meta, raw = wire.encode_array(arr)
    body = wire.pack({{"status": "ok", "outputs": [meta], "mutated": {{}}, "seconds": 0.0}}, [raw])
    return wire.frame(struct.pack(">i", index) + body)

def f(x):
    i = int(x[0, 0])
    {action}
    return x
"""


def run_forger(pool, action: str, n: int = 3):
    run_cases = [{"x": np.full((2, 2), float(i))} for i in range(n)]
    result = pool.run(FORGER.format(action=action), "f", run_cases, time_limit_s=2.0)
    assert result.status == "ok", result.message
    return run_cases, result.cases


def test_a_forged_frame_for_the_next_case_is_detected_not_taken(pool):
    # Case 2 writes "case 3's result" itself: case 3 fails, the forged value is never graded.
    run_cases, outcomes = run_forger(pool, "if i == 1:\n        os.write(3, forged(2, 99.0))")
    assert [o.status for o in outcomes] == ["ok", "ok", "second_writer"]
    assert "a result for test 3 arrived while test 2 was running" in outcomes[2].error_message
    assert outcomes[2].outputs is None
    for case, outcome in zip(run_cases[:2], outcomes[:2], strict=True):
        np.testing.assert_array_equal(outcome.outputs[0], case["x"])


def test_a_duplicate_frame_is_detected(pool):
    _, outcomes = run_forger(pool, "if i == 2:\n        os.write(3, forged(0, 5.0))")
    assert [o.status for o in outcomes] == ["second_writer", "ok", "ok"]
    assert "test 1 was reported twice" in outcomes[0].error_message


def test_a_forged_frame_from_a_forked_process_is_detected(pool):
    # A copy that never returns but writes straight to the result pipe, for the case it was forked in.
    action = ("if i == 0 and os.fork() == 0:\n        os.write(3, forged(0, 7.0))\n        os._exit(0)\n"
              "    time.sleep(0.1)")
    run_cases, outcomes = run_forger(pool, action)
    assert outcomes[0].status == "second_writer", outcomes[0]
    assert "a second process wrote results" in outcomes[0].error_message.lower()
    for case, outcome in zip(run_cases[1:], outcomes[1:], strict=True):
        assert outcome.status == "ok"
        np.testing.assert_array_equal(outcome.outputs[0], case["x"])


def test_a_frame_for_a_case_that_does_not_exist_fails_the_running_case(pool):
    _, outcomes = run_forger(pool, "if i == 1:\n        os.write(3, forged(1000, 1.0))")
    assert [o.status for o in outcomes] == ["ok", "second_writer", "ok"]
    assert "does not exist" in outcomes[1].error_message
