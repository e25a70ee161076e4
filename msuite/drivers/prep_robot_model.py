"""Typed model of the sample-prep robot: steps, protocols and readbacks (no I/O here).

:class:`PrepStep` and :class:`PrepProtocol` validate on construction with the same rules the
robot applies (:mod:`msuite.drivers.protocol.prep_robot_codes`), raising
:class:`~msuite.core.errors.InputError` that names the step field, the value and what is
allowed, so a bad protocol never reaches the wire.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from msuite.core.errors import InputError
from msuite.drivers.protocol.prep_robot_codes import (
    ALL_WELLS,
    DoorState,
    FailReason,
    RobotState,
    StepName,
    WellState,
    check_step_fields,
    format_fields,
    parse_wells,
    step_name,
)

__all__ = [
    "PlateStatus",
    "PrepProtocol",
    "PrepStep",
    "Reservoir",
    "RobotIdentity",
    "RobotStatus",
    "StepProgress",
    "TipInventory",
    "WellStatus",
    "default_clinical_protocol",
]

#: Wire key of each step attribute.
_ATTR_KEY = {
    "reagent": "REAG",
    "volume_ul": "VOL",
    "minutes": "MIN",
    "hours": "HRS",
    "temp_c": "TEMP",
    "dark": "DARK",
}
_KEY_ATTR = {v: k for k, v in _ATTR_KEY.items()}
MAX_PROTOCOL_STEPS = 32


@dataclass(frozen=True, slots=True)
class PrepStep:
    """One plate-level step on a well selection.

    Parameters
    ----------
    name
        DENATURE, REDUCE, ALKYLATE, DIGEST, QUENCH, SPE or SPIKE (case-insensitive).
    wells
        ``ALL`` (every sample well) or wells and rectangles: ``"A1:H6,B7"``.
    reagent
        Reservoir the reagent is taken from (uL ``volume_ul`` per well).
    volume_ul
        Volume added per well, 0.5-500 uL.
    minutes
        Incubation, 0-240 min (DIGEST uses ``hours``).
    hours
        DIGEST incubation, 0.1-48 h.
    temp_c
        Incubation temperature, 4-100 C.
    dark
        ALKYLATE only: incubate protected from light (default True on the robot).
    """

    name: StepName
    wells: str = ALL_WELLS
    reagent: str | None = None
    volume_ul: float | None = None
    minutes: float | None = None
    hours: float | None = None
    temp_c: float | None = None
    dark: bool | None = None

    def __post_init__(self) -> None:
        name = step_name(self.name)
        object.__setattr__(self, "name", name)
        wells = ",".join(self.wells) if not isinstance(self.wells, str) else self.wells
        parse_wells(wells, 384)  # the plate type is checked again by the robot
        object.__setattr__(self, "wells", wells.upper().replace(" ", ""))
        given = {key: getattr(self, attr) for attr, key in _ATTR_KEY.items()}
        given = {
            k: (int(v) if isinstance(v, bool) else v) for k, v in given.items() if v is not None
        }
        try:
            checked = check_step_fields(name, given)
        except InputError as exc:
            key = (exc.field or "").rpartition(".")[2]
            raise InputError(
                exc.message,
                field=f"{name.value}.{_KEY_ATTR.get(key, key)}",
                value=exc.value,
                allowed=exc.allowed,
            ) from None
        for key, value in checked.items():  # normalised values, defaults filled in
            attr = _KEY_ATTR[key]
            if attr == "dark":
                value = bool(value)
            object.__setattr__(self, attr, value)

    def wire_fields(self) -> dict[str, float | str]:
        """The step's fields by wire key (defaults filled in)."""
        given = {key: getattr(self, attr) for attr, key in _ATTR_KEY.items()}
        given = {
            k: (int(v) if isinstance(v, bool) else v) for k, v in given.items() if v is not None
        }
        return check_step_fields(self.name, given)

    def wire_args(self) -> tuple[str, ...]:
        """Arguments of the step command: selection and ``KEY=value`` tokens."""
        return (self.wells, *format_fields(self.wire_fields()).split())

    @classmethod
    def from_wire(cls, text: str) -> PrepStep:
        """Parse ``NAME <sel> KEY=value ...`` (a ``PROT? i`` reply)."""
        tokens = text.split()
        if not tokens:
            raise InputError("empty step", field="step", value=text)
        name, rest = tokens[0], tokens[1:]
        wells = ALL_WELLS
        if rest and "=" not in rest[0]:
            wells, rest = rest[0], rest[1:]
        kwargs: dict[str, str] = {}
        for tok in rest:
            key, _, value = tok.partition("=")
            attr = _KEY_ATTR.get(key.upper())
            if attr is None:
                raise InputError(
                    "unknown step field", field="step", value=tok, allowed=" ".join(_KEY_ATTR)
                )
            kwargs[attr] = value  # validated and converted by __post_init__
        return cls(name, wells, **kwargs)  # type: ignore[arg-type]

    def incubation_s(self) -> float:
        """Incubation time in seconds."""
        fields = self.wire_fields()
        if "HRS" in fields:
            return float(fields["HRS"]) * 3600.0
        return float(fields.get("MIN", 0.0)) * 60.0


