"""A run-file writer run as a separate process by the SWMR and kill tests.

Usage: python writer_process.py PATH N_SCANS FLUSH_SCANS DELAY_S

Prints ``flushed K`` after each flush (K scans on disk) and ``closed`` at the end.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from msuite.core.model import RunMetadata
from msuite.io.runfile import RunFileWriter
from tests.io.synthetic import synthetic_spectrum


def main() -> None:
    path, n_scans, flush_scans, delay = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        float(sys.argv[4]),
    )
    writer = RunFileWriter(
        path, RunMetadata(run_id="live"), flush_scans=flush_scans, flush_seconds=3600.0
    )
    for i in range(n_scans):
        writer.append_spectrum(synthetic_spectrum(i))
        if (i + 1) % flush_scans == 0:
            print(f"flushed {writer.n_spectra}", flush=True)
        time.sleep(delay)
    writer.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
