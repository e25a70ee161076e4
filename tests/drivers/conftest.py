from tests.drivers.lc_pump_rig import pump_manual, pump_pty, pump_rig  # noqa: F401
from tests.drivers.prep_robot_rig import robot_pty, robot_rig  # noqa: F401
from tests.drivers.simfixtures import _watchdog, ms, orbitrap_sim, sim  # noqa: F401
