"""One failure is one failure: a case that times out, crashes or exits fails alone, with the sandbox's own
reason in a whole sentence, and the remaining cases run in a fresh child; a run's time budget bounds it all."""

from __future__ import annotations

import time

import numpy as np
import pytest

from .conftest import stray_processes

# Case 2 of 4 (x[0, 0] == 1) does something that ends its process; the others return x + 1.
TEMPLATE = """
import ctypes, mmap, os, signal, sys, time
import numpy as np

def f(x):
    if x[0, 0] == 1:
{action}
    return x + 1
"""

INT80_GETPID = b"\xb8\x14\x00\x00\x00\xcd\x80\xc3"  # mov eax, 20; int 0x80; ret: the i386 ABI, never allowed

ACTIONS = {
    "timeout": ("while True:\n            pass", "timeout", "TimeoutError", "time limit of 0.5 s"),
    "segfault": ("ctypes.string_at(1)", "killed", "Crash", "segmentation fault"),
    "abort": ("os.abort()", "killed", "Crash", "aborted"),
    "sigkill": ("os.kill(os.getpid(), signal.SIGKILL)", "killed", "Crash", "memory limit"),
    "os_exit": ("os._exit(3)", "killed", "Exit", "exit code 3"),
    "sys_exit": ("sys.exit(2)", "error", "SystemExit", "called sys.exit(2)"),
    "forbidden_syscall": (
        "buf = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        f"        buf.write({INT80_GETPID!r})\n"
        "        address = ctypes.addressof(ctypes.c_char.from_buffer(buf))\n"
        "        ctypes.CFUNCTYPE(ctypes.c_int)(address)()",
        "killed", "Forbidden", "an operation the sandbox forbids"),
    "denied_call": ("os.execv('/bin/true', ['true'])", "error", "PermissionError", "not permitted"),
}


def cases(n: int = 4) -> list[dict[str, np.ndarray]]:
    return [{"x": np.full((2, 2), float(i))} for i in range(n)]


@pytest.mark.parametrize("name", list(ACTIONS))
def test_a_case_that_ends_its_process_fails_alone(pool, name):
    action, status, error_type, words = ACTIONS[name]
    code = TEMPLATE.format(action="        " + action)
    run_cases = cases()
    result = pool.run(code, "f", run_cases, time_limit_s=0.5)
    assert result.status == "ok", result.message
    assert [c.status for c in result.cases] == ["ok", status, "ok", "ok"], result.cases[1]
    failed = result.cases[1]
    assert failed.error_type == error_type
    assert words in failed.error_message
    if status != "error":  # (an exception's message is Python's own)
        assert failed.error_message[0].isupper() and failed.error_message.endswith((".", "?")), failed.error_message
    if name != "forbidden_syscall":
        assert "forbid" not in failed.error_message  # said only when it really was SIGSYS
    for case, outcome in zip(run_cases, result.cases, strict=True):
        if outcome is not failed:
            np.testing.assert_array_equal(outcome.outputs[0], case["x"] + 1)
    assert stray_processes(pool) == []


def test_every_case_crashing_is_reported_case_by_case(pool):
    code = "import os, signal\ndef f(x):\n    os.kill(os.getpid(), signal.SIGSEGV)\n"
    result = pool.run(code, "f", cases(5), time_limit_s=0.5)
    assert [c.status for c in result.cases] == ["killed"] * 5
    assert all("segmentation fault" in c.error_message for c in result.cases)


def test_over_the_memory_limit_is_said_so(pool):
    # Each process stays under its own address-space limit, together they pass the slot's memory cgroup
    # (336 MiB): the kernel kills the larger, the case's own process, while it grows.
    code = """
import os, time
import numpy as np
def f(x):
    if x[0, 0] == 1:
        if os.fork() == 0:
            small = np.ones(15_000_000)
            time.sleep(5)
            os._exit(0)
        time.sleep(0.2)
        big = [np.ones(1_250_000) for _ in range(25)]
        time.sleep(5)
    return x + 1
"""
    result = pool.run(code, "f", cases(3), time_limit_s=3.0)
    assert result.status == "ok", result.message
    assert [c.status for c in result.cases] == ["ok", "memory", "ok"], result.cases[1]
    assert "more memory than the sandbox allows (256 MiB)" in result.cases[1].error_message


def test_the_run_budget_bounds_repeated_slow_loads(pool):
    # Every fresh child loads for almost the limit and its first case times out: the run's budget (the
    # per-case limits plus one for loading) runs out before the last cases, which say why they did not run.
    code = "import time\ntime.sleep(0.19)\ndef f(x):\n    while True:\n        pass\n"
    started = time.monotonic()
    result = pool.run(code, "f", cases(8), time_limit_s=0.2)  # a budget of 8 x 0.2 s + 1 s
    elapsed = time.monotonic() - started
    statuses = [c.status for c in result.cases]
    assert statuses[0] == "timeout" and statuses[-1] == "not_run", statuses
    assert statuses == sorted(statuses, key=["timeout", "not_run"].index)  # time-outs, then not run
    assert "the earlier tests used up the run's time budget of 2.6 s" in result.cases[-1].error_message
    assert elapsed < 2.6 + 1.0
