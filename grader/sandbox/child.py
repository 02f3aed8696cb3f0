"""The pre-forked child: isolates itself, then waits for exactly one job on its pipe and runs it.

Order, each step needing the privileges the next one drops: own session (the slot's cgroups, network and
UTS namespaces and clean environment come from the fork server); own mount and IPC namespaces with a
private /tmp and /proc; rlimits; the slot uid (no groups, no capabilities); parent-death signal; only the
three pipes left open (as fds 0-3, where the server's prepared sys.std* streams point), cwd = the private
/tmp; a rehearsal of the hot paths (page faults paid while waiting); the seccomp filter; then block
reading the job.

Everything here until `runner.run` sends READY is trusted code (no student code has run yet), which is
why the pool believes a failure reported before READY is an infrastructure error, not the student's.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import traceback
import types

from grader.sandbox import isolate, libc, runner, wire
from grader.sandbox.limits import Limits

SETUP_FAILED = 3  # exit code when isolation could not be set up (only meaningful before READY)
JOB_FD, OUT_FD, ERR_FD = 0, 1, 2


def _read_all(fd: int, limit: int) -> bytes:
    chunks, total = [], 0
    while True:
        data = os.read(fd, 1 << 20)
        if not data:
            return b"".join(chunks)
        total += len(data)
        if total > limit:
            raise ValueError("job larger than the limit")
        chunks.append(data)


def _parse_job(raw: bytes) -> tuple[dict, list[dict], types.CodeType]:
    """The job comes from the trusted pool (no student code has run yet): no need to re-validate it."""
    header, blobs = wire.unpack(raw)
    cases: list[dict] = []
    index = 0
    for case in header["cases"]:
        arrays = {}
        for name, meta in case:
            # Read-only views of the job's bytes: the runner hands the function a fresh copy per call.
            arrays[name] = wire.decode_trusted(meta, blobs[index])
            index += 1
        cases.append(arrays)
    return header, cases, marshal.loads(blobs[index])


def main(limits: Limits, uid: int | None, seccomp: libc.SeccompProgram | None, base_address_space: int,
         workdir: str, server_pidfd: int, job_r: int, res_w: int, out_w: int) -> None:
    """Never returns: ends the process with os._exit."""
    iso = limits.isolation
    try:
        os.setsid()  # own process group (what weak mode kills afterwards)
        if iso.namespaces:
            isolate.enter_namespaces(limits, uid if uid is not None else os.getuid())
        if iso.rlimits:
            isolate.apply_rlimits(limits, base_address_space)
        if iso.uid and uid is not None:
            isolate.drop_privileges(uid)
        isolate.die_with_parent(server_pidfd)
        # Only the three pipes survive: the server's socket, lock file and namespace handles do not.
        os.dup2(job_r, JOB_FD)
        os.dup2(out_w, OUT_FD)
        os.dup2(out_w, ERR_FD)
        os.dup2(res_w, runner.RESULT_FD)
        os.closerange(runner.RESULT_FD + 1, 1 << 16)
        os.chdir(workdir)  # the environment is the fork server's: already clean
        os.umask(0o077)
        runner.rehearse()
        if iso.seccomp and seccomp is not None:
            isolate.load_seccomp(seccomp)
        # Blocks here, isolated, until the pool hands over a job (this is the "warm" state).
        raw = _read_all(JOB_FD, limits.result_bytes * 4)
        devnull = os.open("/dev/null", os.O_RDONLY)
        os.dup2(devnull, JOB_FD)
        os.close(devnull)
        if not raw:
            os._exit(0)  # the pool closed without a job (shutting down)
        job, cases, compiled = _parse_job(raw)
        if iso.rlimits:
            isolate.set_cpu_limit(float(job["time_limit"]) * max(1, len(cases)) + 1.0)
        marker = bytes.fromhex(job["marker"])
        code, function_name = job["code"], job["function"]
        del raw, job
    except BaseException:
        try:
            os.write(ERR_FD, traceback.format_exc().encode(errors="replace")[-4000:])
        finally:
            os._exit(SETUP_FAILED)
    with contextlib.suppress(BaseException):
        runner.run(code, compiled, function_name, cases, marker, limits.result_bytes)
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
    os._exit(0)
