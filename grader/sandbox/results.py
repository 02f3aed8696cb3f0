"""What a sandbox run reports back (plain data built by the trusted parent)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# What the submission may import in the sandbox (quoted to students whose import fails). Checked by
# tests/sandbox/test_load_errors.py against what really imports in a child.
AVAILABLE = "numpy and the Python standard library"

# CaseOutcome.status. Every outcome but "ok" has an error_message: one complete sentence for the student
# giving the sandbox's own reason.
CASE_STATUSES = (
    "ok",            # the function returned; `outputs` holds its outputs as float64 base arrays
    "error",         # the function raised (error_type, error_message, traceback: the student's lines only)
    "timeout",       # it ran past the per-case time limit (or its CPU-time limit) and was stopped
    "memory",        # MemoryError, or killed for using more memory than the sandbox allows
    "bad_return",    # what it returned is not numeric arrays, is too large, or could not be read
    "killed",        # its process ended during the test: a crash (segmentation fault, abort, a signal),
                     # an exit (os._exit, exit code N) or a forbidden operation (SIGSYS); error_type says
                     # which: "Crash", "Exit", "Forbidden"
    "second_writer",  # another process (a fork of the function) wrote results during this test, so no
                      # result of it can be trusted
    "not_run",       # never ran: the run's overall time budget was used up by earlier tests
)
# RunResult.status. "ok" means the cases ran (each has its own outcome), not that they passed.
RUN_STATUSES = (
    "ok",
    "syntax_error",          # the code does not compile (message); nothing ran
    "load_error",            # the module raised, timed out or crashed while loading, or does not define the
                             # function: reported once in `load_error` (and `message`), no cases
    "infrastructure_error",  # the sandbox itself failed; not the student's fault
    "refused",               # this server cannot isolate code (message)
)


@dataclass
class CaseOutcome:
    """One test case: what the function returned (float64 base arrays) or why there is nothing to compare."""

    status: str
    outputs: list[np.ndarray] | None = None
    inputs_after: dict[str, np.ndarray] | None = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: list[str] = field(default_factory=list)
    stdout: str = ""
    seconds: float = 0.0
    # The numpy dtype name of each output as the function returned it, before the parent made it float64
    # ("float32", "float64", "int64", "bool", ...): one per entry of `outputs`.
    dtypes: list[str] = field(default_factory=list)
    # The test printed more than the sandbox keeps: `stdout` is its first part and ends with a line saying
    # how much was dropped. Nothing was stopped for it.
    stdout_truncated: bool = False
    # For a ModuleNotFoundError: the module that is not there (the message also names what is: AVAILABLE).
    missing_module: str | None = None


@dataclass
class RunResult:
    """status "ok" means the cases ran (each has its own outcome), not that they passed."""

    status: str
    cases: list[CaseOutcome] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0
    # status "load_error": what went wrong while the module loaded, once (status "error", "timeout",
    # "memory", "killed" or, for a hostile result pipe, "bad_return"; with error_type, error_message, the
    # student's traceback lines, stdout and missing_module).
    load_error: CaseOutcome | None = None
