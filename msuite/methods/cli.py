"""The ``msuite method`` sub-commands: ``build``, ``convert`` and ``check``.

:func:`add_method_commands` registers them on the ``msuite`` parser's sub-parsers. Commands return
an exit status and raise :class:`~msuite.core.errors.MSuiteError` for bad input. This module also
runs on its own (``python -m msuite.methods.cli method build ...``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from msuite.core.errors import InputError, MSuiteError

__all__ = ["add_method_commands", "main"]


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _read_peptide_list(path: str) -> list[tuple[str, str]]:
    """``protein,modified_sequence`` lines (or bare sequences) for extra targets."""
    out = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#") or line.lower().startswith("protein,"):
            continue
        protein, _, seq = line.rpartition(",")
        if not seq:
            raise InputError("empty peptide", path=path, line=i, value=line)
        out.append((protein.strip() or "custom", seq.strip()))
    return out


def _cmd_build(args: argparse.Namespace) -> int:
    from msuite.methods.builder import BuildOptions, build_method
    from msuite.methods.collision_energy import get_regression
    from msuite.methods.fasta_input import read_protein_list
    from msuite.methods.irt import IRT_PROTEIN
    from msuite.methods.model import Instrument, Method, Protein
    from msuite.methods.small_molecules import metabolite_method
    from msuite.methods.storage import save_method

    lo, hi = (float(v) for v in _mz_range(args.mz_range))
    instrument = Instrument(
        model=args.instrument, ce_regression=get_regression(args.ce).name, mz_min=lo, mz_max=hi
    )
    exclude = () if args.exclude.lower() == "none" else tuple(_csv_list(args.exclude))
    opts = BuildOptions(
        missed_cleavages=args.missed_cleavages,
        exclude=exclude,
        peptides_per_protein=args.peptides_per_protein,
        transitions=args.transitions,
        charges=tuple(int(c) for c in _csv_list(args.charges)),
        heavy=not args.no_heavy,
        irt_window=args.irt_window,
        add_irt_standards=not args.no_irt,
        min_peptides=args.min_peptides,
        max_proteins=args.max_proteins,
    )
    if args.standards:
        method = metabolite_method(
            args.standards, name=args.name or "metabolite panel", rt_window_s=args.rt_window
        )
    elif args.irt_only:
        from msuite.methods.builder import irt_standard_precursors

        method = Method(name=args.name or "iRT standards", instrument=instrument)
        method.proteins = [Protein(IRT_PROTEIN, "iRT", "", "iRT retention-time standards")]
        method.precursors = irt_standard_precursors(opts, instrument)
        method.provenance = {"builder": "msuite method build --irt-only"}
    else:
        if not args.fasta:
            raise InputError(
                "--fasta is required to build a peptide method",
                field="--fasta",
                allowed="one or more FASTA files (or --standards / --irt-only)",
            )
        if args.proteins is None:
            raise InputError(
                "--proteins is required", field="--proteins", allowed="a protein list file or 'all'"
            )
        accessions = None if args.proteins == "all" else read_protein_list(args.proteins)
        biomarkers = read_protein_list(args.biomarkers) if args.biomarkers else []
        peptides = _read_peptide_list(args.peptides) if args.peptides else []
        method = build_method(
            args.fasta,
            accessions,
            opts,
            instrument,
            name=args.name or Path(args.out).name.removesuffix(".toml"),
            biomarkers=biomarkers,
            peptides=peptides,
            skip_missing=args.skip_missing,
        )
        missing = method.provenance.get("missing", [])
        if missing:
            print(
                f"skipped {len(missing)} protein(s) not in the FASTA file(s): "
                + ", ".join(missing[:10])
                + (" ..." if len(missing) > 10 else ""),
                file=sys.stderr,
            )
        if args.biomarkers:
            method.provenance["biomarkers"] = Path(args.biomarkers).name
    if args.description:
        method.description = args.description
    if args.dia_windows:
        from msuite.methods.dia import fixed_windows

        try:
            lo_w, hi_w, width = (float(v) for v in _csv_list(args.dia_windows))
        except ValueError:
            raise InputError(
                "bad DIA window set",
                field="--dia-windows",
                value=args.dia_windows,
                allowed="LOW,HIGH,WIDTH e.g. 400,1000,25",
            ) from None
        method.dia_windows = fixed_windows(lo_w, hi_w, width, 1.0, instrument.ce_regression)
    out = Path(args.out)
    if out.suffix != ".toml":
        out = out.with_name(out.name + ".toml")
    written = save_method(method, out)
    print(f"wrote {', '.join(str(p) for p in written)}")
    print(method.summary_line())
    c = method.counts()
    if c["small_molecules"]:
        print(f"small_molecules={c['small_molecules']}")
    return 0


def _mz_range(text: str) -> list[str]:
    parts = _csv_list(text)
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise InputError(
            "bad m/z range", field="--mz-range", value=text, allowed="LOW,HIGH e.g. 50,1500"
        ) from None
    if not 0 < lo < hi:
        raise InputError("bad m/z range", field="--mz-range", value=text, allowed="0 < LOW < HIGH")
    return parts


def _cmd_convert(args: argparse.Namespace) -> int:
    from msuite.methods.formats import detect_output_format, read_any, write_any

    fmt = detect_output_format(args.output, args.to)
    method = read_any(args.input, strict=not args.lenient)
    written = write_any(method, args.output, fmt)
    for warning in method.provenance.get("warnings", []):
        print(f"warning: {warning}")
    print(f"wrote {', '.join(str(p) for p in written)} ({fmt})")
    print(method.summary_line())
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from msuite.methods.formats import read_any
    from msuite.methods.validate import MZ_TOLERANCE, check_method

    method = read_any(args.method, strict=not args.lenient)
    c = method.counts()
    inst = method.instrument
    print(f"method: {method.name} (schema {method.schema_version})")
    print(
        f"instrument: {inst.model}, CE regression {inst.ce_regression}, "
        f"m/z {inst.mz_min:g}-{inst.mz_max:g}"
    )
    print(method.summary_line())
    heavy = sum(1 for p in method.precursors if p.label == "heavy")
    irt = len({p.modified_sequence for p in method.precursors if p.irt_standard})
    biomarkers = sum(1 for p in method.proteins if p.biomarker)
    print(
        f"heavy_precursors={heavy} irt_standards={irt} biomarkers={biomarkers} "
        f"small_molecules={c['small_molecules']} dia_windows={c['dia_windows']}"
    )
    found = check_method(method, strict=not args.lenient)
    for p in found[: args.max_problems]:
        print(f"problem: {p}" if p.is_error else str(p))
    if len(found) > args.max_problems:
        print(f"... and {len(found) - args.max_problems} more")
    errors = sum(p.is_error for p in found)
    warnings = len(found) - errors
    if errors:
        print(f"FAILED: {errors} problem(s), {warnings} warning(s) (m/z tolerance {MZ_TOLERANCE})")
        return 1
    extra = f", {warnings} warning(s)" if warnings else ""
    print(f"OK (m/z checked against the sequences within {MZ_TOLERANCE}{extra})")
    return 0


def add_method_commands(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``method build|convert|check`` on ``subparsers``; return the ``method`` parser."""
    from msuite.methods.collision_energy import REGRESSIONS
    from msuite.methods.formats import FORMATS

    method = subparsers.add_parser("method", help="build, convert and check targeted methods")
    sub = method.add_subparsers(dest="method_command", required=True)

    p = sub.add_parser("build", help="build a targeted method from FASTA + protein list")
    p.add_argument("--fasta", action="append", help="FASTA file (repeat for several)")
    p.add_argument("--proteins", help="protein list (one accession a line, or CSV), or 'all'")
    p.add_argument("--out", required=True, help="output method (.toml; CSV tables beside it)")
    p.add_argument("--name", help="method name (default: from --out)")
    p.add_argument("--description", help="free-text description stored in the method")
    p.add_argument("--peptides-per-protein", type=int, default=2, help="default %(default)s")
    p.add_argument("--transitions", type=int, default=4, help="per precursor; default %(default)s")
    p.add_argument("--missed-cleavages", type=int, default=0, help="default %(default)s")
    p.add_argument("--charges", default="2", help="precursor charges, e.g. 2,3 (default 2)")
    p.add_argument(
        "--exclude",
        default="M,C,nQ,deamidation",
        help="peptide exclusions: M, C, nQ (N-terminal Q), deamidation (NG/NS/QG), "
        "or 'none' (default %(default)s)",
    )
    p.add_argument("--no-heavy", action="store_true", help="no heavy-labelled standards")
    p.add_argument("--no-irt", action="store_true", help="do not add the iRT standards")
    p.add_argument("--irt-window", type=float, default=10.0, help="iRT units; default 10")
    p.add_argument("--irt-only", action="store_true", help="build the iRT standards alone")
    p.add_argument("--biomarkers", help="accession list of clinical biomarkers to flag")
    p.add_argument("--peptides", help="extra targets: 'protein,modified_sequence' lines")
    p.add_argument(
        "--skip-missing",
        action="store_true",
        help="leave out listed proteins that are not in the FASTA files",
    )
    p.add_argument("--max-proteins", type=int, help="stop after this many proteins")
    p.add_argument(
        "--min-peptides",
        type=int,
        default=0,
        help="skip proteins with fewer usable peptides (default 0)",
    )
    p.add_argument(
        "--standards",
        action="append",
        help="metabolite standards list (vimms CSV or asari JSON) -> small molecules",
    )
    p.add_argument(
        "--rt-window",
        type=float,
        default=60.0,
        help="small-molecule RT window in seconds (default 60)",
    )
    p.add_argument("--instrument", default="generic triple quadrupole", help="instrument model")
    p.add_argument(
        "--ce",
        default="Thermo TSQ Quantiva",
        help="collision-energy regression: " + ", ".join(REGRESSIONS),
    )
    p.add_argument("--mz-range", default="50,1500", help="instrument m/z range LOW,HIGH")
    p.add_argument("--dia-windows", help="add a DIA window set LOW,HIGH,WIDTH (1 m/z overlap)")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("convert", help="convert between transition-list formats")
    p.add_argument("input", help="input method or transition list")
    p.add_argument("output", help="output file; format from --to or the extension")
    p.add_argument("--to", choices=list(FORMATS), help="output format")
    p.add_argument(
        "--lenient",
        action="store_true",
        help="keep peptide sequences msuite cannot read as given (with a warning)",
    )
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("check", help="validate a method and print a summary")
    p.add_argument("method", help="method file in any supported format")
    p.add_argument("--max-problems", type=int, default=50, help="problems printed (default 50)")
    p.add_argument(
        "--lenient",
        action="store_true",
        help="keep unreadable peptide sequences as given; their mass checks become warnings",
    )
    p.set_defaults(func=_cmd_check)
    return method


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``method ...`` stand-alone (as ``msuite`` would); return the exit status."""
    parser = argparse.ArgumentParser(prog="msuite")
    add_method_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (MSuiteError, OSError) as exc:
        print(f"msuite {args.command} {args.method_command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
