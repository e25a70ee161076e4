"""A scripted transport: checks the driver sends the expected commands, in order."""

from __future__ import annotations

from msuite.drivers.errors import InstrumentTimeoutError


class TranscriptTransport:
    """Plays an expected transcript of (command, reply) pairs.

    ``reply`` is a string for queries, None for commands without a reply, bytes for block
    replies, and the string ``"TIMEOUT"`` to simulate a timeout on that exchange.
    """

    def __init__(
        self, script: list[tuple[str, str | bytes | None]], *, is_serial: bool = False
    ) -> None:
        self.is_serial = is_serial
        self.script = list(script)
        self.sent: list[str] = []
        self.blocks: list[bytes] = []
        self.opened = 0

    def open(self) -> None:
        self.opened += 1

    def close(self) -> None:
        pass

    def reopen(self) -> None:
        self.opened += 1

    def _next(self, command: str) -> str | bytes | None:
        assert self.script, f"unexpected command {command!r}"
        expected, reply = self.script.pop(0)
        assert command == expected, f"sent {command!r}, expected {expected!r}"
        self.sent.append(command)
        if reply == "TIMEOUT":
            raise InstrumentTimeoutError("no reply", value=command)
        return reply

    def write(self, command: str) -> None:
        assert self._next(command) is None

    def write_block(self, header: str, payload: bytes) -> None:
        self.blocks.append(payload)
        assert self._next(f"{header} <block {len(payload)}>") is None

    def query(self, command: str) -> str:
        reply = self._next(command)
        assert isinstance(reply, str)
        return reply

    def query_block(self, command: str) -> bytes | None:
        reply = self._next(command)
        if reply == "":
            return None
        assert isinstance(reply, bytes)
        return reply

    def done(self) -> bool:
        return not self.script
