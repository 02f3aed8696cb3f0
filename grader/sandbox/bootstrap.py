"""How sandbox processes are started: a fresh interpreter that never imports the web application.

`python -I` ignores PYTHON* variables and the user site; the environment is rebuilt from nothing; and the
`grader` and `grader.sandbox` packages are registered as bare namespaces so that importing the sandbox
does not run `grader/__init__.py` (which would import Flask and the configuration).
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])

_CODE = """
import sys, types
root, mode = sys.argv[1], sys.argv[2]
for name, sub in (("grader", "/grader"), ("grader.sandbox", "/grader/sandbox")):
    module = types.ModuleType(name)
    module.__path__ = [root + sub]
    sys.modules[name] = module
if mode == "server":
    from grader.sandbox.forkserver import main
    main(int(sys.argv[3]))
else:
    from grader.sandbox.capabilities import probe_main
    probe_main()
"""


def clean_env() -> dict[str, str]:
    # No secrets, database URLs or tokens of the web process: only what numpy needs to stay single-threaded,
    # and two malloc settings that make each child copy fewer pages of the zygote (see heap.py): no tcache
    # (its per-size lists of free chunks are scattered over the heap), and the heap on transparent huge
    # pages where the machine allows (fewer page-table entries to copy at each fork).
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1",
    }


def command(mode: str, *args: str) -> list[str]:
    # -OO: numpy's docstrings are not loaded, a smaller heap for every fork to copy page tables for. The
    # submission is compiled by the pool, not here, so its asserts and __debug__ are unaffected.
    return [sys.executable, "-I", "-OO", "-c", _CODE, PACKAGE_PARENT, mode, *args]
