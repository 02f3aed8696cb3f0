"""What a sandbox run reports back (plain data built by the trusted parent)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CASE_STATUSES = ("ok", "error", "timeout", "memory", "output_limit", "bad_return", "killed")
RUN_STATUSES = ("ok", "syntax_error", "infrastructure_error", "refused")


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


@dataclass
class RunResult:
    """status "ok" means the cases ran (each has its own outcome), not that they passed."""

    status: str
    cases: list[CaseOutcome] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0
