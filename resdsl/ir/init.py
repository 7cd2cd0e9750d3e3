"""Weight initialisation as data: the initialisers a spec may name, the layers a rule may target, and
the resolved plan a back end applies.  No torch here: counting and drawing read the IR without it.

A spec states rules in an `init { ... }` section (docs/language.md, "Initialisation"):

    init {
      conv: kaiming_normal(mode=fan_out, nonlinearity=relu)
      bn: constant(1, bias=0)
      fc: normal(std=0.01, bias=0)
    }

Each rule initialises the weight of every layer of its target kind with an initialiser (one of
`torch.nn.init`'s, under its name without the underscore) and, with `bias=NUMBER`, sets the bias to a
constant.  What a rule does not say keeps PyTorch's own initialisation (the layer's `reset_parameters`).

`InitPlan` is the result: one rule per layer type for the whole network (`by_type`) and the layers that
differ from it (`by_path`: rules of a block's own `init` section, the last BN of a residual branch).
The back ends apply it in module registration order (`model.named_modules()`), one layer at a time,
weight then bias, as torchvision's constructors do, so the same seed gives the same tensors.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from resdsl.ir import ops

REQUIRED = object()  # a parameter without a default


@dataclass(frozen=True)
class Initialiser:
    """`normal(std=0.01)`: the function's name (a key of INITIALISERS) and every argument, defaults
    filled in, in the order of its parameters."""

    name: str
    args: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={_show(v)}" for k, v in self.args)
        return f"{self.name}({inner})" if inner else self.name


@dataclass(frozen=True)
class LayerInit:
    """What one layer starts with: an initialiser for its weight and a constant for its bias.  None
    keeps PyTorch's default for that tensor."""

    weight: Initialiser | None = None
    bias: float | None = None

    @property
    def keeps_defaults(self) -> bool:
        return self.weight is None and self.bias is None


KEEP = LayerInit()


@dataclass(frozen=True)
class InitFunction:
    """One initialiser: its parameters (name, default or REQUIRED) in positional order, the words a
    parameter may take, the torch function applying it and a summary for the docs."""

    params: tuple[tuple[str, Any], ...]
    torch: str | None                  # `torch.nn.init.<name>`; None: keep PyTorch's default
    summary: str
    words: tuple[tuple[str, tuple[str, ...]], ...] = ()
    torch_names: tuple[tuple[str, str], ...] = ()  # our parameter -> torch's keyword, where they differ
    runtime: bool = False              # `torch` names a runtime piece (resdsl/backends/runtime.py), not nn.init's


NONLINEARITIES = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu")
_KAIMING = (("a", 0), ("mode", "fan_in"), ("nonlinearity", "leaky_relu"))
_KAIMING_WORDS = (("mode", ("fan_in", "fan_out")), ("nonlinearity", NONLINEARITIES))

# TensorFlow's fan-relative initialiser (tf.keras.initializers.VarianceScaling, init_ops_v2.py): std
# sqrt(scale / n), n the fan its mode names.  truncated_normal divides the std by 0.87962566103423978 (the
# std of a unit normal truncated at +-2) and redraws beyond 2 of those stds; slim_truncated_normal is
# tf.contrib.layers' (and tf_slim's) variance_scaling_initializer(factor=scale, uniform=False): a normal
# of std sqrt(1.3 * scale / n) redrawn beyond 2 of its stds, what TF-Slim's Inception models use.
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform", "slim_truncated_normal")
_VARIANCE_SCALING = (("scale", 1.0), ("mode", "fan_in"), ("distribution", "truncated_normal"))
_VARIANCE_SCALING_WORDS = (("mode", ("fan_in", "fan_out", "fan_avg")), ("distribution", DISTRIBUTIONS))

INITIALISERS: dict[str, InitFunction] = {
    "kaiming_normal": InitFunction(_KAIMING, "kaiming_normal_",
                                   "He et al. 2015: normal, std gain/sqrt(fan); mode fan_in|fan_out", _KAIMING_WORDS),
    "kaiming_uniform": InitFunction(_KAIMING, "kaiming_uniform_",
                                    "He et al. 2015, uniform: bound gain*sqrt(3/fan)", _KAIMING_WORDS),
    "xavier_normal": InitFunction((("gain", 1.0),), "xavier_normal_",
                                  "Glorot & Bengio 2010: normal, std gain*sqrt(2/(fan_in+fan_out))"),
    "xavier_uniform": InitFunction((("gain", 1.0),), "xavier_uniform_",
                                   "Glorot & Bengio 2010: uniform, bound gain*sqrt(6/(fan_in+fan_out))"),
    "normal": InitFunction((("mean", 0.0), ("std", 1.0)), "normal_", "normal(mean, std)"),
    "uniform": InitFunction((("a", 0.0), ("b", 1.0)), "uniform_", "uniform on [a, b]"),
    "trunc_normal": InitFunction((("mean", 0.0), ("std", 1.0), ("a", -2.0), ("b", 2.0)), "trunc_normal_",
                                 "normal(mean, std) redrawn outside [a, b] (absolute bounds, as torch)"),
    "constant": InitFunction((("value", REQUIRED),), "constant_", "every element equal to value",
                             torch_names=(("value", "val"),)),
    "zeros": InitFunction((), "zeros_", "every element 0"),
    "ones": InitFunction((), "ones_", "every element 1"),
    "variance_scaling": InitFunction(_VARIANCE_SCALING, "variance_scaling_",
                                     "TensorFlow's VarianceScaling: std sqrt(scale/n), n = fan_in|fan_out|fan_avg; "
                                     "distribution truncated_normal|untruncated_normal|uniform|slim_truncated_normal",
                                     _VARIANCE_SCALING_WORDS, runtime=True),
    "default": InitFunction((), None, "PyTorch's own initialisation of the layer (reset_parameters)"),
}


