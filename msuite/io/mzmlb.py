"""mzMLb: mzML inside HDF5, with the binary arrays stored as HDF5 datasets.

The writer drives :class:`psims.mzmlb.MzMLbWriter` with the same document code as the
mzML writer. The reader parses the embedded mzML (dataset ``mzML``) with the mzML
reader's parser and takes each array from the dataset its ``binaryDataArray`` names
(``external HDF5 dataset``, ``external offset``, ``external array length``).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import h5py
import numpy as np

from msuite.core.errors import FileFormatError
from msuite.core.model import Chromatogram, RunMetadata, Spectrum
from msuite.io import cv
from msuite.io.atomic import atomic_output
from msuite.io.mzml_binary import array_dtype, compression_of, decode_bytes
from msuite.io.mzml_common import MzMLDocumentReader, count_attribute
from msuite.io.mzml_context import ArrayDecoder, Element, Params, ParseContext
from msuite.io.mzml_reader import decode_inline
from msuite.io.mzml_writer import ProgressCallback, new_writer, write_document

__all__ = ["MzMLbReader", "write_mzmlb"]

_XML_DATASET = "mzML"
_BLOCK = 1 << 20  # elements read from a dataset at a time


class _MzMLbStream(io.BytesIO):
    """The embedded mzML as a byte stream, plus access to the HDF5 array datasets."""

    def __init__(self, h5: h5py.File, xml: bytes) -> None:
        super().__init__(xml)
        self.h5 = h5
        self._blocks: dict[str, tuple[int, np.ndarray]] = {}

    def close(self) -> None:
        try:
            self.h5.close()
        finally:
            super().close()

    def _read(self, name: str, offset: int, length: int) -> np.ndarray:
        cached = self._blocks.get(name)
        if cached is not None:
            start, block = cached
            if start <= offset and offset + length <= start + block.size:
                return block[offset - start : offset - start + length]
        dset = self.h5.get(name)
        if not isinstance(dset, h5py.Dataset) or dset.ndim != 1:
            raise ValueError(f"mzMLb has no array dataset {name!r}")
        if offset < 0 or length < 0 or offset + length > dset.shape[0]:
            raise ValueError(
                f"external array [{offset}, {offset + length}) lies outside dataset "
                f"{name!r} of {dset.shape[0]} values"
            )
        block = dset[offset : min(dset.shape[0], offset + max(length, _BLOCK))]
        self._blocks[name] = (offset, block)
        return block[:length]

    def decode(
        self, ctx: ParseContext, bda: Element, params: Params, binary: Element | None, length: int
    ) -> np.ndarray:
        """Decode one ``<binaryDataArray>``: external dataset slice, or inline base64."""
        if cv.EXTERNAL_DATASET not in params:
            return decode_inline(ctx, bda, params, binary, length)
        name = params[cv.EXTERNAL_DATASET].get("value") or ""
        try:
            offset = int(params[cv.EXTERNAL_OFFSET].get("value"))
            count = int(params[cv.EXTERNAL_LENGTH].get("value"))
        except (KeyError, TypeError, ValueError):
            raise ValueError("external array lacks a valid offset and length") from None
        values = self._read(name, offset, count)
        compression = compression_of(params)
        if values.dtype.kind in "fiu" and values.dtype.itemsize > 1:
            if compression != cv.NO_COMPRESSION:
                raise ValueError("compressed values in a typed dataset")
            return values.astype(np.float64)
        return decode_bytes(values.tobytes(), compression, array_dtype(params))


class MzMLbReader(MzMLDocumentReader):
    """Read spectra, chromatograms and run metadata from an mzMLb file.

    Same interface as :class:`~msuite.io.mzml_reader.MzMLReader`.

    Parameters
    ----------
    path
        The ``.mzMLb`` file.

    Raises
    ------
    FileFormatError
        When the file does not exist or is not HDF5.
    """

    format_name = "mzMLb"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        if not h5py.is_hdf5(self.path):
            raise FileFormatError(
                "not an HDF5 file", path=str(self.path), allowed="mzMLb (mzML in HDF5)"
            )

    def _open(self) -> IO[bytes]:
        try:
            h5 = h5py.File(self.path, "r")
        except OSError as exc:
            raise FileFormatError(f"cannot open HDF5 file ({exc})", path=str(self.path)) from None
        try:
            dset = h5.get(_XML_DATASET)
            if not isinstance(dset, h5py.Dataset):
                raise FileFormatError(
                    "no mzML dataset", path=str(self.path), field=_XML_DATASET, allowed="mzMLb"
                )
            xml = np.asarray(dset[()]).tobytes()
        except BaseException:
            h5.close()
            raise
        return _MzMLbStream(h5, xml)

    def _array_decoder(self, stream: IO[bytes]) -> ArrayDecoder:
        if isinstance(stream, _MzMLbStream):
            return stream.decode
        return decode_inline

    def _chromatogram_count_fallback(self) -> int | None:
        with self._open() as stream:
            return count_attribute(stream.read(), b"chromatogramList") or 0


def write_mzmlb(
    path: str | Path,
    metadata: RunMetadata,
    spectra: Iterable[Spectrum],
    chromatograms: Iterable[Chromatogram],
    *,
    n_spectra: int,
    n_chromatograms: int,
    progress: ProgressCallback | None = None,
) -> None:
    """Write an mzMLb file: arrays as 64-bit float HDF5 datasets (zlib-compressed).

    Parameters and behaviour are those of :func:`~msuite.io.mzml_writer.write_mzml`;
    the file appears only when complete.
    """
    from psims.mzmlb.writer import MzMLbWriter

    with atomic_output(path) as tmp, h5py.File(tmp, "w") as h5:
        writer = new_writer(MzMLbWriter, h5, h5_compression="zlib")
        write_document(
            writer,
            metadata,
            spectra,
            chromatograms,
            n_spectra=n_spectra,
            n_chromatograms=n_chromatograms,
            progress=progress,
            compression="none",
        )
