"""Fast streaming reader for mzML and gzip-compressed mzML (indexed or plain).

Example
-------
>>> reader = MzMLReader("run.mzML.gz")                      # doctest: +SKIP
>>> meta = reader.read_metadata()                           # doctest: +SKIP
>>> for spectrum in reader.spectra():                       # doctest: +SKIP
...     print(spectrum.native_id, spectrum.rt, len(spectrum))
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import IO

import numpy as np

from msuite.core.errors import FileFormatError
from msuite.io.mzml_binary import array_dtype, compression_of, decode_base64
from msuite.io.mzml_common import MzMLDocumentReader
from msuite.io.mzml_context import ArrayDecoder, Element, Params, ParseContext

__all__ = ["MzMLReader", "is_gzip", "decode_inline"]

_GZIP_MAGIC = b"\x1f\x8b"
_TAIL_BYTES = 1 << 16


def decode_inline(
    ctx: ParseContext, bda: Element, params: Params, binary: Element | None, length: int
) -> np.ndarray:
    """Decode a ``<binaryDataArray>`` whose values are base64 text in its ``<binary>``."""
    text = None if binary is None else binary.text
    return decode_base64(text, compression_of(params), array_dtype(params))


def is_gzip(path: str | Path) -> bool:
    """Return True when the file starts with the gzip magic bytes (whatever its name)."""
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


class MzMLReader(MzMLDocumentReader):
    """Read spectra, chromatograms and run metadata from an mzML file.

    The file may be plain or gzip-compressed (detected from its first bytes) and
    indexed (``indexedmzML``) or not. Spectra and chromatograms are streamed in
    document order; memory use does not grow with the file.

    Parameters
    ----------
    path
        The ``.mzML`` or ``.mzML.gz`` file.

    Raises
    ------
    FileFormatError
        When the file does not exist.

    Notes
    -----
    Errors found while iterating (malformed XML, unknown CV term, corrupt binary
    data) are raised from the iterator as :class:`~msuite.core.errors.FileFormatError`
    (or its subclass :class:`~msuite.core.errors.UnknownCVTermError`) naming the file
    and, where known, the line.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        try:
            self.compressed = is_gzip(self.path)
        except OSError as exc:
            raise FileFormatError(f"cannot read file ({exc})", path=str(self.path)) from None

    def _open(self) -> IO[bytes]:
        try:
            if self.compressed:
                return gzip.open(self.path, "rb")
            return open(self.path, "rb")
        except OSError as exc:
            raise FileFormatError(f"cannot open file ({exc})", path=str(self.path)) from None

    def _array_decoder(self, stream: IO[bytes]) -> ArrayDecoder:
        return decode_inline

    def _chromatogram_count_fallback(self) -> int | None:
        """Count the chromatogram offsets in the index at the end of a plain indexedmzML."""
        if self.compressed:
            return None
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, 2)
                f.seek(max(0, size - _TAIL_BYTES))
                tail = f.read()
                m = re.search(rb"<indexListOffset>\s*(\d+)\s*</indexListOffset>", tail)
                if m is None or int(m.group(1)) >= size:
                    return None
                f.seek(int(m.group(1)))
                index = f.read()
        except OSError:
            return None
        if not index.lstrip().startswith(b"<indexList"):
            return None
        block = re.search(rb"<index\s+name=\"chromatogram\"\s*>(.*?)</index>", index, re.S)
        if block is None:
            return 0
        return block.group(1).count(b"<offset")
