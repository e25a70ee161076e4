"""Transition-list formats: Skyline CSV, TraML, OpenMS TSV/CSV, Thermo TSQ and SCIEX lists;
SpectraST ``.mrm`` lists are read too.

:func:`read_any` picks the reader from the extension and, for delimited text, from the header;
:func:`write_any` picks the writer from ``to`` or the extension (see :data:`FORMATS`).

``read_any(path, strict=False)`` is the lenient read: peptide sequences msuite cannot read
(letters outside the 20 residues, unknown modifications) are kept as given with the list's
m/z, and each is named in ``method.provenance["warnings"]``. The default (``strict=True``)
refuses them with an :class:`~msuite.core.errors.InputError` naming the sequence.
"""

from __future__ import annotations

from pathlib import Path

from msuite.core.errors import InputError
from msuite.methods.model import Method

__all__ = ["FORMATS", "detect_output_format", "read_any", "write_any"]

#: format name -> description (the values of ``msuite method convert --to``)
FORMATS = {
    "msuite": "msuite method (.toml + CSV tables)",
    "skyline": "Skyline transition list CSV (.csv)",
    "traml": "PSI TraML 1.0.0 (.TraML)",
    "openms": "OpenMS TraML-TSV/CSV assay table (.tsv)",
    "thermo": "Thermo TSQ-style mass list (.tsq.csv)",
    "sciex": "SCIEX-style scheduled MRM list (.sciex.csv)",
}


def detect_output_format(path: str | Path, to: str | None = None) -> str:
    """Return the format to write ``path`` in (``to`` wins over the extension)."""
    if to is not None:
        if to not in FORMATS:
            raise InputError(
                "unknown method format", field="--to", value=to, allowed=", ".join(FORMATS)
            )
        return to
    name = Path(path).name.lower()
    for suffix, fmt in (
        (".tsq.csv", "thermo"),
        (".sciex.csv", "sciex"),
        (".sciex.txt", "sciex"),
        (".toml", "msuite"),
        (".traml", "traml"),
        (".tsv", "openms"),
        (".csv", "skyline"),
    ):
        if name.endswith(suffix):
            return fmt
    raise InputError(
        "cannot tell the method format from the file name",
        value=str(path),
        allowed=", ".join(FORMATS) + " (or give --to)",
    )


def _detect_input_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".toml"):
        return "msuite"
    if name.endswith(".traml"):
        return "traml"
    if name.endswith(".mrm"):
        return "spectrast"
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as fh:
            head = fh.read(4096)
    except IsADirectoryError:
        raise InputError("not a file", path=str(path)) from None
    if head.lstrip().startswith("<"):
        return "traml"
    first = head.splitlines()[0] if head.splitlines() else ""
    low = first.lower()
    if (
        "peptide modified sequence" in low
        or "molecule name" in low
        or ("protein name" in low and "precursor" in low)
    ):
        return "skyline"
    if "precursormz" in low and "productmz" in low:
        return "openms"
    if "precursor (m/z)" in low:
        return "thermo"
    if low.replace(" ", "").startswith("q1,q3") or low.startswith("q1\tq3"):
        return "sciex"
    raise InputError(
        "cannot recognise the transition list from its header",
        path=str(path),
        line=1,
        value=first[:80],
        allowed="Skyline, OpenMS, Thermo or SCIEX headers, TraML or an msuite .toml",
    )


def read_any(path: str | Path, fmt: str | None = None, strict: bool = True) -> Method:
    """Read a method in any supported format (detected when ``fmt`` is None).

    Parameters
    ----------
    path
        The method or transition list.
    fmt
        Input format (a key of :data:`FORMATS` or ``"spectrast"``); detected when None.
    strict
        When True (default) a peptide sequence msuite cannot read raises
        :class:`~msuite.core.errors.InputError`. When False (TraML, Skyline, OpenMS, Thermo and
        SCIEX lists) it is kept as given with the list's m/z and a warning is added to
        ``method.provenance["warnings"]``. msuite's own format never parses sequences while
        loading; SpectraST lists are always strict.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=str(path))
    fmt = fmt or _detect_input_format(path)
    if fmt == "msuite":
        from msuite.methods.storage import load_method

        return load_method(path)
    if fmt == "traml":
        from msuite.methods.formats.traml import read_traml

        return read_traml(path, strict=strict)
    if fmt == "skyline":
        from msuite.methods.formats.skyline import read_skyline

        return read_skyline(path, strict=strict)
    if fmt == "openms":
        from msuite.methods.formats.openms import read_openms

        return read_openms(path, strict=strict)
    if fmt == "spectrast":
        from msuite.methods.formats.spectrast import read_spectrast

        return read_spectrast(path)
    from msuite.methods.formats.vendor import read_vendor

    return read_vendor(path, fmt, strict=strict)


def write_any(method: Method, path: str | Path, to: str | None = None) -> list[Path]:
    """Write ``method`` to ``path``; return the files written."""
    path = Path(path)
    fmt = detect_output_format(path, to)
    if fmt == "msuite":
        from msuite.methods.storage import save_method

        return save_method(method, path)
    if fmt == "traml":
        from msuite.methods.formats.traml import write_traml

        write_traml(method, path)
    elif fmt == "skyline":
        from msuite.methods.formats.skyline import write_skyline

        write_skyline(method, path)
    elif fmt == "openms":
        from msuite.methods.formats.openms import write_openms

        write_openms(method, path)
    else:
        from msuite.methods.formats.vendor import write_vendor

        write_vendor(method, path, fmt)
    return [path]
