"""Simulated instruments (not yet built).

Will serve the same wire protocols as the real devices over TCP sockets and pseudo-terminals:
a mass spectrometer with sample chemistry (peptides, isotopes, elution profiles, ion statistics),
LC pump, autosampler and prep robot, with an accelerated clock and fault injection.
Nothing in the runtime path imports it except the CLI, the GUI's simulated-instrument choice
and tests.
"""
