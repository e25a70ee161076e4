"""Quantification sub-commands of the ``msuite`` command (``msuite pick``, ``msuite quant``)."""

from __future__ import annotations

import argparse
from typing import Any

#: ``msuite.quant.pick.ASSUME_CHOICES``, spelled out so that building the parser does not
#: load the Numba kernels for every msuite command (a test keeps the two equal)
ASSUME_CHOICES = ("profile", "centroid")

__all__ = ["add_quant_commands", "cmd_pick", "cmd_quant"]


def cmd_pick(args: argparse.Namespace) -> int:
    """Run ``msuite pick``: centroid the profile spectra of ``args.input`` into ``args.output``.

    Returns the exit status; bad input raises :class:`~msuite.core.errors.MSuiteError`.
    """
    from msuite.quant.centroid import CentroidParams
    from msuite.quant.pick import pick_file

    params = CentroidParams(min_snr=args.min_snr, noise_interpolate=not args.noise_bin_centre)
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


def cmd_quant(args: argparse.Namespace) -> int:
    """Run ``msuite quant``: targets, per-run quantification, then every result file at once.

    Returns the exit status; bad input raises :class:`~msuite.core.errors.MSuiteError` before
    anything is written.
    """
    import sys

    from tqdm import tqdm

    from msuite.quant.quantify import QuantParams, quantify_runs
    from msuite.quant.results import write_results
    from msuite.quant.targets import load_targets

    params = QuantParams(
        rt_window_min=args.rt_window,
        mz_tolerance=args.mz_tolerance,
        ppm=args.ppm,
        integration=args.integration,
        min_snr=args.min_snr,
        smoothing_window=args.smoothing_window,
        align_rt=args.align_rt,
    )
    params.validate()
    batch = _batch_options(args)
    targets = load_targets(transitions=args.transitions, method=args.method)
    manual = None
    if args.boundaries:
        from msuite.quant.manual import read_boundaries

        manual = read_boundaries(args.boundaries, targets.groups)
        manual.check(args.runs, targets.groups)
    curves, standards, measure = _calibration_and_standards(args, targets.groups)
    if batch is not None:
        from msuite.quant.quantify import run_name

        batch.sheet.check_runs(run_name(r) for r in args.runs)
    bar = tqdm(
        total=len(args.runs),
        desc="quantifying",
        unit="run",
        disable=None,
        file=sys.stderr,
        leave=False,
    )
    try:
        results = quantify_runs(
            args.runs,
            targets.groups,
            params,
            jobs=args.jobs,
            scheduler=args.scheduler,
            progress=bar.update,
            timeout_s=args.connect_timeout,
            manual=manual,
        )
    finally:
        bar.close()
    summary = write_results(
        args.out,
        results,
        targets,
        params,
        curves=curves,
        rollup=args.rollup,
        command=" ".join(sys.argv),
        batch=batch,
        manual=manual.record() if manual is not None else None,
        measure=measure,
        standards=standards,
    )
    print(summary)
    return 0


def _calibration_and_standards(
    args: argparse.Namespace, groups: Any
) -> tuple[dict[str, Any], dict[str, str], str]:
    """Curves (``--calibration``: JSON, or OpenMS/SmartPeak quantitation methods CSV),
    surrogate standards and the response measure."""
    from pathlib import Path

    from msuite.core.errors import InputError
    from msuite.quant.results import load_calibration
    from msuite.quant.standards import read_internal_standards, read_openms_quantitation

    curves: dict[str, Any] = {}
    standards: dict[str, str] = {}
    measure = args.response or "area"
    if args.calibration and Path(args.calibration).suffix.lower() in (".csv", ".tsv", ".txt"):
        methods = read_openms_quantitation(args.calibration, groups)
        if args.response is not None and args.response != methods.measure:
            raise InputError(
                "the quantitation methods use another response",
                field="--response",
                value=args.response,
                allowed=f"{methods.measure} (as {args.calibration} says), or leave it out",
            )
        curves, standards, measure = methods.curves, methods.standards, methods.measure
    elif args.calibration:
        curves = load_calibration(args.calibration)
    if args.internal_standards:
        standards.update(read_internal_standards(args.internal_standards, groups))
    return curves, standards, measure


