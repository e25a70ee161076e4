"""The ``msuite`` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from msuite import __version__
from msuite.core.errors import MSuiteError

__all__ = ["main", "build_parser"]


def _progress_bar(total: int | None, desc: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """Return (tick, close) for a progress bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="item", disable=None, file=sys.stderr, leave=False)
    return bar.update, bar.close


def _cmd_convert(args: argparse.Namespace) -> int:
    from msuite.io.convert import convert, open_source

    total = None
    try:
        n_spec, n_chrom = open_source(args.input).count_hint()
        if n_spec is not None or n_chrom is not None:
            total = (n_spec or 0) + (n_chrom or 0)
    except MSuiteError:
        pass  # convert() below reports the problem properly
    tick, close = _progress_bar(total, "converting")
    try:
        report = convert(args.input, args.output, progress=tick, compression=args.compression)
    finally:
        close()
    print(
        f"wrote {report.output} ({report.output_format}): {report.spectra} spectra, "
        f"{report.chromatograms} chromatograms"
        + (f", sha256 {report.checksum}" if report.checksum else "")
    )
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from msuite.io.summary import format_summary, summarize

    summary = summarize(args.file, verify=not args.no_verify)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 1 if summary.get("checksum") == "MISMATCH" else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from msuite.demo import run_demo

    run_demo(args.out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (one sub-command per job)."""
    from msuite.io.runfile.compression import COMPRESSIONS, DEFAULT_COMPRESSION

    parser = argparse.ArgumentParser(
        prog="msuite", description="Clinical LC-MS instrument control and quantification."
    )
    parser.add_argument("--version", action="version", version=f"msuite {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("convert", help="convert between run files (.h5), mzML(.gz) and mzMLb")
    p.add_argument("input", help="input file (.h5, .mzML, .mzML.gz, .mzMLb)")
    p.add_argument("output", help="output file; format chosen by extension")
    p.add_argument(
        "--compression",
        choices=COMPRESSIONS,
        default=DEFAULT_COMPRESSION,
        help="run-file compression (default %(default)s)",
    )
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("info", help="summarise a file and check its checksum")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--no-verify", action="store_true", help="skip the checksum verification")
    p.set_defaults(func=_cmd_info)

    from msuite.methods.cli import add_method_commands

    add_method_commands(sub)

    from msuite.quant.cli import add_quant_commands

    add_quant_commands(sub)

    from msuite.hardware_sim.cli import add_sim_commands

    add_sim_commands(sub)

    p = sub.add_parser("demo", help="run the main job on generated data")
    p.add_argument("--out", default="demo-output", help="output folder (default %(default)s)")
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``msuite`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except MSuiteError as exc:
        print(f"msuite {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"msuite {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"msuite {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
