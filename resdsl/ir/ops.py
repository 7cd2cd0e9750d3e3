"""The primitive operations of the IR: a closed set, one frozen dataclass each, with their facts.

An op holds everything a back end needs to build it (channels, kernel, stride, ...), already resolved
against its input type, and knows the facts that belong to it:

  * `infer(inputs)`          its shape rule (raises `ShapeProblem`);
  * `cost(inputs, out)`      its parameters, buffers, MACs and element-wise work (docs/counting.md);
  * `is_layer`               it becomes a named module (or parameter) of the built network;
  * `is_parameter`           it is a learned tensor registered on its scope's module under its own
                             label (ConvNeXt's `layer_scale`), not a module;
  * `role`                   how a drawing treats it: "input", "main" (a drawn op), "adjunct" (folds into
                             the op next to it, like BN and activations), "merge" (joins branches) or
                             "edge" (a parameter-free shortcut op drawn as the label of its skip edge);
  * `inplace`                it may write its result into its first input when nobody else reads it;
  * `overwritable`           a following in-place op may overwrite its output (its backward does not
                             read the output);
  * `element_kind`           the name its element-wise work is reported under;
  * `indices_input`          the input whose producer, a max pool, hands over its argmax indices
                             as well (max-unpooling), or None;
  * `describe()` / `short()` its long and short human names.

`OPS` enumerates the set.  Back ends keep only their target spelling, in tables keyed by op class
(and by activation name, `resdsl.ir.activations`); tests/test_op_set.py checks every table covers
every op.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from resdsl.ir.activations import ACTIVATIONS
from resdsl.ir.cost import FREE, OpCost
from resdsl.ir.shapes import ShapeProblem, image, mismatch_hint, spatial
from resdsl.ir.types import TensorType

Pair = tuple[int, int]
Role = Literal["input", "main", "adjunct", "merge", "edge"]
Types = list[TensorType]


class Op:
    """Base of every primitive op.  Subclasses define `infer` and `cost` and set the facts above."""

    kind: ClassVar[str] = "op"
    is_layer: ClassVar[bool] = True
    is_parameter: ClassVar[bool] = False
    role: ClassVar[Role] = "main"
    inplace: ClassVar[bool] = False
    overwritable: ClassVar[bool] = False
    indices_input: ClassVar[int | None] = None

    def infer(self, inputs: Types) -> TensorType:
        raise NotImplementedError(f"{type(self).__name__} has no shape rule")

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        raise NotImplementedError(f"{type(self).__name__} has no cost formula")

    @property
    def element_kind(self) -> str:
        return self.kind

    def describe(self) -> str:
        return self.kind

    def short(self) -> str:
        """The name a drawing prints where the op is folded into its neighbour ("BN", "ReLU")."""
        return self.describe()


def _per_output(out: TensorType) -> OpCost:
    return OpCost(elementwise=out.numel)


# ---- the input ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input(Op):
    shape: tuple[int, ...]
    kind = "input"
    is_layer = False
    role = "input"

    def infer(self, inputs: Types) -> TensorType:
        return TensorType(self.shape)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return FREE

    def describe(self) -> str:
        return "input " + "x".join(map(str, self.shape))


# ---- layers with weights ------------------------------------------------------------------------


@dataclass(frozen=True)
class Conv(Op):
    in_channels: int
    out_channels: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = False
    kind = "conv"
    overwritable = True

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "a conv")
        if t.channels != self.in_channels:
            raise ShapeProblem(f"conv expects {self.in_channels} input channels, got {t.channels}")
        if self.in_channels % self.groups or self.out_channels % self.groups:
            bad = self.in_channels if self.in_channels % self.groups else self.out_channels
            which = "input" if self.in_channels % self.groups else "output"
            raise ShapeProblem(f"groups={self.groups} does not divide the {bad} {which} channels",
                               f"choose groups among the divisors of {bad}")
        h, w = spatial(t, "conv", self.kernel, self.stride, self.padding, self.dilation)
        return TensorType.image(self.out_channels, h, w)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        per_output = (self.in_channels // self.groups) * self.kernel[0] * self.kernel[1]
        params = self.out_channels * per_output + (self.out_channels if self.bias else 0)
        return OpCost(params=params, macs=out.numel * per_output)

    def describe(self) -> str:
        text = f"{_pair(self.kernel)} conv, {self.out_channels}"
        if self.stride != (1, 1):
            text += f", /{_stride(self.stride)}"
        if self.groups > 1:
            text += f", groups {self.groups}"
        return text


@dataclass(frozen=True)
class ConvTranspose(Op):
    in_channels: int
    out_channels: int
    kernel: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    bias: bool = False
    output_padding: Pair = (0, 0)  # added to one side of the output (ENet's 3x3/2 up-conv: 1)
    kind = "upconv"
    overwritable = True

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "an up-conv")
        if self.output_padding[0] >= self.stride[0] or self.output_padding[1] >= self.stride[1]:
            raise ShapeProblem(f"an up-conv's output_pad ({_pair(self.output_padding)}) must be smaller than "
                               f"its stride ({_pair(self.stride)})", "PyTorch refuses it otherwise")
        h = (t.height - 1) * self.stride[0] - 2 * self.padding[0] + self.kernel[0] + self.output_padding[0]
        w = (t.width - 1) * self.stride[1] - 2 * self.padding[1] + self.kernel[1] + self.output_padding[1]
        if h <= 0 or w <= 0:
            raise ShapeProblem(f"up-conv on a {t.height}x{t.width} map gives a {h}x{w} output")
        return TensorType.image(self.out_channels, h, w)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        weights = self.in_channels * self.out_channels * self.kernel[0] * self.kernel[1]
        params = weights + (self.out_channels if self.bias else 0)
        return OpCost(params=params, macs=inputs[0].height * inputs[0].width * weights)

    def describe(self) -> str:
        return f"{_pair(self.kernel)} up-conv, {self.out_channels}, x{_stride(self.stride)}"


@dataclass(frozen=True)
class Linear(Op):
    in_features: int
    out_features: int
    bias: bool = True
    kind = "fc"
    overwritable = True

    def infer(self, inputs: Types) -> TensorType:
        t = inputs[0]
        if t.numel != self.in_features:
            raise ShapeProblem(f"fc expects {self.in_features} input features, got {t.numel} ({t})")
        return TensorType.vector(self.out_features)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        params = self.in_features * self.out_features + (self.out_features if self.bias else 0)
        return OpCost(params=params, macs=self.in_features * self.out_features)

    def describe(self) -> str:
        return f"fc {self.out_features}"


# ---- normalisation and activations ----------------------------------------------------------------


@dataclass(frozen=True)
class BatchNorm(Op):
    channels: int
    eps: float = 1e-5
    momentum: float = 0.1
    kind = "bn"
    role = "adjunct"
    overwritable = True

    def infer(self, inputs: Types) -> TensorType:
        t = inputs[0]
        if t.channels != self.channels:
            raise ShapeProblem(f"batch norm over {self.channels} channels got {t.channels}")
        return t

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        # weight + bias are trained; running mean, running var and num_batches_tracked are buffers.
        return OpCost(params=2 * self.channels, buffers=2 * self.channels + 1, elementwise=out.numel)

    def describe(self) -> str:
        return "batch norm"

    def short(self) -> str:
        return "BN"


@dataclass(frozen=True)
class Activation(Op):
    """An element-wise function named in `resdsl.ir.activations.ACTIVATIONS`, with its arguments."""

    function: str
    args: tuple[tuple[str, Any], ...] = ()
    kind = "activation"
    role = "adjunct"

    @property
    def facts(self):
        return ACTIVATIONS[self.function]

    @property
    def inplace(self) -> bool:  # type: ignore[override]
        return self.facts.inplace

    def infer(self, inputs: Types) -> TensorType:
        return inputs[0]

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return _per_output(out)

    @property
    def element_kind(self) -> str:
        return self.function

    def _args_text(self) -> str:
        defaults = {p.name: p.default for p in self.facts.params}
        return "".join(f" {v:g}" if isinstance(v, float) else f" {v}"
                       for k, v in self.args if defaults.get(k) != v)

    def describe(self) -> str:
        return self.function + self._args_text()

    def short(self) -> str:
        return self.facts.title + self._args_text()


# ---- pooling and reshaping ------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool(Op):
    mode: str  # "max" | "avg"
    kernel: Pair
    stride: Pair
    padding: Pair = (0, 0)
    ceil_mode: bool = False
    count_include_pad: bool = True
    kind = "pool"

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], f"a {self.mode} pool")
        h, w = spatial(t, f"{self.mode} pool", self.kernel, self.stride, self.padding, ceil=self.ceil_mode)
        return TensorType.image(t.channels, h, w)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(elementwise=out.numel * self.kernel[0] * self.kernel[1])

    @property
    def element_kind(self) -> str:
        return f"{self.mode}pool"

    def describe(self) -> str:
        text = f"{_pair(self.kernel)} {self.mode} pool"
        if self.stride != (1, 1):
            text += f", /{_stride(self.stride)}"
        return text


@dataclass(frozen=True)
class MaxUnpool(Op):
    """Max-unpooling (ENet, SegNet): each value goes back to where the max pool it undoes found its
    maximum, zeros elsewhere.  Inputs: (x, the pool's output); the pool keeps its indices for this
    (`Graph.indexed_pools`), so its output stands for them.  `size` is the map the pool read."""

    kernel: Pair
    stride: Pair
    padding: Pair
    size: Pair
    kind = "maxunpool"

    indices_input = 1

    def infer(self, inputs: Types) -> TensorType:
        x, pooled = inputs
        t = image(x, "maxunpool")
        if t.shape != pooled.shape:
            raise ShapeProblem(f"maxunpool puts back the indices of a {pooled} pool output, but its input is {t}",
                               "unpool a map of the shape the pool made (undo the channel change first)")
        return TensorType.image(t.channels, *self.size)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(elementwise=out.numel)  # zero the output, scatter the input into it

    @property
    def element_kind(self) -> str:
        return "maxunpool"

    def describe(self) -> str:
        return f"{_pair(self.kernel)} max unpool, to {_pair(self.size)}"


@dataclass(frozen=True)
class AdaptivePool(Op):
    mode: str
    output: Pair
    kind = "pool"

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "a global pool")
        return TensorType.image(t.channels, *self.output)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(elementwise=inputs[0].numel)

    @property
    def element_kind(self) -> str:
        return f"{self.mode}pool"

    def describe(self) -> str:
        if self.output == (1, 1):
            return f"global {self.mode} pool"
        return f"adaptive {self.mode} pool {_pair(self.output)}"


@dataclass(frozen=True)
class Flatten(Op):
    kind = "flatten"

    def infer(self, inputs: Types) -> TensorType:
        return TensorType.vector(inputs[0].numel)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return FREE

    def describe(self) -> str:
        return "flatten"


# ---- regularisers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dropout(Op):
    """Drops units with probability p in training; `spatial` drops whole channels (SpatialDropout,
    nn.Dropout2d: ENet)."""

    p: float
    spatial: bool = False
    kind = "dropout"
    role = "adjunct"

    def infer(self, inputs: Types) -> TensorType:
        return inputs[0]

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return FREE  # identity at inference

    def describe(self) -> str:
        return f"{'spatial ' if self.spatial else ''}dropout {self.p:g}"


DROP_PATH_MODES = ("paper", "row", "batch")


DROP_PATH_MODES = ("paper", "row", "batch")


@dataclass(frozen=True)
class DropPath(Op):
    """Stochastic depth on a residual branch, which survives training with probability `survival`.

    mode "paper" (Huang et al. 2016): one draw per mini-batch, the branch scaled by `survival` at test
    time.  "row" (torchvision's StochasticDepth(p, "row"), timm's drop_path): one draw per sample, the
    kept ones divided by `survival` in training, the identity at test time.  "batch": as "row" with one
    draw per mini-batch (torchvision's "batch")."""

    survival: float
    mode: str = "paper"
    kind = "droppath"
    role = "adjunct"

    def infer(self, inputs: Types) -> TensorType:
        return inputs[0]

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        # "paper" scales by the survival probability at test time; the inverted modes are the identity.
        return _per_output(out) if self.mode == "paper" else FREE

    def describe(self) -> str:
        text = f"drop path, survive {self.survival:.3g}"
        return text if self.mode == "paper" else f"{text} ({self.mode})"

    def short(self) -> str:
        return "drop path"


# ---- merges ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Add(Op):
    kind = "add"
    is_layer = False
    role = "merge"
    inplace = True  # `out += identity`, with exactly two inputs
    overwritable = True

    def infer(self, inputs: Types) -> TensorType:
        first = inputs[0]
        for other in inputs[1:]:
            if other.shape != first.shape:
                raise ShapeProblem(f"cannot add a {first} tensor and a {other} tensor", mismatch_hint(first, other))
        return first

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(elementwise=out.numel * max(1, len(inputs) - 1))

    def describe(self) -> str:
        return "+"


@dataclass(frozen=True)
class Mean(Op):
    """FractalNet's join (Larsson et al. 2017): the element-wise mean of its inputs.  With local
    drop-path (`drop` > 0), training drops each input with probability `drop`, keeping at least one,
    and averages the rest; evaluation averages them all.  A layer: what it computes depends on the
    training mode, which only a module knows.

    Global drop-path: `columns` gives the fractal column (1 = the shallowest) each input comes from,
    and with probability `global_drop` a training mini-batch uses one column, drawn uniformly for the
    whole network: every join then passes on the input from that column (a join the column does not
    reach averages as in evaluation; its output is not on the path).  The other mini-batches use local
    drop-path.  All the joins of a network with global_drop > 0 share that one draw."""

    drop: float = 0.0
    columns: tuple[int, ...] = ()
    global_drop: float = 0.0
    kind = "mean"
    role = "merge"

    def infer(self, inputs: Types) -> TensorType:
        first = inputs[0]
        for other in inputs[1:]:
            if other.shape != first.shape:
                raise ShapeProblem(f"cannot average a {first} tensor and a {other} tensor",
                                   mismatch_hint(first, other))
        return first

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(elementwise=out.numel * len(inputs))  # the sums and one division

    def describe(self) -> str:
        text = "mean" + (f", drop-path {self.drop:g}" if self.drop else "")
        return text + (f", global {self.global_drop:g}" if self.global_drop else "")


@dataclass(frozen=True)
class Mul(Op):
    """Element-wise product; a Cx1x1 operand broadcasts over the map (squeeze-and-excitation)."""

    kind = "mul"
    is_layer = False
    role = "merge"

    def infer(self, inputs: Types) -> TensorType:
        result = inputs[0]
        for other in inputs[1:]:
            a, b = result, other
            if a.shape == b.shape:
                continue
            if a.is_image and b.is_image and a.channels == b.channels and (b.spatial == (1, 1)
                                                                          or a.spatial == (1, 1)):
                result = a if b.spatial == (1, 1) else b
                continue
            raise ShapeProblem(f"cannot multiply a {a} tensor and a {b} tensor",
                               "operands must match, or one must be Cx1x1 with the same C")
        return result

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(elementwise=out.numel * max(1, len(inputs) - 1))

    def describe(self) -> str:
        return "×"


@dataclass(frozen=True)
class Concat(Op):
    kind = "concat"
    is_layer = False
    role = "merge"
    overwritable = True

    def infer(self, inputs: Types) -> TensorType:
        first = image(inputs[0], "concat")
        for other in inputs[1:]:
            image(other, "concat")
            if other.spatial != first.spatial:
                raise ShapeProblem(
                    f"cannot concatenate a {first} map and a {other} map: the spatial sizes differ",
                    "crop the larger one (`crop @other`) or fix the strides so the maps agree")
        return TensorType.image(sum(t.channels for t in inputs), first.height, first.width)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return FREE  # a copy, no arithmetic

    def describe(self) -> str:
        return "concat"


@dataclass(frozen=True)
class GatedSum(Op):
    """Highway merge of (h, x, t): h * t + x * (1 - t)."""

    kind = "highway"
    is_layer = False
    role = "merge"

    def infer(self, inputs: Types) -> TensorType:
        h, x, gate = inputs
        if not (h.shape == x.shape == gate.shape):
            raise ShapeProblem(f"highway gate needs equal shapes, got {h}, {x} and {gate}")
        return h

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(elementwise=3 * out.numel)  # h*t, x*(1-t), and the sum

    def describe(self) -> str:
        return "h·T + x·(1−T)"


# ---- parameter-free shortcut ops ------------------------------------------------------------------


@dataclass(frozen=True)
class ZeroPadShortcut(Op):
    """Shortcut option A: subsample by `stride`, zero-pad channels up to `out_channels`; no parameters."""

    in_channels: int
    out_channels: int
    stride: Pair
    kind = "zeropad"
    is_layer = False
    role = "edge"

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "a zero-pad shortcut")
        if self.out_channels < t.channels:
            raise ShapeProblem(f"a zero-padding shortcut cannot reduce channels ({t.channels} -> "
                               f"{self.out_channels})", "use shortcut=B or C (a 1x1 projection) where the width shrinks")
        h = -(-t.height // self.stride[0])
        w = -(-t.width // self.stride[1])
        return TensorType.image(self.out_channels, h, w)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return FREE

    def describe(self) -> str:
        text = f"zero-pad {self.in_channels}→{self.out_channels}"
        if self.stride != (1, 1):
            text += f", /{_stride(self.stride)}"
        return text


@dataclass(frozen=True)
class Crop(Op):
    """Centre crop to `size` (U-Net's skip connections across valid convolutions)."""

    size: Pair
    kind = "crop"
    is_layer = False
    role = "edge"

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "crop")
        if self.size[0] > t.height or self.size[1] > t.width:
            raise ShapeProblem(f"cannot crop a {t.height}x{t.width} map to {self.size[0]}x{self.size[1]}",
                               "crop the larger tensor to the size of the smaller")
        return TensorType.image(t.channels, *self.size)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return FREE

    def describe(self) -> str:
        return f"crop {_pair(self.size)}"


# ---- more normalisation and learned element-wise ops ---------------------------------------------


def _channels_match(what: str, expected: int, t: TensorType) -> None:
    if t.channels != expected:
        raise ShapeProblem(f"{what} over {expected} channels got {t.channels}")


@dataclass(frozen=True)
class PReLU(Op):
    """Parametric ReLU: max(x, 0) + a · min(x, 0) with `a` learned per channel (or one shared)."""

    channels: int  # number of learned slopes: the input's channels, or 1
    init: float = 0.25
    kind = "prelu"
    role = "adjunct"

    def infer(self, inputs: Types) -> TensorType:
        if self.channels != 1:
            _channels_match("prelu", self.channels, inputs[0])
        return inputs[0]

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(params=self.channels, elementwise=out.numel)

    def describe(self) -> str:
        return "prelu" if self.channels != 1 else "prelu, shared"

    def short(self) -> str:
        return "PReLU"


@dataclass(frozen=True)
class LayerNorm(Op):
    """Layer normalisation over the channels at every position (ConvNeXt's LayerNorm2d); over the
    features of a flat vector."""

    channels: int
    eps: float = 1e-6
    kind = "layernorm"
    role = "adjunct"
    overwritable = True

    def infer(self, inputs: Types) -> TensorType:
        _channels_match("layer norm", self.channels, inputs[0])
        return inputs[0]

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(params=2 * self.channels, elementwise=out.numel)

    def describe(self) -> str:
        return "layer norm"

    def short(self) -> str:
        return "LN"


@dataclass(frozen=True)
class GroupNorm(Op):
    groups: int
    channels: int
    eps: float = 1e-5
    kind = "groupnorm"
    role = "adjunct"
    overwritable = True

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "group norm")
        _channels_match("group norm", self.channels, t)
        if t.channels % self.groups:
            raise ShapeProblem(f"{self.groups} groups do not divide the {t.channels} channels",
                               f"choose groups among the divisors of {t.channels}")
        return t

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(params=2 * self.channels, elementwise=out.numel)

    def describe(self) -> str:
        return f"group norm, {self.groups} groups"

    def short(self) -> str:
        return f"GN {self.groups}"


@dataclass(frozen=True)
class LocalResponseNorm(Op):
    """Local response normalisation across `size` neighbouring channels (AlexNet, GoogLeNet papers)."""

    size: int
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0
    kind = "lrn"
    role = "adjunct"

    def infer(self, inputs: Types) -> TensorType:
        return image(inputs[0], "local response normalisation")

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(elementwise=out.numel * self.size)  # a window of `size` squares per output

    def describe(self) -> str:
        return f"LRN {self.size}"


@dataclass(frozen=True)
class LayerScale(Op):
    """A learned per-channel scale (CaiT, ConvNeXt): a (C, 1, 1) parameter registered on the enclosing
    module under the op's own label, as torchvision's CNBlock.layer_scale."""

    channels: int
    init: float = 1e-6
    kind = "layer_scale"
    is_parameter = True
    role = "adjunct"

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "layer scale")
        _channels_match("layer scale", self.channels, t)
        return t

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return OpCost(params=self.channels, elementwise=out.numel)

    def describe(self) -> str:
        return "layer scale"

    def short(self) -> str:
        return "layer scale"


