"""The layers import one way: ir/ below analysis/ below elaborate/ below the back ends, and parsing,
counting and drawing never reach torch.

Checked on the source (every `import`, also those inside functions), so a lazy import that would pull
a layer up, or torch into `resdsl count`, fails here naming the module and the line.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "resdsl"


def _module_name(path: Path) -> str:
    parts = ("resdsl", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool = False) -> list[tuple[str, int]]:
    """(module imported, line) for every import statement in `path` (with `top_level_only`, those run
    when it is imported), relative imports resolved."""
    tree = ast.parse(path.read_text(), str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in (_top_level(tree) if top_level_only else ast.walk(tree)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.append((base, node.lineno))
            # `from resdsl.elaborate import values` imports the submodule
            found += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _top_level(tree: ast.Module):
    """The statements run on import: the module body and its if/try blocks, not function bodies
    (nor `if TYPE_CHECKING:`)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            todo += node.body + node.orelse
        elif isinstance(node, ast.Try):
            todo += node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body]


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
GRAPH = {name: _imports(path) for name, path in MODULES.items()}
ON_IMPORT = {name: _imports(path, top_level_only=True) for name, path in MODULES.items()}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{name}:{line} imports {target}" for name, imports in GRAPH.items() if _within(name, layer)
            for target, line in imports if any(_within(target, f) for f in forbidden)]


# Each layer and what it must never import (directly or inside a function).
RULES = [
    ("resdsl.ir", ("resdsl.syntax", "resdsl.elaborate", "resdsl.analysis", "resdsl.backends", "resdsl.commands",
                   "resdsl.pipeline", "resdsl.network", "resdsl.cli")),
    ("resdsl.analysis", ("resdsl.syntax", "resdsl.elaborate", "resdsl.backends", "resdsl.commands",
                         "resdsl.pipeline", "resdsl.network", "resdsl.cli")),
    ("resdsl.syntax", ("resdsl.elaborate", "resdsl.analysis", "resdsl.backends", "resdsl.commands",
                       "resdsl.pipeline", "resdsl.network", "resdsl.cli")),
    ("resdsl.elaborate", ("resdsl.backends", "resdsl.commands", "resdsl.pipeline", "resdsl.network", "resdsl.cli")),
]


@pytest.mark.parametrize("layer, forbidden", RULES, ids=[r[0] for r in RULES])
def test_a_layer_imports_nothing_above_it(layer, forbidden):
    assert any(_within(m, layer) for m in MODULES), f"no modules found under {layer}"
    assert _violations(layer, forbidden) == []


# What `resdsl check`, `count` and `draw` run: none of it may import torch, even lazily.
TORCH_FREE = ("resdsl.syntax", "resdsl.elaborate", "resdsl.ir", "resdsl.analysis", "resdsl.backends.count",
              "resdsl.backends.graphviz", "resdsl.commands.check", "resdsl.commands.count", "resdsl.commands.draw")


def _reach(start: str) -> dict[str, str]:
    """Every module `start` imports (anywhere in it), and what those import when imported, through
    resdsl modules, with the import that first reached each.  (The package's lazy facade, `resdsl.build`
    importing the torch back end when called, is not followed: `count` never calls it.)"""
    seen: dict[str, str] = {start: start}
    todo = [start]
    while todo:
        name = todo.pop()
        for target, line in (GRAPH if name == start else ON_IMPORT).get(name, ()):
            if target not in seen:
                seen[target] = f"{name}:{line}"
                if target in MODULES:
                    todo.append(target)
    return seen


def _torch_free_modules() -> list[str]:
    return [m for m in MODULES if any(_within(m, p) or m.startswith(p + "_") for p in TORCH_FREE)]


def test_the_torch_free_set_is_what_it_claims():
    names = _torch_free_modules()
    assert "resdsl.elaborate.elaborator" in names and "resdsl.backends.graphviz_fold" in names
    assert "resdsl.backends.torch" not in names


@pytest.mark.parametrize("module", _torch_free_modules())
def test_parse_count_and_draw_never_reach_torch(module):
    reached = _reach(module)
    bad = {t: via for t, via in reached.items() if _within(t, "torch") or _within(t, "torchvision")
           or _within(t, "resdsl.backends.torch")}
    assert bad == {}


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    """The rules above only hold if the scan finds imports inside functions and relative ones."""
    pkg = tmp_path / "resdsl" / "ir"
    pkg.mkdir(parents=True)
    source = pkg / "probe.py"
    source.write_text("from . import ops\n\ndef f():\n    import torch\n    from ..elaborate import values\n")
    global ROOT
    saved = ROOT
    ROOT = tmp_path / "resdsl"
    try:
        found = {m for m, _ in _imports(source)}
        on_import = {m for m, _ in _imports(source, top_level_only=True)}
    finally:
        ROOT = saved
    assert {"resdsl.ir.ops", "torch", "resdsl.elaborate", "resdsl.elaborate.values"} <= found
    assert "resdsl.ir.ops" in on_import and "torch" not in on_import
