"""Parent side: turn what a child left behind (frames, output, how it ended) into CaseOutcomes.

Every byte here came from a process that ran student code; it is parsed strictly, size-capped, and
never unpickled. Statuses that depend on *how the child ended* (time-out, output limit, crash) come from
the pool's own observations, not from anything the child said.
"""

from __future__ import annotations

import math
import signal
import sys
from dataclasses import dataclass, field

import numpy as np

from grader.sandbox import wire
from grader.sandbox.bootstrap import PACKAGE_PARENT
from grader.sandbox.coerce import BadReturn, coerce_value
from grader.sandbox.limits import Limits
from grader.sandbox.results import CaseOutcome

MAX_TEXT = 2000
MAX_TRACEBACK_LINES = 30


@dataclass
class RawRun:
    """What the pool observed of one child."""

    acked: bool = False                        # the child reached the submission (READY was received)
    frames: list[bytes] = field(default_factory=list)  # one per completed case, in order
    output: bytes = b""                        # stdout+stderr, at most Limits.output_bytes
    stopped: str | None = None                 # why the pool killed it: timeout, output_limit, result_limit
    exit_code: int | None = None
    exit_signal: int | None = None
    case_seconds: list[float] = field(default_factory=list)


def _scrub_paths() -> list[str]:
    paths = {PACKAGE_PARENT, sys.prefix, sys.base_prefix, sys.exec_prefix}
    return sorted((p for p in paths if p and p != "/"), key=len, reverse=True)


_SCRUB = _scrub_paths()


def scrub(text: str) -> str:
    """No paths of the service in anything shown to a student."""
    for path in _SCRUB:
        text = text.replace(path, "<service>")
    return text


def _text(value: object, limit: int = MAX_TEXT) -> str:
    text = scrub(value if isinstance(value, str) else str(value))
    return text if len(text) <= limit else text[:limit] + " …"


def split_output(output: bytes, marker: bytes, n_cases: int, limit: int) -> list[str]:
    """The output per case (the runner writes `marker` after each case); later text goes to the last case."""
    parts = output.split(marker) if marker else [output]
    if len(parts) > n_cases:
        parts = parts[: n_cases - 1] + [b"".join(parts[n_cases - 1 :])]
    texts = []
    for part in parts:
        text = scrub(part.decode("utf-8", errors="replace"))
        texts.append(text if len(text) <= limit else text[:limit] + "\n… [output truncated]")
    return texts + [""] * (n_cases - len(texts))


def _frame_outcome(frame: bytes, original: dict[str, np.ndarray], max_bytes: int) -> CaseOutcome:
    try:
        header, blobs = wire.unpack(frame)
    except wire.WireError as exc:
        return CaseOutcome("bad_return", error_message=f"the result could not be read ({exc})")
    try:
        outcome = _decoded_outcome(header, blobs, original, max_bytes)
    except Exception as exc:  # hostile input: whatever slipped past the checks is the submission's problem
        return CaseOutcome("bad_return", error_message=f"the result could not be read ({type(exc).__name__})")
    seconds = header.get("seconds")
    if type(seconds) is float and math.isfinite(seconds):  # as the child reported it
        outcome.seconds = seconds
    return outcome


def _label(index: int, count: int) -> str:
    return f"output {index + 1} is " if count > 1 else "the function returned "


