from tests.drivers.simfixtures import _watchdog, ms, orbitrap_sim, sim  # noqa: F401
