"""mzTab output: mzTab 1.0.0 (Summary Quantification) for peptides and proteins, mzTab-M
2.0.0-M for small molecules.

Why this module writes the format itself: of the Python packages on PyPI, pyteomics and
pyopenms read mzTab but pyteomics cannot write it, pyopenms is a test/benchmark-only
dependency of msuite (a large native wheel, and its ``MzTab`` model wants OpenMS feature maps),
``mztabpy`` (0.0.1, 2022) is unmaintained and ``mztabwriter`` (0.1.0) writes mzTab 1.0 only and
is too new to rely on. mzTab is plain tab-separated text, so the writer below follows the two
specifications directly (HUPO-PSI mzTab 1.0.0, June 2014; mzTab-M 2.0.0, 2019):

- every line starts with its section prefix (``MTD``, ``PRH``/``PRT``, ``PEH``/``PEP``,
  ``SMH``/``SML``, ``SFH``/``SMF``); sections in that order, columns in the specified order;
- no empty cells: a missing value is ``null``, a non-finite number ``NaN``/``INF``;
- parameters are ``[CV label, accession, name, value]`` (user parameters ``[, , name, value]``);
- each run is one ``ms_run``, one ``assay`` and one ``study_variable``; abundances are reported
  per assay and per study variable;
- retention times are in seconds (the CSV tables show minutes);
- every quantification parameter is written as ``software[1]-setting[n]`` so the numbers can
  be traced back to the settings that produced them.

Peptides: one PEP row per light precursor, its abundance the light/heavy ratio (``Ratio``)
when the precursor has a heavy standard, the light area otherwise; and one PEP row per heavy
(stable-isotope-labelled) standard, its abundance the standard's area, its ``modifications``
the ProForma modifications plus the isotope labels (``10-UNIMOD:259``; see
:mod:`msuite.quant.mztab_mods`), its ``mass_to_charge`` the heavy precursor m/z. The rows of a
pair share ``opt_global_group_id``; ``opt_global_cv_MS:1000891_heavy_labeled_peptidoform``
(PSI-MS "heavy labeled peptidoform", 1/0) marks the standards and ``opt_global_abundance_type``
says what each row's abundance is (``light/heavy ratio``, ``light area``, ``heavy area``).
Every modification that occurs is declared as ``variable_mod[n]`` with ``-site`` and
``-position``. Protein abundance is the roll-up of the light/heavy ratios of its peptides.

Small molecules: SML abundance is the response (ratio to the internal standard, or area
without one). Each compound has one SMF row per run for the analyte (light area) and, with an
internal standard, one for the standard (its area, at its own m/z), both referenced from the
compound's ``SMF_ID_REFS`` (the response is based on both); ``opt_global_internal_standard``
(1/0) marks the standard's features. ``isotopomer`` stays ``null``: it names the isotope peak
quantified when features are not de-isotoped, whereas the standard is a spiked molecule of its
own measured at its monoisotopic m/z.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from msuite import __version__
from msuite.quant.mztab_mods import (
    SiteMod,
    format_modifications,
    heavy_label_modifications,
    modification_metadata,
    precursor_mz_by_label,
    sequence_modifications,
)

__all__ = ["write_mztab_m", "write_mztab_peptides"]

SOFTWARE = f"[MS, MS:1000799, custom unreleased software tool, msuite {__version__}]"
QUANT_METHOD = "[MS, MS:1001838, SRM quantitation analysis, ]"
RATIO_UNIT = "[PRIDE, PRIDE:0000395, Ratio, ]"
AREA_UNIT = "[PRIDE, PRIDE:0000330, Arbitrary quantification unit, ]"
REAGENT = "[, , unlabelled sample with stable-isotope-labelled internal standard, ]"
SCORE = "[, , msuite peak group score, ]"


def _cell(value: Any) -> str:
    """One mzTab cell: ``null`` for missing, ``NaN``/``INF`` for non-finite numbers."""
    if value is None or value == "":
        return "null"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
        return format(value, ".10g")
    text = str(value)
    return text.replace("\t", " ").replace("\n", " ")


def _line(prefix: str, cells: Iterable[Any]) -> str:
    return "\t".join([prefix, *(_cell(c) for c in cells)])


def _location(path: str) -> str:
    return Path(path).resolve().as_uri()


def _settings(parameters: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in parameters.items():
        if isinstance(v, dict):
            out.extend(_settings(v, f"{prefix}{k}."))
        else:
            out.append(f"{prefix}{k}={v}")
    return out


def _runs_metadata(runs: Sequence[tuple[str, str]], parameters: dict[str, Any]) -> list[str]:
    """Metadata shared by both versions: software with settings, runs, assays, variables."""
    lines = [_line("MTD", ["software[1]", SOFTWARE])]
    for i, s in enumerate(_settings(parameters), 1):
        lines.append(_line("MTD", [f"software[1]-setting[{i}]", s]))
    lines.append(_line("MTD", ["quantification_method", QUANT_METHOD]))
    return lines


def _peptide_abundance(row: dict[str, Any] | None) -> Any:
    """Light/heavy ratio, or the light area for a precursor without a heavy standard."""
    if row is None:
        return None
    return row["light_area"] if "no standard" in row["ratio_basis"] else row["ratio"]


def _by_target(rows: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for r in rows:
        out.setdefault(r[key], {})[r["run"]] = r
    return out


HEAVY_FLAG = "opt_global_cv_MS:1000891_heavy_labeled_peptidoform"


def _protein_section(proteins: Sequence[dict[str, Any]], names: Sequence[str]) -> list[str]:
    prot = _by_target(proteins, "protein")
    if not prot:
        return []
    n = len(names)
    head = [
        "accession",
        "description",
        "taxid",
        "species",
        "database",
        "database_version",
        "search_engine",
        "best_search_engine_score[1]",
        "ambiguity_members",
        "modifications",
        "protein_coverage",
    ]
    head += [f"protein_abundance_assay[{i}]" for i in range(1, n + 1)]
    for kind in ("", "stdev_", "std_error_"):
        head += [f"protein_abundance_{kind}study_variable[{i}]" for i in range(1, n + 1)]
    head += [f"opt_assay[{i}]_n_peptides" for i in range(1, n + 1)]
    lines = ["", _line("PRH", head)]
    for acc, per_run in prot.items():
        values = [per_run.get(r, {}).get("ratio") for r in names]
        cells = [acc, None, None, None, None, None, None, None, None, None, None]
        cells += values + values + [None] * (2 * n)
        cells += [per_run.get(r, {}).get("n_peptides") for r in names]
        lines.append(_line("PRT", cells))
    return lines


PEPTIDE_HEAD = (
    "sequence",
    "accession",
    "unique",
    "database",
    "database_version",
    "search_engine",
    "best_search_engine_score[1]",
    "modifications",
    "retention_time",
    "retention_time_window",
    "charge",
    "mass_to_charge",
    "uri",
    "spectra_ref",
)


def _peptide_section(
    peptides: Sequence[dict[str, Any]],
    transitions: Sequence[dict[str, Any]],
    names: Sequence[str],
) -> tuple[list[str], list[SiteMod], bool]:
    """PEP lines (light row, then the heavy standard's row, per precursor), every
    modification reported, and whether any precursor has a heavy standard."""
    peps = _by_target([p for p in peptides if p["kind"] == "peptide"], "group_id")
    if not peps:
        return [], [], False
    n = len(names)
    head = list(PEPTIDE_HEAD)
    head += [f"peptide_abundance_assay[{i}]" for i in range(1, n + 1)]
    for kind in ("", "stdev_", "std_error_"):
        head += [f"peptide_abundance_{kind}study_variable[{i}]" for i in range(1, n + 1)]
    head += ["opt_global_modified_sequence", "opt_global_group_id", HEAVY_FLAG]
    head += ["opt_global_abundance_type"]
    for what in ("light_area", "heavy_area", "concentration"):
        head += [f"opt_assay[{i}]_{what}" for i in range(1, n + 1)]
    lines = ["", _line("PEH", head)]
    mz = precursor_mz_by_label(transitions)
    best_score: dict[str, float] = {}
    for t in transitions:
        s = t.get("group_score", math.nan)
        if isinstance(s, float) and math.isfinite(s):
            best_score[t["group_id"]] = max(best_score.get(t["group_id"], -math.inf), s)
    reported: list[SiteMod] = []
    any_heavy = False
    for gid, per_run in peps.items():
        first = next(iter(per_run.values()))
        found = [per_run[r] for r in names if r in per_run and per_run[r]["found"]]
        rts = "|".join(_cell(p["rt"] * 60.0) for p in found) or None
        windows = "|".join(f"{_cell(p['rt_left'] * 60)}|{_cell(p['rt_right'] * 60)}" for p in found)
        residues, mods = sequence_modifications(first["peptide_or_compound"])
        charge = int(first["charge"] or 0)
        has_heavy = (gid, "heavy") in mz
        any_heavy |= has_heavy

        shared = [first["protein"] or None, None, None, None, None, best_score.get(gid)]
        where = [rts, windows or None, charge or None]
        light_mz = mz.get((gid, "light"))
        values = [_peptide_abundance(per_run.get(r)) for r in names]
        cells = [residues, *shared, format_modifications(mods), *where, light_mz, None, None]
        cells += values + values + [None] * (2 * n)
        kind = "light/heavy ratio" if has_heavy else "light area"
        cells += [first["peptide_or_compound"], gid, False, kind]
        for what in ("light_area", "heavy_area", "concentration"):
            cells += [per_run.get(r, {}).get(what) for r in names]
        lines.append(_line("PEP", cells))
        reported += mods
        if has_heavy:  # the standard's own row: its area, its m/z, its labels
            labels = heavy_label_modifications(residues, light_mz, mz[(gid, "heavy")], charge)
            areas = [per_run.get(r, {}).get("heavy_area") for r in names]
            cells = [residues, *shared, format_modifications(mods + labels), *where]
            cells += [mz[(gid, "heavy")], None, None, *areas, *areas, *[None] * (2 * n)]
            cells += [first["peptide_or_compound"], gid, True, "heavy area"]
            cells += [None] * n + areas + [None] * n
            lines.append(_line("PEP", cells))
            reported += labels
    return lines, reported, any_heavy


def write_mztab_peptides(
    path: str | Path,
    runs: Sequence[tuple[str, str]],
    peptides: Sequence[dict[str, Any]],
    proteins: Sequence[dict[str, Any]],
    transitions: Sequence[dict[str, Any]],
    parameters: dict[str, Any],
    *,
    title: str = "msuite quant",
) -> None:
    """Write peptide and protein results as mzTab 1.0.0 Summary Quantification.

    Parameters
    ----------
    runs
        ``(name, path)`` per run, in assay order.
    peptides, proteins, transitions
        Rows of peptides.csv, proteins.csv and transitions.csv (peptide rows only are used;
        the transition rows give the light and heavy precursor m/z of each group).
    parameters
        The quantification parameters (written as software settings).
    """
    n = len(runs)
    names = [r[0] for r in runs]
    pep_lines, reported, any_heavy = _peptide_section(peptides, transitions, names)
    lines = [
        _line("MTD", ["mzTab-version", "1.0.0"]),
        _line("MTD", ["mzTab-mode", "Summary"]),
        _line("MTD", ["mzTab-type", "Quantification"]),
        _line("MTD", ["mzTab-ID", title]),
        _line("MTD", ["title", title]),
        _line(
            "MTD",
            [
                "description",
                "Targeted (SRM/PRM) quantification of peptides with "
                "stable-isotope-labelled standards by msuite quant",
            ],
        ),
        _line("MTD", ["protein_search_engine_score[1]", SCORE]),
        _line("MTD", ["peptide_search_engine_score[1]", SCORE]),
        *(_line("MTD", kv) for kv in modification_metadata(reported)),
        *_runs_metadata(runs, parameters),
        _line("MTD", ["protein-quantification_unit", RATIO_UNIT]),
        _line("MTD", ["peptide-quantification_unit", RATIO_UNIT if any_heavy else AREA_UNIT]),
    ]
    for i, (_, path_) in enumerate(runs, 1):
        if str(path_).lower().endswith((".mzml", ".mzml.gz")):
            lines.append(_line("MTD", [f"ms_run[{i}]-format", "[MS, MS:1000584, mzML format, ]"]))
        lines.append(_line("MTD", [f"ms_run[{i}]-location", _location(path_)]))
    for i in range(1, n + 1):
        lines.append(_line("MTD", [f"assay[{i}]-quantification_reagent", REAGENT]))
        lines.append(_line("MTD", [f"assay[{i}]-ms_run_ref", f"ms_run[{i}]"]))
    for i, (name, _) in enumerate(runs, 1):
        lines.append(_line("MTD", [f"study_variable[{i}]-assay_refs", f"assay[{i}]"]))
        lines.append(_line("MTD", [f"study_variable[{i}]-description", name]))
    lines += _protein_section(proteins, names)
    lines += pep_lines
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_mztab_m(
    path: str | Path,
    runs: Sequence[tuple[str, str]],
    compounds: Sequence[dict[str, Any]],
    transitions: Sequence[dict[str, Any]],
    parameters: dict[str, Any],
    *,
    title: str = "msuite quant",
    polarity: str = "positive",
) -> None:
    """Write small-molecule results as mzTab-M 2.0.0-M (SML summary plus SMF features).

    One SML row per compound (abundance per assay = response), one SMF row per compound and
    run with the run's retention time, boundaries and light area.
    """
    n = len(runs)
    names = [r[0] for r in runs]
    pol = (
        "[MS, MS:1000129, negative scan, ]"
        if polarity == "negative"
        else "[MS, MS:1000130, positive scan, ]"
    )
    lines = [
        _line("MTD", ["mzTab-version", "2.0.0-M"]),
        _line("MTD", ["mzTab-ID", title]),
        _line("MTD", ["title", title]),
        _line(
            "MTD",
            [
                "description",
                "Targeted (SRM/PRM) quantification of small molecules "
                "with internal standards by msuite quant",
            ],
        ),
        *_runs_metadata(runs, parameters),
    ]
    for i, (_, path_) in enumerate(runs, 1):
        lines.append(_line("MTD", [f"ms_run[{i}]-location", _location(path_)]))
        lines.append(_line("MTD", [f"ms_run[{i}]-scan_polarity[1]", pol]))
    for i, (name, _) in enumerate(runs, 1):
        lines.append(_line("MTD", [f"assay[{i}]", name]))
        lines.append(_line("MTD", [f"assay[{i}]-ms_run_ref", f"ms_run[{i}]"]))
    for i, (name, _) in enumerate(runs, 1):
        lines.append(_line("MTD", [f"study_variable[{i}]", name]))
        lines.append(_line("MTD", [f"study_variable[{i}]-assay_refs", f"assay[{i}]"]))
        lines.append(_line("MTD", [f"study_variable[{i}]-description", name]))
    lines += [
        _line("MTD", ["cv[1]-label", "MS"]),
        _line("MTD", ["cv[1]-full_name", "PSI-MS controlled vocabulary"]),
        _line("MTD", ["cv[1]-version", "4.1"]),
        _line(
            "MTD",
            ["cv[1]-uri", "https://raw.githubusercontent.com/HUPO-PSI/psi-ms-CV/master/psi-ms.obo"],
        ),
        _line("MTD", ["database[1]", "[, , no database, null]"]),
        _line("MTD", ["database[1]-prefix", "null"]),
        _line("MTD", ["database[1]-version", "Unknown"]),
        _line("MTD", ["database[1]-uri", "null"]),
        _line("MTD", ["small_molecule-quantification_unit", RATIO_UNIT]),
        _line("MTD", ["small_molecule_feature-quantification_unit", AREA_UNIT]),
        _line(
            "MTD",
            [
                "small_molecule-identification_reliability",
                "[MS, MS:1002896, compound identification confidence level, ]",
            ],
        ),
        _line("MTD", ["id_confidence_measure[1]", SCORE]),
    ]
    by = _by_target(compounds, "group_id")
    mz = precursor_mz_by_label(transitions)
    sml_head = [
        "SML_ID",
        "SMF_ID_REFS",
        "database_identifier",
        "chemical_formula",
        "smiles",
        "inchi",
        "chemical_name",
        "uri",
        "theoretical_neutral_mass",
        "adduct_ions",
        "reliability",
        "best_id_confidence_measure",
        "best_id_confidence_value",
    ]
    sml_head += [f"abundance_assay[{i}]" for i in range(1, n + 1)]
    sml_head += [f"abundance_study_variable[{i}]" for i in range(1, n + 1)]
    sml_head += [f"abundance_variation_study_variable[{i}]" for i in range(1, n + 1)]
    sml_head += [f"opt_assay[{i}]_concentration" for i in range(1, n + 1)]
    smf_head = [
        "SMF_ID",
        "SME_ID_REFS",
        "SME_ID_REF_ambiguity_code",
        "adduct_ion",
        "isotopomer",
        "exp_mass_to_charge",
        "charge",
        "retention_time_in_seconds",
        "retention_time_in_seconds_start",
        "retention_time_in_seconds_end",
    ]
    smf_head += [f"abundance_assay[{i}]" for i in range(1, n + 1)]
    smf_head += ["opt_global_internal_standard"]
    sml_lines: list[str] = []
    smf_lines: list[str] = []

    def feature(row: dict[str, Any], i: int, label: str) -> str:
        """Add the SMF row of the analyte (light) or its internal standard; return its id."""
        abundance: list[Any] = [None] * n
        abundance[i] = row["heavy_area" if label == "heavy" else "light_area"]
        rt = [row[k] * 60.0 if row["found"] else None for k in ("rt", "rt_left", "rt_right")]
        smf_id = len(smf_lines) + 1
        cells = [smf_id, None, None, None, None, mz.get((row["group_id"], label))]
        cells += [row.get("charge") or 1, *rt, *abundance, label == "heavy"]
        smf_lines.append(_line("SMF", cells))
        return str(smf_id)

    for sml_id, (gid, per_run) in enumerate(by.items(), 1):
        first = next(iter(per_run.values()))
        refs = []
        for i, r in enumerate(names):
            row = per_run.get(r)
            if row is not None:
                refs.append(feature(row, i, "light"))
                if (gid, "heavy") in mz:
                    refs.append(feature(row, i, "heavy"))
        values = [per_run.get(r, {}).get("response") for r in names]
        cells = [
            sml_id,
            "|".join(refs) or None,
            None,
            None,
            None,
            None,
            first["peptide_or_compound"],
            None,
            None,
            None,
            "4",
            SCORE,
            None,
        ]
        cells += values + values + [None] * n
        cells += [per_run.get(r, {}).get("concentration") for r in names]
        sml_lines.append(_line("SML", cells))
    lines += ["", _line("SMH", sml_head), *sml_lines]
    if smf_lines:
        lines += ["", _line("SFH", smf_head), *smf_lines]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