# ---- channel and resolution changes -------------------------------------------------------------


@dataclass(frozen=True)
class ChannelLinear(Op):
    """A fully connected layer over the channels at every position (ConvNeXt's MLP): weight (out, in)."""

    in_channels: int
    out_channels: int
    bias: bool = True
    kind = "channel_fc"
    overwritable = True

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "channel_fc")
        if t.channels != self.in_channels:
            raise ShapeProblem(f"channel_fc expects {self.in_channels} input channels, got {t.channels}")
        return TensorType.image(self.out_channels, t.height, t.width)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        params = self.in_channels * self.out_channels + (self.out_channels if self.bias else 0)
        return OpCost(params=params, macs=out.height * out.width * self.in_channels * self.out_channels)

    def describe(self) -> str:
        return f"channel fc, {self.out_channels}"


@dataclass(frozen=True)
class Upsample(Op):
    """Resize a map by a scale factor or to a size, nearest or bilinear (torch's nn.Upsample)."""

    size: Pair | None = None
    scale: float | None = None
    mode: str = "nearest"
    align_corners: bool = False
    kind = "upsample"

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "upsample")
        if self.size is not None:
            return TensorType.image(t.channels, *self.size)
        h, w = int(t.height * self.scale), int(t.width * self.scale)
        if h < 1 or w < 1:
            raise ShapeProblem(f"scaling a {t.height}x{t.width} map by {self.scale:g} leaves nothing")
        return TensorType.image(t.channels, h, w)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return _per_output(out)

    def describe(self) -> str:
        what = f"to {_pair(self.size)}" if self.size is not None else f"x{self.scale:g}"
        return f"upsample {what}, {self.mode}"


