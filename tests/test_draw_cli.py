"""`resdsl draw` on the command line: outputs and formats, `dot` missing, atomic writes, no torch."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import resdsl
from resdsl.backends import graphviz_render
from resdsl.backends.graphviz import DrawOptions, draw, to_dot
from resdsl.backends.graphviz_render import GraphvizMissing, write_atomic
from resdsl.cli import main

ROOT = Path(__file__).resolve().parent.parent
RESNET18 = str(ROOT / "specs/torchvision/resnet18.res")
RESNET20 = str(ROOT / "specs/cifar/resnet20.res")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "resdsl", *argv], capture_output=True, text=True, timeout=300,
                          cwd=ROOT)


def test_dot_to_stdout(capsys):
    assert main(["draw", RESNET18, "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph resnet18 {") and out.rstrip().endswith("}")
    assert out == to_dot([resdsl.load(RESNET18)])


def test_dot_file_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    out = tmp_path / "r18.dot"
    assert main(["draw", RESNET18, "-o", str(out)]) == 0
    assert out.read_text().startswith("digraph resnet18")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r18.dot"]


@pytest.mark.parametrize("suffix", [".svg", ".png", ".pdf"])
def test_rendered_formats_without_dot_fail_with_an_install_hint(tmp_path, monkeypatch, capsys, suffix):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    out = tmp_path / f"r18{suffix}"
    assert main(["draw", RESNET18, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "needs the Graphviz program `dot`" in err and "apt-get install graphviz" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_library_raises_graphviz_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(GraphvizMissing) as info:
        draw([resdsl.load(RESNET18)], tmp_path / "x.svg")
    assert "apt-get install graphviz" in info.value.hint
    assert draw([resdsl.load(RESNET18)], tmp_path / "x.dot") == "dot"


def test_path_without_dot_in_a_subprocess(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path / "empty")}  # no dot anywhere on PATH
    done = subprocess.run([sys.executable, "-m", "resdsl", "draw", RESNET18, "-o", str(tmp_path / "x.svg")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2
    assert "apt-get install graphviz" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "resdsl", "draw", RESNET18, "-o", str(tmp_path / "x.dot")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x.dot").exists()


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_rendered_formats(tmp_path, suffix, magic):
    out = tmp_path / f"r18{suffix}"
    assert main(["draw", RESNET18, "-o", str(out), "--level", "stage"]) == 0
    assert out.read_bytes().startswith(magic)
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary left over
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # a normal file, not mkstemp's private mode


@needs_dot
def test_default_output_is_network_name_svg_in_cwd(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["draw", RESNET18]) == 0
    assert (tmp_path / "resnet18.svg").read_bytes().startswith(b"<?xml")
    assert "wrote resnet18.svg" in capsys.readouterr().out
    assert main(["draw", RESNET18, RESNET20]) == 0
    assert (tmp_path / "resnet18_vs_resnet20.svg").exists()


def test_unknown_suffix_is_a_usage_error(tmp_path, capsys):
    assert main(["draw", RESNET18, "-o", str(tmp_path / "x.jpg")]) == 2
    err = capsys.readouterr().err
    assert "cannot tell the output format" in err and ".svg, .png, .pdf or .dot" in err


def test_missing_directory_is_a_usage_error(tmp_path, capsys):
    assert main(["draw", RESNET18, "-o", str(tmp_path / "no" / "x.dot")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_compare_given_twice_is_a_usage_error(capsys):
    assert main(["draw", RESNET18, RESNET20, "--compare", RESNET20, "-o", "-"]) == 2
    assert "give the second spec once" in capsys.readouterr().err


def test_compare_flag_and_second_file_agree(capsys):
    assert main(["draw", RESNET18, RESNET20, "-o", "-"]) == 0
    positional = capsys.readouterr().out
    assert main(["draw", RESNET18, "--compare", RESNET20, "-o", "-"]) == 0
    assert capsys.readouterr().out == positional
    assert "cluster_net0" in positional and "cluster_net1" in positional


def test_set_applies_to_the_first_network_and_compare_set_to_the_second(capsys):
    assert main(["draw", RESNET20, RESNET20, "--set", "depth=32", "--compare-set", "depth=44", "-o", "-"]) == 0
    first, second = capsys.readouterr().out.split("subgraph cluster_net1")
    # depth 6n+2: layer1 collapses to n identical blocks
    assert "basic ×5" in first and "basic ×7" not in first
    assert "basic ×7" in second and "basic ×5" not in second
    assert main(["draw", RESNET20, "--compare-set", "depth=44", "-o", "-"]) == 2
    assert "need a second spec" in capsys.readouterr().err


def test_options_reach_the_drawing(capsys):
    assert main(["draw", RESNET20, "--set", "depth=32", "--level", "op", "--rankdir", "lr", "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert "rankdir=LR" in out
    assert out.count("3x3 conv, 16<") == 1 + 2 * 5  # stem + 5 blocks of two convs


def test_spec_errors_are_reported_not_raised(tmp_path, capsys):
    bad = tmp_path / "bad.res"
    bad.write_text("network n { input 3x32x32\n  conv 3x3 16 /0 }\n")
    assert main(["draw", str(bad), "-o", "-"]) == 1
    err = capsys.readouterr().err
    assert "bad.res:" in err and "Traceback" not in err


def test_write_atomic_leaves_nothing_behind_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out.svg"
    target.write_bytes(b"old")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.svg"]


def test_render_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "r18.svg"
    target.write_bytes(b"old")

    def broken(source, fmt, timeout=0):
        raise RuntimeError("dot crashed")

    monkeypatch.setattr("resdsl.backends.graphviz.render", broken)
    with pytest.raises(RuntimeError):
        draw([resdsl.load(RESNET18)], target, DrawOptions())
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["r18.svg"]


@needs_dot
def test_dot_failure_is_an_internal_error_not_a_traceback(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n")
    (fake / "dot").chmod(0o755)
    env = {**os.environ, "PATH": str(fake)}
    out = tmp_path / "x.svg"
    done = subprocess.run([sys.executable, "-m", "resdsl", "draw", RESNET18, "-o", str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 3
    assert "dot -Tsvg failed" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


def test_drawing_never_imports_torch(tmp_path):
    code = (
        "import sys\n"
        "from resdsl.cli import main\n"
        f"assert main(['draw', {RESNET18!r}, '-o', {str(tmp_path / 'x.dot')!r}, '--level', 'op']) == 0\n"
        f"assert main(['draw', {RESNET20!r}, '-o', '-']) == 0\n"
        "assert 'torch' not in sys.modules, 'draw imported torch'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_dot_is_identical_across_processes_and_hash_seeds():
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "resdsl", "draw", str(ROOT / "specs/other/unet.res"),
                               "--level", "op", "-o", "-"], capture_output=True, env=env, timeout=300, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_command_and_back_end_agree_on_levels():
    from resdsl.backends.graphviz import LEVELS
    from resdsl.commands import draw as command

    assert command._LEVELS == LEVELS
    with pytest.raises(ValueError):
        DrawOptions(level="layer")


def test_require_dot_is_not_needed_for_dot_output(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    assert graphviz_render.require_dot("dot") is None
    with pytest.raises(GraphvizMissing):
        graphviz_render.require_dot("svg")
