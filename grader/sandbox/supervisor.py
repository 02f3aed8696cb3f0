"""Watching one child (parent side): its job in, its frames and output out, its clocks.

The child's frames are read as they come and checked for order: READY (before any student code), then
LOADED (empty, or the module's load error), then one frame per case with the case's index in the run. A
frame out of that order (a duplicate, one ahead of its case, one for no case, bytes that are no frame) was
written by a second process (a fork of the function writing to the result pipe): it is recorded against
the case it names (or the running case), which fails, and it is never taken as a result.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import select
import signal
import time

from grader.sandbox import runner, wire
from grader.sandbox.limits import Limits
from grader.sandbox.output import OutputCapture
from grader.sandbox.report import RawRun

KILL_WAIT_S = 5.0     # a SIGKILLed child that still has not ended means the slot is broken
TICK_S = 0.02         # how often a running child's pipes are read (see Supervisor.run)
STREAMING_BYTES = 32 * 1024  # read at one wake-up: watch the pipes themselves until the flow stops
READ_BYTES = 1 << 20  # one read: a flood of output costs few system calls
PIPE_BYTES = 1 << 20  # the output pipe's size once a child streams (fewer wake-ups for both sides)
DRAIN_BYTES = 16 << 20  # at most this much per pipe per wake-up, so the clocks are looked at in between


class SlotBroken(RuntimeError):
    """The fork server or its child misbehaved in a way only restarting the slot fixes."""


class Supervisor:
    """Feeds one child its job (cases `first` .. `first + count - 1` of the run) and watches it: per-case
    wall clock, the run's overall deadline, result caps, frame order, output capture."""

    def __init__(self, limits: Limits, pidfd: int, res_r: int, out_r: int, first: int, count: int,
                 time_limit_s: float, run_deadline: float, capture: OutputCapture, buffer: bytearray) -> None:
        self.limits, self.pidfd, self.res_r, self.out_r = limits, pidfd, res_r, out_r
        self.end = first + count
        self.expected = first  # the case whose frame comes next
        self.time_limit, self.run_deadline = time_limit_s, run_deadline
        self.capture, self.buffer = capture, buffer
        self.raw = RawRun(first=first, count=count)
        self.buf = bytearray()
        self.result_total = 0
        self.killed = False
        self.exited = False
        self.case_start = 0.0
        self.deadline = 0.0
        self.deadline_is_budget = False
        self.done = False  # nothing more is needed from the child
        self.big_pipe = False

    def kill(self, reason: str | None) -> None:
        if self.killed:
            return
        self.killed = True
        if reason and self.raw.stopped is None:
            self.raw.stopped = reason
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        self.deadline = time.monotonic() + KILL_WAIT_S

    def _start_clock(self, now: float) -> None:
        """The load, then each case, gets the time limit, within what is left of the run's budget."""
        self.case_start = now
        self.deadline = now + self.time_limit
        self.deadline_is_budget = self.run_deadline < self.deadline
        if self.deadline_is_budget:
            self.deadline = self.run_deadline

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
        """Watch the child until it exits, is killed, or has sent everything.

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
                self.kill(self._late())
        # The child is gone or finished: whatever it wrote is in the pipes; read what is there (bounded, in
        # case something that escaped the kill in weak mode keeps writing).
        self._drain(time.monotonic())
        if self.raw.acked and not self.done:
            if self.raw.loaded:
                self.raw.case_seconds[self.expected] = time.monotonic() - self.case_start
            else:
                self.raw.load_seconds = time.monotonic() - self.case_start
        self.raw.running = self.expected
        return self.raw

    def _late(self) -> str:
        if not self.raw.acked:
            return "setup_timeout"
        if self.deadline_is_budget:
            return "budget"
        return "timeout" if self.raw.loaded else "load_timeout"

    def _drain(self, now: float) -> bool:
        """Read what both pipes hold; True if there was a lot (the child is streaming data)."""
        total = 0
        for fd in (self.out_r, self.res_r):  # output first: a case's output is written before its frame
            got = 0
            while got < DRAIN_BYTES:
                read = self._read(fd, now)
                if not read:
                    break
                got += read
            total += got
        if total >= STREAMING_BYTES and not self.big_pipe:
            self.big_pipe = True
            with contextlib.suppress(OSError):
                fcntl.fcntl(self.out_r, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        return total >= STREAMING_BYTES

    def _read(self, fd: int, now: float) -> int:
        """Read what is there; how many bytes (0 at end of file or when nothing is available)."""
        try:
            n = os.readv(fd, [self.buffer])
        except BlockingIOError:
            return 0
        if fd == self.out_r:
            self.capture.feed(self.buffer, n)
        else:
            self._on_result(memoryview(self.buffer)[:n], now)
        return n

    def _on_result(self, data: memoryview, now: float) -> None:
        self.result_total += len(data)
        if self.result_total > self.limits.result_bytes + 64 * 1024 * (self.end + 2):
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
                self._start_clock(now)
                continue
            self._on_frame(payload, now)

    def _on_frame(self, payload: bytes, now: float) -> None:
        raw = self.raw
        if len(payload) < runner.INDEX.size:
            self._stray(None, "bytes that are not a result were written to the result pipe")
            return
        (index,) = runner.INDEX.unpack_from(payload)
        body = payload[runner.INDEX.size :]
        if index == runner.LOADED:
            if raw.loaded or raw.load_error is not None:
                self._stray(None, "the code was reported loaded twice")
            elif body:
                raw.load_error = body
                raw.load_seconds = now - self.case_start
                self.done = True  # the child ends after a load error; nothing more is wanted of it
                self.kill(None)
            else:
                raw.loaded = True
                raw.load_seconds = now - self.case_start
                self._start_clock(now)
            return
        if not raw.loaded:
            self._stray(index, "a result arrived before the code had loaded")
        elif self.killed and raw.stopped is not None:
            return  # it was stopped (a time-out, say) before this was read: the case stays stopped
        elif index == self.expected and self.expected < self.end:
            raw.frames[index] = body
            raw.case_seconds[index] = now - self.case_start
            self.expected += 1
            if self.expected == self.end:
                # The runner writes each case's output marker before its frame, so the output that
                # matters is already in the pipe. Kill rather than wait for a clean exit: the child is
                # about to exit anyway, and a submission that forged frames gets no extra time.
                self.done = True
                self.kill(None)
            elif not self.killed:
                self._start_clock(now)
        elif raw.first <= index < self.expected:
            self._stray(index, f"test {index + 1} was reported twice")
        elif self.expected < index < self.end:
            self._stray(index, f"a result for test {index + 1} arrived while test {self.expected + 1} was running")
        else:
            self._stray(None, "a result for a test that does not exist arrived")

    def _stray(self, index: int | None, what: str) -> None:
        """A frame no honest runner sends: held against the case it names (its first frame, taken or still
        to come, cannot be trusted), or, when it names none of this child's cases, the running one."""
        case = index if index is not None and self.raw.first <= index < self.end else min(self.expected,
                                                                                            self.end - 1)
        self.raw.conflicts.setdefault(case, what)
