"""Atomic output files: write under a temporary name, rename into place on success."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_output", "full_suffix"]


def full_suffix(path: Path) -> str:
    """Return the file's compound suffix (``.mzML.gz`` for ``run.mzML.gz``)."""
    return "".join(path.suffixes[-2:]) if path.suffix.lower() == ".gz" else path.suffix


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    The temporary name keeps the compound suffix, so writers that choose a format by
    extension see the right one. When the block raises, the temporary file is removed
    and ``path`` is left as it was (absent, or the previous file intact).

    Parameters
    ----------
    path
        The final output path.

    Yields
    ------
    Path
        Where to write.
    """
    final = Path(path)
    suffix = full_suffix(final)
    stem = final.name[: len(final.name) - len(suffix)] if suffix else final.name
    tmp = final.with_name(f".{stem}.partial-{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
