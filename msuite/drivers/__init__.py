"""Instrument drivers (not yet built).

Will hold the transports (pyvisa resources for the mass spectrometer, pyserial ports for
the LC pump, autosampler and sample-prep robot) and one driver per device kind, each with
one lock per instrument, timeouts, bounded retries, reconnect and typed
``InstrumentError`` exceptions.
"""
