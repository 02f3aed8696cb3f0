"""The fork server: builds one slot as root, then hands it to the zygote, which forks a child per submission.

Started by the pool through `bootstrap` (a fresh interpreter, empty environment, no inherited file
descriptors but its socket and uid lock), the server imports numpy, builds the slot's network, UTS, IPC and
mount namespaces (a root of the slot's own: isolate.prepare_slot_namespaces) and joins its cgroups. Then it
forks the *zygote* (pid 1 of the slot's own pid namespace) and only waits for it: when the zygote ends, so
does the server, and the pool restarts the slot.

The zygote isolates itself once, exactly as every submission must be isolated: rlimits, the slot's uid, not
dumpable, the seccomp filter. Each child it forks inherits all of that, so the per-submission work is a fork
and a few dup2 calls, and the child is warm (waiting for its job) before the pool needs it. After a child
ends, the zygote kills every other process in its pid namespace, reaps them and empties /tmp, so nothing
of one run is left for the next. It never reads a job, a result or the output: those go straight between
the child and the pool, so nothing of one student lingers in the memory the next child is forked from.

Messages on the socket (JSON, one per SOCK_SEQPACKET datagram): pool -> server `config` (first), zygote ->
pool `hello` (or `error`), then per child `ready` (+4 fds: job_w, res_r, out_r, pidfd) and `exited` (code
or signal); pool -> zygote `next` only after a child that failed its own setup, so a broken setup cannot
spin.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys

from grader.sandbox import child, heap, isolate, libc, runner
from grader.sandbox.limits import Limits

# Only numpy (with the submodules it imports itself) and what the runner needs. Every module imported here is
# memory each fork copies page tables for and each child may copy-on-write, and some (threading, random,
# logging) register at-fork hooks that run in every child; a submission imports anything else itself, from
# the read-only view of the interpreter's library (see isolate.library_paths).
PRELOAD = ("numpy",)
MSG_MAX = 1 << 16
READY = json.dumps({"op": "ready"}).encode()


def send(sock: socket.socket, message: dict) -> None:
    sock.send(json.dumps(message).encode())


class Zygote:
    """Forks the slot's children and cleans up after each (runs as the slot's uid, under seccomp)."""

    def __init__(self, sock: socket.socket, limits: Limits, workdir: str, in_pid_namespace: bool) -> None:
        self.sock = sock
        self.limits = limits
        self.workdir = workdir
        # In its own pid namespace the zygote is pid 1: orphans come to it and kill(-1) reaches exactly the
        # slot's processes. Elsewhere (weak mode) it is a subreaper and kills its descendants one by one.
        self.in_pid_namespace = in_pid_namespace
        # Under seccomp a run cannot change the limits, priority or CPUs a later run inherits from us
        # (policy.py); without it (weak mode, the bench's layer runs) the zygote compares them before each
        # fork instead, which costs every run ~20 page faults more.
        self.check_state = not limits.isolation.seccomp
        self.expected_state = isolate.process_state()  # set again once isolated (become_zygote)
        self.keep = isolate.slot_entries(workdir)

    def spawn(self) -> tuple[int, list[int]]:
        """Fork one child; returns its pid and (job_w, res_r, out_r) for the pool."""
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            child.main(self.limits, job_r, res_w, out_w)
            os._exit(child.SETUP_FAILED)  # not reached
        for fd in (job_r, res_w, out_w):
            os.close(fd)
        return pid, [job_w, res_r, out_r]

    def kill_leftovers(self) -> None:
        """Kill and reap whatever the last run started. Orphans are reparented to us, so once waitpid
        reports no children at all, nothing of the run is left."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return  # no children left: the usual case, one syscall
            if pid:
                continue
            if self.in_pid_namespace:
                # From pid 1, kill(-1) reaches every other process of the namespace (and nothing outside).
                with contextlib.suppress(ProcessLookupError):
                    os.kill(-1, signal.SIGKILL)
            else:
                for leftover in isolate.descendants(os.getpid()):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(leftover, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(-1, 0)

    def serve(self) -> None:
        # Between the fork and the child's end the zygote's pages are shared with the child, so each one it
        # writes is copied: the loop keeps that stretch short (a prepared message, one poller for the life
        # of the zygote).
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        while True:
            isolate.empty_directory(self.workdir, self.keep)
            if self.check_state and isolate.process_state() != self.expected_state:
                return  # a run changed what every later run would inherit: start the slot afresh
            pid, fds = self.spawn()
            pidfd = os.pidfd_open(pid)
            socket.send_fds(self.sock, [READY], fds + [pidfd])
            for fd in fds:
                os.close(fd)
            poller.register(pidfd, select.POLLIN)
            pool_gone = False
            child_ended = False
            while not child_ended:
                for fd, _ in poller.poll():
                    if fd == pidfd:
                        child_ended = True
                    elif not self.sock.recv(MSG_MAX):
                        pool_gone = True
                        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            poller.unregister(pidfd)
            _, status = os.waitpid(pid, 0)
            os.close(pidfd)
            self.kill_leftovers()
            if pool_gone:
                return
            # Formatted by hand: json.dumps's machinery would be touched, so copied, again at every cycle.
            if os.WIFSIGNALED(status):
                self.sock.send(b'{"op": "exited", "signal": %d}' % os.WTERMSIG(status))
            else:
                code = os.waitstatus_to_exitcode(status)
                self.sock.send(b'{"op": "exited", "code": %d}' % code)
                if code == child.SETUP_FAILED:
                    # Do not spin forking children that cannot start: wait until the pool has seen it.
                    message = self.sock.recv(MSG_MAX)
                    if not message or json.loads(message).get("op") != "next":
                        return
            # Otherwise the next child is forked at once, so it is warm before the pool asks for it.


def become_zygote(sock: socket.socket, limits: Limits, uid: int | None, workdir: str, seccomp_bpf: bytes,
                  base_address_space: int, server_pidfd: int) -> None:
    """In the freshly forked zygote (still root): isolate, warm up, say hello, serve. Never returns."""
    iso = limits.isolation
    try:
        if iso.rlimits:
            isolate.apply_rlimits(limits, base_address_space)
        if iso.uid and uid is not None:
            isolate.drop_privileges(uid)
        isolate.die_with_parent(server_pidfd)
        os.close(server_pidfd)
        # A process whose memory other processes of its uid cannot read or trace (the uid change already
        # made it so; said again because the zygote depends on it). Children inherit it.
        libc.prctl(libc.PR_SET_DUMPABLE, 0)
        # As pid 1 of its namespace the zygote receives from its children only the signals it handles, and
        # Python handles SIGINT: ignored, a run's kill(1, SIGINT) cannot end the slot. (Children inherit
        # that too; the pool stops them with SIGKILL.)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.chdir(workdir)
        os.umask(0o077)
        if iso.seccomp:
            isolate.load_seccomp(libc.SeccompProgram(seccomp_bpf))
        zygote = Zygote(sock, limits, workdir, in_pid_namespace=iso.namespaces)
        zygote.expected_state = isolate.process_state()
    except Exception as exc:
        send(sock, {"op": "error", "message": f"{type(exc).__name__}: {exc}"})
        os._exit(1)
    runner.warm_up()
    if iso.namespaces:
        runner.install_fork_hook()
    gc.collect()
    # Children then allocate on fresh pages rather than on free blocks scattered over shared ones.
    heap.fill_pymalloc()
    heap.drain_malloc()
    # Everything allocated so far is shared with every child; frozen objects are never scanned by the
    # cyclic GC, so children do not copy-on-write-fault the whole heap just by collecting garbage.
    gc.freeze()
    send(sock, {"op": "hello", "pid": os.getpid()})
    try:
        zygote.serve()
    except BaseException:  # noqa: BLE001
        # A slot that cannot go on ends quietly (its stderr is the service's, and a run chose the names of
        # what it left behind); the pool restarts it.
        os._exit(1)
    os._exit(0)


def main(sock_fd: int) -> None:
    sock = socket.socket(fileno=sock_fd)
    # Our stdout is not part of the protocol; keep stray prints out of everything.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    config = json.loads(sock.recv(MSG_MAX))
    limits = Limits.from_json(config["limits"])
    for name in PRELOAD:
        __import__(name)
    runner.setup_streams()  # once here rather than in every child (see runner.setup_streams)
    iso = limits.isolation
    try:
        # Joining here costs one cgroup migration per slot instead of one per child: every process of the
        # slot is born inside its cgroups.
        isolate.join_cgroups(config["cgroups"])
        base_address_space = isolate.address_space_in_use()
        workdir = isolate.WORKDIR if iso.namespaces else config["workdir"]
        if iso.namespaces:
            isolate.prepare_slot_namespaces(limits, isolate.library_paths())
            libc.unshare(libc.CLONE_NEWPID)  # the zygote, forked next, is pid 1 of a new pid namespace
        # The children's environment: ours, already clean (bootstrap), plus where home and temp files go.
        os.environ.update(isolate.SAFE_ENV, HOME=workdir, TMPDIR=workdir)
        server_pidfd = os.pidfd_open(os.getpid())
    except Exception as exc:
        send(sock, {"op": "error", "message": f"{type(exc).__name__}: {exc}"})
        sys.exit(1)
    pid = os.fork()
    if pid == 0:
        if not iso.namespaces:
            libc.set_child_subreaper()  # orphans of a run come to the zygote, not to init
        become_zygote(sock, limits, config["uid"], workdir, bytes.fromhex(config["seccomp_bpf"]),
                      base_address_space, server_pidfd)
    # The server's part is done: the zygote talks to the pool. Keep no copy of the socket, so the pool
    # sees it close when the zygote dies, and end with the zygote (which dies with us: PDEATHSIG).
    sock.close()
    _, status = os.waitpid(pid, 0)
    sys.exit(0 if status == 0 else 1)
