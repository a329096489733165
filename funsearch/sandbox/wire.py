"""Bytes that cross process boundaries: length-prefixed frames and strict, size-capped JSON.

Nothing here unpickles. Solutions travel as JSON text produced in the child and are decoded by
the harness with `decode_strict`, which rejects NaN/Infinity, over-deep nesting and oversize input.
"""
from __future__ import annotations

import json
import json.encoder
import math
import os
import struct

_HEADER = struct.Struct("!I")
MAX_FRAME = 1 << 30


class WireError(Exception):
    """A frame or a JSON document broke the protocol (one-line message)."""


def _reject_constant(name: str):
    raise ValueError(f"non-finite number {name} is not allowed")


def decode_strict(data: bytes | str, max_bytes: int | None = None):
    """Strict JSON decode: size cap, no NaN/Infinity, no huge ints, nesting bounded by the parser.
    Raises WireError with one line."""
    if max_bytes is not None and len(data) > max_bytes:
        raise WireError(f"JSON document of {len(data)} bytes exceeds the cap of {max_bytes}")
    try:
        value = json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise WireError("JSON nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError(f"not strict JSON: {exc}") from None
    return value


def _plain(obj):
    """json `default` hook for the child: numpy arrays and scalars become plain lists/numbers."""
    tolist = getattr(type(obj), "tolist", None)
    module = type(obj).__module__
    if module == "numpy" and tolist is not None:
        return obj.tolist()
    raise TypeError(f"solution contains a {type(obj).__name__}, which is not JSON (use lists, numbers, strings)")


# json.dumps(solution, allow_nan=False, default=_plain, separators=(",", ":")) builds its encoder on every
# call; the C encoder is built once here (in the fork server) and shared by its children: ~40 fewer
# copy-on-write page faults per child. Same output, same errors. Its circular-reference markers are empty
# after a document; after a failure they are cleared here (the C encoder leaves them behind).
_MARKERS: dict = {}
_C_ENCODER = (json.encoder.c_make_encoder(_MARKERS, _plain, json.encoder.encode_basestring_ascii, None, ":", ",",
                                          False, False, False)
              if json.encoder.c_make_encoder is not None else None)


def encode_solution(solution) -> str:
    """Child side: a driver's raw solution as compact JSON. Raises TypeError/ValueError when not JSON-able
    or not finite."""
    if _C_ENCODER is None:
        return json.dumps(solution, allow_nan=False, default=_plain, separators=(",", ":"))
    try:
        return "".join(_C_ENCODER(solution, 0))
    except BaseException:
        _MARKERS.clear()
        raise


def is_finite_json(value) -> bool:
    """True when every number in a decoded document is finite (json never yields non-finite floats
    from strict text, but values built in-process may hold them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(is_finite_json(v) for v in value)
    if isinstance(value, dict):
        return all(is_finite_json(v) for v in value.values())
    return True


def pack_frame(header: dict, payload: bytes = b"") -> bytes:
    """A frame: 4-byte length + JSON header, then 4-byte length + raw payload."""
    head = json.dumps(header, separators=(",", ":")).encode()
    return _HEADER.pack(len(head)) + head + _HEADER.pack(len(payload)) + payload


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, n: int) -> bytes:
    """Read exactly n bytes from a blocking fd; raises EOFError when the peer closed early."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("peer closed the pipe")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> tuple[dict, bytes]:
    """Read one frame from a blocking fd. Raises EOFError or WireError."""
    (size,) = _HEADER.unpack(read_exact(fd, 4))
    if size > MAX_FRAME:
        raise WireError(f"frame header of {size} bytes is too large")
    return decode_header(read_exact(fd, size)), read_frame_payload(fd)


def decode_header(data: bytes) -> dict:
    """A frame's header: a strict JSON object. Raises WireError."""
    header = decode_strict(data)
    if not isinstance(header, dict):
        raise WireError("frame header is not a JSON object")
    return header


def read_frame_payload(fd: int) -> bytes:
    """The payload half of a frame whose header was already read. Raises EOFError or WireError."""
    (psize,) = _HEADER.unpack(read_exact(fd, 4))
    if psize > MAX_FRAME:
        raise WireError(f"frame payload of {psize} bytes is too large")
    return read_exact(fd, psize)
