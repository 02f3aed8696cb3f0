"""Isolated execution of untrusted Python functions over numpy arrays (knows nothing of exercises).

    pool = SandboxPool()                      # one fork server per CPU; refuses if it cannot isolate
    result = pool.run(code, "affine_backward", cases, time_limit_s=2.0)
    result.status                             # see RUN_STATUSES (ok, load_error, syntax_error, ...)
    result.cases[i].status, .outputs          # see CASE_STATUSES; ok -> list of float64 base ndarrays

Import-light on purpose: the fork server imports submodules of this package without the web application.
"""

from grader.sandbox.capabilities import Capabilities, check_capabilities
from grader.sandbox.coerce import BadReturn, coerce_outputs, coerce_value
from grader.sandbox.limits import Isolation, Limits
from grader.sandbox.pool import SandboxPool
from grader.sandbox.results import AVAILABLE, CASE_STATUSES, RUN_STATUSES, CaseOutcome, RunResult

__all__ = [
    "AVAILABLE",
    "CASE_STATUSES",
    "RUN_STATUSES",
    "BadReturn",
    "Capabilities",
    "CaseOutcome",
    "Isolation",
    "Limits",
    "RunResult",
    "SandboxPool",
    "check_capabilities",
    "coerce_outputs",
    "coerce_value",
]
