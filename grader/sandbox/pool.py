"""SandboxPool: the trusted parent side. Starts one fork server per slot and supervises each run.

Per run: take an idle slot, receive its pre-forked, already isolated child (pipe ends and a pidfd, passed
by the slot's zygote), write the job into the child's pipe, then watch the result and output pipes against
the wall clock (supervisor.py), killing the child (pidfd, so never the wrong process) on a time-out. A case
that ends its child (time-out, crash, exit) fails alone: the remaining cases go to the slot's next
pre-forked child, within an overall time budget for the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from typing import Any

import numpy as np

from grader.sandbox import bootstrap, cgroups, isolate, runner
from grader.sandbox.capabilities import Capabilities, check_capabilities
from grader.sandbox.child import SETUP_FAILED
from grader.sandbox.job import encode as encode_job
from grader.sandbox.limits import Limits
from grader.sandbox.output import CaseText, OutputCapture
from grader.sandbox.report import RawRun, build_outcomes, case_text, load_outcome, not_run_outcome
from grader.sandbox.results import CaseOutcome, RunResult
from grader.sandbox.supervisor import KILL_WAIT_S, READ_BYTES, SlotBroken, Supervisor

log = logging.getLogger(__name__)

MSG_MAX = 1 << 16
SERVER_START_S = 60.0


class _Slot:
    def __init__(self, index: int, limits: Limits, uid: int | None, lock_fd: int | None, workdir: str,
                 cgroup_procs: list[str], seccomp_bpf: bytes) -> None:
        self.index, self.limits, self.uid, self.lock_fd, self.workdir = index, limits, uid, lock_fd, workdir
        self.cgroup_procs, self.seccomp_bpf = cgroup_procs, seccomp_bpf
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.pending_exit = False  # the last child's "exited" message has not been read yet
        self.buffer = bytearray(READ_BYTES)  # the supervisor's reads (one run at a time per slot)
        self.oom_kills = cgroups.oom_kills(cgroup_procs)

    # -- fork server lifecycle --------------------------------------------------------------------------

    def launch(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        keep = [theirs.fileno()] + ([self.lock_fd] if self.lock_fd is not None else [])
        self.proc = subprocess.Popen(
            bootstrap.command("server", str(theirs.fileno())), env=bootstrap.clean_env(), cwd="/",
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, pass_fds=keep, close_fds=True,
        )
        theirs.close()
        self.sock = ours
        self.pending_exit = False
        config = {"limits": self.limits.to_json(), "uid": self.uid, "workdir": self.workdir,
                  "cgroups": self.cgroup_procs, "seccomp_bpf": self.seccomp_bpf.hex()}
        ours.send(json.dumps(config).encode())

    def wait_hello(self) -> None:
        reply = self._recv(SERVER_START_S)
        if reply.get("op") != "hello":
            raise SlotBroken(f"fork server failed to start: {reply.get('message', reply)}")

    def restart(self) -> None:
        self.shutdown()
        self.launch()
        self.wait_hello()

    def shutdown(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def _recv(self, timeout: float, nfds: int = 0) -> dict:
        assert self.sock is not None
        self.sock.settimeout(timeout)
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, MSG_MAX, nfds)
        except (TimeoutError, OSError) as exc:
            raise SlotBroken(f"fork server did not answer: {exc}") from None
        if not data:
            raise SlotBroken("fork server exited")
        message = json.loads(data)
        message["fds"] = fds
        return message

    # -- one run -------------------------------------------------------------------------------------------

    def take_child(self) -> list[int]:
        """The pre-forked child's descriptors (job_w, res_r, out_r, pidfd). Nothing of a run has happened
        yet, so a slot found broken here (its fork server died since the last run) can be restarted and
        the run go ahead."""
        if self.pending_exit:
            self._consume_exit()
        ready = self._recv(self.limits.setup_timeout_s, nfds=4)
        if ready.get("op") != "ready" or len(ready["fds"]) != 4:
            for fd in ready["fds"]:
                os.close(fd)
            raise SlotBroken(f"unexpected message from fork server: {ready.get('op')}")
        return ready["fds"]

    def execute(self, fds: list[int], job: bytes, first: int, count: int, time_limit_s: float,
                run_deadline: float, capture: OutputCapture) -> RawRun:
        job_w, res_r, out_r, pidfd = fds
        # Each descriptor is closed exactly once: other threads receive new descriptors all the time, and a
        # second close of a reused number would close one of theirs.
        job_file = os.fdopen(job_w, "wb", buffering=0)
        try:
            supervisor = Supervisor(self.limits, pidfd, res_r, out_r, first, count, time_limit_s, run_deadline,
                                    capture, self.buffer)
            raw = supervisor.run(job_file, job)
        finally:
            job_file.close()
            for fd in (res_r, out_r, pidfd):
                os.close(fd)
        capture.finish()
        self.pending_exit = True
        if not supervisor.done:
            # It ended early: how it ended decides the running case's status, so wait for the exit status.
            raw.exit_code, raw.exit_signal = self._consume_exit()
            if raw.exit_signal == signal.SIGKILL and raw.stopped is None and self.cgroup_procs:
                # Not killed by us: the cgroup's out-of-memory killer, if it counted one meanwhile.
                kills = cgroups.oom_kills(self.cgroup_procs)
                raw.oom_killed = kills > self.oom_kills
                self.oom_kills = kills
        # Otherwise everything was reported and the child was killed; its exit status is collected later.
        return raw

    def _consume_exit(self) -> tuple[int | None, int | None]:
        exited = self._recv(KILL_WAIT_S + self.limits.setup_timeout_s)
        if exited.get("op") != "exited":
            raise SlotBroken(f"unexpected message from fork server: {exited.get('op')}")
        self.pending_exit = False
        code = exited.get("code")
        if code == SETUP_FAILED:
            assert self.sock is not None
            self.sock.send(b'{"op": "next"}')
        return code, exited.get("signal")


def _syntax_message(exc: SyntaxError) -> str:
    where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "") if exc.lineno else ""
    return f"{where}: {exc.msg}" if where else str(exc.msg)


def default_size() -> int:
    """Slots per pool: SANDBOX_SLOTS from the environment, else one per CPU. Each web worker process has its
    own pool, so with several workers set SANDBOX_SLOTS to about CPUs / workers (one fork server per CPU
    in all: more only add memory; bench/sandbox.py measures 2 workers x 1 slot on 2 CPUs)."""
    slots = os.environ.get("SANDBOX_SLOTS", "").strip()
    if slots:
        try:
            if int(slots) > 0:
                return int(slots)
        except ValueError:
            pass
        log.warning("SANDBOX_SLOTS=%r is not a positive number; using one slot per CPU", slots)
    return os.cpu_count() or 1


class SandboxPool:
    """A pool of fork servers, one per slot (default: SANDBOX_SLOTS, else one per CPU). `run` is
    thread-safe."""

    def __init__(self, size: int | None = None, *, allow_weak: bool = False, limits: Limits | None = None):
        self.limits = limits or Limits()
        self.size = size or default_size()
        self.capabilities: Capabilities = check_capabilities()
        self.refusal: str | None = None
        self.weak = False
        self._slots: list[_Slot] = []
        self._idle: queue.Queue[_Slot] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._finalizer = weakref.finalize(self, _release, self._slots)
        wanted = self.limits.isolation
        available = self.capabilities.available(wanted)
        self.isolation = available
        if available != wanted:
            if not allow_weak:
                self.refusal = (
                    "Code exercises are unavailable: this server cannot isolate submitted code "
                    f"({self.capabilities.describe()}). An administrator can set SANDBOX_ALLOW_WEAK=1 "
                    "to run them with weaker isolation."
                )
                log.error("sandbox refused: %s", self.capabilities.describe())
                return
            self.weak = True
            log.warning("sandbox running with WEAK isolation (SANDBOX_ALLOW_WEAK): %s",
                        self.capabilities.describe())
        self.limits = dataclasses.replace(self.limits, isolation=available)
        self._seccomp_bpf = b""
        if available.seccomp:
            from grader.sandbox.policy import compile_bpf

            self._seccomp_bpf = compile_bpf()
        try:
            for index in range(self.size):
                self._slots.append(self._make_slot(index))
            for slot in self._slots:
                slot.launch()
            for slot in self._slots:
                slot.wait_hello()
                self._idle.put(slot)
        except BaseException:
            self.close()
            raise

    def _make_slot(self, index: int) -> _Slot:
        uid = lock_fd = None
        procs: list[str] = []
        if self.isolation.uid:
            from grader.sandbox.slots import claim_uid

            uid, lock_fd = claim_uid(self.limits.uid_base, self.limits.uid_count)
            if self.isolation.rlimits:
                # What all of a run's processes may use together: one process's worth plus the tmpfs.
                memory = self.limits.memory_bytes + self.limits.workdir_bytes + 64 * 1024 * 1024
                # +2 tasks: the fork server and the zygote sit in the slot's cgroups (children are born there).
                procs = cgroups.create(f"slot-{uid}", memory, self.limits.max_processes + 2)
        workdir = ""
        if not self.isolation.namespaces:
            # Weak mode: no private tmpfs, so a host directory per slot, emptied after every run.
            workdir = tempfile.mkdtemp(prefix=f"gradgate-sandbox-{index}-")
            if uid is not None:
                os.chown(workdir, uid, uid)
        return _Slot(index, self.limits, uid, lock_fd, workdir, procs, self._seccomp_bpf)

    @property
    def server_pids(self) -> list[int]:
        """The fork servers' pids (each has one child, its zygote, until the slot ends)."""
        return [s.proc.pid for s in self._slots if s.proc is not None]

    @property
    def zygote_pids(self) -> list[int]:
        """The zygotes' pids as this process sees them (the bench reads their CPU time, reaped children
        included, from /proc; the tests tell their processes from strays)."""
        pids = []
        for server in self.server_pids:
            with contextlib.suppress(FileNotFoundError), open(f"/proc/{server}/task/{server}/children") as f:
                pids.extend(int(pid) for pid in f.read().split())
        return pids

    @property
    def uids(self) -> list[int]:
        """The slot uids in use (empty without uid isolation)."""
        return [s.uid for s in self._slots if s.uid is not None]

    def run(self, code: str, function_name: str, cases: list[dict[str, np.ndarray]], *,
            time_limit_s: float = 2.0, n_returns: int | None = None) -> RunResult:
        """Run `function_name(**case)` for each case in a fresh isolated process; see RunResult.

        `time_limit_s` is per case (the module's loading gets one too). `n_returns`: how many outputs the
        function is meant to return, so that a list of nested lists is read as that many outputs
        (coerce.split_outputs); None reads returns without knowing."""
        started = time.perf_counter()

        def elapsed() -> float:
            return time.perf_counter() - started

        if self.refusal:
            return RunResult("refused", [], self.refusal, elapsed())
        if self._closed:
            raise RuntimeError("SandboxPool is closed")
        try:
            compiled = compile(code, runner.FILENAME, "exec")  # compiling is not executing
        except SyntaxError as exc:
            return RunResult("syntax_error", [], _syntax_message(exc), elapsed())
        except ValueError as exc:  # e.g. null bytes in the source
            return RunResult("syntax_error", [], str(exc), elapsed())
        if not function_name.isidentifier():
            raise ValueError(f"bad function name {function_name!r}")
        if n_returns is not None and (type(n_returns) is not int or n_returns < 1):
            raise ValueError(f"bad n_returns {n_returns!r}")
        slot = self._idle.get()
        try:
            result = self._run_cases(slot, code, compiled, function_name, cases, time_limit_s, n_returns)
        finally:
            self._idle.put(slot)
        result.seconds = elapsed()
        return result

    def _run_cases(self, slot: _Slot, code: str, compiled: Any, function_name: str,
                   cases: list[dict[str, np.ndarray]], time_limit_s: float, n_returns: int | None) -> RunResult:
        """The cases in as many children of `slot` as it takes: each failure that ends a child ends only
        its case. The run's budget bounds the whole: the per-case limits, plus one for loading."""
        n = len(cases)
        budget_s = n * time_limit_s + max(1.0, time_limit_s)
        run_deadline: float | None = None
        outcomes: dict[int, CaseOutcome] = {}
        texts: dict[int, CaseText] = {}
        room = self.limits.output_bytes
        first = 0
        while first < n or run_deadline is None:  # (even with no cases, the code is loaded once)
            if run_deadline is not None and time.monotonic() >= run_deadline:
                for i in range(first, n):
                    outcomes[i] = not_run_outcome(budget_s)
                break
            marker = b"\n\x00--case-end-" + secrets.token_hex(8).encode() + b"--\x00\n"
            job = encode_job(code, compiled, function_name, cases[first:], time_limit_s, marker,
                             n_returns=n_returns, first=first)
            capture = OutputCapture(marker, first, max(first, n - 1), 4 * self.limits.stdout_chars_per_case,
                                    room)
            try:
                try:
                    fds = slot.take_child()
                except (SlotBroken, OSError, ValueError) as exc:
                    log.warning("sandbox slot %d was broken before its run (%s); restarting it", slot.index, exc)
                    slot.restart()
                    fds = slot.take_child()
                if run_deadline is None:
                    run_deadline = time.monotonic() + budget_s
                raw = slot.execute(fds, job, first, n - first, time_limit_s, run_deadline, capture)
            except (SlotBroken, OSError, ValueError) as exc:
                log.exception("sandbox slot %d failed; restarting it", slot.index)
                try:
                    slot.restart()
                except Exception:
                    log.exception("sandbox slot %d could not be restarted", slot.index)
                return RunResult("infrastructure_error", [], f"sandbox failure: {exc}")
            room = capture.room
            capture.merge_into(texts)
            if not raw.acked:
                detail = case_text(texts.get(first), 2000)[0]
                log.error("sandbox child failed before running the code (stopped=%s, exit=%s/%s): %s",
                          raw.stopped, raw.exit_code, raw.exit_signal, detail)
                # Its zygote may be what is wrong: start the slot afresh rather than fail the next run too.
                with contextlib.suppress(Exception):
                    slot.restart()
                return RunResult("infrastructure_error", [], "the sandbox could not start the code")
            if not raw.loaded:
                load = load_outcome(raw, time_limit_s, self.limits, budget_s)
                if first == 0:
                    load.stdout, load.stdout_truncated = case_text(texts.get(0), self.limits.stdout_chars_per_case)
                    return RunResult("load_error", [], f"Your code could not be loaded: {load.error_message}",
                                     load_error=load)
                for i in range(first, n):  # it loaded before, in the earlier child: say so on each case left
                    outcomes[i] = dataclasses.replace(
                        load, traceback=list(load.traceback),
                        error_message="Your code failed to load again in the fresh process that ran the "
                                      f"remaining tests: {load.error_message}")
                break
            outcomes.update(build_outcomes(raw, cases, time_limit_s, self.limits, budget_s))
            first = min(raw.running + 1, n)
        result_cases = [outcomes[i] for i in range(n)]
        for i, outcome in enumerate(result_cases):
            outcome.stdout, outcome.stdout_truncated = case_text(texts.get(i), self.limits.stdout_chars_per_case)
        return RunResult("ok", result_cases, "")

    def close(self) -> None:
        """Stop the fork servers, kill anything left running as a slot uid, release uids and cgroups."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._finalizer()


    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _release(slots: list[_Slot]) -> None:
    """The body of close(); also run at interpreter exit for a pool nobody closed (a process-wide pool)."""
    for slot in slots:
        slot.shutdown()
    for slot in slots:
        if slot.uid is not None:
            isolate.kill_uid_processes(slot.uid)
            if slot.cgroup_procs:
                cgroups.remove(f"slot-{slot.uid}")
        if slot.lock_fd is not None:
            os.close(slot.lock_fd)
        if slot.workdir:
            shutil.rmtree(slot.workdir, ignore_errors=True)
