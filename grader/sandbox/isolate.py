"""The isolation layers, applied in order inside a freshly forked child (root until `drop_privileges`)."""

from __future__ import annotations

import math
import os
import resource
import select
import signal

from grader.sandbox import libc
from grader.sandbox.limits import Limits

WORKDIR = "/tmp"  # a fresh tmpfs in the child's own mount namespace, owned by the slot uid, mode 0700
HOSTNAME = "sandbox"
SAFE_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": WORKDIR,
    "TMPDIR": WORKDIR,
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def hidden_mount_points(paths: tuple[str, ...]) -> list[str]:
    """Existing directories to cover, symlinks resolved, without ones already inside another covered one."""
    real = sorted({os.path.realpath(p) for p in paths if os.path.isdir(p)})
    out: list[str] = []
    for path in real:
        if path == "/" or path == WORKDIR or any(path.startswith(p.rstrip("/") + "/") for p in out):
            continue
        out.append(path)
    return out


def prepare_slot_namespaces(hidden: list[str]) -> None:
    """Run once by the fork server: the network, UTS and mount namespaces every child of the slot starts from.

    Network: empty, not even loopback up, and children cannot open sockets anyway (seccomp), so one per
    slot is as good as one per child and saves creating and tearing one down per submission. UTS: a
    neutral hostname the child cannot change. Mounts: every mount private (nothing propagates to the
    host), secrets and writable places covered by empty read-only tmpfs, the root read-only. Each child
    copies this tree, so the covering mounts are made once here instead of once per submission.
    """
    libc.unshare(libc.CLONE_NEWNS | libc.CLONE_NEWNET | libc.CLONE_NEWUTS)
    libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)
    sealed = libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC
    for path in hidden:
        libc.mount("tmpfs", path, "tmpfs", sealed, "size=4k,nr_inodes=2,mode=0555")
    libc.mount(None, "/", None, libc.MS_REMOUNT | libc.MS_BIND | libc.MS_RDONLY | libc.MS_NOSUID)
    libc.sethostname(HOSTNAME)


def enter_namespaces(limits: Limits, uid: int) -> None:
    """Per child (already pid 1 of its own pid namespace): its own mount and IPC namespaces.

    A fresh IPC namespace because SysV shared memory and semaphores outlive the processes that made
    them; in the copied mount tree, /tmp becomes a small private tmpfs owned by the slot uid (gone with
    the namespace) and /proc a new instance that shows only this sandbox's processes.
    """
    libc.unshare(libc.CLONE_NEWNS | libc.CLONE_NEWIPC)
    libc.mount(
        "tmpfs", WORKDIR, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC,
        f"size={limits.workdir_bytes},nr_inodes=4096,mode=0700,uid={uid},gid={uid}",
    )
    libc.mount("proc", "/proc", "proc", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC, "hidepid=2")


def apply_rlimits(limits: Limits, base_address_space: int) -> None:
    """Limits are per process except NPROC, which counts every task of the (dedicated) real uid."""
    memory = base_address_space + limits.memory_bytes
    for which, value in (
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_NPROC, limits.max_processes),
        (resource.RLIMIT_NOFILE, limits.max_open_files),
        (resource.RLIMIT_FSIZE, limits.max_file_bytes),
        (resource.RLIMIT_MEMLOCK, 0),
        (resource.RLIMIT_MSGQUEUE, 0),
    ):
        resource.setrlimit(which, (value, value))


def set_cpu_limit(seconds: float) -> None:
    """Set once the job (and so its time budget) is known. The soft limit sends SIGXCPU, the hard one
    SIGKILL; it is a backstop: the pool's wall clock normally stops a run first."""
    cpu = max(1, math.ceil(seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def drop_privileges(uid: int) -> None:
    """The slot's own uid and gid, no supplementary groups: root-only files and other slots are out of reach."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgroups():
        raise OSError("privileges were not dropped")


def die_with_parent(parent_pidfd: int) -> None:
    """SIGKILL when the fork server dies. Set after the uid change (changing credentials clears it); then
    check the server's pidfd, since a server that died before the prctl would never send the signal."""
    libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
    poller = select.poll()
    poller.register(parent_pidfd, select.POLLIN)
    if poller.poll(0):
        os._exit(1)


def load_seccomp(program: libc.SeccompProgram) -> None:
    """No_new_privs is what lets an unprivileged process install a filter (and it can never be undone)."""
    libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
    program.install()


def address_space_in_use() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def kill_uid_processes(uid: int) -> int:
    """SIGKILL every process whose real, effective or saved uid is `uid` (reads /proc/*/status)."""
    killed = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        uids = {int(x) for x in line.split()[1:4]}
                        break
                else:
                    continue
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if uid in uids:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def processes_of_uid(uid: int) -> list[int]:
    """Pids of live processes running as `uid` (for checks; zombies count until reaped)."""
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as f:
                text = f.read()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        for line in text.splitlines():
            if line.startswith("Uid:") and uid in {int(x) for x in line.split()[1:4]}:
                pids.append(int(entry.name))
    return pids
