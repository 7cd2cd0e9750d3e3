"""The Python code generator: one standalone file, readable, with resdsl.build's state_dict and outputs."""
from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.backends import pycode, pycode_literals, pycode_names  # noqa: E402
from resdsl.backends.torch import build_module, example_input  # noqa: E402
from resdsl.diagnostics import ResdslError, UsageError  # noqa: E402
from resdsl.pipeline import check_program, choose_network, load_program  # noqa: E402

pytestmark = pytest.mark.torch

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p for p in (ROOT / "specs").rglob("*.res") if "tables" not in p.relative_to(ROOT / "specs").parts)
REAL_FORWARD_MACS = 0.3e9
ALLOWED_IMPORTS = {"__future__", "collections", "torch", "torch.nn", "torch.nn.functional"}


def _load(path: Path) -> resdsl.Network:
    program = load_program(path)
    try:
        return check_program(program, choose_network(program, None))
    except UsageError as err:
        pytest.skip(f"{path.name}: {err.message}")


def _import_file(path: Path):
    """Import a generated file the way a user would, by path."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _randomize_bn(module: torch.nn.Module) -> None:
    g = torch.Generator().manual_seed(0)
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


def test_generated_resnet50_reproduces_build_exactly(tmp_path):
    net = resdsl.load(ROOT / "specs/torchvision/resnet50.res")
    path = tmp_path / "generated_resnet50.py"
    path.write_text(pycode.generate(net))
    module = _import_file(path)
    torch.manual_seed(0)
    built = resdsl.build(net)
    _randomize_bn(built)
    generated = module.Resnet50()
    assert module.INPUT_SHAPE == (3, 224, 224)
    assert [(k, v.shape) for k, v in generated.state_dict().items()] == \
           [(k, v.shape) for k, v in built.state_dict().items()]
    generated.load_state_dict(built.state_dict(), strict=True)
    built.eval(), generated.eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(generated(x), built(x))


def test_generated_resnet50_reads_like_torchvision():
    source = pycode.generate(resdsl.load(ROOT / "specs/torchvision/resnet50.res"))
    tree = ast.parse(source)
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    assert classes == ["Bottleneck", "Resnet50"]  # one class per block definition
    assert "def __init__(self, in_channels, width, stride=1, expansion=4, downsample=None):" in source
    assert "self.conv1 = nn.Conv2d(in_channels // 4, " not in source
    assert "        out += x\n" in source  # torchvision's in-place shortcut addition
    assert "self.layer3 = nn.Sequential(\n" in source
    assert "x = self.fc(torch.flatten(x, 1))" in source


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT / "specs")))
def test_every_spec_generates_code_with_builds_state_dict_and_outputs(path):
    net = _load(path)
    source = pycode.generate(net)
    imports = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imports |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imports.add(node.module)
    assert imports <= ALLOWED_IMPORTS
    cls = pycode.load_source(source)
    small = net.macs <= REAL_FORWARD_MACS
    with torch.device("cpu" if small else "meta"):
        built, generated = build_module(net), cls()
    assert [(k, v.shape) for k, v in generated.state_dict().items()] == \
           [(k, v.shape) for k, v in built.state_dict().items()]
    if small:
        _randomize_bn(built)
        generated.load_state_dict(built.state_dict(), strict=True)
        built.eval(), generated.eval()
        x = example_input(built, batch=2)
        with torch.no_grad():
            assert torch.equal(generated(x), built(x))


@pytest.mark.parametrize("spec, overrides", [("cifar/resnet110_stochastic_depth.res", {"depth": 20}),
                                             ("cifar/wrn16_4_dropout.res", {})])
def test_training_mode_randomness_is_drawn_in_the_same_order(spec, overrides):
    net = resdsl.load(ROOT / "specs" / spec, **overrides)
    built = resdsl.build(net)
    generated = pycode.load_source(pycode.generate(net))()
    generated.load_state_dict(built.state_dict())
    x = torch.randn(2, 3, 32, 32)
    outs = []
    for model in (built, generated):
        torch.manual_seed(7)
        outs.append([model(x) for _ in range(3)])
    for a, b in zip(*outs):
        assert torch.equal(a, b)


def test_the_generated_file_runs_as_a_script(tmp_path):
    path = tmp_path / "resnet20.py"
    path.write_text(pycode.generate(resdsl.load(ROOT / "specs/cifar/resnet20.res")))
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "resnet20: 269,722 parameters, output (1, 10)"


def test_numbers_shared_by_block_instances_become_parameters():
    source = pycode.generate(resdsl.load(ROOT / "specs/cifar/resnet20.res"))
    # One basic block class; option A (a function, not a member) pads where the body changes the shape, with
    # the block's own width and stride, stored on self for the forward.
    assert source.count("class Basic(") == 1
    assert "self.width = width" in source and "self.stride = stride" in source
    assert ("        if self.stride != 1 or self.width != self.in_channels:\n"
            "            x = zero_pad_shortcut(x, self.width, self.stride)\n") in source
    assert "def zero_pad_shortcut(" in source  # the runtime helper is copied in, not imported
    dense = pycode.generate(resdsl.load(ROOT / "specs/torchvision/densenet121.res"))
    assert "class DenseLayer(nn.Module):" in dense and dense.count("class DenseLayer") == 1


def test_nothing_from_the_spec_text_reaches_the_code_unescaped(tmp_path):
    # A hostile file name must not end up in the generated source (no source path is written at all).
    evil = tmp_path / 'x"""; import os; os.system("echo pwned") #.res'
    evil.write_text("network tiny {\n  input 3x8x8\n  c: conv 3x3 4\n  fc: fc 2\n}\n")
    source = pycode.generate(resdsl.load(evil))
    assert "pwned" not in source and "os.system" not in source
    ast.parse(source)
    assert pycode_names.doc_text('a"""b\\c\nd') == "abcd"
    assert pycode_names.attr_name("0", "p") == '"0"' and pycode_names.attr_name("conv1", "p") == "conv1"
    for bad in ("a.b", "", 'a"b', "a b", "a\\b", "a\nb"):
        with pytest.raises(ResdslError):
            pycode_names.attr_name(bad, "p")
    # quoted labels (torchvision's "block1-0") and Python's words go through add_module / getattr
    assert pycode_names.attr_name("x-y", "p") == '"x-y"' and pycode_names.attr_name("import", "p") == '"import"'
    assert pycode_names.attr_name("1a", "p") == '"1a"'
    with pytest.raises(TypeError):
        pycode_literals.Recorder().lit("os.system('x')", "hint")


def test_numeric_module_names_use_add_module_and_getattr():
    source = pycode.generate(resdsl.load(ROOT / "specs/other/unet.res"))
    # unet_up splices double_conv into its own scope: `up` is layer 0, the convs are layers 1 and 3.
    assert 'self.add_module("1", nn.Conv2d(' in source
    assert 'x = getattr(self, "1")(x)' in source


def test_generating_code_does_not_import_torch():
    code = ("import sys, resdsl\nfrom resdsl.backends import pycode\n"
            f"pycode.generate(resdsl.load({str(ROOT / 'specs/torchvision/densenet121.res')!r}))\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
