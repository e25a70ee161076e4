"""Quantification sub-commands of the ``msuite`` command (``msuite pick``)."""

from __future__ import annotations

import argparse
from typing import Any

from msuite.quant.centroid import CentroidParams
from msuite.quant.pick import ASSUME_CHOICES, pick_file

__all__ = ["add_quant_commands", "cmd_pick"]


def cmd_pick(args: argparse.Namespace) -> int:
    """Run ``msuite pick``: centroid the profile spectra of ``args.input`` into ``args.output``.

    Returns the exit status; bad input raises :class:`~msuite.core.errors.MSuiteError`.
    """
    params = CentroidParams(
        min_snr=args.min_snr, noise_interpolate=not args.noise_bin_centre
    )
    params.validate()
    report = pick_file(
        args.input,
        args.output,
        params,
        ms_levels=args.ms_levels,
        assume=args.assume,
        threads=args.threads,
        compression=args.compression,
    )
    print(
        f"wrote {report.output}: {report.spectra} spectra ({report.centroided} centroided, "
        f"{report.peaks} peaks; {report.passed_through} unchanged), "
        f"{report.chromatograms} chromatograms"
    )
    return 0


def add_quant_commands(subparsers: Any) -> None:
    """Register ``pick`` on an ``argparse`` sub-parsers object."""
    from msuite.io.runfile.compression import COMPRESSIONS, DEFAULT_COMPRESSION

    p = subparsers.add_parser(
        "pick",
        help="centroid the profile spectra of a file (centroided spectra pass through)",
        description=(
            "Centroid profile spectra (mzML, mzML.gz, mzMLb or run file) and write them, with "
            "every other spectrum and chromatogram unchanged, to OUT (format by extension). "
            "Profile or centroid is read from each spectrum's CV terms; spectra that do not "
            "say are refused unless --assume is given."
        ),
    )
    p.add_argument("input", help="input file (.h5, .mzML, .mzML.gz, .mzMLb)")
    p.add_argument("output", help="output file; format chosen by extension")
    p.add_argument(
        "--ms-levels", type=int, nargs="+", default=None, metavar="LEVEL",
        help="MS levels to centroid (default: all); other spectra pass through",
    )
    p.add_argument(
        "--assume", choices=ASSUME_CHOICES, default=None,
        help="peak mode of spectra whose file does not state it (default: refuse them)",
    )
    p.add_argument(
        "--min-snr", type=float, default=0.0,
        help="minimal signal-to-noise of a peak; 0 disables noise estimation (default 0)",
    )
    p.add_argument(
        "--noise-bin-centre", action="store_true",
        help="take the noise median at its histogram bin centre (OpenMS releases to 2024)",
    )
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all CPUs)")
    p.add_argument(
        "--compression", choices=COMPRESSIONS, default=DEFAULT_COMPRESSION,
        help="run-file compression (default %(default)s)",
    )
    p.set_defaults(func=cmd_pick)
