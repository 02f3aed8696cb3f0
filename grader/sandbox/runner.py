"""Runs inside the isolated child: executes the submission, calls the function per case, streams results.

Everything after `exec` shares a process with the student's code, so nothing this module sends is trusted:
the parent parses each frame as hostile input. The module's job is only to make honest submissions
report well (per-case outcomes, the student's own traceback lines, output split per case).
"""

from __future__ import annotations

import builtins
import contextlib
import io
import linecache
import os
import signal
import struct
import sys
import time
import traceback
import types
from typing import Any

import numpy as np

from grader.sandbox import job, libc, wire
from grader.sandbox.coerce import split_outputs, to_plain

FILENAME = "<submission>"
RESULT_FD = 3
READY = b"ready"
MAX_MESSAGE = 2000
MAX_TRACEBACK = 30
# Every frame after READY starts with the index (in the whole run) of the case it reports, or LOADED for
# the module's loading (empty when it loaded, an error frame when it did not). The parent checks the order:
# a frame out of place was written by a second process.
INDEX = struct.Struct(">i")
LOADED = -1

# Captured before the submission runs, so reassigning these names from student code changes nothing here.
_write = os.write
_exit = os._exit
_getpid = os.getpid
_kill = os.kill
_waitpid = os.waitpid
_ndarray = np.ndarray
_perf = time.perf_counter


def send(fd: int, payload: bytes) -> None:
    data = memoryview(wire.frame(payload))
    while data:
        data = data[_write(fd, data) :]


def send_indexed(index: int, payload: bytes) -> None:
    send(RESULT_FD, INDEX.pack(index) + payload)


def _text(value: Any, limit: int = MAX_MESSAGE) -> str:
    try:
        text = str(value)
    except BaseException:  # a hostile __str__ must not break reporting
        text = "<unprintable>"
    return text if len(text) <= limit else text[:limit] + " …"


_source = [""]  # the submission's code, for the lines shown in tracebacks (set by `run`)


def student_traceback(exc: BaseException) -> list[str]:
    """Only frames from the submission itself: no paths of the service, numpy or the runner."""
    lines = []
    try:
        # Filled in only when a traceback is wanted: most runs raise nothing.
        linecache.cache[FILENAME] = (len(_source[0]), None, _source[0].splitlines(True), FILENAME)
        for fs in traceback.extract_tb(exc.__traceback__):
            if fs.filename == FILENAME:
                code = f"\n    {fs.line.strip()}" if fs.line else ""
                lines.append(f"line {fs.lineno}, in {fs.name}{code}")
    except BaseException:
        pass
    return lines[-MAX_TRACEBACK:]


def error_frame(exc: BaseException, seconds: float = 0.0) -> bytes:
    name = type(exc).__name__
    if isinstance(exc, SystemExit):
        message = f"Your code called sys.exit({_text(exc.code)}); return the gradients instead of exiting."
    elif isinstance(exc, KeyboardInterrupt):
        message = "KeyboardInterrupt was raised."
    else:
        message = _text(exc)
    header = {"status": "error", "error_type": name, "error_message": message,
              "traceback": student_traceback(exc), "seconds": seconds}
    if isinstance(exc, MemoryError):  # numpy raises a subclass of its own
        header["memory"] = True
    if isinstance(exc, ModuleNotFoundError) and isinstance(exc.name, str):
        header["module"] = exc.name
    return wire.pack(header)


def _same(after: Any, before: np.ndarray) -> bool:
    return (
        type(after) is _ndarray
        and after.shape == before.shape
        and after.dtype == before.dtype
        and after.tobytes() == before.tobytes()
    )


def result_frame(returned: Any, args: dict[str, np.ndarray], originals: dict[str, np.ndarray],
                 max_bytes: int, seconds: float = 0.0, n_returns: int | None = None) -> bytes:
    outputs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for item in split_outputs(returned, n_returns):
        plain = to_plain(item)
        if isinstance(plain, str):
            outputs.append({"unsupported": plain})
            continue
        meta, raw = wire.encode_array(plain)
        outputs.append(meta)
        blobs.append(raw)
    mutated: dict[str, Any] = {}
    for name, before in originals.items():
        after = args[name]
        if not _same(after, before):
            meta, raw = wire.encode_array(np.asarray(after).view(_ndarray))
            mutated[name] = meta
            blobs.append(raw)
    if sum(len(b) for b in blobs) > max_bytes:
        return wire.pack({"status": "too_large", "seconds": seconds})
    return wire.pack({"status": "ok", "outputs": outputs, "mutated": mutated, "seconds": seconds}, blobs)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()


def _end_forks(me: int, contain: bool) -> None:
    """After each call: a forked copy of this process (it returned too) ends here without writing a thing;
    in the real one, whatever the call forked is killed and reaped before its results are sent, so nothing
    of one case runs on into the next. `contain`: in the child's own pid namespace, where kill(-1) reaches
    only the run's processes (not pid 1, the zygote, nor this process); a child that forked is their
    subreaper (_before_fork), so even setsid'd grandchildren are its to reap."""
    if _getpid() != me:
        _exit(0)
    try:
        _waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return  # no child, so (orphans being ours) no process of the call is left: the usual case
    if contain:
        for _ in range(3):  # a few rounds: a process being forked as the signal goes out is caught by the next
            try:
                _kill(-1, signal.SIGKILL)
            except OSError:
                break  # nothing left to signal
            _reap(block=True)
    _reap(block=False)


_zygote = [0]  # the zygote's pid (install_fork_hook)


