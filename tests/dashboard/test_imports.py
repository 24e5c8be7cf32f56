"""The dashboard uses only core's public surface: every import from core names something core exports."""

from __future__ import annotations

import ast
from pathlib import Path

import core

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"


def _core_imports(path: Path) -> list[tuple[int, str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "core":
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "core"]
    return found


def test_dashboard_imports_only_names_core_exports():
    files = sorted(DASHBOARD.glob("*.py"))
    assert len(files) > 5
    bad = []
    for path in files:
        for line, module, names in _core_imports(path):
            if module != "core":
                bad.append(f"{path.name}:{line} imports from {module} (use `from core import ...`)")
            bad += [f"{path.name}:{line} imports {n}, which core does not export" for n in names if n not in core.__all__]
    assert bad == []


def test_the_check_sees_a_private_import(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from core.scoring import TrainedModel\nfrom core import read_card\nimport core.paths\n")
    assert _core_imports(probe) == [(1, "core.scoring", ["TrainedModel"]), (2, "core", ["read_card"]), (3, "core.paths", [])]
