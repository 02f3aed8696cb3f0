"""Printing too much keeps the first part of the output, drops the rest, and stops nothing: every case is
graded, each with its own output, and the parent's cost of draining a flood stays small."""

from __future__ import annotations

import os
import time

import numpy as np

from grader.sandbox.output import OutputCapture

MARK = b"\n\x00--case-end-0123456789abcdef--\x00\n"


def test_every_case_runs_and_keeps_the_start_of_its_output(pool):
    code = "def f(x):\n    for i in range(20000):\n        print('case', int(x[0, 0]), 'line', i)\n    return x * 2\n"
    cases = [{"x": np.full((1, 1), float(i))} for i in range(6)]
    result = pool.run(code, "f", cases, time_limit_s=5.0)
    assert result.status == "ok"
    limit = pool.limits.stdout_chars_per_case
    kept = 0
    for i, (case, outcome) in enumerate(zip(cases, result.cases, strict=True)):
        assert outcome.status == "ok"
        np.testing.assert_array_equal(outcome.outputs[0], case["x"] * 2)
        assert outcome.stdout_truncated
        lines = outcome.stdout.splitlines()
        assert lines[-1].startswith("… [") and lines[-1].endswith(" more bytes of output were not kept]")
        if len(lines) > 1:  # its own output, from the start (the whole run's cap may leave later cases none)
            assert lines[0] == f"case {i} line 0"
            assert all(line.startswith(f"case {i} line") for line in lines[:-1] if line)
        kept += len(outcome.stdout) - len(lines[-1])
        assert len(outcome.stdout) <= limit + 100
    assert result.cases[0].stdout.startswith("case 0 line 0\ncase 0 line 1\n")
    assert kept <= pool.limits.output_bytes  # the whole run's cap


def test_a_little_output_is_kept_whole(pool):
    result = pool.run("def f(x):\n    print('dx =', x.sum())\n    return x\n", "f", [{"x": np.ones((2, 2))}] * 2)
    assert [(c.stdout, c.stdout_truncated) for c in result.cases] == [("dx = 4.0\n", False)] * 2


def test_a_flood_costs_the_parent_little(pool):
    # The child writes as fast as it can for its whole time limit; the parent reads in large chunks and
    # keeps only the capped prefix. Its CPU time (this process) is bounded by the time limit, and per byte
    # it is about one copy (measured 0.2-0.3 s per GB here, with 1 MiB reads).
    code = "import os\ndef f(x):\n    block = b'z' * (1 << 20)\n    while True:\n        os.write(1, block)\n"
    before = os.times()
    started = time.monotonic()
    result = pool.run(code, "f", [{"x": np.ones(1)}], time_limit_s=1.0)
    after = os.times()
    parent_cpu = (after.user - before.user) + (after.system - before.system)
    outcome = result.cases[0]
    assert outcome.status == "timeout" and outcome.stdout_truncated
    dropped = int(outcome.stdout.splitlines()[-1].split()[1].strip("[").replace(",", ""))
    assert dropped > 50 << 20  # it really flooded (tens of MiB at least)
    assert time.monotonic() - started < 3
    assert parent_cpu < 1.0, parent_cpu  # less than the child's own second
    assert parent_cpu / (dropped / 1e9) < 0.6, (parent_cpu, dropped)  # seconds of parent CPU per GB drained


def test_markers_are_found_across_reads_of_any_size():
    stream = b"".join(f"out {i}\n".encode() * 3 + MARK for i in range(4)) + b"late\n"
    for size in (1, 2, 7, len(MARK) - 1, len(MARK), len(MARK) + 1, 4096):
        capture = OutputCapture(MARK, 0, 3, 1000, 10_000)
        buffer = bytearray(size)
        for start in range(0, len(stream), size):
            chunk = stream[start : start + size]
            buffer[: len(chunk)] = chunk
            capture.feed(buffer, len(chunk))
        capture.finish()
        texts = {i: bytes(t.kept) for i, t in capture.texts.items()}
        assert texts == {0: b"out 0\n" * 3, 1: b"out 1\n" * 3, 2: b"out 2\n" * 3, 3: b"out 3\n" * 3 + b"late\n"}, size


def test_the_caps_keep_a_prefix_and_count_the_rest():
    capture = OutputCapture(MARK, 0, 2, 10, 15)
    capture.feed(b"a" * 100 + MARK + b"b" * 100 + MARK + b"c" * 5)
    capture.finish()
    assert {i: (bytes(t.kept), t.total) for i, t in capture.texts.items()} == {
        0: (b"a" * 10, 100), 1: (b"b" * 5, 100), 2: (b"", 5)}
    assert capture.room == 0
