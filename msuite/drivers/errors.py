"""Errors raised by instrument drivers.

All derive from :class:`msuite.core.errors.MSuiteError`, carry their facts as fields and pickle
through ``MSuiteError.__reduce__`` (the fields travel as keyword arguments).
"""

from __future__ import annotations

from typing import Any

from msuite.core.errors import MSuiteError

__all__ = [
    "ConnectionLostError",
    "InstrumentError",
    "InstrumentTimeoutError",
    "ProtocolError",
    "SequenceGapError",
    "TransportError",
]


class InstrumentError(MSuiteError):
    """The instrument reported an error (an entry of its SCPI error queue).

    Renders as ``NAME (code): text``, e.g. ``ms-sim-tq (-113): Undefined header``, with the
    command that caused it appended.

    Parameters
    ----------
    device
        Name of the instrument (its ``*IDN?`` model or the name given to the driver).
    command
        The command that was sent when the error was queued.
    code
        SCPI error code (negative: standard; positive: device specific).
    text
        The instrument's description of the error.
    """

    def __init__(
        self,
        device: str = "",
        command: str = "",
        code: int = 0,
        text: str = "",
        message: str | None = None,
        **extra: Any,
    ) -> None:
        self.device = device
        self.command = command
        self.code = int(code)
        self.text = text
        if message is None:
            message = f"{device} ({self.code}): {text}"
            if command:
                message += f" [command {command!r}]"
        # ``device``/``command``/``code``/``text`` go through ``extra`` so that pickling
        # (MSuiteError.__reduce__) restores them.
        super().__init__(
            message, device=device, command=command, code=self.code, text=text, **extra
        )

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {name: getattr(self, name) for name in self._FIELDS}
        kwargs.update(self.extra)
        return (_rebuild_instrument_error, (type(self), self.message, kwargs))


def _rebuild_instrument_error(
    cls: type[InstrumentError], message: str, kwargs: dict[str, Any]
) -> InstrumentError:
    for name in MSuiteError._FIELDS:
        kwargs.pop(name, None)
    return cls(message=message, **kwargs)


class TransportError(MSuiteError):
    """The link to an instrument failed (base of timeout and connection-loss errors)."""


class InstrumentTimeoutError(TransportError, TimeoutError):
    """No (complete) reply within the timeout, after the allowed retries."""


class ConnectionLostError(TransportError, ConnectionError):
    """The connection dropped and could not be re-established within the allowed retries."""


class ProtocolError(TransportError):
    """A reply does not follow the wire protocol (bad block header, wrong length, bad record)."""


class SequenceGapError(MSuiteError):
    """Scans were lost: a sequence number was skipped in the stream."""
