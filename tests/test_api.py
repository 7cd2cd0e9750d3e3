"""The Python API, the CLI contract and the torch-free promise."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import resdsl
from resdsl.cli import main
from references import torchvision_reference

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnet152"])
def test_shipped_resnets_match_torchvision_counts(name):
    reference = torchvision_reference(name)
    net = resdsl.load(ROOT / "specs/torchvision" / f"{name}.res")
    assert net.params == reference["params"]
    assert net.macs == reference["macs"]
    assert net.flops == 2 * net.macs
    assert net.output_type.shape == (1000,)


def test_load_accepts_text_and_overrides():
    text = (ROOT / "tests/golden/ok/family_override.res").read_text()
    assert resdsl.load(text).params == 269_722
    assert resdsl.load(text, depth=56).params == 853_018
    assert resdsl.load(ROOT / "specs/cifar/resnet20.res").params == 269_722


def test_family_override_through_the_api():
    spec = ROOT / "tests/golden/ok/family_override.res"
    assert resdsl.load(spec, depth=110).params == 1_727_962
    assert resdsl.load(spec, depth=56, classes=100).output_type.shape == (100,)


def test_errors_raise_one_exception_type_with_the_located_message():
    with pytest.raises(resdsl.ResdslError) as info:
        resdsl.load("network x {\n  input 3x32x32\n  conv 3x3 64 groups=5\n}\n")
    err = info.value
    assert (err.span.line, err.span.column) == (3, 3)
    assert str(err).startswith("<string>:3:3: error: groups=5 does not divide the 3 input channels")
    assert "^^^" in str(err)


def test_unknown_override_is_a_usage_error_naming_the_parameter():
    with pytest.raises(resdsl.UsageError, match="no parameter 'dpth'.*did you mean 'depth'|no parameter 'dpth'"):
        resdsl.load(ROOT / "tests/golden/ok/family_override.res", dpth=3)


def test_checked_ir_is_frozen():
    net = resdsl.load(ROOT / "specs/torchvision/resnet18.res")
    with pytest.raises(AttributeError):
        net.graph.nodes[1].path = "x"  # type: ignore[misc]
    paths = [n.path for n in net.graph.nodes if n.op.is_layer]
    assert "layer3.1.conv2" in paths and "layer2.0.downsample.0" in paths and "fc" in paths


def test_cli_exit_codes(tmp_path, capsys):
    assert main(["check", str(ROOT / "specs/torchvision/resnet18.res")]) == 0
    assert "params 11,689,512" in capsys.readouterr().out
    bad = tmp_path / "bad.res"
    bad.write_text("network x {\n  input 3x32x32\n  conv 3x3\n}\n")
    assert main(["check", str(bad)]) == 1
    assert main(["check", str(tmp_path / "missing.res")]) == 2
    assert main(["check", str(bad), "--set", "oops"]) == 2
    with pytest.raises(SystemExit) as info:
        main(["check"])
    assert info.value.code == 2


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "resdsl", "check", "specs/cifar/resnet20.res"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("resnet20: 3x32x32 -> 10   params 269,722")


@pytest.mark.parametrize("command", [
    ["check", "specs/torchvision/resnet152.res"],
    ["count", "specs/torchvision/resnet152.res"],
    ["draw", "specs/torchvision/resnet18.res", "-o", "-"],
])
def test_check_count_draw_never_import_torch(command):
    code = ("import sys, runpy\n"
            f"sys.argv = ['resdsl', *{command!r}]\n"
            "from resdsl.cli import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    rc = main(sys.argv[1:])\n"
            "assert rc in (0, 2), rc\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_count_and_draw_in_the_api(tmp_path):
    data = resdsl.count(ROOT / "specs/cifar/resnet20.res", by="block", depth=32)
    assert data["params"] == 464_154 and len([r for r in data["rows"] if r["kind"] == "basic"]) == 15
    dot = resdsl.draw(ROOT / "specs/cifar/resnet20.res", tmp_path / "r20.dot", level="stage")
    assert dot.startswith("digraph resnet20") and (tmp_path / "r20.dot").read_text() == dot
