"""The parent's reading of what a child left behind: forged, broken and truncated results."""

from __future__ import annotations

import signal

import numpy as np
import pytest

from grader.sandbox import Limits, wire
from grader.sandbox.output import CaseText
from grader.sandbox.report import RawRun, build_outcomes, case_text, scrub
from grader.sandbox.runner import error_frame, result_frame

CASES = [{"x": np.arange(3.0)}, {"x": np.ones(2)}]
LIMITS = Limits()


def ok_frame(returned, case=None):
    case = case or CASES[0]
    return result_frame(returned, {k: v.copy() for k, v in case.items()}, case, 1 << 20)


def outcomes(frames, cases=CASES, **kw):
    """The outcomes of a child that sent `frames` for the first cases in order, then ended."""
    raw = RawRun(first=0, count=len(cases), acked=True, loaded=True, frames=dict(enumerate(frames)),
                 running=min(len(frames), len(cases)), **kw)
    return [o for _, o in sorted(build_outcomes(raw, cases, 1.0, LIMITS, 3.0).items())]


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
    (dict(stopped="budget"), "not_run", "time budget of 3 s"),
    (dict(stopped="result_limit"), "bad_return", "more data"),
    (dict(exit_signal=signal.SIGXCPU), "timeout", "CPU"),
    (dict(exit_signal=signal.SIGSEGV), "killed", "segmentation"),
    (dict(exit_signal=signal.SIGKILL), "killed", "SIGKILL"),
    (dict(exit_signal=signal.SIGKILL, oom_killed=True), "memory", "more memory than the sandbox allows (256 MiB)"),
    (dict(exit_signal=signal.SIGABRT), "killed", "aborted"),
    (dict(exit_signal=signal.SIGSYS), "killed", "an operation the sandbox forbids"),
    (dict(exit_signal=signal.SIGTERM), "killed", "SIGTERM"),
    (dict(exit_code=0), "killed", "exit code 0"),
])
def test_how_the_child_ended_decides_the_running_case(raw, status, words):
    out = outcomes([ok_frame(np.ones(3))], **raw)
    assert out[0].status == "ok"
    assert out[1].status == status
    assert words in out[1].error_message
    assert out[1].error_message[0].isupper() and out[1].error_message.endswith(".")  # a whole sentence


def test_the_cases_after_the_one_that_ended_its_child_are_left_for_the_next_child():
    out = outcomes([], stopped="timeout")
    assert [o.status for o in out] == ["timeout"]


def test_a_case_reported_by_a_second_writer_is_failed_not_taken():
    raw = RawRun(first=0, count=2, acked=True, loaded=True, running=2,
                 frames={0: ok_frame(np.ones(3)), 1: ok_frame(np.ones(2), CASES[1])},
                 conflicts={1: "test 2 was reported twice"})
    out = build_outcomes(raw, CASES, 1.0, LIMITS, 3.0)
    assert [out[0].status, out[1].status] == ["ok", "second_writer"]
    assert out[1].outputs is None
    assert out[1].error_message.startswith("A second process wrote results: test 2 was reported twice.")


@pytest.mark.parametrize("frame", [
    wire.LENGTH.pack(200_000) + b"[" * 200_000,
    wire.pack({"status": "ok", "outputs": [], "mutated": {}, "seconds": 10**400}),
])
def test_hostile_headers_are_bad_returns_not_crashes(frame):
    (outcome,) = outcomes([frame], cases=[CASES[0]])
    assert outcome.status in {"ok", "bad_return"}
    assert 0.0 <= outcome.seconds <= 1.0


def test_shown_output_says_how_much_was_dropped():
    assert case_text(CaseText(bytearray(b"b\xff"), 2), 100) == ("b\ufffd", False)
    shown, truncated = case_text(CaseText(bytearray(b"x" * 500), 10_500), 100)
    assert truncated
    assert shown == "x" * 100 + "\n… [10,400 more bytes of output were not kept]"


def test_the_dtype_each_output_had_is_reported():
    (out,) = outcomes([ok_frame((np.ones(3, np.float32), np.arange(2), 1.5, [[1, 2]], True))], cases=[CASES[0]])
    assert out.dtypes == ["float32", "int64", "float64", "int64", "bool"]
    assert all(o.dtype == np.float64 for o in out.outputs)


def test_an_unknown_dtype_on_the_wire_is_a_bad_return():
    frame = wire.pack({"status": "ok", "outputs": [{"dtype": "<m8", "shape": [1]}], "mutated": {}}, [b"\x00" * 8])
    (out,) = outcomes([frame], cases=[CASES[0]])
    assert out.status == "bad_return" and out.dtypes == []


def test_service_paths_are_scrubbed():
    import sys

    from grader.sandbox.bootstrap import PACKAGE_PARENT

    text = scrub(f"File {PACKAGE_PARENT}/grader/x.py and {sys.prefix}/lib/numpy")
    assert PACKAGE_PARENT not in text and sys.prefix not in text
