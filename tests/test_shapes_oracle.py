"""The shape checker against PyTorch itself: for random convs and pools, our inferred output size
equals the size torch computes, and we refuse exactly the sizes torch refuses."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resdsl.ir.shapes import ShapeProblem, infer
from resdsl.ir import ops
from resdsl.ir.types import TensorType

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _torch_shape(fn):
    try:
        with torch.no_grad():
            out = fn()
    except RuntimeError:
        return None
    return None if 0 in out.shape else tuple(out.shape[1:])


def _ours(op, shape):
    try:
        return infer(op, [TensorType(shape)]).shape
    except ShapeProblem:
        return None


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 20), kernel=st.integers(1, 7), stride=st.integers(1, 4), pad=st.integers(0, 3),
       dilation=st.integers(1, 3), groups=st.sampled_from([1, 2]))
def test_conv_shapes_match_torch(size, kernel, stride, pad, dilation, groups):
    op = ops.Conv(4, 6, (kernel, kernel), (stride, stride), (pad, pad), (dilation, dilation), groups)
    x = torch.zeros(1, 4, size, size)
    w = torch.zeros(6, 4 // groups, kernel, kernel)
    expected = _torch_shape(lambda: F.conv2d(x, w, None, stride, pad, dilation, groups))
    assert _ours(op, (4, size, size)) == expected


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 20), kernel=st.integers(1, 5), stride=st.integers(1, 4), pad=st.integers(0, 2),
       ceil=st.booleans(), mode=st.sampled_from(["max", "avg"]))
def test_pool_shapes_match_torch(size, kernel, stride, pad, ceil, mode):
    if pad * 2 > kernel:
        return  # torch refuses these outright; the spec layer refuses them with its own message
    op = ops.Pool(mode, (kernel, kernel), (stride, stride), (pad, pad), ceil)
    x = torch.zeros(1, 2, size, size)
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    expected = _torch_shape(lambda: pool(x, kernel, stride, pad, ceil_mode=ceil))
    assert _ours(op, (2, size, size)) == expected


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 12), kernel=st.integers(1, 4), stride=st.integers(1, 3), pad=st.integers(0, 1))
def test_upconv_shapes_match_torch(size, kernel, stride, pad):
    op = ops.ConvTranspose(3, 5, (kernel, kernel), (stride, stride), (pad, pad))
    x = torch.zeros(1, 3, size, size)
    w = torch.zeros(3, 5, kernel, kernel)
    expected = _torch_shape(lambda: F.conv_transpose2d(x, w, None, stride, pad))
    assert _ours(op, (3, size, size)) == expected
