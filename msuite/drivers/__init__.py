"""Instrument drivers.

- :mod:`.protocol`: the mass-spectrometer wire protocol (shared with the simulator).
- :mod:`.transport`: pyvisa message-based transport (TCPIP SOCKET/INSTR, ASRL, USB, GPIB).
- :mod:`.ms`: :class:`~msuite.drivers.ms.MassSpectrometer`; :mod:`.streaming`: scan streaming.
- :mod:`.presets`: instrument limits; :mod:`.errors`: ``InstrumentError`` and transport errors.

Drivers for the LC pump, autosampler and prep robot (pyserial ports) are still to come.
"""
