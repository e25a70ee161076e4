"""Import rules between msuite's packages, checked on the source (DESIGN.md layers)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "msuite"

# rank: a module may import packages of equal or lower rank only
RANK = {
    "core": 0,
    "methods": 1,
    "io": 2,
    "quant": 2,
    "drivers": 2,
    "hardware_sim": 2,
    "acquisition": 3,
    "gui": 4,
    "cli": 4,
    "demo": 4,
}
# who may import the simulator at run time
SIM_IMPORTERS = {"cli", "demo", "gui", "hardware_sim"}
QT_MODULES = ("PySide6", "pyqtgraph")


def _part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "msuite" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def _violations(package: Path = PACKAGE) -> list[str]:
    problems = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        owner = rel.parts[0].removesuffix(".py")
        if owner == "__init__":
            continue
        for line, module in _imports(path):
            if module.startswith(QT_MODULES) and owner != "gui":
                problems.append(f"{rel}:{line}: {module} outside msuite/gui")
            target = _part(module)
            if target is None or target == owner or target not in RANK:
                continue
            if target == "hardware_sim" and owner not in SIM_IMPORTERS:
                problems.append(f"{rel}:{line}: {owner} imports the simulator")
            elif RANK[target] > RANK.get(owner, 0):
                problems.append(
                    f"{rel}:{line}: {owner} (layer {RANK[owner]}) imports "
                    f"{target} (layer {RANK[target]})"
                )
    return problems


def test_no_module_imports_a_higher_layer() -> None:
    problems = _violations()
    assert not problems, "layer violations:\n" + "\n".join(problems)


def test_rule_checker_sees_a_violation(tmp_path: Path) -> None:
    fake = tmp_path / "msuite"
    (fake / "core").mkdir(parents=True)
    (fake / "core" / "bad.py").write_text("from msuite.acquisition import queue\nimport PySide6\n")
    problems = _violations(fake)
    assert any("core (layer 0) imports acquisition" in p for p in problems)
    assert any("PySide6 outside msuite/gui" in p for p in problems)
