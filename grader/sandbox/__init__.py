"""Isolated execution of untrusted Python functions over numpy arrays (knows nothing of exercises).

    pool = SandboxPool()                      # one fork server per CPU; refuses if it cannot isolate
    result = pool.run(code, "affine_backward", cases, time_limit_s=2.0)
    result.status                             # ok | syntax_error | infrastructure_error | refused
    result.cases[i].status, .outputs          # ok -> list of float64 base ndarrays

Import-light on purpose: the fork server imports submodules of this package without the web application.
"""

from grader.sandbox.capabilities import Capabilities, check_capabilities
from grader.sandbox.coerce import BadReturn, coerce_outputs, coerce_value
from grader.sandbox.limits import Isolation, Limits
from grader.sandbox.pool import SandboxPool
from grader.sandbox.results import CaseOutcome, RunResult

__all__ = [
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
