"""Arranging the zygote's free memory so that each child allocates on pages of its own.

A child shares every page of the zygote copy-on-write: the first write to a shared page costs a page fault
and a 4 KiB copy (a few microseconds on a VM; a few hundred per child). Many of those writes are the
child's own allocations: CPython's allocator and glibc's malloc hand out free blocks left all over the
zygote's heap by the imports, so each new object lands on a different shared page. Run once in the zygote,
these functions use up that scattered free space, so a child's allocations come from fresh memory instead,
packed onto a few new pages. They leak on purpose: what they hold was free but already resident memory.

Measured with bench/sandbox.py: about 150 fewer page faults per submission (of ~750), ~10% less CPU.
Best effort: on an interpreter or C library without these statistics they do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import sys

_HELD: list[object] = []  # the filler objects and blocks, alive (and frozen) for the zygote's life

# `sys._debugmallocstats()` rows: class, block size, pools, blocks in use, blocks available.
_CLASS_ROW = re.compile(rb"^\s*\d+\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s*$", re.M)


def _pymalloc_stats() -> bytes:
    """What sys._debugmallocstats() prints (to the C-level stderr), captured through a memfd."""
    capture = os.memfd_create("mallocstats")
    saved = os.dup(2)
    try:
        os.dup2(capture, 2)
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    try:
        return os.pread(capture, 1 << 20, 0)
    finally:
        os.close(capture)


def _object_of_block_size(size: int) -> object:
    """A new object that pymalloc serves from the size class of `size`-byte blocks (16, 32, ... 512)."""
    if size <= 16:
        return object()
    if size <= 32:
        return float(size) + 0.5  # not a cached small value: a new 24-byte object
    return bytes(size - 33)  # a bytes object takes 33 bytes plus its length


def fill_pymalloc(rounds: int = 3) -> int:
    """Allocate one object per free block in the partly used pools of every pymalloc size class, so the
    next allocations open new pools. (Unused pools are left alone: most were never touched, and filling
    them would only make more memory resident, which every fork then copies page-table entries for.)
    Returns how many objects it made."""
    made = 0
    for _ in range(rounds):
        try:
            stats = _pymalloc_stats()
        except (AttributeError, OSError):
            return made
        sizes = [int(size) for size, free in _CLASS_ROW.findall(stats) for _ in range(int(free))]
        if not sizes:
            break
        batch: list[object] = [None] * len(sizes)
        for i, size in enumerate(sizes):
            batch[i] = _object_of_block_size(size)
        _HELD.append(batch)
        made += len(sizes)
    return made


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def drain_malloc(largest: int = 64 * 1024) -> int:
    """Take glibc malloc's free chunks out of its bins (keeping them), so the next mallocs are carved from
    the top of the heap. Returns how many chunks it took.

    Chunks are requested from `largest` bytes down; a request that was served from the top of the heap
    (or by mmap) rather than from a bin is freed again at once, and the size halves. mallinfo2 counts the
    top chunk among the free ones, so one always remains. Works with tcache off (bootstrap turns it off for
    the sandbox: its per-size lists are more scattered free chunks, which mallinfo2 does not see)."""
    try:
        libc = ctypes.CDLL(None)
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError):
        return 0
    mallinfo2.restype = _Mallinfo2
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    with contextlib.suppress(AttributeError):
        libc.malloc_trim(0)  # merge the fast bins into the others first
    taken, size = 0, largest
    while size >= 32:
        before = mallinfo2()  # read afresh: keeping the block below may itself allocate
        if before.ordblks <= 1:
            break
        block = libc.malloc(size - 16)
        after = mallinfo2()
        if after.keepcost < before.keepcost or after.arena > before.arena or after.hblks > before.hblks:
            libc.free(block)  # it came from the top or from mmap: no free chunk of this size is left
            size //= 2
        else:
            _HELD.append(block)
            taken += 1
    return taken
