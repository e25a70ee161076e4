"""Decoding of mzML binary data arrays: base64, zlib, MS-Numpress and the four numeric types.

Every decoder returns a new, writable, contiguous ``float64`` array. Errors are
reported as :class:`ValueError` with a short reason; the reader turns them into
:class:`~msuite.core.errors.FileFormatError` with the file and line.
"""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Callable, Mapping

import numpy as np

from msuite.io import cv

__all__ = [
    "DTYPES",
    "NUMPRESS",
    "array_dtype",
    "compression_of",
    "decode_base64",
    "decode_bytes",
    "decode_pic",
]

#: numpy dtype (little-endian, as mzML requires) by data type accession.
DTYPES: dict[str, np.dtype] = {
    cv.FLOAT32: np.dtype("<f4"),
    cv.FLOAT64: np.dtype("<f8"),
    cv.INT32: np.dtype("<i4"),
    cv.INT64: np.dtype("<i8"),
}

#: Numpress scheme (``linear``, ``pic``, ``slof``) and whether zlib comes after it.
NUMPRESS: dict[str, tuple[str, bool]] = {
    cv.NUMPRESS_LINEAR: ("linear", False),
    cv.NUMPRESS_PIC: ("pic", False),
    cv.NUMPRESS_SLOF: ("slof", False),
    cv.NUMPRESS_LINEAR_ZLIB: ("linear", True),
    cv.NUMPRESS_PIC_ZLIB: ("pic", True),
    cv.NUMPRESS_SLOF_ZLIB: ("slof", True),
}

_COMPRESSIONS = frozenset((cv.ZLIB, cv.NO_COMPRESSION, *NUMPRESS))


def compression_of(params: Mapping[str, object]) -> str:
    """Return the compression accession among ``params`` (``no compression`` when none is given)."""
    for accession in params:
        if accession in _COMPRESSIONS:
            return accession
    return cv.NO_COMPRESSION


def array_dtype(params: Mapping[str, object]) -> np.dtype | None:
    """Return the numeric type the params declare, or None."""
    for accession in params:
        dtype = DTYPES.get(accession)
        if dtype is not None:
            return dtype
    return None


def _nibbles(data: bytes) -> list[int]:
    raw = np.frombuffer(data, dtype=np.uint8)
    out = np.empty(raw.size * 2, dtype=np.uint8)
    out[0::2] = raw >> 4
    out[1::2] = raw & 0x0F
    return out.tolist()


def decode_pic(data: bytes) -> np.ndarray:
    """Decode MS-Numpress positive-integer compression (pure Python).

    Each value is a head nibble ``h`` (``h <= 8``: ``h`` leading zero nibbles are
    omitted; ``h > 8``: ``h - 8`` leading 0xF nibbles are omitted) followed by the
    remaining nibbles, least significant first.
    """
    nib = _nibbles(data)
    n = len(nib)
    out: list[int] = []
    i = 0
    while i < n:
        if i == n - 1 and nib[i] == 0:
            break  # padding half-byte
        head = nib[i]
        i += 1
        if head <= 8:
            skip, res = head, 0
        else:
            skip = head - 8
            res = 0
            for k in range(skip):
                res |= 0xF0000000 >> (4 * k)
        if skip == 8:
            out.append(0)
            continue
        if i + 8 - skip > n:
            raise ValueError("truncated MS-Numpress integer")
        for k in range(8 - skip):
            res |= nib[i] << (4 * k)
            i += 1
        out.append(res - 0x100000000 if res > 0x7FFFFFFF else res)
    return np.asarray(out, dtype=np.float64)


def _numpress_backend() -> dict[str, Callable[[bytes], np.ndarray]]:
    try:
        import pynumpress  # optional C implementation
    except ImportError:
        from pymzml.ms_numpress import MSNumpress

        return {
            "linear": lambda b: np.asarray(MSNumpress(bytearray(b)).decode_linear(), np.float64),
            "slof": lambda b: np.asarray(MSNumpress(bytearray(b)).decode_slof(), np.float64),
            "pic": decode_pic,
        }

    def _arr(b: bytes) -> np.ndarray:
        return np.frombuffer(b, dtype=np.uint8)

    return {
        "linear": lambda b: np.asarray(pynumpress.decode_linear(_arr(b)), np.float64),
        "slof": lambda b: np.asarray(pynumpress.decode_slof(_arr(b)), np.float64),
        "pic": lambda b: np.asarray(pynumpress.decode_pic(_arr(b)), np.float64),
    }


_backend: dict[str, Callable[[bytes], np.ndarray]] | None = None


def decode_numpress(scheme: str, data: bytes) -> np.ndarray:
    """Decode MS-Numpress ``scheme`` (``linear``, ``pic`` or ``slof``) bytes to float64."""
    global _backend
    if _backend is None:
        _backend = _numpress_backend()
    if scheme != "pic" and len(data) < 8:
        raise ValueError("MS-Numpress data shorter than its 8-byte fixed point")
    try:
        return np.array(_backend[scheme](data), dtype=np.float64)
    except ValueError:
        raise
    except Exception as exc:  # the decoders raise plain Exception or IndexError
        raise ValueError(f"bad MS-Numpress {scheme} data: {exc}") from None


def decode_bytes(raw: bytes, compression: str, dtype: np.dtype | None) -> np.ndarray:
    """Decode the bytes of one array (already base64-decoded).

    Parameters
    ----------
    raw
        The stored bytes.
    compression
        Compression accession (see :func:`compression_of`).
    dtype
        Numeric type of the stored values (ignored for MS-Numpress).

    Returns
    -------
    numpy.ndarray
        float64 values.

    Raises
    ------
    ValueError
        When the bytes cannot be decoded.
    """
    if not raw:
        return np.empty(0, dtype=np.float64)
    numpress = NUMPRESS.get(compression)
    if compression == cv.ZLIB or (numpress is not None and numpress[1]):
        try:
            raw = zlib.decompress(raw)
        except zlib.error as exc:
            raise ValueError(f"zlib data is corrupt ({exc})") from None
    if numpress is not None:
        return decode_numpress(numpress[0], raw)
    if dtype is None:
        raise ValueError("binary data array has no data type (32/64-bit float or integer)")
    if len(raw) % dtype.itemsize:
        raise ValueError(f"{len(raw)} bytes is not a whole number of {dtype.itemsize}-byte values")
    return np.frombuffer(raw, dtype=dtype).astype(np.float64)


def decode_base64(text: str | None, compression: str, dtype: np.dtype | None) -> np.ndarray:
    """Decode the text of a ``<binary>`` element (base64, then :func:`decode_bytes`)."""
    if not text:
        return np.empty(0, dtype=np.float64)
    try:
        raw = binascii.a2b_base64(text)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"base64 data is corrupt ({exc})") from None
    return decode_bytes(raw, compression, dtype)
