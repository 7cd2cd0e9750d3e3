"""Issue 10: `resdsl compile --check` passes for every shipped spec.  Each spec is compiled to Python,
the generated module is built and run on a random batch of 2, and its output shape, parameter count and
FLOPs must equal the checked network's (the command exits 1 on any difference).

Large inputs make this slow without testing anything more, so each network is checked at the smallest
of 32, 64, 96, 128 and 188 pixels (or its own size) at which it still builds: a size too small for the
network is refused while checking, before any torch work.  The networks whose check takes seconds
even so (hundreds of millions of parameters to initialise) are marked slow; CI runs them too."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.cli import main  # noqa: E402

pytestmark = pytest.mark.torch

SPECS = Path(__file__).resolve().parent.parent / "specs"
ALL_SPECS = sorted(p for p in SPECS.rglob("*.res") if "tables" not in p.relative_to(SPECS).parts)
SIDES = (32, 64, 96, 128, 188)  # 188: the smallest a valid-convolution U-Net takes

# Measured at 3 s or more each on a busy 2-core machine (about a third of that on an idle core).
SLOW = {
    "cifar/allcnn_c", "cifar/densenet100_k24", "cifar/densenet_bc190_k40", "cifar/densenet_bc250_k24",
    "cifar/preact_resnet1001", "cifar/resnet1202", "cifar/resnext29_16x64d", "cifar/wrn28_10", "other/unet",
    "paper/families/inception_resnet_v2", "paper/inception_resnet_v2", "torchvision/convnext_large",
    "torchvision/densenet161", "torchvision/densenet169", "torchvision/efficientnet_b4",
    "torchvision/efficientnet_b5", "torchvision/efficientnet_b7", "torchvision/efficientnet_v2_l",
    "torchvision/efficientnet_v2_m", "torchvision/families/vgg", "torchvision/regnet_y_128gf",
    "torchvision/resnext101_32x8d", "torchvision/resnext101_64x4d", "torchvision/vgg11",
    "torchvision/vgg11_bn", "torchvision/vgg16", "torchvision/vgg16_bn", "torchvision/vgg19",
    "torchvision/wide_resnet101_2", "torchvision/wide_resnet50_2"}


def _id(path: Path) -> str:
    return str(path.relative_to(SPECS).with_suffix(""))


def _params():
    for path in ALL_SPECS:
        marks = [pytest.mark.slow] if _id(path) in SLOW else []
        yield pytest.param(path, id=_id(path), marks=marks)


def _compile_check(path: Path, out: Path, shape: str | None) -> tuple[int, str, str]:
    argv = ["compile", str(path), "--check", "-o", str(out)] + (["--input", shape] if shape else [])
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


def _sizes(path: Path) -> list[str | None]:
    c, h, w = resdsl.load(str(path)).input_type.shape
    return [f"{c}x{s}x{s}" for s in SIDES if s < min(h, w)] + [None]


def test_the_slow_list_names_shipped_specs():
    assert SLOW <= {_id(p) for p in ALL_SPECS}


@pytest.mark.parametrize("path", list(_params()))
def test_compile_check_passes(path: Path, tmp_path: Path):
    out = tmp_path / "net.py"
    tried = []
    for shape in _sizes(path):
        code, stdout, stderr = _compile_check(path, out, shape)
        assert "MISMATCH" not in stdout + stderr, f"{_id(path)} at {shape or 'its own size'}:\n{stdout}{stderr}"
        if code == 0:
            assert "  output shape" in stdout and stdout.count(" ok") == 3, stdout
            assert out.is_file()
            return
        # Only a map that shrinks to nothing (or below a kernel) may send us to a larger size.
        assert code == 1 and "error:" in stderr and shape is not None, f"{_id(path)}: exit {code}\n{stderr}"
        assert "map" in stderr or "output" in stderr, stderr
        tried.append(shape)
    pytest.fail(f"{_id(path)}: no size worked (tried {tried} and its own)")
