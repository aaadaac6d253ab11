"""The engine is pure numpy + standard library: no Django, DRF or Celery, not even indirectly."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import simulations.engine

ENGINE_DIR = Path(simulations.engine.__file__).parent
FORBIDDEN = ("django", "rest_framework", "celery")


def test_importing_the_engine_loads_no_framework():
    code = (
        "import sys; import simulations.engine as e; "
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]; "
        "print(','.join(bad))"
    )
    root = ENGINE_DIR.parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""


def test_engine_sources_import_only_numpy_stdlib_and_itself():
    allowed = set(sys.stdlib_module_names) | {"numpy", "simulations", "__future__"}
    for path in sorted(ENGINE_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed, f"{path.name} imports {name}"
                if top == "simulations":
                    assert name.startswith("simulations.engine"), f"{path.name} imports {name}"
