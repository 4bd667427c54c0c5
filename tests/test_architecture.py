"""The import contract of the package (DESIGN.md Sec. 3), checked on the source with ``ast``.

- no import cycle between modules (module-level and function-level imports alike);
- imports go down the layers only: 1 errors, config, labels, devices, registry < 2 io, data, scribbles
  < 3 models, losses, metrics < 4a inference < 4b engine < 5 cli, _napari;
- only ``_napari`` imports the GUI libraries (napari, Qt, magicgui, vispy) or ``_napari`` itself;
- every top-level module or subpackage has a layer, no module exceeds 400 lines and no
  widget class 300.

Run on its own: ``python -m pytest -q tests/test_architecture.py``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import napari_scribbleseg

PACKAGE = "napari_scribbleseg"
ROOT = Path(napari_scribbleseg.__file__).resolve().parent

#: Layer of each top-level module or subpackage; imports may only go to the same or a lower number.
#: The package root (``__init__``: the version) is layer 0; ``inference`` (4.0) is below ``engine`` (4.5).
LAYERS: dict[str, float] = {
    "errors": 1,
    "config": 1,
    "labels": 1,
    "devices": 1,
    "registry": 1,
    "io": 2,
    "data": 2,
    "scribbles": 2,
    "models": 3,
    "losses": 3,
    "metrics": 3,
    "inference": 4.0,
    "engine": 4.5,
    "cli": 5,
    "_napari": 5,
    "__main__": 5,
}

#: Top-level names of the GUI libraries only ``_napari`` may import.
GUI_LIBRARIES = {"napari", "qtpy", "magicgui", "vispy", "superqt", "PyQt5", "PyQt6", "PySide2", "PySide6"}
GUI_PACKAGE = "_napari"
MAX_LINES = 400
MAX_CLASS_LINES = 300


@dataclass(frozen=True)
class Import:
    """One import statement's target, seen from ``module`` (``path:line`` for the messages)."""

    module: str
    target: str  # a module of the package, or an external top-level name
    internal: bool
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.target}"


