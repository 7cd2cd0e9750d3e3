"""Elaboration invariants on every shipped spec."""
from __future__ import annotations

from pathlib import Path

import pytest

from resdsl.diagnostics import UsageError
from resdsl.elaborate.elaborator import Elaborator
from resdsl.pipeline import choose_network, load_program

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p for p in (ROOT / "specs").rglob("*.res") if "tables" not in p.parts)


def _single_network(path: Path):
    program = load_program(path)
    try:
        return program, choose_network(program, None)
    except UsageError:
        pytest.skip("defines several networks")


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_replayed_expansions_equal_fresh_ones(path):
    """Identical block calls are replayed from a template; the graph must equal a fresh elaboration."""
    program, name = _single_network(path)
    fast = Elaborator(program).network(name).graph
    slow = Elaborator(program, reuse_expansions=False).network(name).graph
    assert fast.nodes == slow.nodes
    assert fast.scopes == slow.scopes
    assert fast.output == slow.output


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_graph_is_well_formed(path):
    program, name = _single_network(path)
    graph = Elaborator(program).network(name).graph
    paths = set()
    for node in graph.nodes:
        assert all(i < node.id for i in node.inputs), "nodes are in topological order"
        assert graph.scopes[node.scope].path == "" or node.path.startswith(graph.scopes[node.scope].path + ".")
        assert node.path not in paths, f"duplicate path {node.path}"
        paths.add(node.path)
    scope_paths = [s.path for s in graph.scopes]
    assert len(scope_paths) == len(set(scope_paths))
    assert not (paths & set(scope_paths)), "a module path is also a container path"
