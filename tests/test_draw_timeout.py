"""Issue 12: `dot` that runs past its wait.  The wait scales with the drawing's estimated layout time
(resdsl/backends/graphviz_size.py dot_wait), and running past it is a usage error (exit 2) at --level
that says how large the drawing is and offers --level block, --level stage, --max-nodes and DOT output.
A fake `dot` on PATH that sleeps stands in for a slow layout; the wait is shrunk to keep the test quick."""
from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

import pytest

from resdsl.backends import graphviz_size
from resdsl.backends.graphviz import DrawOptions, views
from resdsl.cli import main
from resdsl.pipeline import load

ROOT = Path(__file__).resolve().parent.parent
RESNET20 = str(ROOT / "specs/cifar/resnet20.res")
RESNET110 = str(ROOT / "specs/cifar/resnet110.res")


@pytest.fixture
def slow_dot(tmp_path, monkeypatch):
    """A `dot` that never finishes in time (exec: one process, so the kill on time-out ends it)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dot").write_text("#!/bin/sh\nexec sleep 60\n")
    (bin_dir / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(graphviz_size, "WAIT_BASE", 0.5)
    monkeypatch.setattr(graphviz_size, "WAIT_FACTOR", 1.0)
    return bin_dir


def _draw(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["draw", *argv])
    return code, out.getvalue(), err.getvalue()


def test_the_wait_grows_with_the_estimated_layout_time():
    small = views([load(Path(RESNET20))], DrawOptions(level="op"))
    large = views([load(Path(RESNET110))], DrawOptions(level="op"))
    assert graphviz_size.layout_seconds(small) < graphviz_size.layout_seconds(large)
    assert graphviz_size.WAIT_BASE < graphviz_size.dot_wait(small) < graphviz_size.dot_wait(large)
    assert graphviz_size.dot_wait(large) == pytest.approx(
        graphviz_size.WAIT_BASE + graphviz_size.WAIT_FACTOR * graphviz_size.layout_seconds(large))
    # The largest drawing allowed without --max-nodes is waited for well past its estimate, not 300 s.
    biggest = graphviz_size.WAIT_BASE + graphviz_size.WAIT_FACTOR * graphviz_size.LAYOUT_BUDGET
    assert graphviz_size.LAYOUT_BUDGET * 4 < biggest < 300


def test_a_slow_dot_is_a_usage_error_with_what_to_draw_instead(slow_dot, tmp_path):
    target = tmp_path / "r20.svg"
    start = time.monotonic()
    code, _, err = _draw([RESNET20, "--level", "op", "-o", str(target)])
    elapsed = time.monotonic() - start
    assert code == 2
    assert elapsed < 30  # the shrunk wait, not the fake dot's 60 s
    first = err.splitlines()[0]
    assert first.startswith("--level: error: Graphviz's dot did not finish the op level drawing (")
    assert "nodes," in first and "edges) within 0.5 s;" in first
    assert "estimated at under a second (the wait is 0.5 s + 1 x the estimate)" in first
    for offer in ("--level block", "--level stage", "--max-nodes ", "-o FILE.dot"):
        assert offer in err, offer
    assert "Traceback" not in err
    assert not target.exists()        # nothing half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


def test_a_slow_dot_at_block_level_offers_the_stage_level_not_block(slow_dot, tmp_path):
    code, _, err = _draw([RESNET20, "-o", str(tmp_path / "r20.png")])
    assert code == 2
    assert "did not finish the block level drawing" in err
    assert "--level stage" in err and "--level block" not in err.split("draw less:")[1]


def test_dot_output_needs_no_dot_at_all(slow_dot, tmp_path):
    code, _, err = _draw([RESNET20, "--level", "op", "-o", str(tmp_path / "r20.dot")])
    assert code == 0, err
    assert (tmp_path / "r20.dot").read_text().startswith("digraph")
