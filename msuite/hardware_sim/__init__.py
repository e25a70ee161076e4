"""Simulated instruments serving the same wire protocols as the real devices.

The mass spectrometer (:mod:`.ms_instrument`, served by :mod:`.server` over TCP and
pseudo-terminals) has sample chemistry, an accelerated clock and fault injection; see
docs/simulator.md. LC pump, autosampler and prep robot are still to come. Nothing in the runtime
path imports this package except the CLI, the GUI's simulated-instrument choice and tests.
"""