def _batch_options(args: argparse.Namespace) -> Any:
    """The batch options of ``--samples`` and its companions (None without a sample sheet)."""
    from msuite.core.errors import InputError

    if args.samples is None:
        for flag in ("qc_history",):
            if getattr(args, flag) is not None:
                raise InputError(
                    "needs a sample sheet",
                    field="--" + flag.replace("_", "-"),
                    value=getattr(args, flag),
                    allowed="use it together with --samples",
                )
        return None
    from msuite.quant.batch import CalibrationSettings
    from msuite.quant.batch_output import BatchOptions
    from msuite.quant.samples import read_sample_sheet
    from msuite.quant.suitability import SuitabilityCriteria

    settings = CalibrationSettings(
        model=args.curve, weighting=args.weighting, exclusion=args.exclude_calibrators
    )
    settings.validate()
    criteria = SuitabilityCriteria(
        rt_percent=args.max_rt_deviation,
        is_area_cv=args.max_is_cv,
        ion_ratio_percent=args.max_ion_ratio_deviation,
        carryover_percent=args.max_carryover,
        qc_accuracy_percent=args.qc_accuracy,
    )
    return BatchOptions(
        read_sample_sheet(args.samples), settings, criteria, qc_history=args.qc_history
    )


def _batch_arguments(q: argparse.ArgumentParser) -> None:
    b = q.add_argument_group(
        "batch",
        "with a sample sheet: calibration curves from the batch's calibrators, concentrations, "
        "LOD/LOQ, replicate CVs, system suitability and QC history (see docs/quant.md)",
    )
    b.add_argument(
        "--samples",
        metavar="SHEET",
        default=None,
        help="sample sheet (CSV): run, sample_type, concentration[, sample, dilution_factor, "
        "injection_order, qc_level]",
    )
    b.add_argument(
        "--curve",
        choices=("linear", "quadratic"),
        default="linear",
        help="calibration model (default linear)",
    )
    b.add_argument(
        "--weighting",
        choices=("none", "1/x", "1/x^2"),
        default="1/x",
        help="calibration weighting (default 1/x)",
    )
    b.add_argument(
        "--exclude-calibrators",
        choices=("none", "auto"),
        default="none",
        help="auto: drop the worst calibrator outside +-15 %% (+-20 %% at the LLOQ) and refit, "
        "while >= 75 %% remain (default none)",
    )
    for flag, default, what in (
        ("--max-rt-deviation", 2.5, "RT deviation from the expected RT"),
        ("--max-is-cv", 20.0, "internal-standard area CV over the batch"),
        ("--max-ion-ratio-deviation", 20.0, "ion ratio deviation from the calibrators' mean"),
        ("--max-carryover", 20.0, "blank response after the top calibrator, of the LLOQ's"),
        ("--qc-accuracy", 15.0, "QC deviation from nominal"),
    ):
        b.add_argument(
            flag,
            type=float,
            default=default,
            metavar="PERCENT",
            help=f"suitability limit: {what} (default {default:g} %%)",
        )
    b.add_argument(
        "--qc-history",
        metavar="CSV",
        default=None,
        help="QC history (target, qc_level, run, acquired, value); writes levey_jennings.csv "
        "with Westgard rules and qc_history.csv with this batch appended",
    )


