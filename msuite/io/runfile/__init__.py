"""HDF5 run files: one file per injection, appended while acquiring, followed live (SWMR).

The schema is documented in docs/run-file.md and defined in :mod:`msuite.io.runfile.schema`.
"""

from msuite.io.runfile.reader import ChecksumStatus, RunFile, open_run_file
from msuite.io.runfile.schema import SCHEMA_VERSION
from msuite.io.runfile.writer import RunFileWriter
from msuite.io.runfile.xic import Xic

__all__ = ["SCHEMA_VERSION", "ChecksumStatus", "RunFile", "RunFileWriter", "Xic", "open_run_file"]
