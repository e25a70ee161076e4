"""IEEE 488.2 definite-length arbitrary blocks: ``#<n><len><bytes>``.

``n`` is one digit 1-9 giving how many digits ``len`` has; ``len`` is the payload size in bytes.
The block is followed by the message terminator (``\\n``).
"""

from __future__ import annotations

from collections.abc import Callable

from msuite.core.errors import MSuiteError

__all__ = [
    "MAX_BLOCK_BYTES",
    "BlockError",
    "decode_block",
    "encode_block",
    "parse_block_header",
    "read_block",
]

#: Largest payload either side accepts (256 MiB); larger lengths are protocol errors.
MAX_BLOCK_BYTES = 256 * 1024 * 1024


class BlockError(MSuiteError, ValueError):
    """A definite-length block is malformed (bad header, wrong length, missing terminator)."""


def encode_block(payload: bytes | bytearray | memoryview) -> bytes:
    """Return ``#<n><len><payload>`` (without terminator)."""
    size = len(payload)
    if size > MAX_BLOCK_BYTES:
        raise BlockError("block too large", field="length", value=size, allowed=MAX_BLOCK_BYTES)
    digits = str(size)
    return b"#" + str(len(digits)).encode() + digits.encode() + bytes(payload)


def parse_block_header(head: bytes) -> tuple[int, int]:
    """Parse a block header prefix; return ``(header_length, payload_length)``.

    ``head`` must hold at least the header (``#``, digit count, digits).

    Raises
    ------
    BlockError
        If the header is malformed or announces more than :data:`MAX_BLOCK_BYTES`.
    """
    if len(head) < 2 or head[:1] != b"#":
        raise BlockError("block does not start with '#'", field="header", value=bytes(head[:16]))
    ndigits = head[1:2]
    if not ndigits.isdigit() or ndigits == b"0":
        raise BlockError(
            "bad digit count in block header (indefinite blocks are not supported)",
            field="header",
            value=bytes(head[:16]),
            allowed="#1..#9",
        )
    n = int(ndigits)
    digits = head[2 : 2 + n]
    if len(digits) < n:
        raise BlockError("block header truncated", field="header", value=bytes(head[:16]))
    if not digits.isdigit():
        raise BlockError("non-digit in block length", field="header", value=bytes(head[:16]))
    size = int(digits)
    if size > MAX_BLOCK_BYTES:
        raise BlockError(
            "block length too large", field="length", value=size, allowed=MAX_BLOCK_BYTES
        )
    return 2 + n, size


def decode_block(data: bytes, *, terminator: bytes = b"") -> bytes:
    """Decode a complete block (optionally followed by ``terminator``) and return its payload.

    Raises
    ------
    BlockError
        On a malformed header, a length mismatch or a missing terminator.
    """
    hlen, size = parse_block_header(data[:11])
    end = hlen + size
    if len(data) < end:
        raise BlockError(
            "block shorter than announced", field="length", value=len(data) - hlen, allowed=size
        )
    rest = data[end:]
    if rest != terminator:
        raise BlockError(
            "unexpected bytes after block",
            field="trailer",
            value=bytes(rest[:16]),
            allowed=terminator,
        )
    return bytes(data[hlen:end])


def read_block(read_exact: Callable[[int], bytes], terminator: bytes = b"\n") -> bytes:
    """Read one block through ``read_exact(n)`` (which returns exactly ``n`` bytes or raises).

    The header is read first, then the payload, then the terminator is checked.
    """
    first = read_exact(2)
    if first[:1] != b"#":
        raise BlockError("block does not start with '#'", field="header", value=first)
    n = first[1:2]
    if not n.isdigit() or n == b"0":
        raise BlockError("bad digit count in block header", field="header", value=first)
    digits = read_exact(int(n))
    _hlen, size = parse_block_header(first + digits)
    payload = read_exact(size) if size else b""
    if len(payload) != size:
        raise BlockError(
            "block shorter than announced", field="length", value=len(payload), allowed=size
        )
    if terminator:
        tail = read_exact(len(terminator))
        if tail != terminator:
            raise BlockError(
                "missing terminator after block", field="trailer", value=tail, allowed=terminator
            )
    return payload
