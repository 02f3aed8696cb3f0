"""The seccomp filter for submissions: allow by default, refuse the calls a numpy function never needs.

A deny list (rather than an allow list) because CPython and numpy use a wide and version-dependent set of
ordinary calls; what is refused is everything that reaches outside the process: networking, running
programs, tracing other processes, namespaces and mounts, kernel modules and keys, and the clock.
Foreign-architecture calls (int 0x80, x32) kill the process (libseccomp's default for a bad arch).
"""

from __future__ import annotations

import contextlib
import errno
import os

import pyseccomp as sc

from grader.sandbox.libc import CLONE_NEW_ANY, PR_SET_PDEATHSIG

DENIED = (
    # networking (the network namespace is empty anyway; this also closes filesystem unix sockets)
    "socket", "socketcall",
    # running other programs: os.system, subprocess, os.exec*
    "execve", "execveat",
    # looking into or steering other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
    # leaving or changing namespaces, mounts, the root
    "unshare", "setns", "mount", "umount", "umount2", "pivot_root", "chroot", "fsopen", "fsmount", "fsconfig",
    "fspick", "move_mount", "open_tree", "mount_setattr", "name_to_handle_at", "open_by_handle_at",
    # SysV IPC and POSIX message queues: their objects outlive the process, and a slot's runs share an IPC
    # namespace one after the other
    "shmget", "shmat", "shmctl", "shmdt", "semget", "semop", "semtimedop", "semctl", "msgget", "msgsnd",
    "msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify",
    "mq_getsetattr", "ipc",
    # identity (the uid is already unprivileged; refusing keeps it simple to reason about)
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups", "setfsuid", "setfsgid",
    "sethostname", "setdomainname",
    # kernel attack surface a numerical function has no use for
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl", "quotactl_fd",
    "lookup_dcookie", "iopl", "ioperm", "modify_ldt", "uselib", "personality", "vhangup", "fanotify_init",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "nfsservctl",
)


# The "which" argument meaning "a process" (then "who" = 0 is the caller): PRIO_PROCESS, IOPRIO_WHO_PROCESS.
SELF_WHICH = {"setpriority": 0, "ioprio_set": 1}


def build_filter() -> sc.SyscallFilter:
    """The filter object, built once by the pool; the zygote installs it on itself (after dropping the uid),
    and every child inherits it."""
    filt = sc.SyscallFilter(defaction=sc.ALLOW)
    # A binary tree of syscall numbers instead of a linear list: a shorter path per call for every syscall
    # the filter is consulted on (the kernel caches plain allows). libseccomp < 2.5 lacks the attribute;
    # the linear filter it builds instead is just as strict.
    with contextlib.suppress(ValueError, RuntimeError, OSError):
        filt.set_attr(sc.Attr.CTL_OPTIMIZE, 2)
    for name in DENIED:
        # A name this architecture or libseccomp version does not know is skipped.
        with contextlib.suppress(ValueError, RuntimeError, OSError):
            filt.add_rule(sc.ERRNO(errno.EPERM), name)
    # glibc's pthread_create and fork try clone3 first and fall back to clone on ENOSYS; clone's flags
    # are a plain register we can inspect (clone3 passes a pointer), so new namespaces can be refused.
    filt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    bit = 1
    while bit <= CLONE_NEW_ANY:
        if CLONE_NEW_ANY & bit:
            filt.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, bit, bit))
        bit <<= 1
    # The parent-death signal is what ends a process when its parent dies; the code may not clear it.
    filt.add_rule(sc.ERRNO(errno.EPERM), "prctl", sc.Arg(0, sc.EQ, PR_SET_PDEATHSIG))
    # Limits, priorities and CPU placement of the calling process only: the zygote has the same uid, and
    # what a run set on it (a lower memory limit, an idle priority) would be inherited by every later run.
    for name in ("prlimit64", "sched_setscheduler", "sched_setparam", "sched_setattr", "sched_setaffinity",
                 "migrate_pages", "move_pages"):
        with contextlib.suppress(ValueError, RuntimeError, OSError):
            filt.add_rule(sc.ERRNO(errno.EPERM), name, sc.Arg(0, sc.NE, 0))
    for name in ("setpriority", "ioprio_set"):  # (which, who, ...): only "this process" (who = 0)
        with contextlib.suppress(ValueError, RuntimeError, OSError):
            filt.add_rule(sc.ERRNO(errno.EPERM), name, sc.Arg(0, sc.NE, SELF_WHICH[name]))
            filt.add_rule(sc.ERRNO(errno.EPERM), name, sc.Arg(1, sc.NE, 0))
    return filt


def compile_bpf() -> bytes:
    """The filter as raw BPF instructions: generated once, so each child only makes one prctl call."""
    read_fd, write_fd = os.pipe()
    with os.fdopen(write_fd, "wb") as out:
        build_filter().export_bpf(out)
    with os.fdopen(read_fd, "rb") as src:
        return src.read()
