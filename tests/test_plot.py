"""`resdsl plot`: a chart of specs (MACs vs params) and of a table's published figure vs our MACs."""
from __future__ import annotations

import pytest

from resdsl.cli import main

pytest.importorskip("matplotlib", reason="matplotlib is in the plot and dev extras")


def test_plot_specs_svg(tmp_path, capsys):
    out = tmp_path / "chart.svg"
    assert main(["plot", "resnet18", "paper/resnet50", "densenet121", "-o", str(out)]) == 0
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for label in ("resnet18", "resnet50", "densenet121", "peak activation memory"):
        assert label in svg
    assert "wrote" in capsys.readouterr().out


def test_plot_table_png_uses_the_published_metric(tmp_path, capsys):
    out = tmp_path / "t.png"
    assert main(["plot", "--table", "resnet_shortcut_options", "--metric", "top1", "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "4 networks" in capsys.readouterr().out
    svg = tmp_path / "t.svg"
    assert main(["plot", "--table", "specs/tables/resnet_cifar_table6.res", "-o", str(svg)]) == 0
    text = svg.read_text()
    assert "error (published)" in text and "resnet1202" in text


def test_plot_usage_errors(tmp_path, capsys):
    assert main(["plot", "resnet18", "-o", str(tmp_path / "x.gif")]) == 2
    assert main(["plot", "--table", "resnet_shortcut_options", "--metric", "top5", "-o",
                 str(tmp_path / "x.svg")]) == 2
    err = capsys.readouterr().err
    assert ".svg, .png or .pdf" in err and "top1" in err
    assert not list(tmp_path.iterdir())


def test_plot_a_table_without_published_figures_draws_macs_against_params(tmp_path, capsys):
    out = tmp_path / "c.svg"
    assert main(["plot", "--table", "canziani_comparison", "-o", str(out)]) == 0
    text = out.read_text()
    from resdsl.cli import resolve_file
    from resdsl.tables import evaluate_file
    rows = sum(len(t.rows) for t in evaluate_file(resolve_file("canziani_comparison")))
    assert rows >= 11 and f"{rows} networks" in capsys.readouterr().out
    assert "bn_alexnet" in text and "inception_v4" in text and "bubble area: parameters" in text


def test_labels_of_bubbles_on_one_spot_are_stacked_not_overprinted():
    from resdsl.commands.plot import Point, _label_rises

    points = [Point("alexnet", 7.2e8, 6.1e7, 1.0), Point("bn_alexnet", 7.3e8, 6.1e7, 1.0),
              Point("resnet50", 4.1e9, 2.6e7, 1.0), Point("vgg16", 1.5e10, 1.4e8, 1.0)]
    rises = _label_rises(points, log_y=True)
    assert rises[0] != rises[1]  # the two AlexNets would print over each other
    assert rises[2] == rises[3] == rises[0]  # lone bubbles keep the usual offset
