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
from json.encoder import encode_basestring_ascii
from typing import Any

import numpy as np

LENGTH = struct.Struct(">I")
MAX_DIMS = 32
# bool, signed/unsigned int, float, complex; explicit byte order; no object, string, void or datetime.
_DTYPE_RE = re.compile(r"^[<>|=][biufc][0-9]{1,2}$")


# Captured at import: in a child, the submission may reassign numpy attributes before results are encoded.
_tobytes = np.ndarray.tobytes
_frombuffer = np.frombuffer
_quote = encode_basestring_ascii
_len = len


class WireError(ValueError):
    """A message that does not follow the format (from a child: hostile or broken, never trusted)."""


def frame(payload: bytes) -> bytes:
    return LENGTH.pack(_len(payload)) + payload


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


def to_json(value: Any) -> str:
    """JSON text for the plain values a header holds (dict, list, str, int, float, bool, None).

    The child writes its frames with this rather than json.dumps: a fresh child pays for every part of
    the interpreter it touches first with copy-on-write page faults, and json.dumps's encoder machinery
    costs ~50 of them; these few lines cost almost none. The parent reads with json.loads as usual.
    Strings go through json's own (C) escaping, whatever str subclass a submission's message may be."""
    if isinstance(value, str):
        return _quote(value)
    if value is None or value is True or value is False:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return float.__repr__(value) if math.isfinite(value) else "null"
    if isinstance(value, dict):
        return "{" + ",".join(_quote(str(k)) + ":" + to_json(v) for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def pack(header: dict[str, Any], blobs: list[bytes] | tuple[bytes, ...] = ()) -> bytes:
    head = to_json({**header, "blobs": [_len(b) for b in blobs]}).encode()
    return LENGTH.pack(_len(head)) + head + b"".join(blobs)


def unpack(payload: bytes) -> tuple[dict[str, Any], list[memoryview]]:
    """Inverse of `pack` (the blobs are views of `payload`, not copies); raises WireError on anything
    malformed."""
    if len(payload) < LENGTH.size:
        raise WireError("message too short")
    (head_len,) = LENGTH.unpack_from(payload, 0)
    end = LENGTH.size + head_len
    if end > len(payload):
        raise WireError("header runs past the message")
    try:
        header = json.loads(payload[LENGTH.size : end].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # (nesting deep enough to recurse out)
        raise WireError(f"header is not JSON: {type(exc).__name__}") from None
    if not isinstance(header, dict):
        raise WireError("header is not an object")
    sizes = header.get("blobs")
    if not isinstance(sizes, list):
        raise WireError("bad blob table")
    for n in sizes:
        if type(n) is not int or n < 0:
            raise WireError("bad blob table")
    if end + sum(sizes) != len(payload):
        raise WireError("blob sizes do not add up")
    view = memoryview(payload)
    blobs = []
    for n in sizes:
        blobs.append(view[end : end + n])
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


def decode_array(meta: Any, data: bytes | memoryview, *, max_bytes: int) -> np.ndarray:
    """Rebuild an array from untrusted metadata and bytes; raises WireError unless everything is consistent."""
    if not isinstance(meta, dict):
        raise WireError("array metadata is not an object")
    dtype_str, shape = meta.get("dtype"), meta.get("shape")
    if type(dtype_str) is not str:
        raise WireError(f"unsupported dtype {str(dtype_str)[:40]!r}")
    dtype = _ACCEPTED.get(dtype_str) or _accept_dtype(dtype_str)
    if not isinstance(shape, list) or len(shape) > MAX_DIMS:
        raise WireError("bad shape")
    for d in shape:
        if type(d) is not int or d < 0:
            raise WireError("bad shape")
    expected = math.prod(shape) * dtype.itemsize
    if expected > max_bytes:
        raise WireError(f"array of {expected} bytes is over the {max_bytes}-byte limit")
    if expected != len(data):
        raise WireError("array bytes do not match its shape")
    if expected == 0:
        return np.zeros(shape, dtype=dtype)
    return _frombuffer(data, dtype=dtype).reshape(shape)
