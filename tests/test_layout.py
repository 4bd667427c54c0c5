"""The test suite's own layout: its folders mirror the package, and test modules never import each other.

Shared set-up lives in fixtures of a ``conftest.py`` (at the level of the tests that use it), so a test
module can be moved or deleted without breaking another.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "napari_scribbleseg"


def _folders() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*") if p.is_dir() and not p.name.startswith((".", "__")))


def test_every_test_folder_is_a_package_mirroring_a_package_folder():
    assert _folders(), "no test folder found"
    for folder in _folders():
        rel = folder.relative_to(TESTS)
        assert (folder / "__init__.py").is_file(), f"tests/{rel} has no __init__.py"
        assert (PACKAGE / rel).is_dir(), f"tests/{rel} mirrors no folder of napari_scribbleseg"


def test_no_test_module_imports_another_or_a_conftest():
    offending = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""] if node.level == 0 else ["." * node.level]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            if any(m.startswith(".") or m.split(".")[0] == "tests" for m in modules):
                offending.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert not offending, f"use a conftest.py fixture instead of importing test code: {offending}"
