"""Parent side: turn what a child left behind (frames, output, how it ended) into CaseOutcomes.

Every byte here came from a process that ran student code; it is parsed strictly, size-capped, and
never unpickled. Statuses that depend on *how the child ended* (time-out, crash, exit, a kill for memory)
come from the pool's own observations, not from anything the child said. Every message is a whole
sentence for the student with the sandbox's own reason.
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
from grader.sandbox.output import CaseText
from grader.sandbox.results import AVAILABLE, CaseOutcome

MAX_TEXT = 2000
MAX_TRACEBACK_LINES = 30
# The dtypes an output may have had in the child (CaseOutcome.dtypes); the wire admits nothing else anyway.
NUMERIC_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                            "float16", "float32", "float64", "float128", "longdouble"})


@dataclass
class RawRun:
    """What the pool observed of one child, which ran the run's cases `first` .. `first + count - 1`."""

    first: int = 0
    count: int = 0
    acked: bool = False                        # the child reached the submission (READY was received)
    loaded: bool = False                       # the module loaded and defines the function (LOADED)
    load_error: bytes | None = None            # the LOADED frame's error, when it did not
    load_seconds: float = 0.0
    frames: dict[int, bytes] = field(default_factory=dict)    # case index -> its frame, taken in order
    conflicts: dict[int, str] = field(default_factory=dict)   # case index -> what a second writer did
    running: int = 0                           # the case running when the child ended (first + count: none)
    stopped: str | None = None                 # why the pool killed it: timeout, load_timeout, budget, ...
    exit_code: int | None = None
    exit_signal: int | None = None
    oom_killed: bool = False                   # the slot's cgroup counted an out-of-memory kill meanwhile
    case_seconds: dict[int, float] = field(default_factory=dict)


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


def case_text(text: CaseText | None, limit: int) -> tuple[str, bool]:
    """What a case printed as shown (at most `limit` characters) and whether some of it was dropped; the
    shown text then ends with a line saying how much."""
    if text is None:
        return "", False
    decoded = bytes(text.kept).decode("utf-8", errors="replace")
    shown_bytes = len(text.kept)
    if len(decoded) > limit:
        decoded = decoded[:limit]
        shown_bytes = len(decoded.encode("utf-8", errors="replace"))
    shown = scrub(decoded)
    if shown_bytes >= text.total:
        return shown, False
    return (shown + ("" if shown.endswith("\n") or not shown else "\n")
            + f"… [{text.total - shown_bytes:,} more bytes of output were not kept]"), True


def _frame_outcome(frame: bytes, original: dict[str, np.ndarray], max_bytes: int) -> CaseOutcome:
    try:
        header, blobs = wire.unpack(frame)
    except wire.WireError as exc:
        return CaseOutcome("bad_return", error_type="BadReturn",
                           error_message=f"The result could not be read ({exc}).")
    try:
        outcome = _decoded_outcome(header, blobs, original, max_bytes)
    except Exception as exc:  # hostile input: whatever slipped past the checks is the submission's problem
        return CaseOutcome("bad_return", error_type="BadReturn",
                           error_message=f"The result could not be read ({type(exc).__name__}).")
    seconds = header.get("seconds")
    if type(seconds) is float and math.isfinite(seconds):  # as the child reported it
        outcome.seconds = seconds
    return outcome


def _label(index: int, count: int) -> str:
    return f"output {index + 1} is " if count > 1 else "the function returned "


def _error_outcome(header: dict) -> CaseOutcome:
    error_type = _text(header.get("error_type"), 100)
    tb = header.get("traceback")
    lines = [_text(x, 500) for x in tb[-MAX_TRACEBACK_LINES:]] if isinstance(tb, list) else []
    message = _text(header.get("error_message", ""))
    module = header.get("module")
    missing = _text(module, 200) if isinstance(module, str) and error_type == "ModuleNotFoundError" else None
    if missing:
        message = f"{message.rstrip('.')}. The sandbox has only {AVAILABLE}."
    memory = header.get("memory") is True or error_type == "MemoryError"
    return CaseOutcome("memory" if memory else "error", error_type=error_type, error_message=message,
                       traceback=lines, missing_module=missing)