@dataclass(frozen=True, slots=True)
class PrepProtocol:
    """An ordered list of steps run as one job (``RUN``); its wells end READY."""

    steps: tuple[PrepStep, ...]
    name: str = field(default="protocol", compare=False)

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        object.__setattr__(self, "steps", steps)
        if not 1 <= len(steps) <= MAX_PROTOCOL_STEPS:
            raise InputError(
                "a protocol needs steps",
                field="steps",
                value=len(steps),
                allowed=f"1..{MAX_PROTOCOL_STEPS} steps",
            )
        for i, step in enumerate(steps):
            if not isinstance(step, PrepStep):
                raise InputError(
                    "not a PrepStep", field=f"steps[{i}]", value=step, allowed="PrepStep"
                )

    def reagent_needs_ul(self, n_wells: int) -> dict[str, float]:
        """Reagent volume (uL) the protocol draws from each reservoir for ``n_wells`` wells."""
        need: dict[str, float] = {}
        for step in self.steps:
            if step.reagent is not None and step.volume_ul is not None:
                need[step.reagent] = need.get(step.reagent, 0.0) + step.volume_ul * n_wells
        return need

    def duration_s(self, n_wells: int, dispense_s: float = 6.0) -> float:
        """Estimated run time for ``n_wells`` wells (dispensing plus incubations)."""
        return sum(
            (dispense_s * n_wells if s.reagent else 0.0) + s.incubation_s() for s in self.steps
        )


def default_clinical_protocol(wells: str | Iterable[str] = ALL_WELLS) -> PrepProtocol:
    """Bottom-up plasma proteomics prep for targeted LC-MS (in-solution tryptic digest).

    Values a clinical proteomics lab would recognise (per well, ~10 uL diluted plasma):

    - denature: sodium deoxycholate buffer (SDC, ~1% final), 95 C for 10 min;
    - reduce: dithiothreitol (DTT, ~5-10 mM final), 60 C for 30 min (typically 56-60 C,
      30-60 min);
    - alkylate: iodoacetamide (IAA, ~15-20 mM final, about twice the DTT), room temperature,
      30 min in the dark;
    - digest: sequencing-grade trypsin at ~1:20-1:50 (w/w) enzyme:protein, 37 C overnight (16 h);
    - quench: formic acid (FA) to ~1% v/v (pH < 3; also precipitates the SDC), 5 min;
    - SPE: C18 plate clean-up, eluted with 50% acetonitrile / 0.1% FA (ACN50), 100 uL;
    - spike: stable-isotope-labelled (SIL) peptide standards, 10 uL.
    """
    sel = wells if isinstance(wells, str) else ",".join(wells)
    return PrepProtocol(
        (
            PrepStep(StepName.DENATURE, sel, reagent="SDC", volume_ul=20, minutes=10, temp_c=95),
            PrepStep(StepName.REDUCE, sel, reagent="DTT", volume_ul=10, minutes=30, temp_c=60),
            PrepStep(
                StepName.ALKYLATE,
                sel,
                reagent="IAA",
                volume_ul=10,
                minutes=30,
                temp_c=22,
                dark=True,
            ),
            PrepStep(StepName.DIGEST, sel, reagent="TRYPSIN", volume_ul=10, hours=16, temp_c=37),
            PrepStep(StepName.QUENCH, sel, reagent="FA", volume_ul=10, minutes=5, temp_c=22),
            PrepStep(StepName.SPE, sel, reagent="ACN50", volume_ul=100, minutes=30),
            PrepStep(StepName.SPIKE, sel, reagent="SIL", volume_ul=10, minutes=1, temp_c=22),
        ),
        name="clinical-plasma-trypsin",
    )


# ------------------------------------------------------------------------------ readbacks
@dataclass(frozen=True, slots=True)
class RobotIdentity:
    """The ``IDN?`` reply."""

    manufacturer: str
    model: str
    serial: str
    firmware: str


@dataclass(frozen=True, slots=True)
class RobotStatus:
    """The ``STAT?`` reply."""

    state: RobotState
    door: DoorState
    plate_id: str | None
    fault_code: int
    pause_reason: str | None
    sim_time_s: float


@dataclass(frozen=True, slots=True)
class WellStatus:
    """One well's status; ``reason`` is set for FAILED wells."""

    state: WellState
    reason: FailReason | None = None

    @classmethod
    def parse(cls, text: str) -> WellStatus:
        """``READY`` or ``FAILED:TIP``."""
        state, _, reason = text.partition(":")
        return cls(WellState(state), FailReason(reason) if reason else None)


@dataclass(frozen=True, slots=True)
class PlateStatus:
    """The ``PLATE?`` reply: plate identity and how many wells are in each status."""

    plate_id: str
    plate_type: int
    samples: int
    run: str
    counts: dict[WellState, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reservoir:
    """A reagent reservoir (``RSV?``)."""

    name: str
    level_ul: float
    capacity_ul: float


@dataclass(frozen=True, slots=True)
class TipInventory:
    """Tips left on the deck (``TIPS?``)."""

    left: int
    capacity: int


@dataclass(frozen=True, slots=True)
class StepProgress:
    """Progress of the running step or protocol (``PROG?``).

    ``run`` is PROTOCOL or STEP while a job exists, else how the last one ended (NONE, DONE,
    ABORTED); ``fraction`` is the share of the current step done; ``left_s`` the simulated or
    real seconds left for the whole job.
    """

    run: str
    step: StepName | None
    index: int
    steps: int
    phase: str | None
    done: int
    wells: int
    fraction: float
    left_s: float
