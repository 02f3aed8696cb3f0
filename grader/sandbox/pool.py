"""SandboxPool: the trusted parent side. Starts one fork server per slot and supervises each run.

Per run: take an idle slot, receive its pre-forked, already isolated child (pipe ends and a pidfd, passed
by the slot's zygote), write the job into the child's pipe, then watch the result and output pipes against
the wall clock, killing the child (pidfd, so never the wrong process) on a time-out or too much output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import queue
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref

import numpy as np

from grader.sandbox import bootstrap, cgroups, isolate, runner, wire
from grader.sandbox.capabilities import Capabilities, check_capabilities
from grader.sandbox.child import SETUP_FAILED
from grader.sandbox.job import encode as encode_job
from grader.sandbox.limits import Limits
from grader.sandbox.report import RawRun, build_outcomes
from grader.sandbox.results import RunResult

log = logging.getLogger(__name__)

MSG_MAX = 1 << 16
KILL_WAIT_S = 5.0     # a SIGKILLed child that still has not ended means the slot is broken
TICK_S = 0.02         # how often a running child's pipes are read (see _Supervisor.run)
STREAMING_BYTES = 32 * 1024  # read at one wake-up: watch the pipes themselves until the flow stops
SERVER_START_S = 60.0


class SlotBroken(RuntimeError):
    """The fork server or its child misbehaved in a way only restarting the slot fixes."""


class _Slot:
    def __init__(self, index: int, limits: Limits, uid: int | None, lock_fd: int | None, workdir: str,
                 cgroup_procs: list[str], seccomp_bpf: bytes) -> None:
        self.index, self.limits, self.uid, self.lock_fd, self.workdir = index, limits, uid, lock_fd, workdir
        self.cgroup_procs, self.seccomp_bpf = cgroup_procs, seccomp_bpf
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.pending_exit = False  # the last child's "exited" message has not been read yet

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

    def execute(self, fds: list[int], job: bytes, n_cases: int, time_limit_s: float) -> RawRun:
        job_w, res_r, out_r, pidfd = fds
        # Each descriptor is closed exactly once: other threads receive new descriptors all the time, and a
        # second close of a reused number would close one of theirs.
        job_file = os.fdopen(job_w, "wb", buffering=0)
        try:
            raw = _Supervisor(self.limits, pidfd, res_r, out_r, n_cases, time_limit_s).run(job_file, job)
        finally:
            job_file.close()
            for fd in (res_r, out_r, pidfd):
                os.close(fd)
        self.pending_exit = True
        if len(raw.frames) < n_cases:
            # It ended early: how it ended decides the running case's status, so wait for the exit status.
            raw.exit_code, raw.exit_signal = self._consume_exit()
        # Otherwise every case reported and the child was killed; its exit status is collected later.
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


class _Supervisor:
    """Feeds one child its job and watches it: per-case wall clock, output and result caps."""

    def __init__(self, limits: Limits, pidfd: int, res_r: int, out_r: int, n_cases: int,
                 time_limit_s: float) -> None:
        self.limits, self.pidfd, self.res_r, self.out_r = limits, pidfd, res_r, out_r
        self.n, self.time_limit = n_cases, time_limit_s
        self.raw = RawRun()
        self.buf = bytearray()
        self.result_total = 0
        self.out = bytearray()
        self.out_total = 0
        self.killed = False
        self.exited = False
        self.case_start = 0.0
        self.deadline = 0.0
        self.done = False  # every case reported: nothing more is needed from the child

    def kill(self, reason: str | None) -> None:
        if self.killed:
            return
        self.killed = True
        if reason and self.raw.stopped is None:
            self.raw.stopped = reason
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        self.deadline = time.monotonic() + KILL_WAIT_S

    def write_job(self, job_file: io.FileIO, job: bytes) -> None:
        """Hand the child its job, then close our end (end of file tells it the job is complete)."""
        job_w = job_file.fileno()
        os.set_blocking(job_w, False)
        view = memoryview(job)
        deadline = time.monotonic() + self.limits.setup_timeout_s
        poller = select.poll()
        poller.register(job_w, select.POLLOUT)
        try:
            while view:
                try:
                    view = view[os.write(job_w, view) :]  # a job usually fits the pipe: one write
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SlotBroken("child did not read its job") from None
                    poller.poll(100)
        except BrokenPipeError:
            pass  # the child died during setup; the supervision loop reports it
        finally:
            job_file.close()

    def run(self, job_file: io.FileIO, job: bytes) -> RawRun:
        """Watch the child until it exits, is killed, or has reported every case.

        The pipes are not watched between ticks: a typical run is over in a few milliseconds and wakes us
        once, when the child exits, instead of once per case. What the child wrote is read at each wake-up
        (a tick, a deadline, its exit); a case's start is when the previous frame was seen, so the per-case
        time limit is kept to within a tick. While the child streams a lot of data (the pipes were found
        full), the pipes are watched too, so it is not held up."""
        now = time.monotonic()
        self.deadline = now + self.limits.setup_timeout_s
        self.write_job(job_file, job)
        for fd in (self.res_r, self.out_r):
            os.set_blocking(fd, False)
        poller = select.poll()
        poller.register(self.pidfd, select.POLLIN)
        streaming = False
        while not self.exited and not self.done:
            wait = min(TICK_S, max(0.0, self.deadline - time.monotonic()))
            events = poller.poll(wait * 1000)
            now = time.monotonic()
            if any(fd == self.pidfd for fd, _ in events):
                self.exited = True
            busy = self._drain(now)
            if busy != streaming:
                streaming = busy
                for fd in (self.res_r, self.out_r):
                    if busy:
                        poller.register(fd, select.POLLIN)
                    else:
                        poller.unregister(fd)
            if not self.exited and not self.done and now >= self.deadline:
                if self.killed:
                    raise SlotBroken("killed child did not end")
                self.kill("timeout" if self.raw.acked else "setup_timeout")
        # The child is gone or finished: whatever it wrote is in the pipes; read what is there (bounded, in
        # case something that escaped the kill in weak mode keeps writing).
        self._drain(time.monotonic())
        if self.raw.acked and len(self.raw.frames) < self.n:
            self.raw.case_seconds.append(time.monotonic() - self.case_start)
        self.raw.output = bytes(self.out)
        return self.raw

    def _drain(self, now: float) -> bool:
        """Read what both pipes hold; True if there was a lot (the child is streaming data)."""
        total = 0
        for fd in (self.out_r, self.res_r):  # output first: a case's output is written before its frame
            for _ in range(64):
                read = self._read(fd, now)
                if not read:
                    break
                total += read
        return total >= STREAMING_BYTES

    def _read(self, fd: int, now: float) -> int:
        """Read what is there; how many bytes (0 at end of file or when nothing is available)."""
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return 0
        if fd == self.out_r:
            self._on_output(data)
        else:
            self._on_result(data, now)
        return len(data)

    def _on_output(self, data: bytes) -> None:
        self.out_total += len(data)
        room = self.limits.output_bytes - len(self.out)
        if room > 0:
            self.out += data[:room]
        if self.out_total > self.limits.output_bytes and len(self.raw.frames) < self.n:
            self.kill("output_limit")

    def _on_result(self, data: bytes, now: float) -> None:
        self.result_total += len(data)
        if self.result_total > self.limits.result_bytes + 64 * 1024 * (self.n + 1):
            self.kill("result_limit")
            return
        self.buf += data
        frames, used = wire.split_frames(self.buf)
        del self.buf[:used]
        if len(self.buf) >= wire.LENGTH.size and wire.LENGTH.unpack_from(self.buf)[0] > self.limits.result_bytes:
            self.kill("result_limit")  # announces a frame larger than anything it may send
        for payload in frames:
            if not self.raw.acked:
                if payload != runner.READY:
                    self.kill("setup_failed")
                    return
                self.raw.acked = True
                self.case_start = now
                self.deadline = now + self.time_limit
                continue
            if len(self.raw.frames) >= self.n:
                continue  # extra frames: hostile or confused; ignore
            self.raw.frames.append(payload)
            self.raw.case_seconds.append(now - self.case_start)
            self.case_start = now
            if len(self.raw.frames) == self.n:
                # The runner writes each case's output marker before its frame, so the output that
                # matters is already in the pipe. Kill rather than wait for a clean exit: the child is
                # about to exit anyway, and a submission that forged frames gets no extra time.
                self.done = True
                self.kill(None)
            elif not self.killed:
                self.deadline = now + self.time_limit


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
            time_limit_s: float = 2.0) -> RunResult:
        """Run `function_name(**case)` for each case in a fresh isolated process; see RunResult."""
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
        marker = b"\n\x00--case-end-" + secrets.token_hex(8).encode() + b"--\x00\n"
        job = encode_job(code, compiled, function_name, cases, time_limit_s, marker)
        slot = self._idle.get()
        try:
            try:
                try:
                    fds = slot.take_child()
                except (SlotBroken, OSError, ValueError) as exc:
                    log.warning("sandbox slot %d was broken before its run (%s); restarting it", slot.index, exc)
                    slot.restart()
                    fds = slot.take_child()
                raw = slot.execute(fds, job, len(cases), time_limit_s)
            except (SlotBroken, OSError, ValueError) as exc:
                log.exception("sandbox slot %d failed; restarting it", slot.index)
                try:
                    slot.restart()
                except Exception:
                    log.exception("sandbox slot %d could not be restarted", slot.index)
                return RunResult("infrastructure_error", [], f"sandbox failure: {exc}", elapsed())
            if not raw.acked:
                detail = raw.output.decode("utf-8", errors="replace")[-2000:]
                log.error("sandbox child failed before running the code (stopped=%s, exit=%s/%s): %s",
                          raw.stopped, raw.exit_code, raw.exit_signal, detail)
                # Its zygote may be what is wrong: start the slot afresh rather than fail the next run too.
                with contextlib.suppress(Exception):
                    slot.restart()
                return RunResult("infrastructure_error", [], "the sandbox could not start the code", elapsed())
        finally:
            self._idle.put(slot)
        outcomes = build_outcomes(raw, cases, marker, time_limit_s, self.limits)
        return RunResult("ok", outcomes, "", elapsed())

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
