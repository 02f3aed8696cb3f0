"""The isolation layers, applied once per slot: the namespaces by the fork server, the rest by the zygote in
the order of this file (root until `drop_privileges`). Every child the zygote forks inherits them all."""

from __future__ import annotations

import glob
import math
import os
import resource
import select
import signal
import sys

from grader.sandbox import libc
from grader.sandbox.limits import Limits

WORKDIR = "/tmp"  # the slot's own tmpfs (root-owned, sticky), emptied between runs
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


def library_paths() -> list[str]:
    """What a submission may import from besides the preloaded modules: the standard library (with its
    compiled extensions) and numpy, each at the path the interpreter imports it by and at the path that
    resolves to (they differ when a symlink is on the way). Called by the fork server before it builds the
    slot's root."""
    import numpy

    numpy_dir = os.path.dirname(numpy.__file__)
    found = [os.path.dirname(os.__file__), numpy_dir, numpy_dir + ".libs"]
    if getattr(select, "__file__", None):  # an extension module: its directory is lib-dynload
        found.append(os.path.dirname(select.__file__))
    found = [os.path.abspath(p) for p in found if os.path.isdir(p)]
    paths = sorted(set(found) | {os.path.realpath(p) for p in found})
    return [p for p in paths if not any(p.startswith(q + "/") for q in paths)]


# The system's shared libraries (a lazily imported extension module may need one) and the loader's cache,
# read-only; not the rest of /usr (Debian's own Python packages, /usr/local and whatever a deployment keeps).
SYSTEM_PATHS = ("/lib", "/lib32", "/lib64", "/libx32", "/usr/lib64", "/usr/lib32", "/usr/libx32",
                "/etc/ld.so.cache", *glob.glob("/usr/lib/*-linux-gnu"))
DEVICES = ("null", "zero", "full", "random", "urandom")


