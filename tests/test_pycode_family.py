"""Generated code as a family (issue 11 part 2): one class per block definition, constructor parameters
named as in the spec, optional parts as torchvision writes them, repeats as loops, and a network class
that takes `num_classes`.  Structure is pinned through `ast`/`inspect`, not through the text."""
from __future__ import annotations

import ast
import inspect
import types
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.backends import pycode  # noqa: E402
from generated_ast import class_def as _class, guards as _guards, method as _method  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TV = ROOT / "specs/torchvision"

# spec -> (its classes in order, the signatures pinned, blocks written one class per shape, input side)
EXPECTED = {
    "resnet50": (["Bottleneck", "Resnet50"],
                 {"Bottleneck": "(in_channels, width, stride=1, expansion=4, downsample=None)"}, [], 64),
    "resnet18": (["Basic", "Resnet18"], {"Basic": "(in_channels, width, stride=1, downsample=None)"}, [], 64),
    "densenet121": (["DenseLayer", "Transition", "DenseBlock", "Densenet121"],
                    {"DenseLayer": "(in_channels, growth, bn_size)",
                     "DenseBlock": "(in_channels, layers, growth, bn_size)", "Transition": "(in_channels)"}, [], 64),
    "googlenet": (["ConvBn", "Inception", "Googlenet"],
                  {"Inception": "(in_channels, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, k5=3)"}, [], 96),
    "vgg16_bn": (["Vgg16Bn"], {}, [], 64),
    "resnext50_32x4d": (["Bottleneck", "Resnext5032x4d"],
                        {"Bottleneck": "(in_channels, width, groups, stride=1, expansion=4, downsample=None)"}, [],
                        64),
    # Blocks whose instances differ in optional parts (SE or not, expansion conv or not, the activation,
    # a residual add only where the shape is kept): one class each, the parts under conditions.
    "mobilenet_v3_large": (["ConvNormAct", "SqueezeExcite", "Bneck", "MobilenetV3Large"],
                           {"ConvNormAct": "(in_channels, out, act, eps, momentum, kernel=1, stride=1, groups=1)",
                            "Bneck": "(in_channels, kernel, expanded, out, se, act, stride, eps=0.001, momentum=0.01)"},
                           [], 64),
    "mobilenet_v3_small": (["ConvNormAct", "SqueezeExcite", "Bneck", "MobilenetV3Small"], {}, [], 64),
    "efficientnet_b0": (["ConvNormAct", "SqueezeExcite", "Mbconv", "EfficientnetB0"],
                        {"ConvNormAct": "(in_channels, out, act, kernel=1, stride=1, groups=1)",
                         "SqueezeExcite": "(in_channels, squeeze)",
                         "Mbconv": "(in_channels, out, kernel, stride=1, t=6, drop_path=None)"}, [], 64),
    "mobilenet_v2": (["ConvNormAct", "InvertedResidual", "MobilenetV2"],
                     {"ConvNormAct": "(in_channels, out, kernel=1, stride=1, groups=1)",
                      "InvertedResidual": "(in_channels, out, stride, t)"}, [], 64),
    "regnet_y_400mf": (["ConvBnRelu", "RegnetSe", "RegnetBlock", "RegnetY400mf"],
                       {"ConvBnRelu": "(in_channels, out, kernel=1, stride=1, groups=1, relu=True)",
                        "RegnetBlock": "(in_channels, out, stride, group_width, se_ratio)"}, [], 64),
    "regnet_x_400mf": (["ConvBnRelu", "RegnetBlock", "RegnetX400mf"], {}, [], 64),
    "squeezenet1_0": (["Fire", "Squeezenet10"], {"Fire": "(in_channels, squeeze, expand1x1)"}, [], 64),
    "convnext_tiny": (["Cnblock", "ConvnextTiny"], {}, [], 64),
    "inception_v3": (["ConvBn", "InceptionA", "InceptionB", "InceptionC", "InceptionAux", "InceptionD", "InceptionE",
                      "InceptionV3"], {"InceptionA": "(in_channels, pool_features)"}, [], 96),
    # ResNet-20's option A: a function where the width changes, not a member
    "cifar/resnet20": (["Basic", "Resnet20"], {"Basic": "(in_channels, width, stride=1)"}, [], 32),
}

