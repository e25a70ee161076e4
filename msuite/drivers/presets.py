"""Instrument presets: the limits of the instrument classes the simulator can play.

The figures come from the manufacturers' public product specification sheets named beside each
preset; where a sheet gives no number the value is derived and the derivation is stated. The
simulator enforces these limits; the driver exposes them as ``MassSpectrometer.limits``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from msuite.core.errors import InputError

__all__ = ["PRESETS", "InstrumentLimits", "get_preset"]


@dataclass(frozen=True, slots=True)
class InstrumentLimits:
    """Limits of one instrument class.

    Attributes
    ----------
    name
        Preset name (``msuite sim start --preset NAME``).
    model
        Model string reported by ``*IDN?``.
    kind
        ``"triple_quad"``, ``"orbitrap"`` or ``"ion_trap"``.
    source
        The public document the figures are taken from.
    modes
        Scan modes the instrument supports.
    mz_range
        Lowest and highest m/z it can select or scan.
    max_srm_per_s
        Highest SRM rate (transitions per second), 0 if not an SRM instrument.
    min_dwell_ms
        Shortest dwell time per transition.
    inter_scan_pause_ms
        Pause between transitions (settling time), counted in the cycle.
    max_transitions
        Most timed transitions (SRM rows) or targets (PRM rows) in one method.
    scan_rate_hz
        MS/MS scan rate by resolution setting (resolution -> Hz); for ion traps, one entry.
    fill_time_ms
        Default maximum ion fill (injection) time for PRM/FULL scans.
    resolution_ms1
        Resolving power used for FULL profile scans (at m/z 200).
    mass_error_ppm
        Typical mass accuracy (standard deviation of the simulated error).
    saturation_counts
        Detector ceiling per point; larger signals are clipped and flagged.
    """

    name: str
    model: str
    kind: str
    source: str
    modes: tuple[str, ...]
    mz_range: tuple[float, float]
    max_srm_per_s: float = 0.0
    min_dwell_ms: float = 0.0
    inter_scan_pause_ms: float = 0.0
    max_transitions: int = 0
    scan_rate_hz: dict[float, float] = field(default_factory=dict)
    fill_time_ms: float = 50.0
    resolution_ms1: float = 0.0
    mass_error_ppm: float = 3.0
    saturation_counts: float = 1e9

    def as_dict(self) -> dict[str, Any]:
        """Return the limits as a JSON-serialisable dictionary."""
        data = asdict(self)
        data["scan_rate_hz"] = {str(k): v for k, v in self.scan_rate_hz.items()}
        return data

    def prm_scan_rate(self, resolution: float) -> float:
        """Scan rate (Hz) at ``resolution``; raises InputError for an unsupported setting."""
        if not self.scan_rate_hz:
            raise InputError(
                "instrument has no PRM scan rates", field="resolution", value=resolution
            )
        if len(self.scan_rate_hz) == 1:
            return next(iter(self.scan_rate_hz.values()))
        if resolution not in self.scan_rate_hz:
            raise InputError(
                "resolution setting not supported",
                field="resolution",
                value=resolution,
                allowed=sorted(self.scan_rate_hz),
            )
        return self.scan_rate_hz[resolution]


PRESETS: dict[str, InstrumentLimits] = {
    # Thermo Scientific TSQ Altis triple quadrupole, product specifications sheet: SRM speed
    # "up to 600 SRM/s"; minimum dwell 0.1 ms; up to 30,000 timed SRM transitions per method.
    # Inter-scan pause: 600 SRM/s leaves 1.667 ms per transition; with dwell at minimum the rest
    # (about 1.5 ms) is settling, which is the pause used here.
    "tq": InstrumentLimits(
        name="tq",
        model="SIM-TQ600",
        kind="triple_quad",
        source="Thermo Scientific TSQ Altis product specifications (public data sheet)",
        modes=("FULL", "SRM"),
        mz_range=(5.0, 2000.0),
        max_srm_per_s=600.0,
        min_dwell_ms=0.1,
        inter_scan_pause_ms=1.5,
        max_transitions=30000,
        fill_time_ms=0.0,
        resolution_ms1=1500.0,  # unit resolution (0.7 FWHM) at m/z ~1000
        mass_error_ppm=50.0,
        saturation_counts=5e8,
    ),
    # Orbitrap Exploris 480-class: MS/MS scan rate by resolution setting as in the Orbitrap
    # Exploris 480 specification sheet (about 22 Hz at 15,000 and 13 Hz at 30,000 at m/z 200);
    # 7.5k/60k/120k follow from the transient lengths doubling per step.
    "orbitrap": InstrumentLimits(
        name="orbitrap",
        model="SIM-OT480",
        kind="orbitrap",
        source="Thermo Scientific Orbitrap Exploris 480 specifications (public data sheet)",
        modes=("FULL", "PRM", "DIA"),
        mz_range=(40.0, 6000.0),
        max_transitions=5000,
        scan_rate_hz={7500.0: 40.0, 15000.0: 22.0, 30000.0: 13.0, 60000.0: 7.0, 120000.0: 3.5},
        fill_time_ms=22.0,
        resolution_ms1=60000.0,
        mass_error_ppm=1.5,
        saturation_counts=5e9,
    ),
    # Thermo Scientific Stellar MS (hybrid quadrupole / linear ion trap) product sheet:
    # "up to 140 Hz" acquisition rate for targeted MS/MS; up to 5,000 peptides per method.
    "iontrap": InstrumentLimits(
        name="iontrap",
        model="SIM-LIT140",
        kind="ion_trap",
        source="Thermo Scientific Stellar mass spectrometer product specifications",
        modes=("FULL", "PRM", "DIA"),
        mz_range=(50.0, 2000.0),
        max_transitions=5000,
        scan_rate_hz={0.0: 140.0},
        fill_time_ms=5.0,
        resolution_ms1=2000.0,
        mass_error_ppm=100.0,
        saturation_counts=1e8,
    ),
}


def get_preset(name: str) -> InstrumentLimits:
    """Return the preset called ``name``; raises InputError naming the known presets."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(
            "unknown instrument preset", field="preset", value=name, allowed=", ".join(PRESETS)
        ) from None