def _decoded_outcome(header: dict, blobs: list[memoryview], original: dict[str, np.ndarray],
                     max_bytes: int) -> CaseOutcome:
    status = header.get("status")
    if status == "error":
        error_type = _text(header.get("error_type"), 100)
        tb = header.get("traceback")
        lines = [_text(x, 500) for x in tb[-MAX_TRACEBACK_LINES:]] if isinstance(tb, list) else []
        return CaseOutcome(
            "memory" if error_type == "MemoryError" else "error",
            error_type=error_type,
            error_message=_text(header.get("error_message", "")),
            traceback=lines,
        )
    if status == "too_large":
        return CaseOutcome("bad_return", error_message="the returned arrays are larger than the limit")
    if status != "ok":
        return CaseOutcome("bad_return", error_message="the result could not be read (unknown status)")
    metas, mutated = header.get("outputs"), header.get("mutated")
    if not isinstance(metas, list) or not isinstance(mutated, dict):
        return CaseOutcome("bad_return", error_message="the result could not be read (bad layout)")
    blob_iter = iter(blobs)
    outputs: list[np.ndarray] = []
    problem: str | None = None
    try:
        for i, meta in enumerate(metas):
            if isinstance(meta, dict) and "unsupported" in meta:
                problem = problem or _label(i, len(metas)) + _text(meta["unsupported"], 300)
                continue
            try:
                outputs.append(coerce_value(wire.decode_array(meta, next(blob_iter), max_bytes=max_bytes)))
            except BadReturn as exc:
                problem = problem or _label(i, len(metas)) + str(exc)
        inputs_after = dict(original)
        for name, meta in mutated.items():
            array = wire.decode_array(meta, next(blob_iter), max_bytes=max_bytes)
            if name in original:
                inputs_after[name] = np.array(array, dtype=np.float64, subok=False)
    except (wire.WireError, StopIteration, TypeError, ValueError) as exc:
        return CaseOutcome("bad_return", error_message=f"the result could not be read ({_text(exc, 200)})")
    if problem:
        return CaseOutcome("bad_return", inputs_after=inputs_after, error_type="BadReturn",
                           error_message=problem)
    return CaseOutcome("ok", outputs=outputs, inputs_after=inputs_after)


def _stopped_outcome(raw: RawRun, time_limit_s: float, limits: Limits) -> CaseOutcome:
    """The case that was running when the child ended early."""
    if raw.stopped == "timeout":
        return CaseOutcome("timeout", error_type="TimeoutError",
                           error_message=f"took longer than the time limit of {time_limit_s:g} s (an endless loop?)")
    if raw.stopped == "output_limit":
        return CaseOutcome("output_limit", error_type="OutputLimit",
                           error_message=f"printed more than {limits.output_bytes // 1024} KiB of output")
    if raw.stopped == "result_limit":
        return CaseOutcome("bad_return", error_type="BadReturn",
                           error_message="returned more data than the limit allows")
    sig = raw.exit_signal
    if sig == signal.SIGXCPU:
        return CaseOutcome("timeout", error_type="TimeoutError", error_message="used more CPU time than allowed")
    if sig in (signal.SIGSEGV, signal.SIGBUS):
        return CaseOutcome("killed", error_type="Crash",
                           error_message="the process crashed (segmentation fault; very deep recursion?)")
    if sig == signal.SIGKILL:
        return CaseOutcome("killed", error_type="Crash",
                           error_message="the process was killed by SIGKILL (over the memory limit?)")
    if sig == signal.SIGABRT:
        return CaseOutcome("killed", error_type="Crash", error_message="the process aborted (out of memory?)")
    if sig is not None:
        return CaseOutcome("killed", error_type="Crash",
                           error_message=f"the process was killed by {signal.Signals(sig).name}")
    return CaseOutcome("killed", error_type="Exit",
                       error_message=f"the process exited (code {raw.exit_code}) during this test; "
                                     "sys.exit() and os._exit() end the whole run")


def build_outcomes(raw: RawRun, cases: list[dict[str, np.ndarray]], marker: bytes, time_limit_s: float,
                   limits: Limits) -> list[CaseOutcome]:
    """One CaseOutcome per case, in order."""
    n = len(cases)
    texts = split_output(raw.output, marker, n, limits.stdout_chars_per_case)
    outcomes: list[CaseOutcome] = []
    for i in range(n):
        if i < len(raw.frames):
            outcome = _frame_outcome(raw.frames[i], cases[i], limits.result_bytes)
        elif i == len(raw.frames):
            outcome = _stopped_outcome(raw, time_limit_s, limits)
        else:
            outcome = CaseOutcome("killed", error_type="NotRun",
                                  error_message=f"not run: the sandbox stopped during test {len(raw.frames) + 1}")
        outcome.stdout = texts[i]
        if i >= len(raw.frames):  # the case that was stopped: by the pool's own clock
            outcome.seconds = raw.case_seconds[i] if i < len(raw.case_seconds) else 0.0
        outcome.seconds = min(max(outcome.seconds, 0.0), time_limit_s)  # informational: never trusted
        outcomes.append(outcome)
    return outcomes