EXPECTED.update({
    # the fused and the depthwise kinds of one block: entries of both, each under its condition
    "efficientnet_v2_s": (["ConvNormAct", "SqueezeExcite", "Mbconv", "EfficientnetV2S"],
                          {"Mbconv": "(in_channels, out, t, kernel, eps, stride=1, fused=False, drop_path=None)"},
                          [], 64),
    # stacks of 1 to 4 blocks: the first, then a loop of `repeats - 1`
    "mnasnet1_0": (["MnasInverted", "MnasStack", "Mnasnet10"],
                   {"MnasInverted": "(in_channels, out, kernel, stride, expansion, momentum=0.0003)",
                    "MnasStack": "(in_channels, out, kernel, stride, expansion, repeats)"}, [], 64),
    # two forwards (split and concatenate, or two branches): if/else, the shared end written once
    "shufflenet_v2_x1_0": (["ShuffleUnit", "ShufflenetV2X10"],
                           {"ShuffleUnit": "(in_channels, out, stride)"}, [],
                           64),
})

# torchvision specs with a block still written one class per shape, and which block (see the docs): none.
STILL_PER_SHAPE: dict[str, list[str]] = {}


def _path(name: str) -> Path:
    return ROOT / "specs" / f"{name}.res" if "/" in name else TV / f"{name}.res"


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def generated(request):
    name = request.param
    net = resdsl.load(_path(name))
    generator = pycode.Generator(net)
    source = generator.run()
    module = types.ModuleType(f"generated_{name}")
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return name, net, generator, source, module


def _classes(source: str) -> list[str]:
    helpers = {"Group", "DropPath", "LayerNorm2d", "ChannelLinear", "Scale", "MeanJoin"}
    return [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name not in helpers]


def test_one_class_per_block_definition_with_the_specs_parameter_names(generated):
    name, net, generator, source, module = generated
    classes, signatures, fallback, _ = EXPECTED[name]
    if classes is not None:
        assert _classes(source) == classes
    for cls, signature in signatures.items():
        assert str(inspect.signature(getattr(module, cls))) == signature
    assert generator.fallback == fallback
    # every block definition has exactly one class unless it is listed as written per shape
    definitions = {s.call.block for s in net.graph.scopes if s.call is not None}
    for block in definitions - set(fallback):
        assert sum(c == pycode.class_name(block) for c in _classes(source)) <= 1


def test_the_network_class_takes_num_classes(generated):
    name, net, _, _, module = generated
    cls = getattr(module, module.__all__[0])
    assert inspect.signature(cls).parameters["num_classes"].default == net.output_type.channels
    torch.manual_seed(0)
    model = cls(num_classes=10).eval()
    side = EXPECTED[name][3]
    with torch.no_grad():
        assert model(torch.randn(2, 3, side, side)).shape == (2, 10)


@pytest.mark.parametrize("name, overrides", [("resnet50", {}), ("densenet121", {}),
                                             ("inception_v3", {}), ("googlenet", {"aux_logits": True})])
def test_num_classes_is_the_spec_member_with_classes_set(name, overrides):
    """The generated class with num_classes=10 has the layout resdsl.build gives for classes=10: the aux
    heads' classifiers follow num_classes too (torchvision's InceptionAux(768, num_classes))."""
    cls = pycode.load_source(pycode.generate(resdsl.load(TV / f"{name}.res", **overrides)))
    with torch.device("meta"):
        mine = cls(num_classes=10)
        built = resdsl.build(TV / f"{name}.res", classes=10, **overrides)
    assert [(k, v.shape) for k, v in mine.state_dict().items()] == \
        [(k, v.shape) for k, v in built.state_dict().items()]


