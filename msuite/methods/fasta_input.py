"""Reading protein FASTA files and protein lists for the method builder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pyteomics import fasta

from msuite.core.errors import FileFormatError, InputError

__all__ = ["FastaProtein", "read_fasta", "read_protein_list", "DECOY_PREFIXES"]

DECOY_PREFIXES = ("rev_", "decoy_", "DECOY_", "REV_", "XXX_", "##")
_UNIPROT = re.compile(r"^(sp|tr)\|([^|]+)\|(\S*)\s*(.*)$")
_GENE = re.compile(r"\bGN=(\S+)")


@dataclass(slots=True)
class FastaProtein:
    """One FASTA entry: accession, entry name, gene, description and sequence."""

    accession: str
    name: str
    gene: str
    description: str
    sequence: str
    decoy: bool = False


def _parse_header(header: str) -> tuple[str, str, str, str]:
    m = _UNIPROT.match(header)
    if m:
        acc, name, desc = m.group(2), m.group(3), m.group(4)
        gene = _GENE.search(desc)
        desc = desc.split(" OS=")[0]
        return acc, name, gene.group(1) if gene else "", desc
    first, _, rest = header.partition(" ")
    parts = rest.split(" ", 1)
    gene = parts[0] if parts and re.fullmatch(r"[a-zA-Z]{3,4}[A-Z0-9]?", parts[0] or "") else ""
    desc = parts[1] if gene and len(parts) > 1 else rest
    return first, "", gene, desc


def read_fasta(path: str | Path) -> list[FastaProtein]:
    """Read a FASTA file (UniProt or plain headers); decoy entries are marked ``decoy=True``."""
    path = Path(path)
    out: list[FastaProtein] = []
    try:
        with fasta.read(str(path)) as reader:
            for header, sequence in reader:
                acc, name, gene, desc = _parse_header(header)
                if not acc:
                    continue
                seq = "".join(sequence.split()).upper().rstrip("*")
                out.append(
                    FastaProtein(acc, name, gene, desc, seq, acc.startswith(DECOY_PREFIXES))
                )
    except UnicodeDecodeError:
        raise FileFormatError("not a text FASTA file", path=str(path)) from None
    if not out:
        raise FileFormatError("no FASTA entries found", path=str(path),
                              allowed="'>' header lines followed by sequences")
    return out


def read_protein_list(path: str | Path) -> list[str]:
    """Read protein accessions: one per line, or a CSV/TSV with an accession column.

    Recognised column names: ``protein_id``, ``accession``, ``protein``, ``uniprot``.
    Lines starting with ``#`` are comments.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise FileFormatError("not a text file", path=str(path)) from None
    lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError("protein list is empty", path=str(path))
    sep = "\t" if "\t" in lines[0] else ("," if "," in lines[0] else None)
    if sep is None:
        return [ln.strip() for ln in lines]
    header = [h.strip().lower() for h in lines[0].split(sep)]
    for name in ("protein_id", "accession", "protein", "uniprot", "uniprot_id"):
        if name in header:
            col = header.index(name)
            break
    else:
        raise FileFormatError("no accession column", path=str(path), line=1,
                              field=lines[0][:80],
                              allowed="protein_id, accession, protein or uniprot")
    out = []
    for line in lines[1:]:
        cells = line.split(sep)
        if col < len(cells) and cells[col].strip():
            out.append(cells[col].strip())
    return out
