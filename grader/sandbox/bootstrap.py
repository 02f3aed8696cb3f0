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
    # No secrets, database URLs or tokens of the web process: only what numpy needs to stay single-threaded.
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def command(mode: str, *args: str) -> list[str]:
    return [sys.executable, "-I", "-c", _CODE, PACKAGE_PARENT, mode, *args]
