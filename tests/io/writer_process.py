"""A run-file writer run as a separate process by the SWMR and kill tests.

Usage: python writer_process.py PATH N_ITEMS FLUSH_ITEMS DELAY_S [MODE]

MODE is ``spectra`` (default: scans one by one), ``chromatograms`` (chromatograms one by
one) or ``chromatogram-batches`` (batches of FLUSH_ITEMS chromatograms through
``append_chromatograms``). Prints ``flushed K`` after each flush (K items on disk) and
``closed`` at the end.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from msuite.core.model import RunMetadata
from msuite.io.runfile import RunFileWriter
from tests.io.synthetic import synthetic_chromatogram, synthetic_spectrum


def main() -> None:
    path, n_items, flush_items, delay = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        float(sys.argv[4]),
    )
    mode = sys.argv[5] if len(sys.argv) > 5 else "spectra"
    writer = RunFileWriter(
        path, RunMetadata(run_id="live"), flush_scans=flush_items, flush_seconds=3600.0
    )
    if mode == "chromatogram-batches":
        for start in range(0, n_items, flush_items):
            stop = min(n_items, start + flush_items)
            writer.append_chromatograms(synthetic_chromatogram(i) for i in range(start, stop))
            if stop - start == flush_items:
                print(f"flushed {writer.n_chromatograms}", flush=True)
            time.sleep(delay)
    else:
        for i in range(n_items):
            if mode == "chromatograms":
                writer.append_chromatogram(synthetic_chromatogram(i))
                count = writer.n_chromatograms
            else:
                writer.append_spectrum(synthetic_spectrum(i))
                count = writer.n_spectra
            if (i + 1) % flush_items == 0:
                print(f"flushed {count}", flush=True)
            time.sleep(delay)
    writer.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