@cache
def modules(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted name -> file of every module of the package (``pkg/__init__.py`` is ``pkg``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


@cache
def imports(root: Path = ROOT, package: str = PACKAGE) -> tuple[Import, ...]:
    """Every import in the package, at module level or inside functions, relative ones resolved."""
    known = modules(root, package)

    def resolve(name: str) -> str:  # the module that importing ``name`` (module or attribute) runs last
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    found = []
    for module, path in known.items():
        parent = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        rel = str(path.relative_to(root.parent))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = parent.split(".")
                    base = ".".join(up[: len(up) - (node.level - 1)] + ([node.module] if node.module else []))
                # ``from pkg import name``: ``pkg.name`` when that is a module, else ``pkg`` itself
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            for name in names:
                internal = name == package or name.startswith(package + ".")
                target = resolve(name) if internal else name.split(".")[0]
                if internal and target == module:
                    continue  # ``from . import name`` in a package's ``__init__``: its own namespace
                found.append(Import(module, target, internal, rel, node.lineno))
    return tuple(sorted(set(found), key=lambda i: (i.path, i.line, i.target)))


def top_level(module: str) -> str:
    """The top-level module or subpackage of a dotted name (``""`` for the package root)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layer(module: str) -> float:
    """Layer of ``module``: its top-level name's entry in :data:`LAYERS` (0 for the package root)."""
    top = top_level(module)
    return 0 if top == "" else LAYERS.get(top, float("nan"))


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def layer_map_problems(root: Path = ROOT, package: str = PACKAGE) -> list[str]:
    """Top-level modules missing from :data:`LAYERS`, and entries of it that name nothing."""
    present = {top_level(m) for m in modules(root, package)} - {""}
    missing = sorted(present - LAYERS.keys())
    stale = sorted(LAYERS.keys() - present)
    return [f"no layer for {m!r}: add it to LAYERS in {__file__}" for m in missing] + [
        f"LAYERS names {m!r}, which does not exist: remove it" for m in stale
    ]


def cycle_report(found: tuple[Import, ...]) -> list[str]:
    """One line per cycle and, under it, the imports that close it."""
    edges: dict[str, set[str]] = {}
    for imp in found:
        if imp.internal:
            edges.setdefault(imp.module, set()).add(imp.target)
    lines = []
    for cycle in find_cycles(edges):
        members = set(cycle)
        lines.append("cycle: " + " <-> ".join(cycle))
        lines += [f"    {imp}" for imp in found if imp.internal and {imp.module, imp.target} <= members]
    return lines


def upward_imports(found: tuple[Import, ...]) -> list[str]:
    """Imports of a higher layer than the importer's (unknown top-level names are left to the map test)."""
    return [
        f"{imp}  (layer {layer(imp.module):g} -> {layer(imp.target):g})"
        for imp in found
        if imp.internal and layer(imp.target) > layer(imp.module)
    ]


def gui_imports(found: tuple[Import, ...]) -> list[str]:
    """Imports of a GUI library, or of ``_napari``, from outside ``_napari``."""
    return [
        str(imp)
        for imp in found
        if top_level(imp.module) != GUI_PACKAGE
        and (
            (not imp.internal and imp.target in GUI_LIBRARIES)
            or (imp.internal and top_level(imp.target) == GUI_PACKAGE)
        )
    ]


def long_modules(root: Path = ROOT, package: str = PACKAGE) -> list[str]:
    """``"<lines>  <file>"`` of the modules over :data:`MAX_LINES` lines, longest first."""
    sizes = [
        (len(path.read_text(encoding="utf-8").splitlines()), str(path.relative_to(root.parent)))
        for path in modules(root, package).values()
    ]
    return [f"{n:5d}  {f}" for n, f in sorted(sizes, reverse=True) if n > MAX_LINES]


# -- the contract ---------------------------------------------------------------------------------------
def test_every_top_level_module_has_a_layer():
    problems = layer_map_problems()
    assert not problems, "\n".join(problems)


def test_no_import_cycles():
    lines = cycle_report(imports())
    assert not lines, "import cycles between modules:\n" + "\n".join(lines)


def test_imports_go_down_the_layers():
    upward = upward_imports(imports())
    assert not upward, "imports against the layer order (DESIGN.md Sec. 3):\n" + "\n".join(upward)


def test_only_napari_package_imports_the_gui():
    offenders = gui_imports(imports())
    assert not offenders, f"only {PACKAGE}.{GUI_PACKAGE} may import the GUI:\n" + "\n".join(offenders)


def test_no_module_over_400_lines():
    over = long_modules()
    assert not over, f"modules over {MAX_LINES} lines (split them by job):\n" + "\n".join(over)


def test_no_widget_class_over_300_lines():
    over = []
    for path in sorted((ROOT / GUI_PACKAGE).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                over.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not over, f"classes over {MAX_CLASS_LINES} lines (split them by job):\n" + "\n".join(over)


# -- the checker itself, on a made-up package -----------------------------------------------------------
def _fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "fakepkg"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_cycle_finder_on_a_known_graph():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert sorted(find_cycles(edges)) == [["a", "b", "c"], ["d", "e"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_checker_flags_cycles_upward_and_gui_imports(tmp_path):
    root = _fake_package(
        tmp_path,
        {
            "__init__.py": "",
            "config.py": "def f():\n    from .engine import trainer\n",  # function level, upward
            "engine/__init__.py": "",
            "engine/trainer.py": "from ..inference import predictor\nfrom .. import config\n",
            "inference/__init__.py": "from .predictor import P\n",
            "inference/predictor.py": "from ..engine.trainer import T\nimport qtpy.QtCore\n",
            "metrics.py": "from . import cli\n" + "x = 1\n" * (MAX_LINES + 1),
            "cli.py": "",
            "newthing.py": "",
        },
    )
    found = imports(root, "fakepkg")
    cycles = cycle_report(found)
    assert cycles[0] == "cycle: fakepkg.config <-> fakepkg.engine.trainer <-> fakepkg.inference.predictor"
    assert (
        "    fakepkg/inference/predictor.py:1: fakepkg.inference.predictor imports fakepkg.engine.trainer"
        in cycles
    )
    upward = "\n".join(upward_imports(found))
    assert "config.py:2: fakepkg.config imports fakepkg.engine.trainer  (layer 1 -> 4.5)" in upward
    assert "inference.predictor imports fakepkg.engine.trainer  (layer 4 -> 4.5)" in upward
    assert "fakepkg.metrics imports fakepkg.cli" in upward
    assert "imports fakepkg.config" not in upward and "imports fakepkg.inference" not in upward
    assert gui_imports(found) == [
        "fakepkg/inference/predictor.py:2: fakepkg.inference.predictor imports qtpy"
    ]
    assert long_modules(root, "fakepkg") == [f"{MAX_LINES + 2:5d}  fakepkg/metrics.py"]
    problems = layer_map_problems(root, "fakepkg")
    assert any("'newthing'" in p for p in problems) and any("'_napari'" in p for p in problems)


def test_real_imports_are_resolved():
    found = {(i.module, i.target) for i in imports()}
    # module level, relative with two dots: the trainer imports the inference package
    assert (f"{PACKAGE}.engine.trainer", f"{PACKAGE}.inference") in found
    # function-level ``from ..io import checkpoint`` resolves to the submodule
    assert (f"{PACKAGE}.inference.predictor", f"{PACKAGE}.io.checkpoint") in found
    assert (f"{PACKAGE}.cli", f"{PACKAGE}.engine.distributed") in found
