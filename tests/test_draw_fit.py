"""Wrapping a long drawing into columns (`--columns N`, `--fit 16:9`): where it cuts, the DOT it writes,
and the aspect a slide gets."""
import re
import shutil
from pathlib import Path

import pytest

import resdsl
from resdsl.backends.graphviz import DrawOptions, emit, fit_columns, views
from resdsl.backends.graphviz_wrap import assign_columns, columns_for_aspect, parse_aspect
from resdsl.cli import main

SPECS = Path(__file__).resolve().parents[1] / "specs"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def _view(spec: str, level: str = "block", expand: bool = True):
    (view,) = views([resdsl.load(SPECS / spec)], DrawOptions(level=level, expand=expand))
    return view


def _cuts(view, column):
    cells = view.cells
    return [i for i in range(1, len(cells)) if column[cells[i].key] != column[cells[i - 1].key]]


@pytest.mark.parametrize("text, ratio", [("16:9", 16 / 9), ("4:3", 4 / 3), ("16x9", 16 / 9), ("1.5:1", 1.5)])
def test_aspect_ratios_are_read_as_width_over_height(text, ratio):
    assert parse_aspect(text) == pytest.approx(ratio)


@pytest.mark.parametrize("text", ["16", "16:0", "-4:3", "wide", ""])
def test_a_malformed_aspect_ratio_says_what_is_expected(text):
    with pytest.raises(ValueError, match="WIDTH:HEIGHT"):
        parse_aspect(text)


def test_columns_are_contiguous_runs_of_about_equal_length():
    view = _view("torchvision/resnet34.res")
    column = assign_columns(view.cells, view.edges, 4)
    order = [column[c.key] for c in view.cells]
    assert order == sorted(order) and set(order) == {0, 1, 2, 3}
    sizes = [order.count(k) for k in range(4)]
    assert max(sizes) <= 2 * min(sizes), sizes


def test_a_cut_falls_between_residual_units_not_inside_one():
    view = _view("torchvision/resnet34.res")
    column = assign_columns(view.cells, view.edges, 4)
    cuts = _cuts(view, column)
    assert len(cuts) == 3
    # the cell before each cut closes a unit: its merge (or the stem), so no unit's shortcut is torn apart
    assert all(view.cells[i - 1].role == "merge" for i in cuts), [view.cells[i - 1].title for i in cuts]


def test_at_op_level_no_cut_tears_a_block_box():
    view = _view("cifar/resnet20.res", level="op", expand=False)
    column = assign_columns(view.cells, view.edges, 3)
    cuts = _cuts(view, column)
    assert cuts
    for i in cuts:
        before, after = view.cells[i - 1].groups, view.cells[i].groups
        assert not (before and after and before[0] == after[0])


def test_one_column_and_tiny_drawings_are_left_alone():
    view = _view("torchvision/resnet34.res")
    assert set(assign_columns(view.cells, view.edges, 1).values()) == {0}
    assert set(assign_columns(view.cells[:1], (), 5).values()) == {0}


def test_wrapped_dot_starts_every_column_on_one_rank_and_frees_the_edges_between_them():
    view = _view("torchvision/resnet34.res")
    source = emit([view], "TB", 3)
    column = assign_columns(view.cells, view.edges, 3)
    heads = [view.cells[0].key] + [view.cells[i].key for i in _cuts(view, column)]
    same = re.search(r"\{\s*rank=same\s*((?:\S+\s*)+?)\}", source)
    assert same is not None and all(h in same.group(1) for h in heads)
    crossing = [e for e in view.edges if column[e.tail] != column[e.head]]
    assert crossing
    for edge in crossing:
        line = next(line for line in source.splitlines() if line.strip().startswith(f"{edge.tail} -> {edge.head}"))
        assert "constraint=false" in line
    assert "(continued)" in source or all(view.cells[i - 1].stage != view.cells[i].stage for i in _cuts(view, column))
    assert emit([view], "TB", 1) == emit([view], "TB")  # one column: the drawing as before


def test_the_estimate_grows_columns_as_the_square_root_of_the_aspect():
    assert columns_for_aspect(1.0, 16.0, 16 / 9, 100) == 5   # 1:16 in k columns is k²:16; 5 → 1.56, 6 → 2.25
    assert columns_for_aspect(2.0, 1.0, 16 / 9, 100) == 1    # already wide
    assert columns_for_aspect(1.0, 1000.0, 1.0, 5) == 5      # never more columns than cells
    assert columns_for_aspect(16.0, 1.0, 16 / 9, 100, "LR") == 3  # left to right: rows


@needs_dot
def test_fit_brings_resnet34_near_a_slide(tmp_path, capsys):
    view = _view("torchvision/resnet34.res")
    assert fit_columns([view], "TB", 16 / 9) >= 3
    out = tmp_path / "r34.svg"
    assert main(["draw", str(SPECS / "torchvision/resnet34.res"), "--expand", "--fit", "16:9", "-o", str(out)]) == 0
    assert "columns" in capsys.readouterr().out
    width, height = (float(v) for v in re.search(r'viewBox="[\d.]+ [\d.]+ ([\d.]+) ([\d.]+)"',
                                                  out.read_text()).groups())
    assert 1.2 < width / height < 2.6, width / height   # one column is about 1:6


@pytest.mark.parametrize("argv, message", [(["--columns", "0"], "at least 1"),
                                           (["--fit", "wide"], "WIDTH:HEIGHT"),
                                           (["--fit", "16:9", "--columns", "2"], "not allowed with")])
def test_bad_wrap_options_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["draw", str(SPECS / "cifar/resnet20.res"), "-o", "-", *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_columns_reach_dot_on_stdout(capsys):
    assert main(["draw", str(SPECS / "torchvision/resnet34.res"), "--expand", "--columns", "3", "-o", "-"]) == 0
    assert "rank=same" in capsys.readouterr().out


def test_a_bridge_into_another_column_is_written_once_unconstrained():
    """U-Net's crop & concat bridges are unconstrained by style; cut into columns, a bridge that crosses
    one was given constraint=false twice (an internal error)."""
    net = resdsl.load(SPECS / "other/unet.res")
    (view,) = views([net], DrawOptions(level="block"))
    column = assign_columns(view.cells, view.edges, 2)
    assert any(e.kind == "bridge" and column[e.tail] != column[e.head] for e in view.edges)  # the case at hand
    dot = emit((view,), "TB", 2)
    bridges = [line for line in dot.splitlines() if "->" in line and "#56B4E9" in line]
    assert bridges and all(line.count("constraint=false") == 1 for line in bridges)


@pytest.mark.parametrize("level", ["stage", "block", "op"])
def test_every_shipped_spec_can_be_cut_into_columns(level):
    """Each edge kind (skips of every kind, aux heads, bridges) may cross a column break."""
    for path in sorted(SPECS.glob("*/*.res")):
        if path.parent.name == "tables":
            continue
        net = resdsl.load(path)
        for columns in (2, 3):
            dot = emit(views([net], DrawOptions(level=level)), "TB", columns)
            assert dot.count("{") == dot.count("}"), (path, columns)
