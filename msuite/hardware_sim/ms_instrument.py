"""The simulated mass spectrometer: command handling, state machine, error queue, faults.

One :class:`SimulatedMassSpec` is shared by every client of a server; each command runs under
its lock. The transport (TCP or pty) only moves bytes: see :mod:`msuite.hardware_sim.server`.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from msuite import __version__
from msuite.drivers.presets import InstrumentLimits, get_preset
from msuite.drivers.protocol.blocks import BlockError
from msuite.drivers.protocol.codes import ErrorCode, format_error
from msuite.drivers.protocol.grammar import Command, HeaderTable
from msuite.drivers.protocol.records import (
    DIA_WINDOW_DTYPE,
    PRM_ROW_DTYPE,
    SRM_ROW_DTYPE,
    WINDOW_UPDATE_DTYPE,
    ScanMode,
    decode_table,
)
from msuite.hardware_sim.clock import SimClock
from msuite.hardware_sim.ms_faults import FaultInjectionMixin, FaultPlan
from msuite.hardware_sim.ms_replies import BlockReply, CommandRejectedError
from msuite.hardware_sim.ms_replies import parse_float as _parse_float
from msuite.hardware_sim.ms_state import FullSettings, RunState, ScanBuffer
from msuite.hardware_sim.physics import AnalyteArrays
from msuite.hardware_sim.sample import RtModel, SampleSpec, build_sample, default_sample

__all__ = ["BlockReply", "CommandRejectedError", "FaultPlan", "SimulatedMassSpec"]

ERROR_QUEUE_DEPTH = 32
FETCH_MAX_BYTES = 4 * 1024 * 1024
VACUUM_OK_MBAR = 2.0e-9
VACUUM_FAULT_MBAR = 5.0e-4


class SimulatedMassSpec(FaultInjectionMixin):
    """A mass spectrometer that speaks the msuite MS protocol.

    Parameters
    ----------
    preset
        Instrument preset name (see :data:`msuite.drivers.presets.PRESETS`).
    speed
        Clock speed (simulated seconds per wall second).
    seed
        Random seed: the same seed gives the same data.
    sample
        The analytes in the virtual sample (default: iRT peptides and a plasma panel).
    faults
        Faults armed from the start.
    serial
        Serial number reported by ``*IDN?``.
    clock
        A clock shared with other simulated devices (a new one at ``speed`` when None).
    """

    def __init__(
        self,
        preset: str = "tq",
        *,
        speed: float = 100.0,
        seed: int = 0,
        sample: list[SampleSpec] | None = None,
        faults: FaultPlan | None = None,
        serial: str = "SN0001",
        clock: SimClock | None = None,
    ) -> None:
        self.limits: InstrumentLimits = get_preset(preset)
        self.clock = clock if clock is not None else SimClock(speed)
        self.seed = seed
        self.serial = serial
        self.sample_specs = sample if sample is not None else default_sample()
        self.faults = faults or FaultPlan()
        self.lock = threading.RLock()
        self.buffer = ScanBuffer()
        self._errors: deque[str] = deque()
        self._esr = 0
        self._reset_settings()
        self.run_number = 0
        self.run: RunState | None = None
        self.vacuum_mbar = VACUUM_OK_MBAR
        self.state = "STANDBY"
        self.acq_state = "IDLE"
        self._handlers = self._command_table()
        self._headers = HeaderTable([k for k in self._handlers if k[0] != "*"])
        self._short = {
            self._headers.canonical(k.rstrip("?").upper()) + ("?" if k.endswith("?") else ""): h
            for k, h in self._handlers.items()
        }

    # ----------------------------------------------------------------- settings and errors
    def _reset_settings(self) -> None:
        self.mode = ScanMode.FULL if "SRM" not in self.limits.modes else ScanMode.SRM
        self.full = FullSettings()
        self.srm_table = np.zeros(0, dtype=SRM_ROW_DTYPE)
        self.prm_table = np.zeros(0, dtype=PRM_ROW_DTYPE)
        self.dia_table = np.zeros(0, dtype=DIA_WINDOW_DTYPE)
        self.duration_s = 3600.0
        self.trigger = "IMM"
        self.source_on = False
        self.source_kv = 3.5
        self.spray = 1.0

    def push_error(self, code: int, detail: str = "") -> None:
        """Queue an error (the last slot becomes -350 when the queue is full)."""
        if len(self._errors) >= ERROR_QUEUE_DEPTH:
            self._errors[-1] = format_error(ErrorCode.QUEUE_OVERFLOW)
            return
        self._errors.append(format_error(code, detail))
        if -199 <= code <= -100:
            self._esr |= 32
        elif -299 <= code <= -200:
            self._esr |= 16
        elif -499 <= code <= -400:
            self._esr |= 4
        else:
            self._esr |= 8

    # ----------------------------------------------------------------------- run control
    def _run_time(self) -> float:
        if self.run is None:
            return 0.0
        return self.clock.now() - self.run.start_instrument_s

    def catch_up(self) -> None:
        """Generate scans due by now; apply scheduled faults; end finished runs."""
        run = self.run
        if run is None or self.acq_state != "RUNNING":
            return
        now = self._run_time()
        events: list[tuple[float, Callable[[], None]]] = []
        f = self.faults
        if f.vacuum_at is not None:
            events.append((f.vacuum_at, self._vacuum_fault))
        if f.spray_at is not None:
            events.append((f.spray_at, self._spray_loss))
        if f.gap_at is not None:
            events.append((f.gap_at, self._gap))
        for at, action in sorted(events, key=lambda e: e[0]):
            if at <= now and self.acq_state == "RUNNING":
                run.catch_up(at, self.buffer)
                action()
        if self.acq_state == "RUNNING":
            run.catch_up(now, self.buffer)
            if now >= run.duration_s:
                self.acq_state = "DONE"
                self.state = "READY"

    def _vacuum_fault(self) -> None:
        self.faults.vacuum_at = None
        self.vacuum_mbar = VACUUM_FAULT_MBAR
        self.state = "FAULT"
        self.acq_state = "FAULT"
        self.source_on = False
        self.push_error(ErrorCode.VACUUM_FAULT, "analyser pressure above limit; run aborted")

    def _spray_loss(self) -> None:
        self.faults.spray_at = None
        self.spray = 0.02
        if self.run is not None:
            self.run.spray = self.spray
        self.push_error(ErrorCode.SPRAY_UNSTABLE, "spray current dropped")

    def _gap(self) -> None:
        self.faults.gap_at = None
        self.buffer.skip()

    def _start_run(self, at_s: float | None = None) -> None:
        table = {
            ScanMode.SRM: self.srm_table,
            ScanMode.PRM: self.prm_table,
            ScanMode.DIA: self.dia_table,
        }.get(self.mode)
        if table is not None and table.size == 0:
            raise CommandRejectedError(ErrorCode.NO_METHOD, f"no {self.mode.name} table loaded")
        self.run_number += 1
        rng = np.random.default_rng([self.seed, self.run_number, 2**31])
        rt_model = RtModel.drifted(self.duration_s, rng)
        analytes = build_sample(
            self.sample_specs, rt_model, np.random.default_rng([self.seed, self.run_number])
        )
        self.run = RunState(
            mode=self.mode,
            limits=self.limits,
            arrays=AnalyteArrays(analytes),
            seed=self.seed,
            run_number=self.run_number,
            start_instrument_s=self.clock.now() if at_s is None else min(at_s, self.clock.now()),
            duration_s=self.duration_s,
            srm=self.srm_table.copy() if self.mode == ScanMode.SRM else None,
            prm=self.prm_table.copy() if self.mode == ScanMode.PRM else None,
            dia=self.dia_table.copy() if self.mode == ScanMode.DIA else None,
            full=FullSettings(
                self.full.low, self.full.high, self.full.resolution, self.full.centroid
            ),
            spray=self.spray,
        )
        self.state = "ACQUIRING"
        self.acq_state = "RUNNING"

    # --------------------------------------------------------------------- the dispatcher
    def handle(self, cmd: Command) -> str | BlockReply | None:
        """Execute one command; returns the reply (None for commands without one).

        A query that fails returns ``""`` (an empty response line) and queues its error.
        """
        with self.lock:
            self.catch_up()
            key = self._headers.canonical(cmd.header) + ("?" if cmd.query else "")
            handler = self._short.get(key)
            try:
                if handler is None:
                    raise CommandRejectedError(ErrorCode.UNDEFINED_HEADER, cmd.key)
                return handler(cmd)
            except CommandRejectedError as exc:
                self.push_error(exc.code, exc.detail)
            except BlockError as exc:
                self.push_error(ErrorCode.INVALID_BLOCK_DATA, str(exc))
            except (ValueError, IndexError) as exc:
                self.push_error(ErrorCode.ILLEGAL_PARAMETER_VALUE, str(exc))
            return "" if cmd.query else None

    def parse_error_reply(self) -> None:
        """Queue the error for a program message that could not be parsed."""
        with self.lock:
            self.push_error(ErrorCode.SYNTAX_ERROR)

    def _command_table(self) -> dict[str, Callable[[Command], Any]]:
        return {
            "*IDN?": lambda c: f"msuite,{self.limits.model},{self.serial},{__version__}",
            "*RST": self._rst,
            "*CLS": self._cls,
            "*OPC?": lambda c: "1",
            "*ESR?": self._esr_query,
            "*STB?": lambda c: str((4 if self._errors else 0) | (32 if self._esr else 0)),
            "*TST?": lambda c: "0" if self.vacuum_mbar < 1e-6 else "1",
            "*TRG": self._trg,
            "SYSTem:ERRor?": lambda c: self._errors.popleft() if self._errors else format_error(0),
            "SYSTem:ERRor:COUNt?": lambda c: str(len(self._errors)),
            "SYSTem:PRESet?": lambda c: self.limits.name,
            "SYSTem:LIMits?": lambda c: json.dumps(self.limits.as_dict(), separators=(",", ":")),
            "SYSTem:CLOCk?": lambda c: f"{self.clock.now():.6f}",
            "SYSTem:SYNC?": lambda c: self._arg(c, 0),
            "SYSTem:FAULt:CLEar": self._fault_clear,
            "STATus:STATe?": lambda c: self.state,
            "READ:VACuum?": lambda c: f"{self.vacuum_mbar:.3e}",
            "READ:SOURce:VOLTage?": lambda c: f"{self.source_kv if self.source_on else 0.0:.3f}",
            "READ:SOURce:CURRent?": lambda c: f"{self._spray_current():.3f}",
            "READ:TEMPerature?": lambda c: "320.0,350.0" if self.source_on else "40.0,40.0",
            "READ:GAS?": lambda c: "40.0,10.0" if self.source_on else "0.0,0.0",
            "READ:ALL?": self._read_all,
            "SOURce:STATe": self._source_state,
            "SOURce:STATe?": lambda c: "ON" if self.source_on else "OFF",
            "SOURce:VOLTage": self._source_volt,
            "SOURce:VOLTage?": lambda c: f"{self.source_kv:.3f}",
            "CONFigure:MODE": self._conf_mode,
            "CONFigure:MODE?": lambda c: self.mode.name,
            "CONFigure:FULL": self._conf_full,
            "CONFigure:FULL?": lambda c: (
                f"{self.full.low:g},{self.full.high:g},"
                f"{self.full.resolution:g},{'CENT' if self.full.centroid else 'PROF'}"
            ),
            "METHod:SRM:DATA": self._srm_data,
            "METHod:SRM:COUNt?": lambda c: str(self.srm_table.size),
            "METHod:PRM:DATA": self._prm_data,
            "METHod:PRM:COUNt?": lambda c: str(self.prm_table.size),
            "METHod:DIA:DATA": self._dia_data,
            "METHod:DIA:COUNt?": lambda c: str(self.dia_table.size),
            "METHod:SRM:WINDow": lambda c: self._window(c, ScanMode.SRM),
            "METHod:PRM:WINDow": lambda c: self._window(c, ScanMode.PRM),
            "ACQuire:DURation": self._duration,
            "ACQuire:DURation?": lambda c: f"{self.duration_s:g}",
            "ACQuire:TRIGger:SOURce": self._trigger_source,
            "ACQuire:TRIGger:SOURce?": lambda c: self.trigger,
            "ACQuire:ARM": self._arm,
            "ACQuire:STARt": self._start,
            "ACQuire:STOP": self._stop,
            "ACQuire:ABORt": self._abort,
            "ACQuire:STATe?": lambda c: self.acq_state,
            "ACQuire:TIME?": lambda c: f"{self._run_time():.6f}",
            "ACQuire:RUN?": lambda c: str(self.run_number),
            "FETCh:SCAN?": self._fetch,
            "FETCh:NEXT?": lambda c: str(self.buffer.next_seq),
            "SIMulation:FAULt": self._sim_fault,
            "SIMulation:SPEed": lambda c: self.clock.set_speed(_parse_float(self._arg(c, 0))),
            "SIMulation:SPEed?": lambda c: f"{self.clock.speed:g}",
        }

    # ------------------------------------------------------------------------- handlers
    @staticmethod
    def _arg(cmd: Command, i: int) -> str:
        if len(cmd.args) <= i:
            raise CommandRejectedError(
                ErrorCode.MISSING_PARAMETER, f"{cmd.key} needs argument {i + 1}"
            )
        return cmd.args[i]

    def _rst(self, cmd: Command) -> None:
        self._reset_settings()
        self.run = None
        self.acq_state = "IDLE"
        if self.state != "FAULT":
            self.state = "STANDBY"

    def _cls(self, cmd: Command) -> None:
        self._errors.clear()
        self._esr = 0

    def _esr_query(self, cmd: Command) -> str:
        value, self._esr = self._esr, 0
        return str(value | 1)

    def _spray_current(self) -> float:
        return 0.45 * self.spray if self.source_on else 0.0

    def _read_all(self, cmd: Command) -> str:
        t_cap, t_heat = (320.0, 350.0) if self.source_on else (40.0, 40.0)
        sheath, aux = (40.0, 10.0) if self.source_on else (0.0, 0.0)
        kv = self.source_kv if self.source_on else 0.0
        return (
            f"{self.state},{self.vacuum_mbar:.3e},{kv:.3f},{self._spray_current():.3f},"
            f"{t_cap:.1f},{t_heat:.1f},{sheath:.1f},{aux:.1f}"
        )

    def _require_not_running(self) -> None:
        if self.acq_state == "RUNNING":
            raise CommandRejectedError(ErrorCode.ACQUISITION_RUNNING)

    def _source_state(self, cmd: Command) -> None:
        on = self._arg(cmd, 0).upper() in ("ON", "1")
        if on:
            if self.state == "FAULT":
                raise CommandRejectedError(ErrorCode.VACUUM_FAULT, "clear the fault first")
            self.source_on = True
            if self.state == "STANDBY":
                self.state = "READY"
        else:
            self._require_not_running()
            self.source_on = False
            if self.state == "READY":
                self.state = "STANDBY"

    def _source_volt(self, cmd: Command) -> None:
        kv = _parse_float(self._arg(cmd, 0))
        if not -6.0 <= kv <= 6.0:
            raise CommandRejectedError(ErrorCode.DATA_OUT_OF_RANGE, "source voltage -6..6 kV")
        self.source_kv = kv

    def _conf_mode(self, cmd: Command) -> None:
        self._require_not_running()
        name = self._arg(cmd, 0).upper()
        if name not in ScanMode.__members__:
            raise CommandRejectedError(ErrorCode.ILLEGAL_PARAMETER_VALUE, f"mode {name}")
        if name not in self.limits.modes:
            raise CommandRejectedError(
                ErrorCode.SETTINGS_CONFLICT, f"{self.limits.model} has no {name} mode"
            )
        self.mode = ScanMode[name]

    def _conf_full(self, cmd: Command) -> None:
        self._require_not_running()
        low, high = _parse_float(self._arg(cmd, 0)), _parse_float(self._arg(cmd, 1))
        res = _parse_float(cmd.args[2]) if len(cmd.args) > 2 else 0.0
        kind = cmd.args[3].upper() if len(cmd.args) > 3 else "PROF"
        lo_lim, hi_lim = self.limits.mz_range
        if not lo_lim <= low < high <= hi_lim:
            raise CommandRejectedError(ErrorCode.MASS_OUT_OF_RANGE, f"{low}-{high}")
        if res and self.limits.kind == "orbitrap" and res not in self.limits.scan_rate_hz:
            raise CommandRejectedError(ErrorCode.RESOLUTION_NOT_SUPPORTED, f"{res:g}")
        if kind not in ("PROF", "CENT"):
            raise CommandRejectedError(ErrorCode.ILLEGAL_PARAMETER_VALUE, "PROF or CENT")
        self.full = FullSettings(low, high, res, kind == "CENT")

    def _block(self, cmd: Command) -> bytes:
        if cmd.block is None:
            raise CommandRejectedError(ErrorCode.MISSING_PARAMETER, "binary block expected")
        return cmd.block

    def _check_mz(self, values: np.ndarray, what: str) -> None:
        lo, hi = self.limits.mz_range
        bad = np.flatnonzero(~((values >= lo) & (values <= hi)))
        if bad.size:
            raise CommandRejectedError(
                ErrorCode.MASS_OUT_OF_RANGE, f"row {int(bad[0])} {what} {float(values[bad[0]]):g}"
            )

    def _srm_data(self, cmd: Command) -> None:
        self._require_not_running()
        if "SRM" not in self.limits.modes:
            raise CommandRejectedError(ErrorCode.SETTINGS_CONFLICT, "no SRM mode")
        table = decode_table(self._block(cmd), SRM_ROW_DTYPE)
        lim = self.limits
        if table.size > lim.max_transitions:
            raise CommandRejectedError(
                ErrorCode.TRANSITION_TABLE_TOO_LARGE, f"{table.size} > {lim.max_transitions}"
            )
        low = np.flatnonzero(table["dwell_ms"] < lim.min_dwell_ms)
        if low.size:
            raise CommandRejectedError(
                ErrorCode.DWELL_BELOW_MINIMUM,
                f"row {int(low[0])}: {float(table['dwell_ms'][low[0]]):g} ms "
                f"< {lim.min_dwell_ms:g} ms",
            )
        self._check_mz(table["precursor_mz"], "precursor")
        self._check_mz(table["product_mz"], "product")
        self.srm_table = table

    def _prm_data(self, cmd: Command) -> None:
        self._require_not_running()
        if "PRM" not in self.limits.modes:
            raise CommandRejectedError(ErrorCode.SETTINGS_CONFLICT, "no PRM mode")
        table = decode_table(self._block(cmd), PRM_ROW_DTYPE)
        if table.size > self.limits.max_transitions:
            raise CommandRejectedError(
                ErrorCode.TRANSITION_TABLE_TOO_LARGE,
                f"{table.size} > {self.limits.max_transitions}",
            )
        self._check_mz(table["precursor_mz"], "precursor")
        for res in np.unique(table["resolution"]):
            try:
                self.limits.prm_scan_rate(float(res))
            except ValueError:
                raise CommandRejectedError(ErrorCode.RESOLUTION_NOT_SUPPORTED, f"{res:g}") from None
        bad = np.flatnonzero((table["isolation_width"] < 0.2) | (table["isolation_width"] > 50))
        if bad.size:
            raise CommandRejectedError(ErrorCode.ISOLATION_WIDTH_OUT_OF_RANGE, f"row {int(bad[0])}")
        self.prm_table = table

    def _dia_data(self, cmd: Command) -> None:
        self._require_not_running()
        if "DIA" not in self.limits.modes:
            raise CommandRejectedError(ErrorCode.SETTINGS_CONFLICT, "no DIA mode")
        table = decode_table(self._block(cmd), DIA_WINDOW_DTYPE)
        self._check_mz(table["low_mz"], "low m/z")
        self._check_mz(table["high_mz"], "high m/z")
        if (table["high_mz"] <= table["low_mz"]).any():
            raise CommandRejectedError(ErrorCode.TABLE_ROW_INVALID, "high m/z <= low m/z")
        self.dia_table = table

    def _window(self, cmd: Command, mode: ScanMode) -> None:
        updates = decode_table(self._block(cmd), WINDOW_UPDATE_DTYPE)
        stored = self.srm_table if mode == ScanMode.SRM else self.prm_table
        unknown = np.setdiff1d(updates["id"], stored["id"])
        if unknown.size:
            raise CommandRejectedError(ErrorCode.TABLE_ROW_INVALID, f"unknown id {int(unknown[0])}")
        RunState.update_windows(stored, updates)
        run = self.run
        if run is not None and self.acq_state == "RUNNING" and run.mode == mode:
            live = run.srm if mode == ScanMode.SRM else run.prm
            assert live is not None
            run.update_windows(live, updates)

    def _duration(self, cmd: Command) -> None:
        self._require_not_running()
        value = _parse_float(self._arg(cmd, 0))
        if not 0 < value <= 86400:
            raise CommandRejectedError(ErrorCode.DATA_OUT_OF_RANGE, "duration 0..86400 s")
        self.duration_s = value

    def _trigger_source(self, cmd: Command) -> None:
        src = self._arg(cmd, 0).upper()[:3]
        if src not in ("IMM", "EXT"):
            raise CommandRejectedError(ErrorCode.ILLEGAL_PARAMETER_VALUE, "IMMediate or EXTernal")
        self.trigger = src

    def _ready_check(self) -> None:
        self._require_not_running()
        if self.state == "FAULT":
            raise CommandRejectedError(ErrorCode.VACUUM_FAULT)
        if not self.source_on:
            raise CommandRejectedError(ErrorCode.SOURCE_OFF)

    def _arm(self, cmd: Command) -> None:
        self._ready_check()
        self.acq_state = "ARMED"

    def _start(self, cmd: Command) -> None:
        self._ready_check()
        if self.trigger == "EXT":
            self.acq_state = "ARMED"
            return
        self._start_run()

    def contact_closure(self, at_s: float | None = None) -> bool:
        """The external start line closed (e.g. the autosampler injected).

        Starts an armed run, as ``*TRG`` does; returns False (and changes nothing) when the
        instrument is not armed, as a real contact closure is ignored then. ``at_s`` is the
        instrument time the line closed (the run starts then, not when the call arrives).
        """
        with self.lock:
            self.catch_up()
            if self.acq_state != "ARMED":
                return False
            self._start_run(at_s)
            return True

    def _trg(self, cmd: Command) -> None:
        if self.acq_state != "ARMED":
            raise CommandRejectedError(ErrorCode.NOT_READY, "trigger while not armed")
        self._start_run()

    def _stop(self, cmd: Command, final: str = "DONE") -> None:
        if self.acq_state in ("RUNNING", "ARMED"):
            self.acq_state = final
            if self.state == "ACQUIRING":
                self.state = "READY"

    def _abort(self, cmd: Command) -> None:
        self._stop(cmd, "ABORTED")

    def _fault_clear(self, cmd: Command) -> None:
        self.vacuum_mbar = VACUUM_OK_MBAR
        self.spray = 1.0
        if self.state == "FAULT":
            self.state = "STANDBY"
            self.acq_state = "IDLE"

    def _fetch(self, cmd: Command) -> BlockReply:
        from_seq = int(self._arg(cmd, 0))
        max_count = int(cmd.args[1]) if len(cmd.args) > 1 else 10_000
        if from_seq < 0 or max_count < 1:
            raise CommandRejectedError(ErrorCode.DATA_OUT_OF_RANGE, "from >= 0, count >= 1")
        payload, count = self.buffer.fetch(from_seq, max_count, FETCH_MAX_BYTES)
        if count == 0 and self.state == "FAULT" and from_seq >= self.buffer.next_seq:
            raise CommandRejectedError(ErrorCode.VACUUM_FAULT, "acquisition aborted")
        return BlockReply(payload)

    def _sim_fault(self, cmd: Command) -> None:
        kind = self._arg(cmd, 0).upper()
        value = cmd.args[1] if len(cmd.args) > 1 else ""
        self.inject(kind.lower(), _parse_float(value) if value else None)
