"""SandboxPool behaviour: reporting, concurrency, refusal and weak mode, recovery from a dead fork server."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import numpy as np
import pytest

from grader.sandbox import Capabilities, Limits, SandboxPool, check_capabilities
from grader.sandbox import pool as pool_module

from .conftest import CORRECT_CODE, SECRET, assert_correct_run, correct_cases, require_isolation


def test_capabilities_are_full_here():
    require_isolation()
    caps = check_capabilities()
    assert caps.full, caps.describe()


def test_correct_submission_with_output_per_case(pool):
    code = "def f(x, W):\n    print('case', x.shape[0])\n    return x @ W, W.T\n"
    cases = correct_cases(3)
    cases[1] = {"x": np.ones((5, 4)), "W": np.ones((4, 2))}
    result = pool.run(code, "f", cases, time_limit_s=2)
    assert result.status == "ok"
    assert [c.stdout for c in result.cases] == ["case 3\n", "case 5\n", "case 3\n"]
    assert all(c.seconds >= 0 for c in result.cases)
    np.testing.assert_allclose(result.cases[1].outputs[0], np.full((5, 2), 4.0))


def test_error_shows_the_students_lines_only(pool):
    code = "import numpy as np\n\ndef f(x, W):\n    return helper(x, W)\n\ndef helper(x, W):\n    return W @ x\n"
    case = pool.run(code, "f", correct_cases(1)).cases[0]
    assert case.status == "error"
    assert case.error_type == "ValueError"
    assert case.traceback == ["line 4, in f\n    return helper(x, W)", "line 7, in helper\n    return W @ x"]
    assert "/" not in " ".join(case.traceback)


def test_syntax_error_is_reported_before_running(pool):
    result = pool.run("def f(x):\n    return x +\n", "f", correct_cases(1))
    assert result.status == "syntax_error"
    assert result.message.startswith("line 2")
    assert result.cases == []


def test_missing_function(pool):
    case = pool.run("def g(x):\n    return x\n", "f", correct_cases(1)).cases[0]
    assert (case.status, case.error_type) == ("error", "NameError")


def test_concurrent_callers_get_their_own_results(pool):
    code = "import time\ndef f(x, W):\n    time.sleep(0.01)\n    return x @ W, W.T\n"
    errors: list[str] = []

    def caller(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(4):
            cases = [{"x": rng.standard_normal((2, 3)), "W": rng.standard_normal((3, 2))} for _ in range(3)]
            result = pool.run(code, "f", cases)
            for case, out in zip(cases, result.cases, strict=True):
                if out.status != "ok" or not np.allclose(out.outputs[0], case["x"] @ case["W"]):
                    errors.append(f"{out.status} {out.error_message}")

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_fork_servers_have_a_clean_environment(pool):
    for slot in pool._slots:
        with open(f"/proc/{slot.proc.pid}/environ", "rb") as f:
            env = dict(item.split(b"=", 1) for item in f.read().split(b"\x00") if item)
        assert SECRET.encode() not in b"".join(env.values())
        assert set(env) <= {b"PATH", b"LANG", b"OPENBLAS_NUM_THREADS", b"OMP_NUM_THREADS", b"MKL_NUM_THREADS"}
        assert env[b"OPENBLAS_NUM_THREADS"] == b"1"


def test_pools_claim_distinct_uids(pool):
    with SandboxPool(1) as other:
        assert set(other.uids).isdisjoint(pool.uids)
        assert_correct_run(other)


def test_dead_fork_server_is_an_infrastructure_error_then_recovers():
    require_isolation()
    with SandboxPool(1) as single:
        os.kill(single._slots[0].proc.pid, signal.SIGKILL)
        single._slots[0].proc.wait()
        result = single.run(CORRECT_CODE, "f", correct_cases(1))
        assert result.status == "infrastructure_error"
        assert_correct_run(single)


def test_refused_without_isolation(monkeypatch):
    monkeypatch.setattr(pool_module, "check_capabilities", lambda: Capabilities(False, False, True, ("test",)))
    refusing = SandboxPool(1)
    result = refusing.run(CORRECT_CODE, "f", correct_cases(1))
    assert result.status == "refused"
    assert "SANDBOX_ALLOW_WEAK=1" in result.message
    refusing.close()


def test_weak_mode_runs_and_warns(monkeypatch, caplog):
    if os.environ.get("CI") != "true" and os.geteuid() != 0:
        pytest.skip("needs root like the rest of the suite")
    monkeypatch.setattr(pool_module, "check_capabilities", lambda: Capabilities(False, False, True, ("test",)))
    with caplog.at_level(logging.WARNING, logger="grader.sandbox.pool"):
        weak = SandboxPool(1, allow_weak=True, limits=Limits())
    try:
        assert weak.weak and not weak.isolation.namespaces and not weak.isolation.uid and weak.isolation.seccomp
        assert any("WEAK" in r.message for r in caplog.records)
        assert_correct_run(weak)
        leftover = weak.run("def f(x, W):\n    open('left', 'w').write('x')\n    return x, W\n", "f",
                            correct_cases(1))
        assert leftover.cases[0].status == "ok"
        deadline = time.monotonic() + 5
        while os.listdir(weak._slots[0].workdir) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.listdir(weak._slots[0].workdir) == []  # emptied once the run's process is gone
        case = weak.run("import time\ndef f(x, W):\n    while True:\n        pass\n", "f", correct_cases(1),
                        time_limit_s=0.3).cases[0]
        assert case.status == "timeout"
    finally:
        weak.close()
