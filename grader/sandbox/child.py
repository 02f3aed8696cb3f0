"""The pre-forked child: already isolated (it inherits everything from the zygote), it wires up its pipes,
waits for exactly one job and runs it.

Only the three pipes stay open (as fds 0-3, where the server's prepared sys.std* streams point); the cwd
(the slot's /tmp), umask, environment, uid, rlimits and seccomp filter are the zygote's. What is set per
run is the CPU-time limit, from the job's time limit.

Everything here until `runner.run` sends READY is trusted code (no student code has run yet), which is
why the pool believes a failure reported before READY is an infrastructure error, not the student's.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback

from grader.sandbox import isolate, job, runner
from grader.sandbox.limits import Limits

SETUP_FAILED = 3  # exit code when isolation could not be set up (only meaningful before READY)
JOB_FD, OUT_FD, ERR_FD = 0, 1, 2


def _read_all(fd: int, limit: int) -> bytes:
    chunks, total = [], 0
    while True:
        data = os.read(fd, 1 << 16)  # a pipe's worth; a larger buffer would be a fresh mmap each time
        if not data:
            return b"".join(chunks)
        total += len(data)
        if total > limit:
            raise ValueError("job larger than the limit")
        chunks.append(data)


def main(limits: Limits, job_r: int, res_w: int, out_w: int) -> None:
    """Never returns: ends the process with os._exit."""
    try:
        os.setsid()  # its own process group, apart from the zygote's
        # Only the three pipes survive: the zygote's socket and the other children's pipes do not.
        os.dup2(job_r, JOB_FD)
        os.dup2(out_w, OUT_FD)
        os.dup2(out_w, ERR_FD)
        os.dup2(res_w, runner.RESULT_FD)
        os.closerange(runner.RESULT_FD + 1, 1 << 16)
        # Blocks here, isolated, until the pool hands over a job (this is the "warm" state).
        raw = _read_all(JOB_FD, limits.result_bytes * 4)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, JOB_FD)
        os.close(devnull)
        if not raw:
            os._exit(0)  # the pool closed without a job (shutting down)
        header, cases, compiled = job.decode(raw)
        if limits.isolation.rlimits:
            isolate.set_cpu_limit(float(header["time_limit"]) * max(1, len(cases)) + 1.0)
        marker = header["marker"]
        code, function_name = header["code"], header["function"]
        n_returns, first = header["n_returns"], header["first"]
        del header
        contain = limits.isolation.namespaces
    except BaseException:
        try:
            os.write(ERR_FD, traceback.format_exc().encode(errors="replace")[-4000:])
        finally:
            os._exit(SETUP_FAILED)
    with contextlib.suppress(BaseException):
        runner.run(code, compiled, function_name, cases, marker, limits.result_bytes, n_returns=n_returns,
                   first=first, contain=contain)
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
    os._exit(0)
