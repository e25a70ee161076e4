"""Build a targeted peptide method from FASTA files and a protein list.

Pipeline
--------
1. Digest every protein of the FASTA files with :func:`pyteomics.parser.cleave` (trypsin by
   default, ``missed_cleavages`` allowed); decoy entries (``rev_``, ``DECOY_`` ...) are ignored.
2. Keep proteotypic peptides: length 7-25, unique among all target proteins of the FASTA files
   (I and L counted as equal), only the 20 standard residues, and, unless allowed, no M
   (oxidation), no C, no N-terminal Q (pyro-Glu) and no NG/NS/QG deamidation motifs.
3. Score each peptide and keep the best ``peptides_per_protein``. The score, higher is better::

       score = 10
               - 5   x missed cleavages
               - 0.3 x max(0, |length - 12| - 3)        (sweet spot 9-15 residues)
               - 2   if the predicted iRT is outside -10..110 (hard to elute/schedule)
               - 1   if a cleavage site is ragged (KK, KR, RK, RR at either end)
               - 0.5 x histidines                        (extra charge, charge splitting)

   Ties keep the order of the protein sequence.
4. For each peptide: precursor at each charge, light and heavy (K +8.0142, R +10.0083 on every
   K/R), ``transitions`` singly charged y/b fragments: y ions above the precursor m/z first, then
   b ions above it, then y and b ions below it (ordinals 3..n-2, within the instrument m/z
   range); cleavage N-terminal to proline first within a group, then the longer fragment.
   The first transition is the quantifier. Heavy precursors use the same fragments as the light.
5. Collision energy from the instrument's regression; iRT predicted (see :mod:`.irt`).
6. The 11 iRT standard peptides are added (light) unless ``add_irt_standards`` is False.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pyteomics import parser

from msuite.core.errors import InputError
from msuite.methods.chemistry import (
    HEAVY_LABELS,
    ParsedPeptide,
    fragment_mz,
    parse_peptide,
    precursor_mz,
)
from msuite.methods.collision_energy import get_regression
from msuite.methods.fasta_input import FastaProtein, read_fasta
from msuite.methods.irt import IRT_PROTEIN, IRT_STANDARDS, predict_irt
from msuite.methods.model import Instrument, Method, PeptidePrecursor, Protein, Transition

__all__ = [
    "BuildOptions",
    "Candidate",
    "build_method",
    "build_peptide_precursors",
    "candidate_peptides",
    "irt_standard_precursors",
    "select_transitions",
]

STANDARD_RESIDUES = set("ACDEFGHIKLMNPQRSTVWY")
DEAMIDATION_MOTIFS = ("NG", "NS", "QG")
EXCLUSIONS = ("M", "C", "nQ", "deamidation")


@dataclass(slots=True)
class BuildOptions:
    """Settings of :func:`build_method` (defaults are those of ``msuite method build``)."""

    enzyme: str = "trypsin"
    missed_cleavages: int = 0
    min_length: int = 7
    max_length: int = 25
    exclude: tuple[str, ...] = EXCLUSIONS
    peptides_per_protein: int = 2
    transitions: int = 4
    charges: tuple[int, ...] = (2,)
    heavy: bool = True
    irt_window: float = 10.0
    add_irt_standards: bool = True
    min_peptides: int = 0
    max_proteins: int | None = None

    def __post_init__(self) -> None:
        unknown = [e for e in self.exclude if e not in EXCLUSIONS]
        if unknown:
            raise InputError("unknown exclusion rule", field="exclude", value=",".join(unknown),
                             allowed=", ".join(EXCLUSIONS))
        if self.enzyme not in parser.expasy_rules:
            raise InputError("unknown enzyme", field="enzyme", value=self.enzyme,
                             allowed="pyteomics expasy_rules names, e.g. trypsin")
        if not 1 <= self.min_length <= self.max_length:
            raise InputError("bad length range", field="min_length/max_length",
                             value=(self.min_length, self.max_length))


@dataclass(slots=True)
class Candidate:
    """A proteotypic peptide of a protein with its score."""

    sequence: str
    start: int
    missed: int
    score: float
    irt: float


@dataclass(slots=True)
class _Digest:
    """Peptide -> owning protein indices over all target proteins (I/L merged)."""

    owners: dict[str, set[int]] = field(default_factory=dict)
    per_protein: list[dict[str, int]] = field(default_factory=list)  # sequence -> missed


def _il(seq: str) -> str:
    return seq.replace("I", "L")


def _digest_all(proteins: Sequence[FastaProtein], opts: BuildOptions) -> _Digest:
    rule = parser.expasy_rules[opts.enzyme]
    digest = _Digest()
    for index, prot in enumerate(proteins):
        peps: dict[str, int] = {}
        if not prot.decoy:
            # fully cleaved pieces in sequence order, joined for missed cleavages
            pieces = [p for _, p in parser.icleave(prot.sequence, rule, 0)]
            for i in range(len(pieces)):
                seq = ""
                for mc in range(opts.missed_cleavages + 1):
                    if i + mc >= len(pieces):
                        break
                    seq += pieces[i + mc]
                    if opts.min_length <= len(seq) <= opts.max_length:
                        peps.setdefault(seq, mc)
                        digest.owners.setdefault(_il(seq), set()).add(index)
        digest.per_protein.append(peps)
    return digest


def _excluded(seq: str, exclude: Iterable[str]) -> bool:
    if set(seq) - STANDARD_RESIDUES:
        return True
    rules = set(exclude)
    if "M" in rules and "M" in seq:
        return True
    if "C" in rules and "C" in seq:
        return True
    if "nQ" in rules and seq[0] == "Q":
        return True
    return "deamidation" in rules and any(m in seq for m in DEAMIDATION_MOTIFS)


def _score(seq: str, missed: int, irt: float, before: str, after: str) -> float:
    score = 10.0 - 5.0 * missed - 0.3 * max(0, abs(len(seq) - 12) - 3)
    if not -10.0 <= irt <= 110.0:
        score -= 2.0
    ragged = (before in "KR" and seq[0] in "KR") or (after in "KR" and seq[-1] in "KR") or (
        len(seq) > 1 and seq[-2] in "KR"
    )
    if ragged:
        score -= 1.0
    return round(score - 0.5 * seq.count("H"), 3)


def candidate_peptides(
    protein: FastaProtein, peptides: dict[str, int], digest: _Digest, index: int,
    opts: BuildOptions,
) -> list[Candidate]:
    """Rank the proteotypic peptides of one protein, best first."""
    out = []
    for seq, missed in peptides.items():
        if digest.owners.get(_il(seq), set()) != {index} or _excluded(seq, opts.exclude):
            continue
        start = protein.sequence.find(seq)
        before = protein.sequence[start - 1] if start > 0 else ""
        end = start + len(seq)
        after = protein.sequence[end] if end < len(protein.sequence) else ""
        irt = predict_irt(seq)
        out.append(Candidate(seq, start, missed, _score(seq, missed, irt, before, after), irt))
    out.sort(key=lambda c: (-c.score, c.start))
    return out


def select_transitions(
    peptide: ParsedPeptide,
    prec_mz: float,
    count: int,
    instrument: Instrument,
    label: str = "light",
    labelled: str = "",
    margin: float = 0.0,
) -> list[Transition]:
    """Pick ``count`` singly charged y/b transitions (see the module docstring for the order).

    ``margin`` (m/z) is kept free below the instrument's upper limit, so that the heavy form of
    the same fragment (up to +10.0083 per label) stays in range too.
    """
    n = len(peptide.residues)
    options = []
    for ion in ("y", "b"):
        for ordinal in range(3, n - 1):
            mz = fragment_mz(peptide, ion, ordinal, 1, label, labelled)
            if not instrument.mz_min <= mz <= instrument.mz_max - margin:
                continue
            # residue after the cleavage site: proline-directed cleavage is favoured
            cut = n - ordinal if ion == "y" else ordinal
            proline = peptide.residues[cut] == "P"
            group = (0 if mz > prec_mz else 2) + (0 if ion == "y" else 1)
            options.append((group, not proline, -ordinal, ion, ordinal, mz))
    options.sort()
    return [
        Transition(ion, ordinal, 1, round(mz, 5), math.nan, quantifier=(i == 0))
        for i, (_, _, _, ion, ordinal, mz) in enumerate(options[:count])
    ]


def build_peptide_precursors(
    modified_sequence: str,
    protein: str,
    opts: BuildOptions,
    instrument: Instrument,
    irt: float | None = None,
    irt_standard: bool = False,
    heavy: bool | None = None,
) -> list[PeptidePrecursor]:
    """Light (and heavy) precursors with transitions for one (possibly modified) peptide."""
    parsed = parse_peptide(modified_sequence)
    regression = get_regression(instrument.ce_regression)
    if irt is None:
        irt = predict_irt(parsed.residues)
    labels = ["light"] + (["heavy"] if (opts.heavy if heavy is None else heavy) else [])
    out = []
    for charge in opts.charges:
        light_choice: list[tuple[str, int]] | None = None
        for label in labels:
            labelled = "".join(r for r in HEAVY_LABELS if r in parsed.residues) if (
                label == "heavy") else ""
            if label == "heavy" and not labelled:
                continue
            mz = precursor_mz(parsed, charge, label, labelled)
            if not instrument.mz_min <= mz <= instrument.mz_max:
                continue
            if light_choice is None:
                margin = sum(HEAVY_LABELS[r].delta * parsed.residues.count(r)
                             for r in HEAVY_LABELS) if "heavy" in labels else 0.0
                trans = select_transitions(parsed, mz, opts.transitions, instrument, label,
                                           labelled, margin)
                light_choice = [(t.ion_type, t.ordinal) for t in trans]
            else:  # the heavy standard monitors the same fragments as its light peptide
                trans = [
                    Transition(ion, o, 1, round(fragment_mz(parsed, ion, o, 1, label, labelled), 5),
                               math.nan, quantifier=(k == 0))
                    for k, (ion, o) in enumerate(light_choice)
                ]
            out.append(
                PeptidePrecursor(
                    protein=protein,
                    modified_sequence=parsed.proforma,
                    charge=charge,
                    precursor_mz=round(mz, 5),
                    label=label,
                    labelled_residues=labelled,
                    irt=irt,
                    irt_window=opts.irt_window,
                    collision_energy=regression.energy(mz, charge),
                    irt_standard=irt_standard,
                    transitions=trans,
                )
            )
    return out


def irt_standard_precursors(opts: BuildOptions, instrument: Instrument) -> list[PeptidePrecursor]:
    """The 11 iRT standard peptides (light, charge 2) with transitions."""
    std_opts = BuildOptions(**{**asdict(opts), "charges": (2,), "heavy": False})
    out = []
    for seq, irt in IRT_STANDARDS.items():
        out += build_peptide_precursors(seq, IRT_PROTEIN, std_opts, instrument, irt=irt,
                                        irt_standard=True, heavy=False)
    return out


def build_method(
    fasta_paths: Sequence[str | Path],
    accessions: Sequence[str] | None,
    opts: BuildOptions | None = None,
    instrument: Instrument | None = None,
    name: str = "targeted method",
    biomarkers: Iterable[str] = (),
    peptides: Sequence[tuple[str, str]] = (),
    skip_missing: bool = False,
) -> Method:
    """Build a targeted method.

    Parameters
    ----------
    fasta_paths
        FASTA files; uniqueness is judged over all their target proteins.
    accessions
        Proteins to target, in order; None targets every target protein of the FASTA files in
        file order (then ``opts.max_proteins`` and ``opts.min_peptides`` decide which are kept).
    opts, instrument
        Build settings and instrument (defaults when None).
    name
        Method name.
    biomarkers
        Accessions to flag as clinical biomarkers.
    peptides
        Extra ``(protein, modified_sequence)`` targets (e.g. phospho- or acetyl-peptides), built
        as given without proteotypic filtering.
    skip_missing
        Leave out requested accessions that are not in the FASTA files (they are listed in
        ``method.provenance["missing"]``) instead of raising.

    Raises
    ------
    InputError
        When a requested accession is not in the FASTA files.
    """
    opts = opts or BuildOptions()
    instrument = instrument or Instrument()
    get_regression(instrument.ce_regression)
    proteins: list[FastaProtein] = []
    for path in fasta_paths:
        proteins += read_fasta(path)
    index_of: dict[str, int] = {}
    for i, p in enumerate(proteins):
        if not p.decoy:
            index_of.setdefault(p.accession, i)
    if accessions is None:
        wanted = list(index_of)
    else:
        missing = [a for a in accessions if a not in index_of]
        if missing and not skip_missing:
            raise InputError(
                f"{len(missing)} protein(s) not in the FASTA file(s)",
                field="proteins",
                value=", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""),
                allowed="accessions of " + ", ".join(str(p) for p in fasta_paths),
            )
        wanted = [a for a in dict.fromkeys(accessions) if a in index_of]
    digest = _digest_all(proteins, opts)
    flagged = set(biomarkers)
    method = Method(name=name, instrument=instrument)
    for acc in wanted:
        if opts.max_proteins is not None and len(method.proteins) >= opts.max_proteins:
            break
        i = index_of[acc]
        prot = proteins[i]
        cands = candidate_peptides(prot, digest.per_protein[i], digest, i, opts)
        chosen = []
        for cand in cands:
            precs = build_peptide_precursors(cand.sequence, acc, opts, instrument, irt=cand.irt)
            if precs and all(len(p.transitions) >= min(opts.transitions, 1) for p in precs):
                chosen.append(precs)
            if len(chosen) == opts.peptides_per_protein:
                break
        if len(chosen) < opts.min_peptides:
            continue
        method.proteins.append(
            Protein(acc, prot.name, prot.gene, prot.description, acc in flagged)
        )
        for precs in chosen:
            method.precursors += precs
    for prot_acc, modseq in peptides:
        method.precursors += build_peptide_precursors(modseq, prot_acc, opts, instrument)
    if opts.add_irt_standards:
        method.proteins.append(Protein(IRT_PROTEIN, "iRT", "", "iRT retention-time standards"))
        method.precursors += irt_standard_precursors(opts, instrument)
    method.provenance = {
        "builder": "msuite method build",
        "missing": [a for a in (accessions or []) if a not in index_of] or None,
        "fasta": [Path(p).name for p in fasta_paths],
        "options": {k: (list(v) if isinstance(v, tuple) else v)
                    for k, v in asdict(opts).items() if v is not None},
    }
    if method.provenance["missing"] is None:
        del method.provenance["missing"]
    return method
