"""Driver for mass spectrometers that speak the msuite MS protocol (docs/protocol.md).

:class:`MassSpectrometer` has one lock per instrument, typed methods (properties never do I/O),
bounded retries with reconnect for commands that are safe to repeat, and drains the SCPI error
queue after every command that can fail, raising :class:`InstrumentError`.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import numpy as np

from msuite.drivers.errors import (
    InstrumentError,
    ProtocolError,
)
from msuite.drivers.presets import InstrumentLimits
from msuite.drivers.protocol.blocks import BlockError
from msuite.drivers.protocol.codes import parse_error
from msuite.drivers.protocol.records import (
    DIA_WINDOW_DTYPE,
    PRM_ROW_DTYPE,
    SRM_ROW_DTYPE,
    WINDOW_UPDATE_DTYPE,
    ScanMode,
    ScanRecord,
    decode_scans,
    encode_table,
)
from msuite.drivers.retry import call_with_retry
from msuite.drivers.transport import VisaTransport

__all__ = ["Identity", "InstrumentState", "MassSpectrometer", "Readbacks"]

T = TypeVar("T")
_SYNC_TOKENS = itertools.count(1)
MAX_ERRORS_DRAINED = 40


class InstrumentState(Enum):
    """Instrument state (``STATus:STATe?``)."""

    STANDBY = "STANDBY"
    READY = "READY"
    ACQUIRING = "ACQUIRING"
    FAULT = "FAULT"


@dataclass(frozen=True, slots=True)
class Identity:
    """The ``*IDN?`` reply."""

    manufacturer: str
    model: str
    serial: str
    firmware: str


@dataclass(frozen=True, slots=True)
class Readbacks:
    """Status readbacks (``READ:ALL?``)."""

    state: InstrumentState
    vacuum_mbar: float
    source_kv: float
    source_ua: float
    capillary_c: float
    heater_c: float
    sheath_gas: float
    aux_gas: float


def _limits_from_json(text: str) -> InstrumentLimits:
    data = json.loads(text)
    data["modes"] = tuple(data["modes"])
    data["mz_range"] = tuple(data["mz_range"])
    data["scan_rate_hz"] = {float(k): float(v) for k, v in data["scan_rate_hz"].items()}
    return InstrumentLimits(**data)


class MassSpectrometer:
    """A mass spectrometer on a VISA resource.

    Parameters
    ----------
    resource
        VISA resource string (``TCPIP::127.0.0.1::5025::SOCKET``, ``ASRL/dev/pts/3::INSTR``...).
    name
        Device name used in errors (default: the model from ``*IDN?``).
    backend
        pyvisa backend (``"@py"`` by default).
    timeout_s
        Per-operation timeout.
    retries
        How many times a command that is safe to repeat is retried after a timeout or a lost
        connection (each retry reconnects first).
    transport
        A ready transport (tests); built from ``resource`` when not given.
    """

    def __init__(
        self,
        resource: str,
        *,
        name: str | None = None,
        backend: str = "@py",
        timeout_s: float = 2.0,
        retries: int = 2,
        transport: VisaTransport | None = None,
    ) -> None:
        self.resource = resource
        self.transport = transport or VisaTransport(resource, backend=backend, timeout_s=timeout_s)
        self.retries = retries
        self.name = name or resource
        self.identity: Identity | None = None
        self.limits: InstrumentLimits | None = None
        self.reconnects = 0
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ connection
    def connect(self) -> MassSpectrometer:
        """Open the session, identify the instrument, clear its status and read its limits."""
        with self._lock:
            self.transport.open()
            self.identity = self.identify()
            if self.name == self.resource:
                self.name = self.identity.model
            self.clear_status()
            self.limits = _limits_from_json(self._query("SYST:LIM?"))
        return self

    def close(self) -> None:
        """Close the session."""
        with self._lock:
            self.transport.close()

    def __enter__(self) -> MassSpectrometer:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reconnect(self) -> None:
        self.reconnects += 1
        self.transport.reopen()
        if self.transport.is_serial:
            self._resync()

    def _resync(self) -> None:
        """Discard late replies on a serial line until a fresh sync token comes back.

        Raises InstrumentTimeoutError when the token does not return within the timeout.
        """
        token = f"S{os.getpid():x}{next(_SYNC_TOKENS):x}"
        self.transport.write(f"SYST:SYNC? {token}")
        while True:
            try:
                if self.transport.read("SYST:SYNC?").strip() == token:
                    return
            except ProtocolError:
                continue  # a late binary block: keep discarding

    def _with_retry(self, what: str, op: Callable[[], T], idempotent: bool) -> T:
        with self._lock:
            return call_with_retry(
                op, self._reconnect, retries=self.retries, idempotent=idempotent
            )

    # ---------------------------------------------------------------- primitives
    def _query(self, command: str, *, idempotent: bool = True) -> str:
        reply = self._with_retry(command, lambda: self.transport.query(command), idempotent)
        if reply == "":
            self._raise_errors(command)
            raise ProtocolError("empty reply without a queued error", value=command)
        return reply

    def _write(self, command: str, *, idempotent: bool = False) -> None:
        """Send a command and drain the error queue (raises InstrumentError)."""

        def op() -> list[tuple[int, str]]:
            self.transport.write(command)
            return self._drain()

        self._raise(command, self._with_retry(command, op, idempotent))

    def _write_block(self, header: str, payload: bytes, *, idempotent: bool = True) -> None:
        def op() -> list[tuple[int, str]]:
            self.transport.write_block(header, payload)
            return self._drain()

        self._raise(header, self._with_retry(header, op, idempotent))

    def _drain(self) -> list[tuple[int, str]]:
        errors = []
        for _ in range(MAX_ERRORS_DRAINED):
            reply = self.transport.query("SYST:ERR?")
            try:
                code, text = parse_error(reply)
            except ValueError as exc:
                raise ProtocolError(str(exc), field="SYST:ERR?", value=reply) from exc
            if code == 0:
                break
            errors.append((code, text))
        return errors

    def _raise(self, command: str, errors: list[tuple[int, str]]) -> None:
        if errors:
            code, text = errors[0]
            raise InstrumentError(self.name, command, code, text, others=errors[1:])

    def _raise_errors(self, command: str) -> None:
        with self._lock:
            self._raise(command, self._drain())

    # --------------------------------------------------------- IEEE 488.2 commons
    def identify(self) -> Identity:
        """``*IDN?``."""
        parts = [p.strip() for p in self._query("*IDN?").split(",")]
        if len(parts) != 4:
            raise ProtocolError("*IDN? reply does not have 4 fields", value=",".join(parts))
        return Identity(*parts)

    def reset(self) -> None:
        """``*RST``: settings to defaults, acquisition stopped."""
        self._write("*RST", idempotent=True)

    def clear_status(self) -> None:
        """``*CLS``: clear the error queue and the event status register."""
        with self._lock:
            self._with_retry("*CLS", lambda: self.transport.write("*CLS"), True)

    def wait_complete(self) -> None:
        """``*OPC?``: wait until pending operations are complete."""
        self._query("*OPC?")

    def event_status(self) -> int:
        """``*ESR?`` (reading clears it)."""
        return int(self._query("*ESR?", idempotent=False))

    def status_byte(self) -> int:
        """``*STB?``."""
        return int(self._query("*STB?"))

    def self_test(self) -> int:
        """``*TST?``: 0 when the self test passed."""
        return int(self._query("*TST?"))

    def errors(self) -> list[tuple[int, str]]:
        """Drain the error queue and return its entries (code, text)."""
        with self._lock:
            return self._with_retry("SYST:ERR?", self._drain, False)

    def check_errors(self, command: str = "") -> None:
        """Drain the error queue; raise InstrumentError for the first entry, if any."""
        self._raise(command, self.errors())

    # --------------------------------------------------------------- status/source
    def state(self) -> InstrumentState:
        """Instrument state."""
        return InstrumentState(self._query("STAT:STAT?"))

    def readbacks(self) -> Readbacks:
        """Vacuum, source voltage/current, temperatures, gas flows and state in one reply."""
        f = self._query("READ:ALL?").split(",")
        if len(f) != 8:
            raise ProtocolError("READ:ALL? reply does not have 8 fields", value=",".join(f))
        return Readbacks(InstrumentState(f[0]), *(float(x) for x in f[1:]))

    def source_on(self) -> None:
        """Switch the ion source on (STANDBY -> READY)."""
        self._write("SOUR:STAT ON", idempotent=True)

    def source_off(self) -> None:
        """Switch the ion source off."""
        self._write("SOUR:STAT OFF", idempotent=True)

    def set_source_voltage(self, kv: float) -> None:
        """Spray voltage in kV."""
        self._write(f"SOUR:VOLT {kv:.4f}", idempotent=True)

    # -------------------------------------------------------------------- method
    def set_mode(self, mode: ScanMode | str) -> None:
        """Scan mode for the next run."""
        name = mode.name if isinstance(mode, ScanMode) else str(mode).upper()
        self._write(f"CONF:MODE {name}", idempotent=True)

    def configure_full(
        self, low: float, high: float, resolution: float = 0.0, centroid: bool = False
    ) -> None:
        """FULL scan range, resolution (0: instrument default) and profile/centroid."""
        kind = "CENT" if centroid else "PROF"
        self._write(f"CONF:FULL {low:g},{high:g},{resolution:g},{kind}", idempotent=True)

    def upload_srm(self, table: np.ndarray) -> None:
        """Upload an SRM transition table (rows of ``SRM_ROW_DTYPE`` fields)."""
        self._write_block("METH:SRM:DATA", encode_table(table, SRM_ROW_DTYPE))

    def upload_prm(self, table: np.ndarray) -> None:
        """Upload a PRM precursor table (rows of ``PRM_ROW_DTYPE`` fields)."""
        self._write_block("METH:PRM:DATA", encode_table(table, PRM_ROW_DTYPE))

    def upload_dia(self, table: np.ndarray) -> None:
        """Upload DIA isolation windows (rows of ``DIA_WINDOW_DTYPE`` fields)."""
        self._write_block("METH:DIA:DATA", encode_table(table, DIA_WINDOW_DTYPE))

    def update_windows(self, mode: ScanMode, updates: np.ndarray) -> None:
        """Move the RT windows of scheduled rows (also during a run): (id, start, stop)."""
        if mode not in (ScanMode.SRM, ScanMode.PRM):
            raise ValueError("windows can be updated for SRM and PRM tables only")
        self._write_block(f"METH:{mode.name}:WIND", encode_table(updates, WINDOW_UPDATE_DTYPE))

    def table_size(self, mode: ScanMode) -> int:
        """Rows in the loaded SRM/PRM/DIA table."""
        return int(self._query(f"METH:{mode.name}:COUN?"))

    # ------------------------------------------------------------------ acquisition
    def set_duration(self, seconds: float) -> None:
        """Run length in seconds."""
        self._write(f"ACQ:DUR {seconds:g}", idempotent=True)

    def set_trigger(self, external: bool) -> None:
        """Start immediately (False) or on the external contact closure (True)."""
        self._write(f"ACQ:TRIG:SOUR {'EXT' if external else 'IMM'}", idempotent=True)

    def arm(self) -> None:
        """Arm: the next trigger starts the run."""
        self._write("ACQ:ARM", idempotent=True)

    def start(self) -> None:
        """Start the run (or arm it when the trigger source is external)."""
        self._write("ACQ:STAR")

    def trigger(self) -> None:
        """Send the trigger (``*TRG``, the LC's contact closure) to an armed instrument."""
        self._write("*TRG")

    def stop(self) -> None:
        """Stop the run at once; acquired scans stay fetchable."""
        self._write("ACQ:STOP", idempotent=True)

    def abort(self) -> None:
        """Abort the run."""
        self._write("ACQ:ABOR", idempotent=True)

    def acquisition_state(self) -> str:
        """IDLE, ARMED, RUNNING, DONE, ABORTED or FAULT."""
        return self._query("ACQ:STAT?")

    def run_time(self) -> float:
        """Seconds since the current run started (instrument clock)."""
        return float(self._query("ACQ:TIME?"))

    def run_number(self) -> int:
        """Number of runs started since power-on (the current or last run)."""
        return int(self._query("ACQ:RUN?"))

    def next_sequence(self) -> int:
        """Sequence number the next scan will get."""
        return int(self._query("FETC:NEXT?"))

    def fetch_scans(self, from_seq: int, max_count: int = 10_000) -> list[ScanRecord]:
        """Scans with sequence number >= ``from_seq`` (at most ``max_count``).

        Safe to retry (the instrument keeps recent scans), so a lost connection or a damaged
        block is retried after a reconnect.
        """
        command = f"FETC:SCAN? {int(from_seq)},{int(max_count)}"

        def op() -> list[ScanRecord] | None:
            payload = self.transport.query_block(command)
            if payload is None:
                return None
            try:
                return decode_scans(payload)
            except BlockError as exc:
                raise ProtocolError(f"bad scan records: {exc.message}", value=command) from exc

        records = self._with_retry(command, op, True)
        if records is None:
            self._raise_errors(command)
            raise ProtocolError("empty reply without a queued error", value=command)
        return records

    def stream(
        self,
        from_seq: int | None = None,
        *,
        callback: Callable[[ScanRecord], Any] | None = None,
        poll_s: float = 0.005,
        batch: int = 10_000,
    ) -> Any:
        """Start a :class:`~msuite.drivers.streaming.ScanStreamer` on this instrument."""
        from msuite.drivers.streaming import ScanStreamer

        return ScanStreamer(self, from_seq, callback=callback, poll_s=poll_s, batch=batch).start()

    def __repr__(self) -> str:
        return f"MassSpectrometer({self.resource!r}, name={self.name!r})"

