"""Per-slot memory and process caps with cgroups: a backstop, applied when the machine allows it.

rlimits are per process (RLIMIT_AS) or per uid (RLIMIT_NPROC), so a submission that forks could still use
max_processes x memory_bytes. A cgroup per slot bounds what all of a run's processes use together. Best
effort: where no writable cgroup hierarchy with the memory and pids controllers exists (containers, some
CI runners), the rlimits alone apply and `create` returns no paths.
"""

from __future__ import annotations

import contextlib
import logging
import os

log = logging.getLogger(__name__)

ROOT = "/sys/fs/cgroup"
GROUP = "gradgate-sandbox"


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _v2_base() -> str | None:
    """The unified hierarchy, if it is the one carrying the memory and pids controllers."""
    try:
        with open(f"{ROOT}/cgroup.controllers") as f:
            controllers = f.read().split()
    except OSError:
        return None
    return ROOT if {"memory", "pids"} <= set(controllers) else None


def create(name: str, memory_bytes: int, max_processes: int) -> list[str]:
    """Make the slot's cgroup(s); returns the cgroup.procs files the fork server joins (isolate.join_cgroups)."""
    try:
        base = _v2_base()
        if base:
            group = f"{base}/{GROUP}"
            os.makedirs(f"{group}/{name}", exist_ok=True)
            _write(f"{base}/cgroup.subtree_control", "+memory +pids")
            _write(f"{group}/cgroup.subtree_control", "+memory +pids")
            _write(f"{group}/{name}/memory.max", str(memory_bytes))
            _write(f"{group}/{name}/memory.swap.max", "0")
            _write(f"{group}/{name}/pids.max", str(max_processes))
            return [f"{group}/{name}/cgroup.procs"]
        paths = []
        for controller, setting, value in (("memory", "memory.limit_in_bytes", memory_bytes),
                                           ("pids", "pids.max", max_processes)):
            directory = f"{ROOT}/{controller}/{GROUP}/{name}"
            os.makedirs(directory, exist_ok=True)
            _write(f"{directory}/{setting}", str(value))
            paths.append(f"{directory}/cgroup.procs")
        return paths
    except OSError as exc:
        log.info("sandbox cgroups unavailable (%s); relying on rlimits", exc)
        remove(name)
        return []


def remove(name: str) -> None:
    """Remove the slot's cgroups (empty once its processes are gone)."""
    for directory in (f"{ROOT}/{GROUP}/{name}", f"{ROOT}/memory/{GROUP}/{name}", f"{ROOT}/pids/{GROUP}/{name}"):
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def oom_kills(procs_files: list[str]) -> int:
    """How many processes the slot's memory cgroup has killed for memory so far (0 where it is not known:
    v2 memory.events, v1 memory.oom_control since Linux 4.13)."""
    for procs in procs_files:
        directory = os.path.dirname(procs)
        for name in ("memory.events", "memory.oom_control"):
            with contextlib.suppress(OSError, ValueError), open(f"{directory}/{name}") as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
    return 0