@dataclass(frozen=True)
class ChannelShuffle(Op):
    """ShuffleNet's channel shuffle: view the channels as (groups, C/groups), transpose, flatten."""

    groups: int
    kind = "channel_shuffle"
    is_layer = False

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "channel_shuffle")
        if t.channels % self.groups:
            raise ShapeProblem(f"{self.groups} groups do not divide the {t.channels} channels",
                               f"choose groups among the divisors of {t.channels}")
        return t

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return FREE  # a copy

    def describe(self) -> str:
        return f"channel shuffle, {self.groups} groups"


@dataclass(frozen=True)
class ChannelSlice(Op):
    """Channels [start, stop) of a map: one part of a `split` or `chunk`."""

    start: int
    stop: int
    kind = "split"
    is_layer = False

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "split")
        if not 0 <= self.start < self.stop <= t.channels:
            raise ShapeProblem(f"channels {self.start}:{self.stop} are not inside the {t.channels} channels")
        return TensorType.image(self.stop - self.start, t.height, t.width)

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return FREE  # a view

    def describe(self) -> str:
        return f"channels {self.start}:{self.stop}"


@dataclass(frozen=True)
class ChannelAffine(Op):
    """A constant affine map per channel, x_c · scale_c + shift_c: no parameters, nothing in the state
    dict.  torchvision's GoogLeNet and Inception-v3 `transform_input` re-normalise an ImageNet-normalised
    input this way to the [-1, 1] range their ported weights expect."""

    scale: tuple[float, ...]
    shift: tuple[float, ...]
    kind = "channel_affine"
    is_layer = False

    def infer(self, inputs: Types) -> TensorType:
        t = image(inputs[0], "channel_affine")
        if len(self.scale) != t.channels or len(self.shift) != t.channels:
            raise ShapeProblem(f"channel_affine has {len(self.scale)} scales and {len(self.shift)} shifts for a "
                               f"map of {t.channels} channels", "give one number per channel, or one for all")
        return t

    def cost(self, inputs: Types, out: TensorType) -> OpCost:
        return _per_output(out)

    def describe(self) -> str:
        return "per-channel affine"


def _pair(p: Pair) -> str:
    return f"{p[0]}x{p[1]}"


def _stride(p: Pair) -> str:
    return str(p[0]) if p[0] == p[1] else _pair(p)


# The closed set: every op class defined above, in definition order.
OPS: tuple[type[Op], ...] = tuple(v for v in dict(globals()).values()
                                  if isinstance(v, type) and issubclass(v, Op) and v is not Op)
