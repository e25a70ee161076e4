"""Replies and rejections shared by the simulated instrument's command handlers."""

from __future__ import annotations

from msuite.drivers.protocol.codes import ErrorCode

__all__ = ["BlockReply", "CommandRejectedError", "parse_float"]


class BlockReply(bytes):
    """A reply sent as a definite-length block."""


class CommandRejectedError(Exception):
    """Raised inside a handler: queue ``code`` (with ``detail``) and reply nothing/empty."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = int(code)
        self.detail = detail


def parse_float(arg: str) -> float:
    try:
        return float(arg)
    except ValueError:
        raise CommandRejectedError(ErrorCode.DATA_TYPE_ERROR, f"not a number: {arg}") from None
