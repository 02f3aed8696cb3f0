"""Claiming a dedicated uid per slot, machine-wide.

Several pools can run on one machine (gunicorn workers, pytest-xdist workers, a bench next to a server), and
two slots sharing a uid could signal each other's processes. Each slot therefore holds an exclusive flock on
`/run/gradgate-sandbox/uid-N.lock` for as long as it (or its fork server, which inherits the descriptor)
lives; the kernel drops the lock when both are gone, even after a crash.
"""

from __future__ import annotations

import fcntl
import os
import pwd

LOCK_DIR = "/run/gradgate-sandbox"


def claim_uid(base: int, count: int) -> tuple[int, int]:
    """The first free uid in [base, base+count) with no account on this machine; returns (uid, lock fd)."""
    os.makedirs(LOCK_DIR, mode=0o700, exist_ok=True)
    for uid in range(base, base + count):
        try:
            pwd.getpwuid(uid)
            continue  # a real account: never borrow its identity
        except KeyError:
            pass
        fd = os.open(f"{LOCK_DIR}/uid-{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return uid, fd
    raise RuntimeError(f"no free sandbox uid in [{base}, {base + count})")
