"""``msuite quant`` when its worker processes are killed (as the kernel's OOM killer does).

Worker processes are forked; a fork hook registered here sends SIGKILL to a freshly forked child
while a test has armed it: every child, or only the first (claimed through a marker file).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from msuite.cli import main
from msuite.core.errors import MSuiteError
from msuite.methods.storage import save_method
from msuite.quant import quantify
from msuite.quant.quantify import QuantParams, quantify_run, quantify_runs
from msuite.quant.targets import build_targets, load_targets
from tests.quant.helpers import cells
from tests.quant.test_quantify import acquire_series, srm_method

_ARMED: dict[str, Path | bool | None] = {"on": False, "marker": None}


def _kill_forked_child() -> None:
    if not _ARMED["on"]:
        return
    marker = _ARMED["marker"]
    if isinstance(marker, Path):
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return  # an earlier child already died: this one lives
    os.kill(os.getpid(), signal.SIGKILL)


os.register_at_fork(after_in_child=_kill_forked_child)


@contextmanager
def killing_children(marker: Path | None = None) -> Iterator[None]:
    """Kill forked children inside the block: all of them, or only the first with ``marker``."""
    _ARMED.update(on=True, marker=marker)
    try:
        yield
    finally:
        _ARMED.update(on=False, marker=None)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return acquire_series(tmp_path_factory.mktemp("faults"), [0.1, 0.3, 1.0, 3.0], seed=41)


def test_a_killed_worker_is_replaced_and_results_are_complete(
    runs: list[Path], tmp_path: Path
) -> None:
    groups = build_targets(srm_method())
    expected = quantify_runs(runs, groups, QuantParams(), jobs=1)
    with killing_children(tmp_path / "first-child-died"):
        got = quantify_runs(runs, groups, QuantParams(), jobs=2)
    assert (tmp_path / "first-child-died").exists()  # a worker was killed
    assert [cells(r.rows) for r in got] == [cells(r.rows) for r in expected]


def test_workers_that_keep_dying_give_a_clear_error_and_write_nothing(
    runs: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    groups = build_targets(srm_method())
    with killing_children(), pytest.raises(MSuiteError, match="killed, or out of memory") as err:
        quantify_runs(runs, groups, QuantParams(), jobs=2)
    assert err.value.field == "--jobs" and err.value.value
    method = tmp_path / "m.toml"
    save_method(srm_method(), method)
    out = tmp_path / "out"
    argv = ["quant", *map(str, runs), "--method", str(method), "--out", str(out), "--jobs", "2"]
    with killing_children():
        assert main(argv) == 2
    assert "killed, or out of memory" in capsys.readouterr().err
    assert not out.exists()


def test_a_killed_worker_sharing_one_run_is_made_up_in_process(
    testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = testdata / "SmartPeak" / "yeast_MRM_unknowns"
    targets = load_targets(d / "LCMS_MRM_Unknowns_traML.csv")
    run = str(d / "170808_Jonathan_yeast_Sacc1_1x.mzML")
    expected = quantify_run(run, targets.groups, QuantParams())
    # split this run's ~120 groups between three processes
    monkeypatch.setattr(quantify, "MIN_GROUPS_PER_WORKER", 10)
    with killing_children(tmp_path / "first-child-died"):
        got = quantify_run(run, targets.groups, QuantParams(), workers=3)
    assert (tmp_path / "first-child-died").exists()
    assert cells(got.rows) == cells(expected.rows)
