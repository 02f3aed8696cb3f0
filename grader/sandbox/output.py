"""A child's stdout+stderr, split into its cases and capped, as it streams in (parent side).

The runner writes a secret marker after each case's output, so the stream is cut into cases at the
markers as it arrives. Of each case only a prefix is kept (`per_case` bytes, and `room` bytes for the
whole run); the rest is counted and dropped, never stored, so a function that prints without end costs
the parent a bounded amount of memory and a read-and-scan per chunk (the pool reads in large chunks). The
child is never held up and nothing is stopped for printing: the per-case time limit still ends a case
that prints forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CaseText:
    kept: bytearray = field(default_factory=bytearray)
    total: int = 0   # bytes printed during the case, kept or not


class OutputCapture:
    """Feed it what the output pipe yields (`feed`), then `finish`; `texts[i]` is case i's output."""

    def __init__(self, marker: bytes, first: int, last: int, per_case: int, room: int) -> None:
        self.marker = marker
        self.case = first         # the case the output is for (the load phase goes with the first case)
        self.last = last          # later markers (forged ones) do not move past the last case
        self.per_case = per_case
        self.room = room          # bytes still to keep in the whole run (shared by the run's children)
        self.texts: dict[int, CaseText] = {}
        self.tail = b""           # held back: it could be the start of a marker

    def feed(self, data: bytes | bytearray, n: int | None = None) -> None:
        """Add `data[:n]` (a reused read buffer: nothing of it is kept by reference)."""
        end = len(data) if n is None else n
        size = len(self.marker)
        pos = 0
        if self.tail:
            # A marker may span the previous chunk and this one. Joined with a marker's length of the new
            # chunk, the tail (shorter than a marker) holds any marker that starts in it.
            head = min(end, size - 1)
            joined = self.tail + bytes(data[:head])
            self.tail = b""
            if head < size - 1:  # a short read: all of it is in `joined`
                self._scan(joined, 0, len(joined))
                return
            at = joined.find(self.marker)
            if at >= 0:
                self._add(joined, 0, at)
                self._next()
                pos = at + size - (len(joined) - head)
            else:
                self._add(joined, 0, len(joined) - head)
        self._scan(data, pos, end)

    def _scan(self, data: bytes | bytearray, pos: int, end: int) -> None:
        marker, size = self.marker, len(self.marker)
        while True:
            at = data.find(marker, pos, end)
            if at < 0:
                break
            self._add(data, pos, at)
            self._next()
            pos = at + size
        hold = max(pos, end - (size - 1))  # may be the start of a marker: decided with the next chunk
        self._add(data, pos, hold)
        self.tail = bytes(data[hold:end])

    def finish(self) -> None:
        if self.tail:
            self._add(self.tail, 0, len(self.tail))
            self.tail = b""

    def merge_into(self, texts: dict[int, CaseText]) -> None:
        """Add this child's texts to the run's (a case appears in two children only after forged markers;
        the bytes kept were counted against the run's room either way)."""
        for case, text in self.texts.items():
            if case in texts:
                texts[case].kept += text.kept
                texts[case].total += text.total
            else:
                texts[case] = text

    def _add(self, data: bytes | bytearray, start: int, stop: int) -> None:
        if stop <= start:
            return
        text = self.texts.get(self.case)
        if text is None:
            text = self.texts[self.case] = CaseText()
        text.total += stop - start
        take = min(stop - start, self.per_case - len(text.kept), self.room)
        if take > 0:
            text.kept += memoryview(data)[start : start + take]
            self.room -= take

    def _next(self) -> None:
        if self.case < self.last:
            self.case += 1
