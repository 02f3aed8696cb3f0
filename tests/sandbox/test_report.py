"""The parent's reading of what a child left behind: forged, broken and truncated results."""

from __future__ import annotations

import signal

import numpy as np
import pytest

from grader.sandbox import Limits, wire
from grader.sandbox.report import RawRun, build_outcomes, scrub, split_output
from grader.sandbox.runner import error_frame, result_frame

MARK = b"\n\x00--mark--\x00\n"
CASES = [{"x": np.arange(3.0)}, {"x": np.ones(2)}]
LIMITS = Limits()


def ok_frame(returned, case=None):
    case = case or CASES[0]
    return result_frame(returned, {k: v.copy() for k, v in case.items()}, case, 1 << 20)


def outcomes(frames, **kw):
    raw = RawRun(acked=True, frames=frames, **kw)
    return build_outcomes(raw, CASES, MARK, 1.0, LIMITS)


def test_ok_frames_become_float64_outputs():
    out = outcomes([ok_frame((np.arange(3), 2.0)), ok_frame(np.ones(2), CASES[1])])
    assert [o.status for o in out] == ["ok", "ok"]
    assert out[0].outputs[0].dtype == np.float64
    np.testing.assert_array_equal(out[0].outputs[1], np.array(2.0))
    assert out[0].inputs_after["x"] is CASES[0]["x"]  # unchanged inputs are the caller's own arrays


def test_mutated_inputs_are_reported():
    case = CASES[0]
    args = {"x": case["x"] * 10}
    frame = result_frame(args["x"], args, case, 1 << 20)
    out = outcomes([frame])[0]
    np.testing.assert_array_equal(out.inputs_after["x"], case["x"] * 10)


def test_errors_keep_type_message_and_traceback():
    try:
        exec(compile("def g():\n    raise ValueError('bad shape')\ng()\n", "<submission>", "exec"), {})
    except ValueError as exc:
        frame = error_frame(exc)
    out = outcomes([frame])[0]
    assert (out.status, out.error_type, out.error_message) == ("error", "ValueError", "bad shape")
    assert out.traceback and all(line.startswith("line ") for line in out.traceback)
    assert not any("/" in line for line in out.traceback)  # no file paths at all


def test_memory_error_is_its_own_status():
    out = outcomes([error_frame(MemoryError("Unable to allocate"))])[0]
    assert out.status == "memory"


@pytest.mark.parametrize("frame", [
    b"garbage",
    wire.pack({"status": "ok", "outputs": [{"dtype": "|O", "shape": [1]}], "mutated": {}}, [b"\x00" * 8]),
    wire.pack({"status": "ok", "outputs": [{"dtype": "<f8", "shape": [2]}], "mutated": {}}, [b"\x00" * 8]),
    wire.pack({"status": "ok", "outputs": [{"dtype": "<f8", "shape": [1]}], "mutated": {}}),
    wire.pack({"status": "ok", "outputs": "nope", "mutated": {}}),
    wire.pack({"status": "pickle", "payload": "cos\nsystem\n"}),
    wire.pack({"status": "ok", "outputs": [{"unsupported": "a generator"}], "mutated": {}}),
    wire.pack({"status": "ok", "outputs": [{"dtype": "<c16", "shape": [1]}], "mutated": {}}, [b"\x00" * 16]),
])
def test_forged_or_broken_frames_are_bad_returns(frame):
    out = outcomes([frame])[0]
    assert out.status == "bad_return"
    assert out.outputs is None
    assert out.error_message


@pytest.mark.parametrize("raw, status, words", [
    (dict(stopped="timeout"), "timeout", "time limit of 1 s"),
    (dict(stopped="output_limit"), "output_limit", "KiB"),
    (dict(stopped="result_limit"), "bad_return", "more data"),
    (dict(exit_signal=signal.SIGXCPU), "timeout", "CPU"),
    (dict(exit_signal=signal.SIGSEGV), "killed", "segmentation"),
    (dict(exit_signal=signal.SIGKILL), "killed", "SIGKILL"),
    (dict(exit_signal=signal.SIGTERM), "killed", "SIGTERM"),
    (dict(exit_code=0), "killed", "exited (code 0)"),
])
def test_how_the_child_ended_decides_the_running_case(raw, status, words):
    out = outcomes([ok_frame(np.ones(3))], **raw)
    assert out[0].status == "ok"
    assert out[1].status == status
    assert words in out[1].error_message


def test_cases_after_the_stop_are_not_run():
    out = outcomes([], stopped="timeout")
    assert [o.status for o in out] == ["timeout", "killed"]
    assert "not run" in out[1].error_message


def test_extra_frames_are_ignored():
    frames = [ok_frame(np.ones(3)), ok_frame(np.ones(2), CASES[1]), b"extra"]
    assert [o.status for o in outcomes(frames)] == ["ok", "ok"]


@pytest.mark.parametrize("frame", [
    wire.LENGTH.pack(200_000) + b"[" * 200_000,
    wire.pack({"status": "ok", "outputs": [], "mutated": {}, "seconds": 10**400}),
])
def test_hostile_headers_are_bad_returns_not_crashes(frame):
    (outcome,) = build_outcomes(RawRun(acked=True, frames=[frame]), [CASES[0]], MARK, 2.0, Limits())
    assert outcome.status in {"ok", "bad_return"}
    assert 0.0 <= outcome.seconds <= 2.0


def test_output_is_split_per_case_and_capped():
    out = split_output(b"a\n" + MARK + b"b\xff" + MARK + b"late", MARK, 2, 100)
    assert out == ["a\n", "b\ufffdlate"]
    long = split_output(b"x" * 500, MARK, 1, 100)[0]
    assert long.startswith("x" * 100) and "truncated" in long


def test_service_paths_are_scrubbed():
    import sys

    from grader.sandbox.bootstrap import PACKAGE_PARENT

    text = scrub(f"File {PACKAGE_PARENT}/grader/x.py and {sys.prefix}/lib/numpy")
    assert PACKAGE_PARENT not in text and sys.prefix not in text
