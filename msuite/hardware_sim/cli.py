"""``msuite sim`` sub-commands: run simulated instruments from the command line.

The main CLI calls :func:`add_sim_commands` with its sub-parsers.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from msuite.drivers.presets import PRESETS

__all__ = ["add_sim_commands", "run_sim_start"]


def add_sim_commands(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``sim start [--port N] [--preset NAME] [--speed X] [--seed S] [--all]``."""
    sim = subparsers.add_parser("sim", help="run simulated instruments")
    sim_sub = sim.add_subparsers(dest="sim_command", required=True)
    p = sim_sub.add_parser(
        "start",
        help="serve a simulated mass spectrometer; prints its VISA resource string first",
    )
    p.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    p.add_argument("--preset", default="tq", choices=sorted(PRESETS), help="instrument preset")
    p.add_argument("--speed", type=float, default=100.0, help="clock speed (1 = real time)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same data)")
    p.add_argument("--pty", action="store_true", help="also serve on a pseudo-terminal")
    p.add_argument(
        "--all",
        action="store_true",
        help="serve every simulated device (mass spectrometer, LC pump, autosampler, prep robot)"
        " on one clock, coupled; prints one 'KIND RESOURCE' line per device",
    )
    p.add_argument(
        "--serial",
        choices=("pty", "tcp"),
        default="pty",
        help="with --all: serial devices on pseudo-terminals (default) or loopback TCP",
    )
    p.set_defaults(func=run_sim_start)
    return sim


def _wait_for_signal() -> None:
    done = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        done.set()

    old = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not done.wait(0.2):
            pass
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def run_sim_all(args: argparse.Namespace) -> int:
    """Serve the whole simulated bench; one ``KIND RESOURCE`` line per device on stdout."""
    from msuite.hardware_sim.lab import SimulatedLab

    lab = SimulatedLab(
        speed=args.speed, seed=args.seed, preset=args.preset, serial=args.serial, host=args.host
    ).start()
    try:
        for kind, resource in lab.resources():
            print(f"{kind} {resource}", flush=True)
        print(
            f"simulated bench ({args.preset}), clock x{args.speed:g}, seed {args.seed}; "
            "injections start the pump gradient and the MS run; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        _wait_for_signal()
    finally:
        lab.stop()
    return 0


def run_sim_start(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; first stdout line is the VISA resource string."""
    if getattr(args, "all", False):
        return run_sim_all(args)
    from msuite.hardware_sim.ms_instrument import SimulatedMassSpec
    from msuite.hardware_sim.server import MassSpecServer, PtyMassSpecServer

    instrument = SimulatedMassSpec(args.preset, speed=args.speed, seed=args.seed)
    server = MassSpecServer(instrument, host=args.host, port=args.port).start()
    pty_server = PtyMassSpecServer(instrument).start() if args.pty else None
    print(server.resource, flush=True)
    if pty_server is not None:
        print(pty_server.resource, flush=True)
    print(
        f"simulated {instrument.limits.model} ({args.preset}), clock x{args.speed:g}, "
        f"seed {args.seed}; Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        _wait_for_signal()
    finally:
        server.stop()
        if pty_server is not None:
            pty_server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m msuite.hardware_sim.cli sim start ...``."""
    parser = argparse.ArgumentParser(prog="msuite")
    sub = parser.add_subparsers(dest="command", required=True)
    add_sim_commands(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
