"""The fork server: one long-lived, clean process per slot that pre-forks one isolated child per submission.

Started by the pool through `bootstrap` (a fresh interpreter, empty environment, no inherited file
descriptors but its socket and uid lock), it imports numpy once, enters the slot's prepared network, UTS
and mount namespaces, then loops: fork a child (pid 1 of a new pid namespace) that isolates itself and waits
for a job; hand the pool the child's pipe ends and a pidfd (SCM_RIGHTS); reap the child, report how it
ended, and fork the next one at once so it is warm before it is needed. It never reads a job, a result or
the output: submissions and what they print go straight between the child and the pool, so nothing of one
student lingers in the memory the next child is forked from.

Messages on the socket (JSON, one per SOCK_SEQPACKET datagram): pool -> server `config` (first), server ->
pool `hello`, then per child `ready` (+4 fds: job_w, res_r, out_r, pidfd) and `exited` (code or signal);
pool -> server `next` only after a child that failed its own setup, so a broken setup cannot spin.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys

from grader.sandbox import cgroups, child, isolate, libc, runner
from grader.sandbox.limits import Limits

# numpy loads some submodules lazily, and the child cannot read the interpreter's files (they may sit in a
# hidden or root-only directory), so everything a submission may reasonably import is imported here. Not
# more: every shared library mapped here is copied at each fork and torn down at each exit (statistics,
# decimal, shutil, subprocess and friends cost a few percent of a submission each for no student's use).
PRELOAD = (
    "numpy", "numpy.linalg", "numpy.fft", "numpy.random", "numpy.polynomial", "numpy.ctypeslib",
    "numpy.lib.stride_tricks", "numpy.exceptions", "numpy.dtypes",
    "math", "cmath", "random", "itertools", "functools", "collections", "collections.abc", "dataclasses",
    "typing", "json", "traceback", "linecache", "tokenize", "operator", "copy", "time", "string", "re", "io",
    "struct", "heapq", "bisect", "numbers", "warnings", "textwrap", "contextlib", "abc", "enum", "threading",
    "ctypes", "glob", "fnmatch", "pathlib", "encodings.latin_1", "encodings.ascii",
)
MSG_MAX = 1 << 16


def preload() -> None:
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def send(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def _descendants() -> list[int]:
    """Our children (orphans are reparented to us: we are a subreaper), recursively."""
    found: list[int] = []
    todo = [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except FileNotFoundError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except FileNotFoundError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


def _reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Server:
    def __init__(self, sock: socket.socket, limits: Limits, uid: int | None, workdir: str,
                 cgroup_procs: list[str], seccomp_bpf: bytes) -> None:
        self.sock = sock
        # Joining once here costs one cgroup migration per slot instead of one per child (a migration is
        # slow); every child is born inside the slot's cgroups.
        cgroups.join(cgroup_procs)
        self.pid = os.getpid()
        self.limits = limits
        self.uid = uid
        iso = limits.isolation
        self.workdir = isolate.WORKDIR if iso.namespaces else workdir
        self.host_workdir = None if iso.namespaces else workdir
        self.hidden = isolate.hidden_mount_points(limits.hidden_paths + limits.extra_hidden_paths)
        self.seccomp: libc.SeccompProgram | None = None
        if iso.seccomp:
            # Compiled by the pool: libseccomp and pyseccomp are not loaded here, since every mapping the
            # fork server holds is copied at each fork and torn down at each exit.
            self.seccomp = libc.SeccompProgram(seccomp_bpf)
        # The children's environment: ours, already clean (bootstrap), plus where home and temp files go.
        os.environ.update(isolate.SAFE_ENV, HOME=self.workdir, TMPDIR=self.workdir)
        self.own_pidfd = os.pidfd_open(os.getpid())  # lets a child check we are still alive
        self.pidns_fd = -1
        if iso.namespaces:
            self.pidns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY)
            isolate.prepare_slot_namespaces(self.hidden)
        libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)
        self.base_address_space = isolate.address_space_in_use()

    def spawn(self) -> tuple[int, list[int]]:
        """Fork one child; returns its pid and (job_w, res_r, out_r) for the pool."""
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        if self.limits.isolation.namespaces:
            # The next fork becomes pid 1 of a new pid namespace; when it dies, the kernel kills every
            # process left in that namespace, so nothing the submission starts can outlive it.
            libc.unshare(libc.CLONE_NEWPID)
        try:
            pid = os.fork()
        finally:
            if self.limits.isolation.namespaces and os.getpid() == self.pid:
                # Back to our own namespace for children, so the next unshare can make a fresh one.
                libc.setns(self.pidns_fd, libc.CLONE_NEWPID)
        if pid == 0:
            child.main(self.limits, self.uid, self.seccomp, self.base_address_space, self.workdir,
                       self.own_pidfd, job_r, res_w, out_w)
            os._exit(child.SETUP_FAILED)  # not reached
        for fd in (job_r, res_w, out_w):
            os.close(fd)
        return pid, [job_w, res_r, out_r]

    def cleanup(self) -> None:
        """After a child ended: in namespace mode the kernel already killed everything in its pid namespace
        and its tmpfs is gone; in weak mode kill what it left behind and empty the working directory."""
        if not self.limits.isolation.namespaces:
            for pid in _descendants():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if self.uid is not None and self.limits.isolation.uid:
                for _ in range(3):
                    if not isolate.kill_uid_processes(self.uid):
                        break
        _reap_all()
        if self.host_workdir:
            import shutil  # weak mode only: not loaded (and not copied at each fork) otherwise

            for entry in os.scandir(self.host_workdir):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)

    def serve(self) -> None:
        while True:
            pid, fds = self.spawn()
            pidfd = os.pidfd_open(pid)
            send(self.sock, {"op": "ready", "pid": pid}, fds + [pidfd])
            for fd in fds:
                os.close(fd)
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            poller.register(pidfd, select.POLLIN)
            pool_gone = False
            while True:
                ready = {fd for fd, _ in poller.poll()}
                if pidfd in ready:
                    break
                if self.sock.fileno() in ready and not self.sock.recv(MSG_MAX):
                    pool_gone = True
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            os.close(pidfd)
            self.cleanup()
            if pool_gone:
                return
            if os.WIFSIGNALED(status):
                send(self.sock, {"op": "exited", "signal": os.WTERMSIG(status)})
            else:
                code = os.waitstatus_to_exitcode(status)
                send(self.sock, {"op": "exited", "code": code})
                if code == child.SETUP_FAILED:
                    # Do not spin forking children that cannot start: wait until the pool has seen it.
                    message = self.sock.recv(MSG_MAX)
                    if not message or json.loads(message).get("op") != "next":
                        return
            # Otherwise the next child is forked at once, so it is warm before the pool asks for it.


def main(sock_fd: int) -> None:
    sock = socket.socket(fileno=sock_fd)
    # Our stdout is not part of the protocol; keep stray prints out of everything.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    config = json.loads(sock.recv(MSG_MAX))
    limits = Limits.from_json(config["limits"])
    preload()
    runner.setup_streams()  # once here rather than in every child (see runner.setup_streams)
    try:
        server = Server(sock, limits, config["uid"], config["workdir"], config["cgroups"],
                        bytes.fromhex(config["seccomp_bpf"]))
    except Exception as exc:
        send(sock, {"op": "error", "message": f"{type(exc).__name__}: {exc}"})
        sys.exit(1)
    runner.warm_up()
    # Everything allocated so far is shared with every child; frozen objects are never scanned by the
    # cyclic GC, so children do not copy-on-write-fault the whole heap just by collecting garbage.
    gc.collect()
    gc.freeze()
    send(sock, {"op": "hello", "pid": os.getpid()})
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        server.serve()
