"""Command grammar: SCPI-style headers with short/long forms, query flag and arguments.

A program message is one line of ASCII terminated by ``\\n``. It holds one command:
``HEADer[:SUBheader...][?] [arg[,arg...]]`` or a common command ``*XXX[?]``. A binary argument
is an IEEE 488.2 definite-length block and must be the last argument.

Headers are matched case-insensitively on their short form (the upper-case letters of the long
form): ``SYSTem:ERRor?``, ``SYST:ERR?`` and ``syst:error?`` are the same command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from msuite.drivers.protocol.blocks import decode_block

__all__ = ["Command", "HeaderTable", "parse_command", "short_form"]

_LONG_TO_SHORT_RE = re.compile(r"[A-Z0-9*]+")


def short_form(header: str) -> str:
    """Return the canonical short form of a header given in long form, e.g.

    ``"SYSTem:ERRor?"`` -> ``"SYST:ERR?"``. Already-short upper-case headers are unchanged.
    """
    query = header.endswith("?")
    parts = header.rstrip("?").split(":")
    out = []
    for part in parts:
        if part.startswith("*"):
            out.append(part.upper())
            continue
        caps = "".join(_LONG_TO_SHORT_RE.findall(part))
        out.append(caps if caps else part.upper())
    return ":".join(out) + ("?" if query else "")


@dataclass(slots=True, frozen=True)
class Command:
    """A parsed program message."""

    header: str  # upper-case, as sent (without '?')
    query: bool
    args: tuple[str, ...]
    block: bytes | None  # binary block argument, if any

    @property
    def key(self) -> str:
        """The header as matched against the command table (upper-case, '?' for queries)."""
        return self.header + ("?" if self.query else "")


def parse_command(line: bytes) -> Command:
    """Parse one program message (without its terminator).

    Raises
    ------
    BlockError
        If a block argument is malformed.
    ValueError
        If the message is empty or not ASCII.
    """
    block = None
    hash_at = line.find(b"#")
    if hash_at >= 0:
        block = decode_block(line[hash_at:])
        line = line[:hash_at].rstrip(b", ")
    try:
        text = line.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise ValueError("program message is not ASCII") from exc
    if not text:
        raise ValueError("empty program message")
    head, _, rest = text.partition(" ")
    query = head.endswith("?")
    header = head.rstrip("?").upper().lstrip(":")
    args = tuple(a.strip() for a in rest.split(",")) if rest.strip() else ()
    return Command(header=header, query=query, args=args, block=block)


class HeaderTable:
    """Resolves headers sent in any accepted form to the canonical short form.

    Parameters
    ----------
    long_forms
        Headers in long form with the short form in capitals, e.g. ``"SYSTem:ERRor"``.
    """

    def __init__(self, long_forms: list[str]) -> None:
        self._words: dict[str, str] = {}
        for long in long_forms:
            for part in long.rstrip("?").split(":"):
                short = short_form(part)
                self._words[part.upper()] = short
                self._words[short] = short

    def canonical(self, header: str) -> str:
        """Return the canonical short form of ``header`` (upper-case, no '?')."""
        if header.startswith("*"):
            return header
        return ":".join(self._words.get(p, p) for p in header.split(":"))
