"""Driver for the sample-prep robot (liquid handler) on a serial line.

The contract is docs/protocol.md, section "Sample-prep robot".

:class:`PrepRobot` frames each command as ``<id> <CMD> [args]*HH``, checks the reply's checksum
and id (stale replies left over from a timeout are skipped), and raises
:class:`~msuite.drivers.errors.InstrumentError` for ``ER`` replies. Every command is retried
after a timeout, a lost line or a damaged reply: the retry repeats the request id, and the
robot answers a repeated state-changing request from memory instead of acting twice.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterable, Mapping

from msuite.core.errors import InputError
from msuite.drivers.errors import InstrumentError, InstrumentTimeoutError, ProtocolError
from msuite.drivers.prep_robot_model import (
    PlateStatus,
    PrepProtocol,
    PrepStep,
    Reservoir,
    RobotIdentity,
    RobotStatus,
    StepProgress,
    TipInventory,
    WellStatus,
    default_clinical_protocol,
)
from msuite.drivers.protocol.prep_robot_codes import (
    ALL_WELLS,
    ERROR_TEXT,
    MAX_ID,
    PLATE_TYPES,
    REPLY_MEMORY,
    TERMINATOR,
    DoorState,
    RobotState,
    StepName,
    WellState,
    check_plate_id,
    check_reagent_name,
    encode_request,
    format_number,
    parse_fields,
    parse_reply,
)
from msuite.drivers.serial_device import SerialDevice
from msuite.drivers.serial_transport import SerialTransport

__all__ = [
    "PlateStatus",
    "PrepProtocol",
    "PrepRobot",
    "PrepStep",
    "Reservoir",
    "RobotIdentity",
    "RobotStatus",
    "StepProgress",
    "TipInventory",
    "WellStatus",
    "default_clinical_protocol",
]

#: Well states from which no further step is expected on a finished plate.
FINAL_STATES = frozenset({WellState.READY, WellState.FAILED})


def _selection(wells: str | Iterable[str]) -> str:
    return wells.upper() if isinstance(wells, str) else ",".join(w.upper() for w in wells)


class PrepRobot(SerialDevice):
    """A sample-prep robot on a serial port, pty or ``socket://`` URL.

    Parameters
    ----------
    port
        Device path or pyserial URL.
    name
        Device name used in errors.
    baudrate
        Line speed (9600 8N1 on the real instrument).
    timeout_s
        Time allowed for each reply.
    retries
        Retries after a timeout, a lost line or a damaged reply (each reopens the port).
    first_id
        First request id (1..9999); random when not given, so that a new driver does not
        repeat the ids a previous one used.
    """

    def __init__(
        self,
        port: str,
        *,
        name: str = "prep-robot",
        baudrate: int = 9600,
        timeout_s: float = 2.0,
        retries: int = 2,
        first_id: int | None = None,
    ) -> None:
        super().__init__(port, name=name, baudrate=baudrate, timeout_s=timeout_s, retries=retries)
        start = first_id if first_id is not None else int.from_bytes(os.urandom(2)) % MAX_ID + 1
        if not 1 <= start <= MAX_ID:
            raise InputError(
                "bad first request id", field="first_id", value=first_id, allowed="1..9999"
            )
        self._next_id = start
        self._recent_actions: deque[tuple[int, str]] = deque(maxlen=REPLY_MEMORY)

    def __enter__(self) -> PrepRobot:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------- wire
    def command(self, command: str, *args: str) -> str:
        """Send one command and return the data of its ``OK`` reply.

        Raises InstrumentError for an ``ER`` reply, InstrumentTimeoutError /
        ConnectionLostError / ProtocolError when the line fails beyond the retries.
        """
        with self._lock:
            text = " ".join((command.upper(), *args))
            request_id = self._take_id(text)
            request = encode_request(request_id, command, *args)

            def read_reply(transport: SerialTransport) -> str:
                while True:
                    line = transport.read_until(TERMINATOR, text)
                    try:
                        reply = parse_reply(line)
                    except ValueError as exc:
                        raise ProtocolError(
                            f"bad reply from {self.name}: {exc}", field="reply", value=line
                        ) from None
                    if reply.id != request_id:
                        continue  # a stale reply to an earlier, timed-out request
                    if not reply.ok:
                        raise InstrumentError(self.name, text, reply.code, reply.text)
                    return reply.data

            return self._exchange(request, read_reply, what=text, idempotent=True)

    def _take_id(self, text: str) -> int:
        """The next request id; never one the robot may still remember for the same action."""
        action = not text.split(" ", 1)[0].endswith("?") and not text.startswith("SIM ")
        while True:
            request_id = self._next_id
            self._next_id = request_id % MAX_ID + 1
            if not action or (request_id, text) not in self._recent_actions:
                break
        if action:
            self._recent_actions.append((request_id, text))
        return request_id

    def _fields(self, command: str, *args: str) -> dict[str, str]:
        data = self.command(command, *args)
        try:
            return parse_fields(data.split())
        except InputError as exc:
            raise ProtocolError(f"bad {command} reply: {exc}", field="reply", value=data) from None

    # ------------------------------------------------------------------------ identity
    def identify(self) -> RobotIdentity:
        """Manufacturer, model, serial number and firmware (``IDN?``)."""
        parts = self.command("IDN?").split(",")
        if len(parts) != 4:
            raise ProtocolError("IDN? reply needs 4 fields", field="reply", value=",".join(parts))
        return RobotIdentity(*parts)

    def status(self) -> RobotStatus:
        """State, door, plate, fault code, pause reason and robot time (``STAT?``)."""
        f = self._fields("STAT?")
        return RobotStatus(
            state=RobotState(f["STATE"]),
            door=DoorState(f["DOOR"]),
            plate_id=None if f["PLATE"] == "-" else f["PLATE"],
            fault_code=int(f["FAULT"]),
            pause_reason=None if f["PAUSE"] == "-" else f["PAUSE"],
            sim_time_s=float(f["TIME"]),
        )

    def door(self) -> DoorState:
        """Front door state (``DOOR?``)."""
        return DoorState(self.command("DOOR?"))

    # ------------------------------------------------------------------------- plate
    def load_plate(
        self, plate_id: str, plate_type: int = 96, sample_wells: str | Iterable[str] = ALL_WELLS
    ) -> None:
        """Put a plate on the deck (``LOAD``); ``sample_wells`` are the wells holding samples."""
        check_plate_id(plate_id)
        if plate_type not in PLATE_TYPES:
            raise InputError(
                "unknown plate type", field="plate_type", value=plate_type, allowed="96, 384"
            )
        self.command("LOAD", plate_id, str(plate_type), _selection(sample_wells))

    def unload_plate(self) -> None:
        """Take the plate off the deck (``UNLOAD``)."""
        self.command("UNLOAD")

    def plate_status(self) -> PlateStatus | None:
        """Plate id, type, sample count, run outcome and wells per status; None without plate."""
        f = self._fields("PLATE?")
        if f["PLATE"] == "-":
            return None
        counts = {s: int(f.get(s.value, "0")) for s in WellState}
        return PlateStatus(f["PLATE"], int(f["TYPE"]), int(f["SAMPLES"]), f["RUN"], counts)

    def well_status(self, wells: str | Iterable[str] = ALL_WELLS) -> dict[str, WellStatus]:
        """Status of each well of the plate (or of a selection), in processing order."""
        f = self._fields("WELL?", _selection(wells))
        try:
            return {w: WellStatus.parse(v) for w, v in f.items()}
        except ValueError as exc:
            raise ProtocolError(f"bad WELL? reply: {exc}", field="reply") from None

    # --------------------------------------------------------------- reagents and tips
    def define_reservoir(
        self, name: str, capacity_ul: float, level_ul: float | None = None
    ) -> None:
        """Create or redefine a reagent reservoir (``RSV``)."""
        args = [check_reagent_name(name, "reservoir"), format_number(capacity_ul)]
        if level_ul is not None:
            args.append(format_number(level_ul))
        self.command("RSV", *args)

    def refill(self, name: str, volume_ul: float | None = None) -> float:
        """Refill a reservoir to capacity, or add ``volume_ul``; return the new level (``RFL``)."""
        args = [check_reagent_name(name, "reservoir")]
        if volume_ul is not None:
            args.append(format_number(volume_ul))
        return float(self.command("RFL", *args))

    def reservoirs(self) -> dict[str, Reservoir]:
        """Level and capacity of every reservoir (``RSV?``)."""
        out = {}
        for name, value in self._fields("RSV?").items():
            level, _, capacity = value.partition("/")
            out[name] = Reservoir(name, float(level), float(capacity))
        return out

    def tips(self) -> TipInventory:
        """Tips left and rack capacity (``TIPS?``)."""
        f = self._fields("TIPS?")
        return TipInventory(int(f["LEFT"]), int(f["CAPACITY"]))

    def load_tips(self, count: int | None = None) -> None:
        """Replace the tip racks: full, or ``count`` tips (``TIPS``)."""
        self.command("TIPS", *(() if count is None else (str(int(count)),)))

    # ------------------------------------------------------------------------ steps
    def run_step(self, step: PrepStep) -> None:
        """Start one step now (the command named after the step); returns at once."""
        self.command(step.name.value, *step.wire_args())

    def denature(
        self,
        temp_c: float,
        minutes: float,
        wells: str = ALL_WELLS,
        reagent: str | None = None,
        volume_ul: float | None = None,
    ) -> None:
        """DENATURE at ``temp_c`` for ``minutes``, optionally adding a denaturing buffer."""
        self.run_step(
            PrepStep(StepName.DENATURE, wells, reagent, volume_ul, minutes, temp_c=temp_c)
        )

    def reduce(
        self, reagent: str, volume_ul: float, minutes: float, temp_c: float, wells: str = ALL_WELLS
    ) -> None:
        """REDUCE: add ``volume_ul`` of ``reagent`` (e.g. DTT), incubate."""
        self.run_step(PrepStep(StepName.REDUCE, wells, reagent, volume_ul, minutes, temp_c=temp_c))

    def alkylate(
        self,
        reagent: str,
        volume_ul: float,
        minutes: float,
        temp_c: float,
        wells: str = ALL_WELLS,
        dark: bool = True,
    ) -> None:
        """ALKYLATE: add ``volume_ul`` of ``reagent`` (e.g. IAA), incubate (in the dark)."""
        self.run_step(
            PrepStep(
                StepName.ALKYLATE, wells, reagent, volume_ul, minutes, temp_c=temp_c, dark=dark
            )
        )

    def digest(
        self, enzyme: str, volume_ul: float, hours: float, temp_c: float, wells: str = ALL_WELLS
    ) -> None:
        """DIGEST: add ``volume_ul`` of ``enzyme`` (e.g. TRYPSIN), incubate ``hours``."""
        self.run_step(
            PrepStep(StepName.DIGEST, wells, enzyme, volume_ul, hours=hours, temp_c=temp_c)
        )

    def quench(
        self, reagent: str, volume_ul: float, minutes: float = 0.0, wells: str = ALL_WELLS
    ) -> None:
        """QUENCH: add ``volume_ul`` of ``reagent`` (e.g. formic acid)."""
        self.run_step(PrepStep(StepName.QUENCH, wells, reagent, volume_ul, minutes))

    def spe_cleanup(
        self, eluent: str, volume_ul: float, minutes: float, wells: str = ALL_WELLS
    ) -> None:
        """SPE clean-up, eluting with ``volume_ul`` of ``eluent``."""
        self.run_step(PrepStep(StepName.SPE, wells, eluent, volume_ul, minutes))

    def spike(self, standards: str, volume_ul: float, wells: str = ALL_WELLS) -> None:
        """SPIKE ``volume_ul`` of isotope-labelled standards."""
        self.run_step(PrepStep(StepName.SPIKE, wells, standards, volume_ul))

    # --------------------------------------------------------------------- protocol
    def upload_protocol(self, protocol: PrepProtocol) -> None:
        """Replace the robot's protocol with ``protocol`` (``PCLR`` then ``PADD`` per step)."""
        with self._lock:
            self.command("PCLR")
            for i, step in enumerate(protocol.steps, start=1):
                index = int(self.command("PADD", step.name.value, *step.wire_args()))
                if index != i:
                    raise ProtocolError(
                        "protocol step index mismatch", field="PADD", value=index, allowed=i
                    )

    def protocol(self) -> PrepProtocol | None:
        """The protocol stored on the robot (``PROT?``), None when empty."""
        with self._lock:
            count = int(self.command("PROT?"))
            if count == 0:
                return None
            return PrepProtocol(
                tuple(
                    PrepStep.from_wire(self.command("PROT?", str(i))) for i in range(1, count + 1)
                )
            )

    def run_protocol(self, protocol: PrepProtocol | None = None) -> None:
        """Upload ``protocol`` (if given) and start it on the loaded plate (``RUN``)."""
        with self._lock:
            if protocol is not None:
                self.upload_protocol(protocol)
            self.command("RUN")

    def progress(self) -> StepProgress:
        """Progress of the running step or protocol (``PROG?``)."""
        f = self._fields("PROG?")
        return StepProgress(
            run=f["RUN"],
            step=None if f["STEP"] == "-" else StepName(f["STEP"]),
            index=int(f["INDEX"]),
            steps=int(f["STEPS"]),
            phase=None if f["PHASE"] == "-" else f["PHASE"],
            done=int(f["DONE"]),
            wells=int(f["WELLS"]),
            fraction=float(f["FRAC"]),
            left_s=float(f["LEFT_S"]),
        )

    def wait_idle(self, timeout_s: float, poll_s: float = 0.05) -> RobotStatus:
        """Wait until the robot is IDLE; InstrumentError if it faults, timeout error otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            st = self.status()
            if st.state is RobotState.IDLE:
                return st
            if st.state is RobotState.FAULT:
                text = ERROR_TEXT.get(st.fault_code, "fault")
                raise InstrumentError(self.name, "STAT?", st.fault_code, f"robot in FAULT: {text}")
            if time.monotonic() >= deadline:
                raise InstrumentTimeoutError(
                    f"robot still {st.state.value} after {timeout_s:g} s",
                    field="state",
                    value=st.state.value,
                )
            time.sleep(poll_s)

    def wait_plate_ready(self, timeout_s: float, poll_s: float = 0.05) -> dict[str, WellStatus]:
        """Wait for the protocol run to end; return the sample wells' status (READY or FAILED).

        Raises InstrumentError when the robot faults or the run was aborted, and
        InstrumentTimeoutError when the run does not end within ``timeout_s`` (wall seconds).
        """
        self.wait_idle(timeout_s, poll_s)
        plate = self.plate_status()
        if plate is None or plate.run != "DONE":
            run = "no plate" if plate is None else plate.run
            raise InstrumentError(self.name, "PLATE?", 0, f"protocol run not completed ({run})")
        wells = self.well_status()
        return {w: s for w, s in wells.items() if s.state is not WellState.EMPTY}

    # ---------------------------------------------------------------------- control
    def pause(self) -> None:
        """Hold the running step (``PAUSE``)."""
        self.command("PAUSE")

    def resume(self) -> None:
        """Continue a paused or fault-cleared step (``RESUME``)."""
        self.command("RESUME")

    def abort(self) -> None:
        """Stop the step or protocol (``ABORT``)."""
        self.command("ABORT")

    def clear_fault(self) -> None:
        """Clear a fault (``CLR``): PAUSED when resumable, else IDLE."""
        self.command("CLR")

    def sim_fault(self, kind: str, *args: str | int) -> None:
        """Arm a simulator fault (``SIM FAULT <kind> [arg]``; simulator only)."""
        self.command("SIM", "FAULT", kind.upper(), *(str(a) for a in args))

    def reagent_shortfall(self, protocol: PrepProtocol, n_wells: int) -> Mapping[str, float]:
        """Reservoirs that hold less than ``protocol`` needs for ``n_wells`` (uL short)."""
        levels = self.reservoirs()
        short = {}
        for name, need in protocol.reagent_needs_ul(n_wells).items():
            have = levels[name].level_ul if name in levels else 0.0
            if have < need:
                short[name] = need - have
        return short
