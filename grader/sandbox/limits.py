"""Resource limits and isolation switches for the sandbox (plain data, shared by the pool and the fork server)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The project checkout: it holds the instance folder (secret key, SQLite database); submissions never see it.
PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class Isolation:
    """Which layers are applied. All on in production; the bench switches them off to price each one."""

    namespaces: bool = True   # pid, mount (a root of its own: system dirs, libraries, /tmp), network, IPC, UTS
    uid: bool = True          # dedicated unprivileged uid/gid per slot, no supplementary groups
    seccomp: bool = True      # syscall filter (no sockets, exec, ptrace, mount, namespaces, ...)
    rlimits: bool = True      # CPU, address space, processes, file size, open files, core = 0

    @property
    def full(self) -> bool:
        return self.namespaces and self.uid and self.seccomp and self.rlimits


@dataclass(frozen=True)
class Limits:
    # Address space per process on top of what the preloaded server maps. Together with max_processes this
    # bounds a slot's memory (no cgroup is used): keep their product well under the machine's memory.
    memory_bytes: int = 256 * 1024 * 1024
    max_processes: int = 8                     # per slot uid, threads included
    max_open_files: int = 64
    max_file_bytes: int = 4 * 1024 * 1024      # any single file the code writes (RLIMIT_FSIZE)
    workdir_bytes: int = 16 * 1024 * 1024      # the private tmpfs working directory
    output_bytes: int = 64 * 1024              # stdout+stderr kept for the whole run; the rest is dropped
    stdout_chars_per_case: int = 4000          # what a CaseOutcome keeps of its output (the rest is dropped)
    result_bytes: int = 32 * 1024 * 1024       # all returned arrays together
    setup_timeout_s: float = 10.0              # fork + isolation before the student's code starts
    uid_base: int = 61000                      # slot uids/gids are claimed from [uid_base, uid_base+uid_count)
    uid_count: int = 1000
    # Directories a submission may read besides the system's programs and libraries, the standard library
    # and numpy (isolate.prepare_slot_namespaces); nothing else of the host is there at all.
    visible_paths: tuple[str, ...] = ()
    isolation: Isolation = field(default_factory=Isolation)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Limits:
        data = dict(data)
        data["isolation"] = Isolation(**data["isolation"])
        data["visible_paths"] = tuple(data["visible_paths"])
        return cls(**data)
