"""The mass-spectrometer wire protocol, defined once for the driver and the simulator.

See ``docs/protocol.md`` for the contract. Modules:

- :mod:`.codes`: SCPI error codes (standard negative codes and the device's positive codes).
- :mod:`.blocks`: IEEE 488.2 definite-length blocks (encode, decode, stream reading).
- :mod:`.records`: little-endian scan records and method tables as numpy structured dtypes.
- :mod:`.grammar`: command parsing (header, query flag, arguments) and reply formatting.
"""

from msuite.drivers.protocol.blocks import (
    BlockError,
    decode_block,
    encode_block,
    parse_block_header,
)
from msuite.drivers.protocol.codes import ERROR_TEXT, ErrorCode, format_error, parse_error
from msuite.drivers.protocol.grammar import Command, parse_command, short_form
from msuite.drivers.protocol.records import (
    DIA_WINDOW_DTYPE,
    FLAG_CENTROID,
    FLAG_FAULT,
    FLAG_SATURATED,
    POINT_DTYPE,
    PRM_ROW_DTYPE,
    SCAN_HEADER_DTYPE,
    SRM_ROW_DTYPE,
    WINDOW_UPDATE_DTYPE,
    ScanMode,
    ScanRecord,
    decode_scans,
    decode_table,
    encode_scans,
    encode_table,
)

__all__ = [
    "DIA_WINDOW_DTYPE",
    "ERROR_TEXT",
    "FLAG_CENTROID",
    "FLAG_FAULT",
    "FLAG_SATURATED",
    "POINT_DTYPE",
    "PRM_ROW_DTYPE",
    "SCAN_HEADER_DTYPE",
    "SRM_ROW_DTYPE",
    "WINDOW_UPDATE_DTYPE",
    "BlockError",
    "Command",
    "ErrorCode",
    "ScanMode",
    "ScanRecord",
    "decode_block",
    "decode_scans",
    "decode_table",
    "encode_block",
    "encode_scans",
    "encode_table",
    "format_error",
    "parse_block_header",
    "parse_command",
    "parse_error",
    "short_form",
]
