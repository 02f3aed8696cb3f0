"""Framing and array transport: a length prefix, a JSON header, then raw array bytes.

Nothing here ever unpickles. Arrays travel as `{"dtype": "<f8", "shape": [..]}` plus their raw bytes, and the
decoder accepts only plain numeric dtypes whose byte count matches the shape exactly. Both sides of every
pipe use this module; on the parent side every byte that came from a child is treated as hostile.
"""

from __future__ import annotations

import json
import math
import re
import struct
from typing import Any

import numpy as np

LENGTH = struct.Struct(">I")
MAX_DIMS = 32
# bool, signed/unsigned int, float, complex; explicit byte order; no object, string, void or datetime.
_DTYPE_RE = re.compile(r"^[<>|=][biufc][0-9]{1,2}$")


# Captured at import: in a child, the submission may reassign numpy attributes before results are encoded.
_tobytes = np.ndarray.tobytes
_frombuffer = np.frombuffer
_dumps = json.dumps


class WireError(ValueError):
    """A message that does not follow the format (from a child: hostile or broken, never trusted)."""


def frame(payload: bytes) -> bytes:
    return LENGTH.pack(len(payload)) + payload


def split_frames(buf: bytes | bytearray) -> tuple[list[bytes], int]:
    """Complete frames at the start of `buf`, and how many bytes they used (the rest is incomplete)."""
    frames: list[bytes] = []
    pos = 0
    while len(buf) - pos >= LENGTH.size:
        (size,) = LENGTH.unpack_from(buf, pos)
        if len(buf) - pos - LENGTH.size < size:
            break
        frames.append(bytes(buf[pos + LENGTH.size : pos + LENGTH.size + size]))
        pos += LENGTH.size + size
    return frames, pos


def pack(header: dict[str, Any], blobs: list[bytes] | tuple[bytes, ...] = ()) -> bytes:
    head = _dumps({**header, "blobs": [len(b) for b in blobs]}, separators=(",", ":")).encode()
    return LENGTH.pack(len(head)) + head + b"".join(blobs)


def unpack(payload: bytes) -> tuple[dict[str, Any], list[bytes]]:
    """Inverse of `pack`; raises WireError on anything malformed."""
    if len(payload) < LENGTH.size:
        raise WireError("message too short")
    (head_len,) = LENGTH.unpack_from(payload, 0)
    end = LENGTH.size + head_len
    if end > len(payload):
        raise WireError("header runs past the message")
    try:
        header = json.loads(payload[LENGTH.size : end].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise WireError("header is not an object")
    sizes = header.get("blobs")
    if not isinstance(sizes, list) or not all(type(n) is int and n >= 0 for n in sizes):
        raise WireError("bad blob table")
    if end + sum(sizes) != len(payload):
        raise WireError("blob sizes do not add up")
    blobs = []
    for n in sizes:
        blobs.append(payload[end : end + n])
        end += n
    return header, blobs


def encode_array(array: np.ndarray) -> tuple[dict[str, Any], bytes]:
    """A plain (non-object) ndarray as JSON metadata plus its C-order bytes."""
    # tobytes(order="C") rather than ascontiguousarray, which would turn a 0-d array into shape (1,).
    return {"dtype": array.dtype.str, "shape": list(array.shape)}, _tobytes(array, order="C")


# dtype strings already checked, and their dtypes: the parent decodes tens of arrays per submission, nearly
# all "<f8". Bounded: _DTYPE_RE admits a few thousand strings at most.
_ACCEPTED: dict[str, np.dtype] = {}


def _accept_dtype(dtype_str: str) -> np.dtype:
    if not _DTYPE_RE.match(dtype_str):
        raise WireError(f"unsupported dtype {dtype_str[:40]!r}")
    try:
        dtype = np.dtype(dtype_str)
    except TypeError:
        raise WireError(f"unsupported dtype {dtype_str!r}") from None
    if dtype.hasobject or dtype.kind not in "biufc":
        raise WireError(f"unsupported dtype {dtype_str!r}")
    _ACCEPTED[dtype_str] = dtype
    return dtype


def decode_trusted(meta: dict[str, Any], data: bytes) -> np.ndarray:
    """`decode_array` without the checks, for what the trusted pool sent a child (its job's inputs)."""
    shape = meta["shape"]
    if not data:
        return np.zeros(shape, dtype=meta["dtype"])
    return _frombuffer(data, dtype=meta["dtype"]).reshape(shape)


def decode_array(meta: Any, data: bytes, *, max_bytes: int) -> np.ndarray:
    """Rebuild an array from untrusted metadata and bytes; raises WireError unless everything is consistent."""
    if not isinstance(meta, dict):
        raise WireError("array metadata is not an object")
    dtype_str, shape = meta.get("dtype"), meta.get("shape")
    if type(dtype_str) is not str:
        raise WireError(f"unsupported dtype {str(dtype_str)[:40]!r}")
    dtype = _ACCEPTED.get(dtype_str) or _accept_dtype(dtype_str)
    if not isinstance(shape, list) or len(shape) > MAX_DIMS:
        raise WireError("bad shape")
    if not all(type(d) is int and d >= 0 for d in shape):
        raise WireError("bad shape")
    expected = math.prod(shape) * dtype.itemsize
    if expected > max_bytes:
        raise WireError(f"array of {expected} bytes is over the {max_bytes}-byte limit")
    if expected != len(data):
        raise WireError("array bytes do not match its shape")
    if expected == 0:
        return np.zeros(shape, dtype=dtype)
    return _frombuffer(data, dtype=dtype).reshape(shape)