def prepare_slot_namespaces(limits: Limits, library: list[str]) -> None:
    """Run once by the fork server: the namespaces every process of the slot lives in.

    Network: empty, not even loopback up (and children cannot open sockets anyway: seccomp). UTS: a
    neutral hostname the code cannot change. IPC: the slot's own (and seccomp refuses SysV IPC and POSIX
    message queues, so nothing outlives a run there). Mounts: a root of the slot's own (pivot_root), made
    of an allow-list, so what is not named here is not there at all, wherever a deployment keeps its
    secrets: read-only views of the system's programs and libraries, of `library` (the standard library
    and numpy, at their own paths) and of `limits.visible_paths`; /dev/null and the other harmless devices;
    an empty /etc but for the loader's cache; an empty /proc; /tmp a small tmpfs of the slot's own (root's,
    sticky; emptied by the zygote between runs). The root itself is read-only.
    """
    os.umask(0o022)  # the service's umask must not make the root's directories unreadable to the uid
    libc.unshare(libc.CLONE_NEWNS | libc.CLONE_NEWNET | libc.CLONE_NEWUTS | libc.CLONE_NEWIPC)
    libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)
    views = [p for p in (*SYSTEM_PATHS, *library, *limits.visible_paths) if os.path.lexists(p)]
    views += [f"/dev/{name}" for name in DEVICES if os.path.exists(f"/dev/{name}")]
    links = {p: os.readlink(p) for p in views if os.path.islink(p)}  # /lib -> usr/lib and the like
    # Opened before anything is mounted over them: the views are bind mounts of these very files.
    sources = {p: os.open(p, os.O_PATH) for p in views if p not in links}
    directories = {p for p in sources if os.path.isdir(p)}
    new_root = WORKDIR  # any directory serves as the mount point of the new root's tmpfs
    libc.mount("tmpfs", new_root, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
    for empty in ("etc", "proc", "tmp", ".old"):
        os.makedirs(f"{new_root}/{empty}", mode=0o755, exist_ok=True)
    # Mounted before the views: one under /tmp (a checkout there, as in CI) goes inside it, where root's
    # sticky /tmp keeps a run from moving it.
    libc.mount("tmpfs", f"{new_root}{WORKDIR}", "tmpfs", libc.MS_NOSUID | libc.MS_NODEV | libc.MS_NOEXEC,
               f"size={limits.workdir_bytes},nr_inodes=4096,mode=1777")
    for path, target in links.items():
        os.makedirs(os.path.dirname(new_root + path), mode=0o755, exist_ok=True)
        os.symlink(target, new_root + path)
    for path, fd in sources.items():
        inside = new_root + path
        os.makedirs(os.path.dirname(inside), mode=0o755, exist_ok=True)
        if path in directories:
            os.makedirs(inside, mode=0o755, exist_ok=True)
        else:
            open(inside, "x").close()  # a mount point for a single file (the loader's cache, a device)
        libc.mount(f"/proc/self/fd/{fd}", inside, None, libc.MS_BIND)
        # Not noexec (the loader maps libraries executable); nodev but for the devices themselves.
        nodev = 0 if path.startswith("/dev/") else libc.MS_NODEV
        libc.mount(None, inside, None, libc.MS_REMOUNT | libc.MS_BIND | libc.MS_RDONLY | libc.MS_NOSUID | nodev)
        os.close(fd)
    for entry in sys.path:  # import paths that do not exist: root's, so a run cannot make them under /tmp
        if entry.startswith(WORKDIR + "/") and not os.path.lexists(new_root + entry):
            os.makedirs(new_root + entry, mode=0o755)
    os.chdir(new_root)
    libc.pivot_root(".", ".old")
    libc.umount2("/.old", libc.MNT_DETACH)  # the host's tree: gone from this namespace
    os.rmdir("/.old")
    os.chdir("/")
    libc.mount(None, "/", None, libc.MS_REMOUNT | libc.MS_BIND | libc.MS_RDONLY | libc.MS_NOSUID | libc.MS_NODEV)
    libc.sethostname(HOSTNAME)


def join_cgroups(procs_files: list[str]) -> None:
    """Move this process (and so every process it starts later) into the slot's cgroups."""
    for path in procs_files:
        with open(path, "w") as f:
            f.write("0")


def apply_rlimits(limits: Limits, base_address_space: int) -> None:
    """Limits are per process except NPROC, which counts every task of the (dedicated) real uid: the zygote
    is one of them, hence the + 1. The CPU limit is set by each child once it knows its job."""
    memory = base_address_space + limits.memory_bytes
    for which, value in (
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_NPROC, limits.max_processes + 1),
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
    """SIGKILL when the parent dies. Set after the uid change (changing credentials clears it); then check
    the parent's pidfd, since a parent that died before the prctl would never send the signal."""
    libc.prctl(libc.PR_SET_PDEATHSIG, signal.SIGKILL)
    poller = select.poll()
    poller.register(parent_pidfd, select.POLLIN)
    if poller.poll(0):
        os._exit(1)


def load_seccomp(program: libc.SeccompProgram) -> None:
    """No_new_privs is what lets an unprivileged process install a filter (and it can never be undone)."""
    libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
    program.install()


def slot_entries(path: str) -> frozenset[tuple[str, int]]:
    """What `path` holds before any run (name, inode): the slot's own, left alone by empty_directory."""
    with os.scandir(path) as entries:
        return frozenset((entry.name, entry.inode()) for entry in entries)


def empty_directory(path: str, keep: frozenset[tuple[str, int]] = frozenset()) -> None:
    """Remove what the last run left in `path` (the zygote, between two runs, when no process of it is left).

    The run's files are the zygote's uid's own, so modes set to keep us out are simply reset; symlinks are
    removed, never followed; at the top, what is not ours and what was there before any run (`keep`:
    root's library views when the service lives under /tmp, which a zygote that runs as root would
    otherwise try to remove) stays, and below a directory of the run's everything is the run's. It walks down and back
    up with directory descriptors (two open at a time, no path longer than one name) and reads each
    directory once, so neither the depth, the breadth nor the names of a tree matter. Whatever still cannot
    be removed raises, which ends the zygote, and the pool restarts the slot."""
    me = os.getuid()
    if os.stat(path).st_uid == me:
        os.chmod(path, 0o700)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        todo = [_clear_files(fd, only_owner=me, keep=keep)]  # per level: the subdirectories still to remove
        while todo:
            if todo[-1]:
                name = todo[-1][-1]
                os.chmod(name, 0o700, dir_fd=fd)  # a directory, not a link, and nothing else runs now
                inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = inner
                todo.append(_clear_files(fd))
            else:
                todo.pop()
                if todo:
                    outer = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                    os.close(fd)
                    fd = outer
                    os.rmdir(todo[-1].pop(), dir_fd=fd)
    finally:
        os.close(fd)


def _clear_files(fd: int, only_owner: int | None = None,
                 keep: frozenset[tuple[str, int]] = frozenset()) -> list[str]:
    """Unlink everything but directories in the directory `fd`; return the subdirectories' names."""
    directories = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if keep and (entry.name, entry.inode()) in keep:
                continue
            if only_owner is not None and entry.stat(follow_symlinks=False).st_uid != only_owner:
                continue
            if entry.is_dir(follow_symlinks=False):
                directories.append(entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    return directories


def descendants(pid: int) -> list[int]:
    """`pid`'s children, their children and so on (weak mode, where there is no pid namespace to kill)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except FileNotFoundError:
                continue
            found.extend(kids)
            todo.extend(kids)
    return found


_INHERITED_LIMITS = (resource.RLIMIT_AS, resource.RLIMIT_NPROC, resource.RLIMIT_NOFILE, resource.RLIMIT_FSIZE,
                     resource.RLIMIT_CORE, resource.RLIMIT_CPU, resource.RLIMIT_MEMLOCK)


def process_state() -> tuple:
    """What a forked child inherits that another process of the same uid could change (the zygote compares
    it before every fork where no seccomp filter refuses such changes)."""
    return (tuple(resource.getrlimit(r) for r in _INHERITED_LIMITS), os.getpriority(os.PRIO_PROCESS, 0),
            os.sched_getscheduler(0), os.sched_getaffinity(0))


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
