"""SandboxPool behaviour: reporting, concurrency, refusal and weak mode, recovery from a dead fork server."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import numpy as np
import pytest

from grader.sandbox import Capabilities, Isolation, Limits, SandboxPool, check_capabilities
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


def test_asserts_in_the_submission_run(pool):
    # The sandbox's interpreter runs with -OO, but the submission is compiled by the pool: asserts stay.
    code = "def f(x, W):\n    assert __debug__ and x.shape == (9, 9), 'x should be 9x9'\n    return x\n"
    outcome = pool.run(code, "f", correct_cases(1)).cases[0]
    assert (outcome.status, outcome.error_type, outcome.error_message) == ("error", "AssertionError", "x should be 9x9")


def test_syntax_error_is_reported_before_running(pool):
    result = pool.run("def f(x):\n    return x +\n", "f", correct_cases(1))
    assert result.status == "syntax_error"
    assert result.message.startswith("line 2")
    assert result.cases == []


def test_missing_function_is_a_load_error(pool):
    result = pool.run("def g(x):\n    return x\n", "f", correct_cases(2))
    assert result.status == "load_error" and result.cases == []
    assert (result.load_error.status, result.load_error.error_type) == ("error", "NameError")
    assert "does not define a function named f()" in result.load_error.error_message


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
            # (glibc splits GLIBC_TUNABLES in place when it reads it: the tunables after the first show up as
            # entries of their own)
            env = dict(item.split(b"=", 1) for item in f.read().split(b"\x00")
                       if item and not item.startswith(b"glibc."))
        assert SECRET.encode() not in b"".join(env.values())
        assert set(env) <= {b"PATH", b"LANG", b"OPENBLAS_NUM_THREADS", b"OMP_NUM_THREADS", b"MKL_NUM_THREADS",
                            b"GLIBC_TUNABLES"}
        assert env[b"OPENBLAS_NUM_THREADS"] == b"1"


def test_pools_claim_distinct_uids(pool):
    with SandboxPool(1) as other:
        assert set(other.uids).isdisjoint(pool.uids)
        assert_correct_run(other)


def test_dead_fork_server_costs_no_attempt_and_the_slot_recovers():
    require_isolation()
    with SandboxPool(1) as single:
        zygote = single.zygote_pids
        os.kill(single._slots[0].proc.pid, signal.SIGKILL)
        single._slots[0].proc.wait()
        # The zygote and its waiting child die with the server, but how soon is up to the kernel: the next
        # run is either graded in full by the already waiting child or an infrastructure error (no attempt
        # used), never a failure of the student's code.
        result = single.run(CORRECT_CODE, "f", correct_cases(3))
        assert result.status in {"ok", "infrastructure_error"}
        if result.status == "ok":
            assert [c.status for c in result.cases] == ["ok", "ok", "ok"]
        # Found broken before the next run starts, the slot is restarted and the run goes ahead.
        assert_correct_run(single)
        assert single.zygote_pids != zygote


def test_without_seccomp_a_changed_zygote_is_replaced():
    require_isolation()
    limits = Limits(isolation=Isolation(seccomp=False))
    with SandboxPool(1, limits=limits) as single:
        zygote = single.zygote_pids
        lower = "import os\ndef f(x, W):\n    os.setpriority(os.PRIO_PROCESS, 1, 19)\n    return x\n"
        assert single.run(lower, "f", correct_cases(1)).cases[0].status == "ok"
        nice = ("import os, numpy as np\n"
                "def f(x, W):\n    return np.array([float(os.getpriority(os.PRIO_PROCESS, 0))])\n")
        outcome = single.run(nice, "f", correct_cases(1)).cases[0]
        assert outcome.status == "ok" and list(outcome.outputs[0]) == [0.0]
        assert single.zygote_pids != zygote


def test_a_strict_umask_of_the_service_does_not_break_the_sandbox():
    require_isolation()
    old = os.umask(0o077)  # the fork server inherits it (systemd's UMask=0077, say)
    try:
        with SandboxPool(1) as single:
            assert_correct_run(single)
    finally:
        os.umask(old)


def test_visible_paths_are_readable_and_nothing_else_is_new(tmp_path):
    require_isolation()
    shared = tmp_path / "datasets"
    shared.mkdir()
    (shared / "weights.txt").write_text("0.5")
    os.chmod(tmp_path, 0o755)
    (tmp_path / "private.txt").write_text("not for students")
    code = f"""
import os, numpy as np
def f(x, W):
    readable = float(open({str(shared / 'weights.txt')!r}).read())
    beside = float(os.path.exists({str(tmp_path / 'private.txt')!r}))
    try:
        open({str(shared / 'new.txt')!r}, 'w')
        wrote = 1.0
    except OSError:
        wrote = 0.0
    return np.array([readable, beside, wrote])
"""
    with SandboxPool(1, limits=Limits(visible_paths=(str(shared),))) as single:
        outcome = single.run(code, "f", correct_cases(1)).cases[0]
    assert outcome.status == "ok", outcome.error_message
    assert list(outcome.outputs[0]) == [0.5, 0.0, 0.0]  # read-only, and only the named directory


def test_refused_without_isolation(monkeypatch):
    monkeypatch.setattr(pool_module, "check_capabilities", lambda: Capabilities(False, False, True, ("test",)))
    refusing = SandboxPool(1)
    result = refusing.run(CORRECT_CODE, "f", correct_cases(1))
    assert result.status == "refused"
    assert "SANDBOX_ALLOW_WEAK=1" in result.message
    refusing.close()


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("3", 3), ("", None), ("0", None), ("many", None)])
def test_slots_per_pool_come_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("SANDBOX_SLOTS", value)
    monkeypatch.setattr(pool_module, "check_capabilities", lambda: Capabilities(False, False, True, ("test",)))
    refusing = SandboxPool()  # refused (no isolation): sized, but starts no fork server
    assert refusing.size == (expected or os.cpu_count())
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


def test_namespaces_without_a_uid_switch_run_with_the_library_under_tmp(tmp_path):
    # The bench's "+ namespaces" layer: the zygote runs as root, so emptying /tmp between runs must leave
    # alone what the slot put there itself (library views, here a visible path under /tmp, as when the
    # checkout and its venv live under /tmp in CI); it used to try to remove them and end the slot.
    require_isolation()
    shared = tmp_path / "datasets"
    shared.mkdir()
    (shared / "weights.txt").write_text("0.5")
    os.chmod(tmp_path, 0o755)
    limits = Limits(isolation=Isolation(uid=False, seccomp=False, rlimits=False), visible_paths=(str(shared),))
    weights = str(shared / "weights.txt")
    code = f"import numpy as np\ndef f(x, W):\n    return np.array([float(open({weights!r}).read())])\n"
    with SandboxPool(1, limits=limits) as single:
        zygotes = single.zygote_pids
        for _ in range(3):
            result = single.run(code, "f", correct_cases(2))
            assert result.status == "ok", result.message
            assert [list(c.outputs[0]) for c in result.cases] == [[0.5], [0.5]]
        assert single.zygote_pids == zygotes  # the slot was never restarted
