"""msuite's own method format: a TOML header plus CSV tables beside it.

``panel.toml`` holds the schema version, name, instrument, DIA windows and provenance, and names
its tables; the tables are ``panel.proteins.csv``, ``panel.transitions.csv`` (one row per
transition, precursor columns repeated) and ``panel.small_molecules.csv``. All files are
plain text, diff-friendly and readable without msuite. Loading refuses a newer
``schema_version`` with :class:`~msuite.core.errors.SchemaVersionError`.
"""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from msuite.core.errors import FileFormatError, SchemaVersionError
from msuite.methods.model import (
    LABELS,
    SCHEMA_VERSION,
    DIAWindow,
    Instrument,
    Method,
    PeptidePrecursor,
    Protein,
    SmallMolecule,
    Transition,
    small_molecule_key,
)
from msuite.methods.tables import read_table

__all__ = [
    "PROTEIN_COLUMNS",
    "SMALL_MOLECULE_COLUMNS",
    "TRANSITION_COLUMNS",
    "load_method",
    "save_method",
    "table_paths",
    "to_toml",
]

TRANSITION_COLUMNS = (
    "protein",
    "modified_sequence",
    "precursor_charge",
    "label",
    "labelled_residues",
    "precursor_mz",
    "irt",
    "irt_window",
    "collision_energy",
    "irt_standard",
    "decoy",
    "ion_type",
    "ordinal",
    "product_charge",
    "product_mz",
    "library_intensity",
    "quantifier",
    "transition_name",
)
PROTEIN_COLUMNS = ("accession", "name", "gene", "biomarker", "description")
SMALL_MOLECULE_COLUMNS = (
    "name",
    "formula",
    "adduct",
    "label",
    "charge",
    "precursor_mz",
    "rt_s",
    "rt_window_s",
    "collision_energy",
    "identifier",
    "product_mz",
    "product_charge",
    "library_intensity",
    "quantifier",
    "transition_name",
)