def _decoded_outcome(header: dict, blobs: list[memoryview], original: dict[str, np.ndarray],
                     max_bytes: int) -> CaseOutcome:
    status = header.get("status")
    if status == "error":
        return _error_outcome(header)
    if status == "too_large":
        return CaseOutcome("bad_return", error_type="BadReturn",
                           error_message="The returned arrays are larger than the sandbox accepts.")
    if status != "ok":
        return CaseOutcome("bad_return", error_type="BadReturn",
                           error_message="The result could not be read (unknown status).")
    metas, mutated = header.get("outputs"), header.get("mutated")
    if not isinstance(metas, list) or not isinstance(mutated, dict):
        return CaseOutcome("bad_return", error_type="BadReturn",
                           error_message="The result could not be read (bad layout).")
    blob_iter = iter(blobs)
    outputs: list[np.ndarray] = []
    dtypes: list[str] = []
    problem: str | None = None
    try:
        for i, meta in enumerate(metas):
            if isinstance(meta, dict) and "unsupported" in meta:
                problem = problem or _label(i, len(metas)) + _text(meta["unsupported"], 300)
                continue
            array = wire.decode_array(meta, next(blob_iter), max_bytes=max_bytes)
            try:
                value = coerce_value(array)
            except BadReturn as exc:
                problem = problem or _label(i, len(metas)) + str(exc)
                continue
            name = _dtype_name(array.dtype)
            if name not in NUMERIC_DTYPES:
                problem = problem or _label(i, len(metas)) + f"an array of dtype {array.dtype}; return float arrays"
                continue
            outputs.append(value)
            dtypes.append(name)
        inputs_after = dict(original)
        for name, meta in mutated.items():
            array = wire.decode_array(meta, next(blob_iter), max_bytes=max_bytes)
            if name in original:
                inputs_after[name] = np.array(array, dtype=np.float64, subok=False)
    except (wire.WireError, StopIteration, TypeError, ValueError) as exc:
        return CaseOutcome("bad_return", error_type="BadReturn",
                           error_message=f"The result could not be read ({_text(exc, 200)}).")
    if problem:
        message = problem[0].upper() + problem[1:]
        return CaseOutcome("bad_return", inputs_after=inputs_after, error_type="BadReturn",
                           error_message=message if message.endswith(".") else message + ".")
    return CaseOutcome("ok", outputs=outputs, inputs_after=inputs_after, dtypes=dtypes)


_DTYPE_NAMES: dict[np.dtype, str] = {}  # numpy computes dtype.name in Python each time (~7 µs); few distinct


def _dtype_name(dtype: np.dtype) -> str:
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = dtype.name
    return name


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


