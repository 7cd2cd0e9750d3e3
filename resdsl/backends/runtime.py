"""The runtime pieces of the PyTorch back ends: modules and functions a built network calls that torch
does not have.  The code generator copies their source verbatim into every generated file (reading this
file's text with `ast`, not importing it: generating code needs no torch), so they may use only `torch`,
`nn` and `F` (in annotations too: `typing` is not imported there), and each must be one top-level class
or function."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["DropPath", "MeanJoin", "ColumnDropPath", "global_drop_path", "MaxUnpool", "zero_pad_shortcut", "center_crop", "gated_sum", "LayerNorm2d", "ChannelLinear",
           "Scale", "channel_shuffle", "channel_slice", "layer_scale", "channel_affine", "variance_scaling_",
           "init_weights",
           "RUNTIME"]


class DropPath(nn.Module):
    """Stochastic depth on a residual branch that survives training with probability `survival`.

    mode="paper" (Huang et al. 2016): training keeps the whole branch or replaces it by zeros, one
    draw per mini-batch; evaluation scales the branch by `survival`, its expected value in training.
    mode="row" (torchvision's StochasticDepth(p, "row")): training keeps each sample's branch with
    probability `survival` and divides the kept ones by it; evaluation is the identity.
    mode="batch": as "row" with one draw for the whole mini-batch (torchvision's "batch").
    """

    def __init__(self, survival: float, mode: str = "paper"):
        super().__init__()
        self.survival = survival
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.survival >= 1.0:
            return x
        if self.mode == "paper":
            if not self.training:
                return x * self.survival
            # A 0-d 0/1 tensor on the device, not a Python branch: no host sync, no graph break.
            keep = torch.empty((), dtype=x.dtype, device=x.device).bernoulli_(self.survival)
            return x * keep
        if not self.training:
            return x
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(self.survival)
        if self.survival > 0.0:
            noise.div_(self.survival)
        return x * noise

    def extra_repr(self) -> str:
        text = f"survival={self.survival:.4g}"
        return text if self.mode == "paper" else f"{text}, mode={self.mode!r}"


class MeanJoin(nn.Module):
    """FractalNet's join (Larsson et al. 2017): the mean of the inputs.  Training with local drop-path
    drops each input with probability `drop` (one draw per mini-batch and input), keeps at least one,
    and averages the survivors; evaluation averages every input.

    With global drop-path (`global_drop` > 0, `columns` the fractal column of each input), the
    network's `ColumnDropPath` (set by `global_drop_path`) may have drawn one column for this
    mini-batch: the join then passes on its input from that column, or, when the column does not reach
    it (its output is off the path), averages."""

    def __init__(self, drop: float = 0.0, columns: tuple[int, ...] = (), global_drop: float = 0.0):
        super().__init__()
        self.drop = drop
        self.columns = tuple(columns)
        self.global_drop = global_drop
        self.sampler = None  # the network's ColumnDropPath, shared by its joins

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.training:
            column = self.sampler.column if self.sampler is not None else None
            if column is not None:
                if column in self.columns:
                    return xs[self.columns.index(column)]
                return torch.stack(xs).mean(0)
            if self.drop > 0:
                keep = (torch.rand(len(xs)) >= self.drop).tolist()
                if not any(keep):
                    keep[int(torch.randint(len(xs), ()))] = True
                xs = tuple(x for x, k in zip(xs, keep) if k)
        return torch.stack(xs).mean(0)

    def extra_repr(self) -> str:
        text = f"drop={self.drop:g}"
        return f"{text}, columns={self.columns}, global_drop={self.global_drop:g}" if self.global_drop else text


class ColumnDropPath:
    """FractalNet's global drop-path, one per network: before each training forward (a forward pre-hook
    of the network) it draws, with probability `rate`, one column uniformly among 1..`columns` for every
    join of the network, else None (that mini-batch uses local drop-path)."""

    def __init__(self, rate: float, columns: int):
        self.rate = rate
        self.columns = columns
        self.column = None

    def draw(self, module: nn.Module, args: tuple) -> None:
        self.column = None
        if module.training and float(torch.rand(())) < self.rate:
            self.column = int(torch.randint(1, self.columns + 1, ()))


def global_drop_path(network: nn.Module) -> None:
    """Share one `ColumnDropPath` among the joins of `network` that use global drop-path, drawn before
    each forward of the network."""
    joins = [m for m in network.modules() if isinstance(m, MeanJoin) and m.global_drop > 0]
    if joins:
        shared = ColumnDropPath(joins[0].global_drop, max(max(j.columns) for j in joins))
        for join in joins:
            join.sampler = shared
        network.register_forward_pre_hook(shared.draw)


class MaxUnpool(nn.MaxUnpool2d):
    """Max-unpooling (ENet, SegNet) to `size`, the map the max pool read: each value goes back to where
    that pool found its maximum (`indices`, the pool's second output), zeros elsewhere."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: int | tuple[int, int],
                 padding: int | tuple[int, int], size: tuple[int, int]):
        super().__init__(kernel_size, stride, padding)
        self.size = tuple(size)

    def forward(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, self.size)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, size={self.size}"


def zero_pad_shortcut(x: torch.Tensor, out_channels: int, stride: int | tuple[int, int]) -> torch.Tensor:
    """Shortcut option A (He et al. 2016): subsample by `stride`, then append zero channels up to
    `out_channels`.  No parameters."""
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    if sh != 1 or sw != 1:
        x = x[:, :, ::sh, ::sw]
    return F.pad(x, (0, 0, 0, 0, 0, out_channels - x.shape[1]))


def center_crop(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Crop the centre `size` of a feature map (U-Net's skip connections across valid convs)."""
    h, w = (size, size) if isinstance(size, int) else size
    top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
    return x[:, :, top:top + h, left:left + w]


def gated_sum(h: torch.Tensor, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Highway merge (Srivastava et al. 2015): the transform `h` where the gate `t` is open, else the
    carried input `x`."""
    return h * t + x * (1 - t)


class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels of an NxCxHxW map (torchvision's ConvNeXt LayerNorm2d)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ChannelLinear(nn.Linear):
    """A fully connected layer applied to the channels at every position of an NxCxHxW map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.permute(0, 2, 3, 1), self.weight, self.bias).permute(0, 3, 1, 2)


class Scale(nn.Module):
    """Multiplies by a constant (Inception-ResNet scales each residual before adding it)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: channels as (groups, C/groups), transposed, flattened back."""
    n, c, h, w = x.shape
    x = x.reshape(n, groups, c // groups, h, w)
    return torch.transpose(x, 1, 2).contiguous().view(n, c, h, w)


def channel_slice(x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Channels [start, stop) of a map: one part of a split."""
    return x[:, start:stop]


def layer_scale(scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """`x` scaled by a learned per-channel (C, 1, 1) parameter (ConvNeXt's layer scale)."""
    return scale * x


def channel_affine(x: torch.Tensor, scale: tuple[float, ...], shift: tuple[float, ...]) -> torch.Tensor:
    """x_c * scale_c + shift_c for every channel c, with constants (torchvision's GoogLeNet and
    Inception-v3 `_transform_input`)."""
    s = torch.tensor(scale, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    b = torch.tensor(shift, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return x * s + b


def variance_scaling_(tensor: torch.Tensor, scale: float = 1.0, mode: str = "fan_in",
                      distribution: str = "truncated_normal") -> torch.Tensor:
    """TensorFlow's fan-relative initialiser, in place.  The fans as TF counts them (a torch weight's dims 1
    and 0 times its kernel size, which are TF's kernel dims -2 and -1); n the one `mode` names (at least 1).
    truncated_normal (tf.keras VarianceScaling): std sqrt(scale / n) / 0.87962566103423978, redrawn beyond
    2 stds; untruncated_normal: std sqrt(scale / n); uniform: +-sqrt(3 scale / n); slim_truncated_normal
    (tf.contrib.layers / tf_slim variance_scaling_initializer, factor=scale): std sqrt(1.3 scale / n),
    redrawn beyond 2 stds."""
    shape = tensor.shape
    receptive = 1
    for size in shape[2:]:
        receptive *= size
    fan_in = shape[1] * receptive if len(shape) > 1 else (shape[0] if len(shape) else 1)
    fan_out = shape[0] * receptive if len(shape) else 1
    n = max(1.0, {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode])
    if distribution == "uniform":
        limit = (3.0 * scale / n) ** 0.5
        return nn.init.uniform_(tensor, -limit, limit)
    if distribution == "untruncated_normal":
        return nn.init.normal_(tensor, 0.0, (scale / n) ** 0.5)
    std = (1.3 * scale / n) ** 0.5 if distribution == "slim_truncated_normal" else \
        (scale / n) ** 0.5 / 0.87962566103423978
    return nn.init.trunc_normal_(tensor, 0.0, std, -2.0 * std, 2.0 * std)


def init_weights(model: nn.Module, by_type: dict, by_path: dict) -> None:
    """Initialise the layers of `model` as its spec's `init` rules say, in module order (weight, then bias),
    as torchvision's `for m in self.modules()` loops do.  A rule is (weight, bias): weight is None (keep
    PyTorch's default) or (the name of a `torch.nn.init` function or of a function beside this one
    (`variance_scaling_`), its keyword arguments); bias is None (keep)
    or the constant it starts at.  `by_path` (module path -> rule) wins over `by_type` (class name -> rule)."""
    with torch.no_grad():
        for name, module in model.named_modules():
            rule = by_path[name] if name in by_path else by_type.get(type(module).__name__)
            if rule is None:
                continue
            weight, bias = rule
            if weight is not None and getattr(module, "weight", None) is not None:
                initialise = getattr(nn.init, weight[0], None) or globals()[weight[0]]
                initialise(module.weight, **weight[1])
            if bias is not None and getattr(module, "bias", None) is not None:
                nn.init.constant_(module.bias, bias)


RUNTIME: dict[str, Any] = {"DropPath": DropPath, "zero_pad_shortcut": zero_pad_shortcut,
                           "center_crop": center_crop, "gated_sum": gated_sum, "LayerNorm2d": LayerNorm2d,
                           "ChannelLinear": ChannelLinear, "channel_shuffle": channel_shuffle,
                           "channel_slice": channel_slice, "layer_scale": layer_scale, "channel_affine": channel_affine, "Scale": Scale,
                           "MeanJoin": MeanJoin, "MaxUnpool": MaxUnpool}
