"""`resdsl compile --format onnx` run in onnxruntime equals torch (within 1e-4 of the logit scale).

The export runs in-process under a fixed seed, so the module it exported has exactly the weights of
`build_module` under the same seed.  onnx, onnxscript and onnxruntime are in the dev extra (pyproject.toml,
scripts/setup-dev.sh); the test skips with a reason where they are absent.
"""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime is in the dev extra: pip install -e '.[dev]'")
pytest.importorskip("onnxscript", reason="onnxscript is in the dev extra: pip install -e '.[dev]'")

import resdsl  # noqa: E402
from oracles import SPECS  # noqa: E402
from resdsl.backends.torch import build_module  # noqa: E402
from resdsl.cli import main  # noqa: E402

TOLERANCE = 1e-4


def _run_onnx(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])


@pytest.mark.parametrize("spec, inference", [("cifar/resnet20", False), ("torchvision/resnet50", False),
                                              ("torchvision/densenet121", False), ("cifar/resnet20", True)])
def test_onnx_export_runs_in_onnxruntime_as_in_torch(tmp_path, capsys, spec, inference):
    torch.set_num_threads(1)
    path = SPECS / f"{spec}.res"
    out = tmp_path / "model.onnx"
    torch.manual_seed(0)
    assert main(["compile", str(path), "--format", "onnx", "-o", str(out), *(["--inference"] if inference else [])]) == 0
    net = resdsl.load(path)
    if inference:
        from resdsl.backends.inference_network import inference_network

        net = inference_network(net).network
    torch.manual_seed(0)
    module = build_module(net).eval()
    for batch in (2, 3):  # the batch dimension is dynamic
        x = torch.randn(batch, *net.input_type.shape)
        with torch.no_grad():
            ref = module(x)
        got = _run_onnx(out, x)
        assert got.shape == ref.shape
        assert float((got - ref).abs().max()) <= TOLERANCE * max(float(ref.abs().max()), 1.0)
