"""Drawings Graphviz cannot lay out in reasonable time are refused before `dot` runs; --max-nodes
collapses the deepest scopes first until a drawing fits (resdsl/backends/graphviz_size.py)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import resdsl
from resdsl.backends import graphviz_render, graphviz_size
from resdsl.backends.graphviz import DrawOptions, to_dot, views
from resdsl.cli import main
from resdsl.pipeline import load

ROOT = Path(__file__).resolve().parent.parent
RESNET1202 = str(ROOT / "specs/cifar/resnet1202.res")
RESNET20 = str(ROOT / "specs/cifar/resnet20.res")


@pytest.fixture(scope="module")
def resnet1202():
    return load(Path(RESNET1202))


@pytest.fixture
def no_dot(monkeypatch):
    """Fail the test if `dot` is started: the refusal must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"dot was started: {args}")

    monkeypatch.setattr(graphviz_render.subprocess, "run", refuse)


def test_an_op_level_resnet1202_is_refused_before_dot_runs(resnet1202, tmp_path, no_dot):
    target = tmp_path / "r1202.svg"
    with pytest.raises(resdsl.UsageError) as info:
        resdsl.draw(resnet1202, target, level="op")
    message, hint = info.value.message, info.value.hint
    assert re.search(r"the op level drawing has 1,\d{3} nodes and 2,\d{3} edges", message)
    assert "--level block (15 nodes" in hint and "--max-nodes" in hint and "FILE.dot" in hint
    assert list(tmp_path.iterdir()) == []


def test_the_cli_refusal_is_a_usage_error_with_the_options(resnet1202, tmp_path, no_dot, capsys):
    assert main(["draw", RESNET1202, "--level", "op", "-o", str(tmp_path / "r.svg")]) == 2
    err = capsys.readouterr().err
    assert "Graphviz's dot would need about" in err and "hint: draw less" in err and "Traceback" not in err
    suggested = int(re.search(r"--max-nodes (\d+)", err).group(1))
    drawn = views([resnet1202], DrawOptions(level="op", max_nodes=suggested))
    assert graphviz_size.nodes(drawn) <= suggested
    assert graphviz_size.layout_seconds(drawn) <= graphviz_size.LAYOUT_BUDGET  # the suggestion fits


def test_dot_output_is_never_refused(resnet1202, tmp_path, no_dot):
    target = tmp_path / "r1202.dot"
    source = resdsl.draw(resnet1202, target, level="op")
    assert target.read_text() == source and source.count("->") > 2000


def test_max_nodes_collapses_to_the_most_detailed_drawing_that_fits(resnet1202):
    op = views([resnet1202], DrawOptions(level="op"))
    expanded = views([resnet1202], DrawOptions(level="block", expand=True))
    assert graphviz_size.nodes(expanded) < graphviz_size.nodes(op)
    drawn = views([resnet1202], DrawOptions(level="op", max_nodes=graphviz_size.nodes(expanded)))
    assert drawn[0].level == "block" and graphviz_size.nodes(drawn) == graphviz_size.nodes(expanded)
    assert any("collapsed to the block level with --expand" in note for note in drawn[0].notes)
    folded = views([resnet1202], DrawOptions(level="op", max_nodes=100))
    assert graphviz_size.nodes(folded) <= 100
    assert "×200" in to_dot([resnet1202], DrawOptions(level="op", max_nodes=100))
    small = views([load(Path(RESNET20))], DrawOptions(level="op", max_nodes=10_000))
    assert small[0].level == "op" and not any("collapsed" in n for n in small[0].notes)


def test_max_nodes_below_any_drawing_is_a_usage_error(capsys):
    assert main(["draw", RESNET20, "--max-nodes", "2", "-o", "-"]) == 2
    err = capsys.readouterr().err
    assert "no drawing of this network has at most 2 nodes" in err and "stage level" in err


def test_the_cli_says_what_it_collapsed(tmp_path):
    out = tmp_path / "r.dot"
    assert main(["draw", RESNET1202, "--level", "op", "--max-nodes", "300", "-o", str(out)]) == 0
    assert "collapsed to the block level" in out.read_text()


def test_the_estimate_grows_faster_than_the_drawing(resnet1202):
    op = views([resnet1202], DrawOptions(level="op"))
    block = views([resnet1202], DrawOptions(level="block"))
    ratio = (graphviz_size.nodes(op) + graphviz_size.edges(op)) / (graphviz_size.nodes(block) + graphviz_size.edges(block))
    assert graphviz_size.layout_seconds(op) / graphviz_size.layout_seconds(block) > ratio ** 2