# ---------------------------------------------------------------------------- TOML writing
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = escaped.replace("\n", "\\n").replace("\t", "\\t")
        escaped = "".join(c if " " <= c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return _toml_value(str(value))


def _toml_key(key: str) -> str:
    if key and all(c.isalnum() or c in "-_" for c in key):
        return key
    return _toml_value(str(key))


def to_toml(data: dict[str, Any]) -> str:
    """Write a dictionary as TOML (scalars, lists, tables and arrays of tables)."""
    lines: list[str] = []
    scalars = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_array(v)}
    for key, value in scalars.items():
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in data.items():
        if _is_table(value):
            lines += ["", f"[{_toml_key(key)}]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()]
        elif _is_table_array(value):
            for item in value:
                lines += ["", f"[[{_toml_key(key)}]]"]
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


# ---------------------------------------------------------------------------- paths
def table_paths(path: str | Path) -> dict[str, Path]:
    """Return the header and table paths of the method stored at ``path`` (``*.toml``)."""
    path = Path(path)
    stem = path.name.removesuffix(".toml")
    return {
        "header": path,
        "proteins": path.with_name(f"{stem}.proteins.csv"),
        "transitions": path.with_name(f"{stem}.transitions.csv"),
        "small_molecules": path.with_name(f"{stem}.small_molecules.csv"),
    }


def _fmt(value: float, digits: int = 5) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _flag(value: bool) -> str:
    return "1" if value else "0"


# ---------------------------------------------------------------------------- save
def save_method(method: Method, path: str | Path) -> list[Path]:
    """Write ``method`` to ``path`` (a ``.toml`` file) and its CSV tables; return the files."""
    paths = table_paths(path)
    paths["header"].parent.mkdir(parents=True, exist_ok=True)
    written = [paths["header"]]
    inst = method.instrument
    header: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "format": "msuite-method",
        "name": method.name,
        "description": method.description,
        "instrument": {
            "model": inst.model,
            "ce_regression": inst.ce_regression,
            "mz_min": inst.mz_min,
            "mz_max": inst.mz_max,
            "polarity": inst.polarity,
            "min_dwell_ms": inst.min_dwell_ms,
            "cycle_time_s": inst.cycle_time_s,
            "irt_slope": inst.irt_slope,
            "irt_intercept": inst.irt_intercept,
        },
        "tables": {},
        "counts": method.counts(),
    }
    if method.provenance:
        header["provenance"] = {k: v for k, v in method.provenance.items() if v is not None}
    if method.dia_windows:
        header["dia_window"] = [
            {"lower": w.lower, "upper": w.upper, "collision_energy": w.collision_energy}
            for w in method.dia_windows
        ]
    tables = {
        "proteins": (
            PROTEIN_COLUMNS,
            [
                [p.accession, p.name, p.gene, _flag(p.biomarker), p.description]
                for p in method.proteins
            ],
        ),
        "transitions": (
            TRANSITION_COLUMNS,
            _expand(
                ((_precursor_cells(pr), pr.transitions) for pr in method.precursors),
                _peptide_transition_cells,
                width=7,
            ),
        ),
        "small_molecules": (
            SMALL_MOLECULE_COLUMNS,
            _expand(
                ((_small_molecule_cells(m), m.transitions) for m in method.small_molecules),
                _small_molecule_transition_cells,
                width=5,
            ),
        ),
    }
    for table, (columns, rows) in tables.items():
        rows = list(rows)
        if not rows:
            continue
        header["tables"][table] = paths[table].name
        with open(paths[table], "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(columns)
            w.writerows(rows)
        written.append(paths[table])
    if not header["tables"]:
        del header["tables"]
    paths["header"].write_text(to_toml(header), encoding="utf-8")
    return written


def _expand(
    entries: Iterable[tuple[list[Any], list[Transition]]],
    transition_cells: Callable[[Transition], list[Any]],
    width: int,
) -> Iterator[list[Any]]:
    """One row per transition (the entry's cells repeated), or one padded row when it has none."""
    for head, transitions in entries:
        if not transitions:
            yield [*head, *([""] * width)]
        for t in transitions:
            yield [*head, *transition_cells(t)]


def _precursor_cells(pr: PeptidePrecursor) -> list[Any]:
    return [
        pr.protein,
        pr.modified_sequence,
        pr.charge,
        pr.label,
        pr.labelled_residues,
        _fmt(pr.precursor_mz),
        _fmt(pr.irt, 2),
        _fmt(pr.irt_window, 2),
        _fmt(pr.collision_energy, 2),
        _flag(pr.irt_standard),
        _flag(pr.decoy),
    ]


def _peptide_transition_cells(t: Transition) -> list[Any]:
    return [
        t.ion_type,
        t.ordinal,
        t.charge,
        _fmt(t.product_mz),
        _fmt(t.library_intensity, 1),
        _flag(t.quantifier),
        t.name,
    ]


def _small_molecule_cells(m: SmallMolecule) -> list[Any]:
    return [
        m.name,
        m.formula,
        m.adduct,
        m.label,
        m.charge,
        _fmt(m.precursor_mz),
        _fmt(m.rt, 2),
        _fmt(m.rt_window, 2),
        _fmt(m.collision_energy, 2),
        m.identifier,
    ]


def _small_molecule_transition_cells(t: Transition) -> list[Any]:
    return [_fmt(t.product_mz), t.charge, _fmt(t.library_intensity, 1), _flag(t.quantifier), t.name]


# ---------------------------------------------------------------------------- load
def load_method(path: str | Path) -> Method:
    """Read a method written by :func:`save_method`.

    Raises
    ------
    SchemaVersionError
        When the file was written by a newer msuite (higher ``schema_version``).
    FileFormatError
        When the TOML or a table is malformed (the error names file, line and column).
    """
    path = Path(path)
    try:
        header = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FileFormatError(f"not valid TOML: {exc}", path=str(path)) from None
    except UnicodeDecodeError:
        raise FileFormatError("not a UTF-8 text file", path=str(path)) from None
    version = header.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise FileFormatError(
            "missing or non-integer schema_version",
            path=str(path),
            field="schema_version",
            value=version,
            allowed=f"an integer <= {SCHEMA_VERSION}",
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            "method file written by a newer msuite",
            path=str(path),
            field="schema_version",
            value=version,
            allowed=f"<= {SCHEMA_VERSION}",
        )
    inst_data = header.get("instrument", {})
    known = set(Instrument.__dataclass_fields__)
    try:
        instrument = Instrument(**{k: v for k, v in inst_data.items() if k in known})
    except TypeError as exc:
        raise FileFormatError(str(exc), path=str(path), field="instrument") from None
    method = Method(
        name=str(header.get("name", path.stem)),
        description=str(header.get("description", "")),
        instrument=instrument,
        provenance=dict(header.get("provenance", {})),
        schema_version=version,
    )
    for w in header.get("dia_window", []):
        try:
            method.dia_windows.append(
                DIAWindow(
                    float(w["lower"]), float(w["upper"]), float(w.get("collision_energy", math.nan))
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(
                f"bad dia_window entry: {exc}", path=str(path), field="dia_window", value=w
            ) from None
    tables = header.get("tables", {})
    base = path.parent
    if "proteins" in tables:
        method.proteins = _read_proteins(base / tables["proteins"])
    if "transitions" in tables:
        method.precursors = _read_transitions(base / tables["transitions"])
    if "small_molecules" in tables:
        method.small_molecules = _read_small_molecules(base / tables["small_molecules"])
    return method


def _read_proteins(path: Path) -> list[Protein]:
    return [
        Protein(
            accession=row.text("accession"),
            name=row.text("name", ""),
            gene=row.text("gene", ""),
            description=row.text("description", ""),
            biomarker=row.bool("biomarker"),
        )
        for row in read_table(path, required=("accession",), delimiter=",")
    ]


def _read_transitions(path: Path) -> list[PeptidePrecursor]:
    precursors: dict[tuple[str, str, int, str], PeptidePrecursor] = {}
    required = ("protein", "modified_sequence", "precursor_charge", "precursor_mz")
    for row in read_table(path, required=required, delimiter=","):
        label = row.text("label", "light").lower()
        if label not in LABELS:
            raise FileFormatError(
                "unknown isotope label",
                path=str(path),
                line=row.line,
                field="label",
                value=label,
                allowed=", ".join(LABELS),
            )
        key = (
            row.text("protein", ""),
            row.text("modified_sequence"),
            row.int("precursor_charge", minimum=1),
            label,
        )
        prec = precursors.get(key)
        if prec is None:
            prec = PeptidePrecursor(
                protein=key[0],
                modified_sequence=key[1],
                charge=key[2],
                precursor_mz=row.float("precursor_mz"),
                label=label,
                labelled_residues=row.text("labelled_residues", ""),
                irt=row.float("irt", math.nan),
                irt_window=row.float("irt_window", math.nan),
                collision_energy=row.float("collision_energy", math.nan),
                irt_standard=row.bool("irt_standard"),
                decoy=row.bool("decoy"),
            )
            precursors[key] = prec
        if row.has("product_mz"):
            ion_type = row.text("ion_type", "")
            if ion_type not in ("", "b", "y"):
                raise FileFormatError(
                    "unknown ion type",
                    path=str(path),
                    line=row.line,
                    field="ion_type",
                    value=ion_type,
                    allowed="b, y or empty",
                )
            prec.transitions.append(
                Transition(
                    ion_type=ion_type,
                    ordinal=row.int("ordinal", 0, minimum=0),
                    charge=row.int("product_charge", 1, minimum=1),
                    product_mz=row.float("product_mz"),
                    library_intensity=row.float("library_intensity", math.nan),
                    quantifier=row.bool("quantifier"),
                    name=row.text("transition_name", ""),
                )
            )
    return list(precursors.values())


def _read_small_molecules(path: Path) -> list[SmallMolecule]:
    """Small molecules keyed by name, adduct, label and precursor m/z; tables written before
    the ``label`` column existed read as ``light``."""
    out: dict[tuple, SmallMolecule] = {}
    required = ("name", "precursor_mz")
    for row in read_table(path, required=required, delimiter=","):
        label = row.text("label", "light").lower()
        if label not in LABELS:
            raise FileFormatError(
                "unknown isotope label",
                path=str(path),
                line=row.line,
                field="label",
                value=label,
                allowed=", ".join(LABELS),
            )
        name, adduct, prec_mz = row.text("name"), row.text("adduct", ""), row.float("precursor_mz")
        key = small_molecule_key(name, adduct, label, prec_mz)
        mol = out.get(key)
        if mol is None:
            mol = SmallMolecule(
                name=name,
                formula=row.text("formula", ""),
                adduct=adduct,
                label=label,
                charge=row.int("charge", 1),
                precursor_mz=prec_mz,
                rt=row.float("rt_s", math.nan),
                rt_window=row.float("rt_window_s", math.nan),
                collision_energy=row.float("collision_energy", math.nan),
                identifier=row.text("identifier", ""),
            )
            out[key] = mol
        if row.has("product_mz"):
            mol.transitions.append(
                Transition(
                    "",
                    0,
                    row.int("product_charge", 1),
                    row.float("product_mz"),
                    row.float("library_intensity", math.nan),
                    row.bool("quantifier"),
                    name=row.text("transition_name", ""),
                )
            )
    return list(out.values())