def ended_outcome(raw: RawRun, time_limit_s: float, limits: Limits, budget_s: float, *,
                  loading: bool = False) -> CaseOutcome:
    """Why the child ended (or was stopped) while a case ran, or while the module loaded (`loading`): the
    pool's own observations, nothing the child said."""
    during = "while loading" if loading else "during this test"
    memory = f"{limits.memory_bytes // (1024 * 1024)} MiB"
    if raw.stopped == "load_timeout":
        return CaseOutcome("timeout", error_type="TimeoutError",
                           error_message=f"Your code did not finish loading within the time limit of "
                                         f"{time_limit_s:g} s: is a long loop running at the top level, "
                                         "outside the function?")
    if raw.stopped == "timeout":
        return CaseOutcome("timeout", error_type="TimeoutError",
                           error_message=f"Your function ran longer than the time limit of {time_limit_s:g} s "
                                         "and was stopped: look for an endless loop or very slow code.")
    if raw.stopped == "budget":
        return not_run_outcome(budget_s, cut_short=True)
    if raw.stopped == "result_limit":
        return CaseOutcome("bad_return", error_type="BadReturn",
                           error_message=f"Your function returned more data than the sandbox accepts "
                                         f"({limits.result_bytes // (1024 * 1024)} MiB).")
    sig = raw.exit_signal
    if sig == signal.SIGXCPU:
        return CaseOutcome("timeout", error_type="TimeoutError",
                           error_message=f"Your code used more CPU time than allowed {during} and was stopped.")
    if sig == signal.SIGKILL and raw.oom_killed:
        return CaseOutcome("memory", error_type="MemoryError",
                           error_message=f"Your code used more memory than the sandbox allows ({memory}) "
                                         f"{during} and was killed.")
    crashes = {
        signal.SIGSEGV: ("Crash", f"Your code crashed {during} with a segmentation fault (very deep "
                                  "recursion, or a bad pointer through ctypes?)."),
        signal.SIGBUS: ("Crash", f"Your code crashed {during} with a bus error."),
        signal.SIGABRT: ("Crash", f"Your code aborted {during} (SIGABRT), which usually means a library "
                                  "ran out of memory."),
        signal.SIGKILL: ("Crash", f"Your code's process was killed {during} (SIGKILL), most likely for "
                                  f"using more than the sandbox's memory limit of {memory}."),
        signal.SIGSYS: ("Forbidden", f"Your code used an operation the sandbox forbids {during} (signal "
                                     "SIGSYS: a system call that is not allowed here) and was stopped."),
    }
    if sig is not None:
        error_type, message = crashes.get(sig, ("Crash", f"Your code's process was ended {during} by "
                                                          f"{_signal_name(sig)}."))
        return CaseOutcome("killed", error_type=error_type, error_message=message)
    return CaseOutcome("killed", error_type="Exit",
                       error_message=f"Your code ended its process with exit code {raw.exit_code} {during} "
                                     "(os._exit?); return the gradients instead of exiting.")


def not_run_outcome(budget_s: float, cut_short: bool = False) -> CaseOutcome:
    what = "was stopped before its time limit" if cut_short else "was not run"
    return CaseOutcome("not_run", error_type="NotRun",
                       error_message=f"This test {what}: the earlier tests used up the run's time budget of "
                                     f"{budget_s:g} s.")


def second_writer_outcome(what: str) -> CaseOutcome:
    return CaseOutcome("second_writer", error_type="SecondWriter",
                       error_message=f"A second process wrote results: {what}. This test's result cannot be "
                                     "trusted, so it counts as failed; a forked process must not report "
                                     "results (do not write to file descriptor 3).")


def load_outcome(raw: RawRun, time_limit_s: float, limits: Limits, budget_s: float) -> CaseOutcome:
    """What went wrong while the module loaded (raw.loaded is False)."""
    if raw.load_error is not None:
        outcome = _frame_outcome(raw.load_error, {}, limits.result_bytes)
        if outcome.status not in ("error", "memory"):
            outcome = CaseOutcome("error", error_type="LoadError",
                                  error_message="Your code could not be loaded (its report was unreadable).")
    else:
        outcome = ended_outcome(raw, time_limit_s, limits, budget_s, loading=True)
    outcome.seconds = min(max(raw.load_seconds, 0.0), time_limit_s)
    return outcome


def build_outcomes(raw: RawRun, cases: list[dict[str, np.ndarray]], time_limit_s: float, limits: Limits,
                   budget_s: float) -> dict[int, CaseOutcome]:
    """The outcomes of the cases this child reached (by index in the run: `cases` is the whole run's),
    in order: those it reported, and the one it ended in, if any. Output is filled in by the pool."""
    outcomes: dict[int, CaseOutcome] = {}
    end = min(raw.running + 1, raw.first + raw.count)
    for i in range(raw.first, end):
        if i in raw.frames:
            outcome = _frame_outcome(raw.frames[i], cases[i], limits.result_bytes)
        else:
            outcome = ended_outcome(raw, time_limit_s, limits, budget_s)
            outcome.seconds = raw.case_seconds.get(i, 0.0)  # by the pool's own clock
        if i in raw.conflicts:
            outcome = second_writer_outcome(raw.conflicts[i])
            outcome.seconds = raw.case_seconds.get(i, 0.0)
        outcome.seconds = min(max(outcome.seconds, 0.0), time_limit_s)  # informational: never trusted
        outcomes[i] = outcome
    return outcomes
