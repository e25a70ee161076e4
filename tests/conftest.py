"""Shared fixtures: the real-data folder and temporary paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def testdata_root() -> Path:
    """Return the real-data folder (MSUITE_TESTDATA, default ../shared/data beside the repo)."""
    env = os.environ.get("MSUITE_TESTDATA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The real public MS files; skip (or, in CI, fail) when they are absent."""
    root = testdata_root()
    if not (root / "README.md").is_file():
        msg = (
            f"real test data not found at {root} "
            "(set MSUITE_TESTDATA to the folder holding the shared MS files)"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg + "; CI=true requires it")
        pytest.skip(msg)
    return root
