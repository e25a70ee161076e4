"""Instrument drivers.

- :mod:`.protocol`: the wire protocols (shared with the simulators): mass spectrometer, LC pump
  codes, autosampler frames, prep-robot codes, plate/vial positions.
- :mod:`.transport`: pyvisa message-based transport (TCPIP SOCKET/INSTR, ASRL, USB, GPIB).
- :mod:`.ms`: :class:`~msuite.drivers.ms.MassSpectrometer`; :mod:`.streaming`: scan streaming.
- :mod:`.serial_transport`, :mod:`.serial_device`: pyserial byte transport and the serial
  device base (one lock, bounded retries, reconnect).
- :mod:`.lc_pump`: :class:`~msuite.drivers.lc_pump.LCPump` (binary gradient pump).
- :mod:`.autosampler`: :class:`~msuite.drivers.autosampler.Autosampler`.
- :mod:`.prep_robot`: :class:`~msuite.drivers.prep_robot.PrepRobot` (sample-prep liquid handler).
- :mod:`.presets`: instrument limits; :mod:`.errors`: ``InstrumentError`` and transport errors.

The protocols are documented in docs/protocol.md.
"""