def test_resnet_optional_downsample_is_written_as_torchvision_does():
    source = pycode.generate(resdsl.load(TV / "resnet50.res"))
    tree = ast.parse(source)
    bottleneck = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Bottleneck")
    forward = next(f for f in bottleneck.body if isinstance(f, ast.FunctionDef) and f.name == "forward")
    guards = [ast.unparse(n.test) for n in ast.walk(forward) if isinstance(n, ast.If)]
    assert guards == ["self.downsample is not None"]
    assert "self.conv3 = nn.Conv2d(width, width * expansion," in source
    # stages: the first block with its downsample, the rest as a repeat
    assert "*[Bottleneck(1024, 256) for _ in range(5)]" in source


def test_a_dense_block_is_built_in_a_loop_from_its_input_width_and_growth():
    source = pycode.generate(resdsl.load(TV / "densenet121.res"))
    tree = ast.parse(source)
    block = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "DenseBlock")
    init = next(f for f in block.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
    loops = [n for n in ast.walk(init) if isinstance(n, ast.For)]
    assert len(loops) == 1 and ast.unparse(loops[0].iter) == "range(layers)"
    assert "DenseLayer(in_channels + i * growth, growth, bn_size)" in ast.unparse(loops[0])
    # and the class makes other members of the family: 3 layers growing by 16
    module = types.ModuleType("dense")
    exec(compile(source, "<dense>", "exec"), module.__dict__)
    small = module.DenseBlock(24, 3, 16, 4)
    assert [m.conv1.in_channels for m in small.children()] == [24, 40, 56]
    assert small(torch.randn(1, 24, 8, 8)).shape == (1, 24 + 3 * 16, 8, 8)


@pytest.mark.parametrize("name", sorted(p.stem for p in TV.glob("*.res")))
def test_torchvision_specs_write_one_class_per_block(name):
    """Which torchvision specs still have a block written per shape, and that nothing else does."""
    generator = pycode.Generator(resdsl.load(TV / f"{name}.res"))
    generator.run()
    assert generator.fallback == STILL_PER_SHAPE.get(name, []), generator.refused


def test_optional_parts_are_written_under_conditions_on_the_blocks_parameters():
    source = pycode.generate(resdsl.load(TV / "mobilenet_v3_large.res"))
    tree = ast.parse(source)
    # the activation the `act` parameter picks (none: no line at all)
    conv = _class(tree, "ConvNormAct")
    assert _guards(_method(conv, "forward")) == ["self.act == 'hardswish'", "self.act == 'relu'"]
    # the expansion conv only where the expansion differs from the input width, the SE only where asked
    bneck = _class(tree, "Bneck")
    init = _method(bneck, "__init__")
    assert _guards(init) == ["expanded != in_channels", "se"]
    assert "self.block = nn.Sequential(*layers)" in ast.unparse(init)
    # the residual add where the spec's shortcut choice puts it (`B if stride == 1 and @in.c == out else none`)
    assert _guards(_method(bneck, "forward")) == ["self.stride == 1 and self.in_channels == self.out"]
    # a projection shortcut as torchvision writes its downsample
    regnet = ast.parse(pycode.generate(resdsl.load(TV / "regnet_y_400mf.res")))
    assert _guards(_method(_class(regnet, "RegnetBlock"), "forward")) == ["self.proj is not None"]


def test_a_family_class_builds_members_the_network_does_not_have():
    """The classes are the family, not a trace: an inverted residual without expansion and with its residual,
    a conv-norm-act with another activation and kernel."""
    module = types.ModuleType("mobilenet_v2_generated")
    exec(compile(pycode.generate(resdsl.load(TV / "mobilenet_v2.res")), "<mobilenet_v2>", "exec"), module.__dict__)
    block = module.InvertedResidual(24, 24, 1, 1).eval()
    assert len(block.conv) == 3  # depthwise conv-norm-act, projection conv, BN: no expansion for t=1
    x = torch.randn(1, 24, 8, 8)
    with torch.no_grad():
        assert torch.equal(block(x), block.conv(x) + x)
        wide = module.InvertedResidual(24, 32, 2, 6).eval()
        assert len(wide.conv) == 4 and wide(x).shape == (1, 32, 4, 4)
    conv = module.ConvNormAct(8, 16, kernel=5, stride=2, groups=8)
    assert conv(torch.randn(1, 8, 10, 10)).shape == (1, 16, 5, 5)


def test_two_kinds_of_forward_are_one_if_else_and_stacks_are_a_first_block_and_a_loop():
    shuffle = ast.parse(pycode.generate(resdsl.load(TV / "shufflenet_v2_x1_0.res")))
    forward = _method(_class(shuffle, "ShuffleUnit"), "forward")
    branches = [n for n in forward.body if isinstance(n, ast.If)]
    assert len(branches) == 1 and branches[0].orelse  # if/else
    assert [ast.unparse(n) for n in forward.body[-2:]] == ["x = channel_shuffle(x, 2)", "return x"]
    assert "self.branch1(x)" in ast.unparse(branches[0].body) and "self.branch1" not in ast.unparse(
        branches[0].orelse)
    mnas = ast.parse(pycode.generate(resdsl.load(TV / "mnasnet1_0.res")))
    init = _method(_class(mnas, "MnasStack"), "__init__")
    loops = [n for n in init.body if isinstance(n, ast.For)]
    assert len(loops) == 1 and ast.unparse(loops[0].iter) == "range(repeats - 1)"
    v2 = ast.parse(pycode.generate(resdsl.load(TV / "efficientnet_v2_s.res")))
    # the spec's `if fused { if expanded != @in.c {...} else {...} } else { if expanded != @in.c {...} ... }`,
    # `expanded` being its `let expanded = make_divisible(@in.c * t)` (the helper written into the file)
    expanded = "make_divisible(in_channels * t)"
    assert _guards(_method(_class(v2, "Mbconv"), "__init__")) == [
        f"fused and {expanded} != in_channels", f"fused and {expanded} == in_channels",
        f"not fused and {expanded} != in_channels", "not fused"]


def test_a_stack_class_builds_stacks_of_any_length():
    module = types.ModuleType("mnasnet_generated")
    exec(compile(pycode.generate(resdsl.load(TV / "mnasnet1_0.res")), "<mnasnet>", "exec"), module.__dict__)
    x = torch.randn(1, 16, 8, 8)
    for repeats in (1, 2, 5):
        stack = module.MnasStack(16, 24, 3, 2, 3, repeats).eval()
        assert [name for name, _ in stack.named_children()] == [str(k) for k in range(repeats)]
        with torch.no_grad():
            assert stack(x).shape == (1, 24, 4, 4)


def _family_class(spec: str, name: str):
    path = ROOT / "specs" / spec
    net = resdsl.load(path)
    members = pycode.family_members(net, name, lambda v: resdsl.load(path, **{name: v}))
    generator = pycode.Generator(net, name, members)
    source = generator.run()
    assert generator.family_refused is None
    return pycode.load_source(source), source


@pytest.mark.parametrize("spec, name, value", [("cifar/resnet20.res", "depth", 56), ("cifar/wrn16_4.res", "depth", 28),
                                               ("cifar/densenet40_k12.res", "depth", 100)])
def test_the_network_class_takes_the_familys_parameter_and_builds_any_member(spec, name, value):
    """`--family depth`: one class for every depth, equal to resdsl.build of that member."""
    cls, source = _family_class(spec, name)
    default = dict(resdsl.load(ROOT / "specs" / spec).parameters)[name]
    assert list(inspect.signature(cls).parameters)[:2] == [name, "num_classes"]
    assert inspect.signature(cls).parameters[name].default == default
    with torch.device("meta"):
        mine = cls(**{name: value})
        built = resdsl.build(ROOT / "specs" / spec, **{name: value})
    assert [(k, v.shape) for k, v in mine.state_dict().items()] == \
        [(k, v.shape) for k, v in built.state_dict().items()]


def test_a_family_member_computes_what_resdsl_build_computes():
    cls, source = _family_class("cifar/resnet20.res", "depth")
    assert "range((depth - 2) // 6)" in source
    torch.manual_seed(0)
    built = resdsl.build(ROOT / "specs/cifar/resnet20.res", depth=32).eval()
    mine = cls(depth=32).eval()
    mine.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(mine(x), built(x))
