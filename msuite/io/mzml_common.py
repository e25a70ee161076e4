"""The streaming mzML document reader shared by the mzML and mzMLb readers.

:class:`MzMLDocumentReader` walks the XML with :func:`lxml.etree.iterparse`, handing
each finished ``<spectrum>`` and ``<chromatogram>`` to :mod:`msuite.io.mzml_parse` and
freeing it right after. Subclasses say how to open the XML and where binary arrays live.
"""

from __future__ import annotations

import re
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lxml import etree

from msuite.core.errors import FileFormatError, MSuiteError
from msuite.core.model import Chromatogram, RunMetadata, Spectrum
from msuite.io.mzml_context import ArrayDecoder, Element, ParseContext, Tags
from msuite.io.mzml_header import parse_header
from msuite.io.mzml_parse import parse_chromatogram, parse_spectrum

__all__ = ["MzMLDocumentReader", "count_attribute"]

_ROOTS = ("mzML", "indexedmzML")
_ITEM_TAGS = ("{*}spectrum", "{*}chromatogram")
_HEAD_BYTES = 1 << 22


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def count_attribute(text: bytes, element: bytes) -> int | None:
    """Return the ``count`` attribute of the first ``<element ...>`` start tag in ``text``."""
    m = re.search(rb"<(?:\w+:)?" + element + rb"\b[^>]*?\bcount\s*=\s*[\"'](\d+)[\"']", text)
    return int(m.group(1)) if m else None