def _before_fork() -> None:
    # A run's process that forks becomes the subreaper of what it forks: orphans (a setsid'd grandchild
    # whose parent exited) come back to it, for _end_forks to wait for and reap, rather than staying the
    # zygote's zombies until the run ends. Only when it forks: the prctl would cost every child some
    # twenty page faults. (A fork behind Python's back skips this; its processes are still killed, by
    # kill(-1) after the case and by the zygote after the run.)
    if _getpid() != _zygote[0]:
        with contextlib.suppress(OSError):
            libc.set_child_subreaper()


def install_fork_hook() -> None:
    """Called once by the zygote (with a pid namespace of its own): see _before_fork."""
    _zygote[0] = os.getpid()
    os.register_at_fork(before=_before_fork)


def _reap(block: bool) -> None:
    with contextlib.suppress(OSError):
        while _waitpid(-1, 0 if block else os.WNOHANG)[0]:
            pass


def run(code: str, compiled: types.CodeType, function_name: str, cases: list[dict[str, np.ndarray]],
        marker: bytes, max_result_bytes: int, *, n_returns: int | None = None, first: int = 0,
        contain: bool = False) -> None:
    """Execute `compiled` (the pool's compilation of `code`), then call `function_name(**case)` for each
    case: a LOADED frame once the module has loaded (or its error, and nothing more), then one frame per
    case on RESULT_FD, indexed from `first`, with the call's duration (the pool shows it, clamped to the
    time limit; it enforces the limit by its own clock)."""
    _source[0] = code
    me = _getpid()
    namespace: dict[str, Any] = {"__name__": "submission", "__builtins__": builtins}
    send(RESULT_FD, READY)
    load_error: bytes | None = None
    function = None
    try:
        exec(compiled, namespace)  # noqa: S102 - this is the sandbox
        function = namespace.get(function_name)
        if not callable(function):
            load_error = wire.pack({
                "status": "error", "error_type": "NameError", "traceback": [],
                "error_message": f"Your code does not define a function named {function_name}()."
                if function is None else f"{function_name} is not a function in your code."})
    except BaseException as exc:
        load_error = error_frame(exc)
    _end_forks(me, contain)
    _flush()
    send_indexed(LOADED, load_error or b"")
    if load_error is not None:
        return
    for i, case in enumerate(cases):
        args = {name: value.copy() for name, value in case.items()}
        started = _perf()
        try:
            returned = function(**args)
            _end_forks(me, contain)
            payload = result_frame(returned, args, case, max_result_bytes, _perf() - started, n_returns)
        except BaseException as exc:
            _end_forks(me, contain)
            payload = error_frame(exc, _perf() - started)
        _flush()
        with contextlib.suppress(BaseException):
            _write(1, marker)
        send_indexed(first + i, payload)


def setup_streams() -> None:
    """Text streams on fds 0, 1 and 2, made once by the fork server (whose fds 0 and 1 are /dev/null) so
    that each child does not build them again: a child moves its job pipe to fd 0 and its output pipe to
    fds 1 and 2 before any of them is used. The server never writes to them, so nothing is buffered."""
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace")
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="replace",
                                  write_through=True)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.argv = ["submission"]


# What backward functions typically do to float64 arrays. Running it in the zygote fills numpy's per-ufunc
# dispatch caches and specializes its Python-level functions there, once, instead of in every child (each
# first use in a child writes to, so copies, pages of the zygote).
_REHEARSAL_CODE = """
import numpy as np

def f(x):
    w = x.T.copy()
    z = x @ w + np.ones(x.shape[0])[:, None] - 0.5
    h = np.maximum(z, 0) * (z > 0) + np.minimum(z, 0) / 2.0
    p = 1.0 / (1.0 + np.exp(-z))
    t = np.tanh(z) ** 2 + np.sqrt(np.abs(z)) - np.log(p + 1.0) + np.clip(z, -1.0, 1.0)
    g = np.where(z >= 0, h, -h) * p * (1 - p) + t
    total = g.sum() + g.sum(axis=0) + g.mean(axis=1, keepdims=True) + g.max() + np.mean(g) + np.sum(g, axis=1)
    return x.T @ g, np.dot(g, w.T), np.zeros_like(x), np.outer(x[0], x[0]), total, (x < 0.5).astype(float)
"""


def rehearse() -> None:
    """One small job through the child's hot paths: decoding, calling, encoding the results (see warm_up)."""
    a = np.arange(6.0).reshape(2, 3) / 6.0
    compiled = compile(_REHEARSAL_CODE, "<rehearsal>", "exec")
    _, cases, code = job.decode(job.encode(_REHEARSAL_CODE, compiled, "f", [{"x": a}], 1.0, b"", n_returns=6))
    namespace: dict[str, Any] = {"__name__": "rehearsal", "__builtins__": builtins}
    exec(code, namespace)  # noqa: S102
    args = {"x": cases[0]["x"].copy()}
    returned = namespace["f"](**args)
    _end_forks(_getpid(), contain=False)  # (the zygote has no children yet: nothing to reap)
    INDEX.pack(0) + result_frame(returned, args, cases[0], 1 << 20, 0.0, 6)


def warm_up(times: int = 12) -> None:
    """Run by the fork server before it forks anything. CPython 3.11 rewrites a function's bytecode in
    place (quickening, then specialization) during its first calls; done here, every child inherits the
    finished code instead of rewriting it, which would copy-on-write copy the pages that hold it (about
    50 fewer page faults per child). The error path is warmed too, since here it costs nothing per run."""
    for _ in range(times):
        rehearse()
        try:
            raise ValueError("rehearsal")
        except ValueError as exc:
            error_frame(exc)
    linecache.clearcache()  # the traceback above read this file's source: children need not carry it
