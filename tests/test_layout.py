"""The package layout: imports point one way, geo <- data <- routing <- api, maps <- invaplan."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEVEL: dict[str, int] = {"geo": 0, "data": 1, "routing": 2, "api": 3, "maps": 3, "invaplan": 4}


def _imported_packages(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names & LEVEL.keys()


def test_imports_point_down_only() -> None:
    upward = []
    for package, level in LEVEL.items():
        for path in sorted((REPO / package).rglob("*.py")):
            for target in _imported_packages(path) - {package}:
                if LEVEL[target] >= level:
                    upward.append(f"{path.relative_to(REPO)} imports {target}")
    assert upward == []


def test_library_packages_never_load_the_cli() -> None:
    modules = [
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for package in ("geo", "data", "routing", "api", "maps")
        for p in (REPO / package).rglob("*.py")
        if "migrations" not in p.parts
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in sys.modules if m == 'invaplan' or m.startswith('invaplan.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