class MzMLDocumentReader(ABC):
    """Base of the mzML-family readers: metadata, count hints and streaming iteration.

    Parameters
    ----------
    path
        The file to read.

    Raises
    ------
    FileFormatError
        When the file does not exist or is not a regular file.
    """

    format_name = "mzML"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            what = "file not found" if not self.path.exists() else "not a regular file"
            raise FileFormatError(what, path=str(self.path))

    # --- what subclasses provide --------------------------------------------------------
    @abstractmethod
    def _open(self) -> IO[bytes]:
        """Open the mzML XML as a binary stream."""

    @abstractmethod
    def _array_decoder(self, stream: IO[bytes]) -> ArrayDecoder:
        """Return the function decoding ``<binaryDataArray>`` elements read from ``stream``."""

    def _chromatogram_count_fallback(self) -> int | None:
        """Chromatogram count when the head of the file does not tell (None: unknown)."""
        return None

    # --- public API -------------------------------------------------------------------
    def read_metadata(self) -> RunMetadata:
        """Parse the header (up to ``<run>``) into :class:`RunMetadata`.

        Raises
        ------
        FileFormatError
            When the XML is malformed or not mzML.
        UnknownCVTermError
            When a header cvParam uses an unknown PSI-MS/UO accession.
        """
        with self._open() as stream, self._errors():
            parser = etree.iterparse(
                stream, events=("start",), huge_tree=True, remove_comments=True
            )
            mzml: Element | None = None
            run: Element | None = None
            for _, el in parser:
                name = _local(el.tag)
                if mzml is None:
                    if name == "indexedmzML" and el.getparent() is None:
                        continue
                    self._check_root(el if el.getparent() is None else el.getparent())
                    mzml = el
                elif name == "run":
                    run = el
                    break
            if mzml is None:
                self._check_root(parser.root)
                raise FileFormatError("no <mzML> element", path=str(self.path))
            ctx = self._context(mzml, stream)
            return parse_header(ctx, mzml, run)

    def count_hint(self) -> tuple[int | None, int | None]:
        """Return the ``count`` of ``spectrumList`` and ``chromatogramList`` (None: unknown).

        Cheap: reads the head of the file (and, for plain indexed mzML, its index).
        """
        try:
            with self._open() as stream:
                head = stream.read(_HEAD_BYTES)
        except (OSError, EOFError, zlib.error) as exc:
            raise FileFormatError(f"cannot read file ({exc})", path=str(self.path)) from None
        n_spec = count_attribute(head, b"spectrumList")
        n_chrom = count_attribute(head, b"chromatogramList")
        run_seen = re.search(rb"<(?:\w+:)?run\b", head) is not None
        if n_spec is None and run_seen and n_chrom is not None:
            n_spec = 0
        if n_chrom is None and n_spec is not None:
            n_chrom = self._chromatogram_count_fallback()
        return n_spec, n_chrom

    def __iter__(self) -> Iterator[Spectrum | Chromatogram]:
        """Yield spectra and chromatograms in document order."""
        return self._items(spectra=True, chromatograms=True)

    def spectra(self) -> Iterator[Spectrum]:
        """Yield only the spectra."""
        return self._items(spectra=True, chromatograms=False)  # type: ignore[return-value]

    def chromatograms(self) -> Iterator[Chromatogram]:
        """Yield only the chromatograms."""
        return self._items(spectra=False, chromatograms=True)  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    # --- machinery --------------------------------------------------------------------
    def _check_root(self, root: Element | None) -> None:
        name = _local(root.tag) if root is not None else ""
        if name not in _ROOTS:
            raise FileFormatError(
                f"not an {self.format_name} document",
                path=str(self.path),
                line=None if root is None else root.sourceline,
                field="root element",
                value=name or None,
                allowed="mzML or indexedmzML",
            )

    def _context(self, el: Element, stream: IO[bytes]) -> ParseContext:
        tag = el.tag
        ns = tag[1 : tag.index("}")] if tag.startswith("{") else ""
        return ParseContext(
            path=str(self.path),
            tags=Tags.for_namespace(ns),
            decode_array=self._array_decoder(stream),
        )

    def _start(self, first: Element, stream: IO[bytes]) -> ParseContext:
        """Set up parsing at the first spectrum/chromatogram: root check, header, groups."""
        root = first.getroottree().getroot()
        self._check_root(root)
        mzml = (
            root
            if _local(root.tag) == "mzML"
            else next((c for c in root if _local(c.tag) == "mzML"), None)
        )
        ctx = self._context(first, stream)
        if mzml is not None:
            for child in mzml:
                if _local(child.tag) == "run":
                    ctx.collect(child, {})  # the run's own params; its lists come later
                else:
                    ctx.check_tree(child)
            ctx.load_groups(mzml)
        return ctx

    def _items(self, *, spectra: bool, chromatograms: bool) -> Iterator[Spectrum | Chromatogram]:
        with self._open() as stream, self._errors():
            parser = etree.iterparse(
                stream, events=("end",), tag=_ITEM_TAGS, huge_tree=True, remove_comments=True
            )
            ctx: ParseContext | None = None
            n_spectra = 0
            for _, el in parser:
                if ctx is None:
                    ctx = self._start(el, stream)
                tag = el.tag
                if tag == ctx.tags.spectrum:
                    if spectra:
                        yield parse_spectrum(ctx, el, n_spectra)
                    n_spectra += 1
                elif tag == ctx.tags.chromatogram and chromatograms:
                    yield parse_chromatogram(ctx, el)
                el.clear()
                parent = el.getparent()
                if parent is not None:
                    while el.getprevious() is not None:
                        del parent[0]
            if ctx is None:
                self._check_root(parser.root)

    def _errors(self) -> _ErrorTranslator:
        return _ErrorTranslator(str(self.path))


class _ErrorTranslator:
    """Context manager turning parser, decompression and I/O errors into FileFormatError."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None or isinstance(exc, MSuiteError | GeneratorExit):
            return
        if isinstance(exc, etree.XMLSyntaxError):
            text = (exc.msg or str(exc) or "XML error").splitlines()[0]
            msg = re.sub(r",? line \d+, column \d+$", "", text)
            line = exc.lineno if exc.lineno else None
            raise FileFormatError(f"malformed XML: {msg}", path=self.path, line=line) from None
        if isinstance(exc, OSError | EOFError | zlib.error):
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise FileFormatError(f"cannot read file ({detail})", path=self.path) from None