def _quant_arguments(q: argparse.ArgumentParser) -> None:
    # the choices of QuantParams.integration, spelled out so that building the parser does
    # not import the quantification modules (scipy, numba) for every msuite command
    q.add_argument("runs", nargs="+", metavar="RUN", help="runs (.mzML, .mzML.gz, .mzMLb, .h5)")
    src = q.add_mutually_exclusive_group(required=True)
    src.add_argument("--method", metavar="M", help="an msuite method (.toml)")
    src.add_argument(
        "--transitions",
        metavar="FILE",
        help="transition list: Skyline CSV, TraML, OpenMS TraML-CSV/TSV, ...",
    )
    q.add_argument("--out", required=True, metavar="DIR", help="output folder")
    q.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        default=None,
        help="run on this Dask distributed scheduler instead of local processes",
    )
    q.add_argument(
        "--connect-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds allowed to reach the scheduler (default 30)",
    )
    q.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="local worker processes (default: CPUs); runs are spread over them, and a "
        "single run shares its peak groups between them",
    )
    q.add_argument(
        "--rt-window",
        type=float,
        default=None,
        metavar="MIN",
        help="full width (minutes) of the peak search window around each target's "
        "expected RT (default: whole trace)",
    )
    q.add_argument(
        "--align-rt",
        action="store_true",
        help="align each run on the iRT standard peptides among the targets and centre "
        "--rt-window on each peptide's aligned RT (RT = a + b x iRT per run)",
    )
    q.add_argument(
        "--mz-tolerance",
        type=float,
        default=0.055,
        metavar="MZ",
        help="Q1/Q3 match tolerance for SRM chromatograms, m/z (default 0.055)",
    )
    q.add_argument(
        "--ppm",
        type=float,
        default=10.0,
        help="XIC half-width in ppm for PRM/full-scan runs (default 10)",
    )
    q.add_argument(
        "--integration",
        choices=("auto", "fixed"),
        default="auto",
        help="auto: search the peak; fixed: integrate each target's RT window "
        "from the list (default auto)",
    )
    q.add_argument(
        "--min-snr",
        type=float,
        default=3.0,
        metavar="X",
        help="minimal S/N of a candidate peak (default 3)",
    )
    q.add_argument(
        "--smoothing-window",
        type=int,
        default=7,
        metavar="POINTS",
        help="Savitzky-Golay window in points; 0 disables (default 7)",
    )
    q.add_argument(
        "--calibration",
        metavar="FILE",
        default=None,
        help='calibration curves: JSON {"curves": {TARGET: {"coefficients": [c0, c1]}}}, or an '
        "OpenMS/SmartPeak quantitationMethods CSV (with its internal standards)",
    )
    q.add_argument(
        "--response",
        choices=("area", "height", "apex"),
        default=None,
        help="what ratios and responses are made of: area or height above background, or the "
        "highest raw intensity between the boundaries (default area; apex for OpenMS "
        "quantitation methods on peak_apex_int)",
    )
    q.add_argument(
        "--internal-standards",
        metavar="CSV",
        default=None,
        help="surrogate standards: target,standard rows (group ids or names); a target is "
        "normalised by the standard group's heavy traces",
    )
    q.add_argument(
        "--rollup",
        choices=("median", "mean", "top3"),
        default="median",
        help="protein roll-up of peptide values (default median)",
    )
    q.add_argument(
        "--boundaries",
        metavar="CSV",
        default=None,
        help="manual integration: run, group_id, rt_left, rt_right (min), reason[, user]; "
        "those groups are integrated in that window in that run",
    )
    _batch_arguments(q)


def add_quant_commands(subparsers: Any) -> None:
    """Register ``pick`` and ``quant`` on an ``argparse`` sub-parsers object."""
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
        "--ms-levels",
        type=int,
        nargs="+",
        default=None,
        metavar="LEVEL",
        help="MS levels to centroid (default: all); other spectra pass through",
    )
    p.add_argument(
        "--assume",
        choices=ASSUME_CHOICES,
        default=None,
        help="peak mode of spectra whose file does not state it (default: refuse them)",
    )
    p.add_argument(
        "--min-snr",
        type=float,
        default=0.0,
        help="minimal signal-to-noise of a peak; 0 disables noise estimation (default 0)",
    )
    p.add_argument(
        "--noise-bin-centre",
        action="store_true",
        help="take the noise median at its histogram bin centre (OpenMS releases to 2024)",
    )
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all CPUs)")
    p.add_argument(
        "--compression",
        choices=COMPRESSIONS,
        default=DEFAULT_COMPRESSION,
        help="run-file compression (default %(default)s)",
    )
    p.set_defaults(func=cmd_pick)

    q = subparsers.add_parser(
        "quant",
        help="quantify targeted runs (SRM/PRM) against a method or transition list",
        description=(
            "Find every transition's trace in each run, pick one peak group per peptide "
            "precursor (with its heavy standard) or compound (with its internal standard), "
            "integrate, and write DIR/transitions.csv, peptides.csv, proteins.csv, "
            "compounds.csv, mzTab and parameters.json (all or nothing)."
        ),
    )
    _quant_arguments(q)
    q.set_defaults(func=cmd_quant)
