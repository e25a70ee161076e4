"""The msuite error hierarchy.

Every error msuite raises derives from :class:`MSuiteError`. Errors carry the
facts a user needs to fix the problem as fields (``path``, ``line``, ``field``,
``value``, ``allowed``) and render them as one line, for example::

    run.mzML:1423: field 'binary data array' = 'MS:1009999': unknown CV term (allowed: PSI-MS terms)

All errors pickle with their fields, so they survive process pools and Dask.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ChecksumError",
    "FileFormatError",
    "InputError",
    "MSuiteError",
    "RunFileStateError",
    "SchemaVersionError",
    "UnknownCVTermError",
]


class MSuiteError(Exception):
    """Root of every msuite error.

    Parameters
    ----------
    message
        What went wrong, in words.
    path
        The file involved, if any.
    line
        1-based line (or row) number in ``path``, if known.
    field
        The field, column, element or parameter that is wrong.
    value
        The offending value.
    allowed
        What would have been accepted.
    """

    _FIELDS: tuple[str, ...] = ("path", "line", "field", "value", "allowed")

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
        value: Any = None,
        allowed: Any = None,
        **extra: Any,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        self.value = value
        self.allowed = allowed
        self.extra = extra
        for key, val in extra.items():
            setattr(self, key, val)
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
        elif self.line is not None:
            where = f"line {self.line}"
        what = ""
        if self.field is not None:
            what = f"field '{self.field}'"
            if self.value is not None:
                what += f" = {self.value!r}"
        elif self.value is not None:
            what = f"value {self.value!r}"
        text = self.message
        if what:
            text = f"{what}: {text}"
        if where:
            text = f"{where}: {text}"
        if self.allowed is not None:
            text += f" (allowed: {self.allowed})"
        return text

    def fields(self) -> dict[str, Any]:
        """Return the error's fields as a dictionary (for logs and the audit trail)."""
        out = {name: getattr(self, name) for name in self._FIELDS}
        out.update(self.extra)
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {name: getattr(self, name) for name in self._FIELDS}
        kwargs.update(self.extra)
        return (_rebuild_error, (type(self), self.message, kwargs))


def _rebuild_error(cls: type[MSuiteError], message: str, kwargs: dict[str, Any]) -> MSuiteError:
    return cls(message, **kwargs)


class InputError(MSuiteError, ValueError):
    """Input given to msuite (a file, an argument, a table cell) is not acceptable."""


class FileFormatError(InputError):
    """A file is not of the format it claims to be, or is damaged (truncated, corrupt)."""


class UnknownCVTermError(FileFormatError):
    """A controlled-vocabulary accession is not in the vocabulary msuite knows."""


class SchemaVersionError(FileFormatError):
    """A file was written with a schema version this msuite cannot read."""


class ChecksumError(MSuiteError):
    """Stored content does not match the checksum recorded when it was written."""


class RunFileStateError(MSuiteError):
    """An operation does not fit the state of a run file (e.g. appending to a closed file)."""
