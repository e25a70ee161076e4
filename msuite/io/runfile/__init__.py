"""HDF5 run files: one file per injection, appended while acquiring, followed live (SWMR).

The schema is documented in docs/run-file.md and defined in :mod:`msuite.io.runfile.schema`.
The public names are imported on first use, so that a command needing only the compression
names (``msuite --help``) does not load h5py and the Numba kernels at start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from msuite.io.runfile.reader import ChecksumStatus, RunFile, open_run_file
    from msuite.io.runfile.schema import SCHEMA_VERSION
    from msuite.io.runfile.writer import RunFileWriter
    from msuite.io.runfile.xic import Xic

__all__ = ["SCHEMA_VERSION", "ChecksumStatus", "RunFile", "RunFileWriter", "Xic", "open_run_file"]

_HOME = {
    "ChecksumStatus": "reader",
    "RunFile": "reader",
    "open_run_file": "reader",
    "SCHEMA_VERSION": "schema",
    "RunFileWriter": "writer",
    "Xic": "xic",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