@dataclass(frozen=True)
class Target:
    """A kind of layer a rule may name: the op classes it matches and the torch module classes they
    become (the names the runtime matches on; `bn` after a flatten is a BatchNorm1d)."""

    ops: tuple[type, ...]
    modules: tuple[str, ...]
    summary: str


TARGETS: dict[str, Target] = {
    "conv": Target((ops.Conv,), ("Conv2d",), "every conv"),
    "upconv": Target((ops.ConvTranspose,), ("ConvTranspose2d",), "every transposed conv"),
    "bn": Target((ops.BatchNorm,), ("BatchNorm2d", "BatchNorm1d"), "every batch norm"),
    "fc": Target((ops.Linear,), ("Linear",), "every fully connected layer (fc, linear)"),
    "channel_fc": Target((ops.ChannelLinear,), ("ChannelLinear",), "every channel_fc"),
    "layernorm": Target((ops.LayerNorm,), ("LayerNorm2d", "LayerNorm"), "every layer norm"),
    "groupnorm": Target((ops.GroupNorm,), ("GroupNorm",), "every group norm"),
    "prelu": Target((ops.PReLU,), ("PReLU",), "every prelu (its weight is the slope)"),
}
ALIASES = {"linear": "fc"}
# Structural targets: a subset of one kind's layers, picked by where they sit.  They win over the kind.
RESIDUAL_BN = "residual_bn"
STRUCTURAL = {RESIDUAL_BN: ("bn", "the last BN of each residual branch (torchvision's zero_init_residual)")}
TARGET_NAMES = (*TARGETS, *ALIASES, *STRUCTURAL)
# Layers with a bias tensor that a `bias=` may set (a BN's bias is its shift).
_NO_BIAS = (ops.PReLU,)


def target_of(op: ops.Op) -> str | None:
    """The kind a rule names to reach this op, or None for ops without initialisable weights."""
    for name, target in TARGETS.items():
        if isinstance(op, target.ops):
            return name
    return None


def has_bias(op: ops.Op) -> bool:
    """Whether the built layer has a bias tensor (convs and fcs may be written without one)."""
    if isinstance(op, _NO_BIAS):
        return False
    bias = getattr(op, "bias", True)
    affine = getattr(op, "affine", True)
    return bool(bias) and bool(affine)


@dataclass(frozen=True)
class InitPlan:
    """The resolved initialisation of a network.  `by_type`: (torch module class name, rule) for the
    whole network; `by_path`: (module path, rule) for the layers that differ from their type's rule,
    in graph order.  Empty: PyTorch's defaults everywhere."""

    by_type: tuple[tuple[str, LayerInit], ...] = ()
    by_path: tuple[tuple[str, LayerInit], ...] = ()
    rules: tuple[tuple[str, LayerInit], ...] = ()   # the network's rules by target, as written

    @property
    def empty(self) -> bool:
        return not self.by_type and not self.by_path

    def runtime_tables(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(by module class name, by path), each rule as (weight spec, bias): what the runtime's
        `init_weights` takes; a weight spec is (torch.nn.init function name, keyword arguments)."""
        return ({name: _runtime(rule) for name, rule in self.by_type},
                {path: _runtime(rule) for path, rule in self.by_path})

    def runtime_pieces(self) -> tuple[str, ...]:
        """The runtime functions the rules call beside torch.nn.init's (a generated file must define them)."""
        names = {rule.weight.name for _, rule in (*self.by_type, *self.by_path) if rule.weight is not None}
        return tuple(sorted(INITIALISERS[n].torch for n in names if INITIALISERS[n].runtime))


def _runtime(rule: LayerInit) -> tuple[Any, Any]:
    weight = None
    if rule.weight is not None:
        fn = INITIALISERS[rule.weight.name]
        if fn.torch is not None:
            names = dict(fn.torch_names)
            weight = (fn.torch, {names.get(k, k): v for k, v in rule.weight.args})
    return (weight, rule.bias)


def _show(v: Any) -> str:
    return repr(v) if isinstance(v, str) and not v.isidentifier() else str(v)
