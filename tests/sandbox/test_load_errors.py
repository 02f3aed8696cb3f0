"""Code that cannot load is reported once (RunResult.status "load_error"), not once per case, and an import of
a module the sandbox does not have says what it does have (results.AVAILABLE, checked here against a child)."""

from __future__ import annotations

import numpy as np
import pytest

from grader.sandbox import AVAILABLE

CASES = [{"x": np.ones((2, 2))} for _ in range(4)]


def load_error(pool, code: str, time_limit_s: float = 1.0):
    result = pool.run(code, "f", CASES, time_limit_s=time_limit_s)
    assert result.status == "load_error", (result.status, result.message)
    assert result.cases == []
    assert result.load_error is not None
    assert result.message == f"Your code could not be loaded: {result.load_error.error_message}"
    return result.load_error


@pytest.mark.parametrize("module", ["scipy", "torch", "pandas", "sklearn"])
def test_a_module_the_sandbox_does_not_have(pool, module):
    error = load_error(pool, f"import numpy as np\nimport {module}\n\ndef f(x):\n    return x\n")
    assert (error.status, error.error_type, error.missing_module) == ("error", "ModuleNotFoundError", module)
    assert error.error_message == f"No module named '{module}'. The sandbox has only {AVAILABLE}."
    assert error.traceback == [f"line 2, in <module>\n    import {module}"]


def test_a_submodule_that_does_not_exist(pool):
    error = load_error(pool, "from scipy.special import expit\ndef f(x):\n    return x\n")
    assert error.missing_module == "scipy"


def test_what_the_message_promises_is_there(pool):
    # AVAILABLE says "numpy and the Python standard library": every standard module this platform has
    # imports in a child (the Windows-only ones aside), and numpy's submodules too.
    code = """
import importlib, sys
import numpy as np
def f(x):
    failed = []
    for name in sorted(sys.stdlib_module_names) + ["numpy.linalg", "numpy.fft", "numpy.random", "numpy.polynomial"]:
        if name.startswith("_") or name in ("antigravity", "this", "idlelib", "turtledemo", "msilib", "msvcrt",
                                            "nt", "winreg", "winsound"):
            continue
        try:
            importlib.import_module(name)
        except BaseException as exc:
            failed.append(f"{name}: {type(exc).__name__}")
    print("\\n".join(failed))
    return x
"""
    assert AVAILABLE == "numpy and the Python standard library"
    result = pool.run(code, "f", CASES[:1], time_limit_s=30.0)
    assert result.status == "ok" and result.cases[0].status == "ok", result.cases[0].error_message
    assert result.cases[0].stdout == "\n"


def test_an_exception_at_import_time_is_reported_once_with_the_students_lines(pool):
    code = "import numpy as np\n\ndef helper():\n    return 1 / 0\n\nSCALE = helper()\n\ndef f(x):\n    return x\n"
    error = load_error(pool, code)
    assert (error.status, error.error_type) == ("error", "ZeroDivisionError")
    assert error.traceback == ["line 6, in <module>\n    SCALE = helper()", "line 4, in helper\n    return 1 / 0"]


def test_the_function_not_defined(pool):
    error = load_error(pool, "def g(x):\n    return x\n")
    assert (error.error_type, error.error_message) == ("NameError", "Your code does not define a function named f().")


def test_the_name_is_not_a_function(pool):
    error = load_error(pool, "f = 3\n")
    assert error.error_message == "f is not a function in your code."


def test_output_while_loading_is_kept(pool):
    error = load_error(pool, "print('loading')\nraise RuntimeError('broken')\n")
    assert error.stdout == "loading\n"
    assert (error.error_type, error.error_message) == ("RuntimeError", "broken")


def test_a_crash_while_loading_is_a_load_error(pool):
    error = load_error(pool, "import os\nos._exit(5)\ndef f(x):\n    return x\n")
    assert (error.status, error.error_type) == ("killed", "Exit")
    assert "exit code 5 while loading" in error.error_message


def test_an_import_inside_the_function_is_per_case_and_names_the_module(pool):
    result = pool.run("def f(x):\n    import scipy\n    return x\n", "f", CASES[:2])
    assert result.status == "ok"
    assert [c.missing_module for c in result.cases] == ["scipy", "scipy"]
    assert all(AVAILABLE in c.error_message for c in result.cases)
