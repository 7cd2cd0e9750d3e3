"""The conditions of a generated family class are the spec's own (issue 11 part 2): read from the block's `if`s
and its residual's shortcut choice, not fitted to the instances one network happens to have.  So a class
instantiated for a configuration its network does not contain (a stride-2 bneck keeping its width) is
what `resdsl.build` makes of that block: same state_dict keys, same outputs."""
from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest

from resdsl.backends import pycode_guards as guards
from resdsl.syntax import ast as spec_ast

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.backends import pycode  # noqa: E402
from generated_ast import class_def as _class, guards as _guards, method as _method  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TV = ROOT / "specs/torchvision"
FAMILIES = TV / "families"


def _generated(spec: Path) -> tuple[pycode.Generator, str, types.ModuleType]:
    generator = pycode.Generator(resdsl.load(spec))
    source = generator.run()
    module = types.ModuleType(f"generated_{spec.stem}")
    exec(compile(source, f"<{spec.stem}>", "exec"), module.__dict__)
    return generator, source, module


def _one_block(family: str, call: str, input_shape: str) -> torch.nn.Module:
    """resdsl.build of a network that is the one block call."""
    text = f'import "{FAMILIES / family}"\nnetwork t {{\n  input {input_shape}\n  {call}\n}}\n'
    return resdsl.build(text)


def _randomised(module: torch.nn.Module) -> torch.nn.Module:
    """BN running statistics and affines far from their defaults, so that a wrong wiring shows."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 3)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) * 4 + 0.5)
                m.weight.copy_(torch.randn(m.num_features, generator=g) * 4)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 4)
    return module.eval()


def _same_as_built(mine: torch.nn.Module, built: torch.nn.Module, x: torch.Tensor) -> None:
    """`mine` (the generated class alone) has the layout of the built one-block network's block and its outputs."""
    theirs = {k[len("0."):]: v for k, v in built.state_dict().items()}
    assert list(mine.state_dict()) == list(theirs)
    mine.load_state_dict(theirs, strict=True)
    _randomised(built)
    mine.load_state_dict({k[len("0."):]: v for k, v in built.state_dict().items()}, strict=True)
    mine.eval()
    with torch.no_grad():
        expected = built(x)
        assert torch.equal(mine(x), expected)
    return expected


@pytest.fixture(scope="module")
def mobilenet_v3():
    return _generated(TV / "mobilenet_v3_large.res")


@pytest.fixture(scope="module")
def shufflenet():
    return _generated(TV / "shufflenet_v2_x1_0.res")


def test_mobilenet_v3_guards_are_the_specs(mobilenet_v3):
    generator, source, _ = mobilenet_v3
    bneck = _class(ast.parse(source), "Bneck")
    # `let shortcut = B if stride == 1 and @in.c == out else none`: both halves, not only the widths
    assert _guards(_method(bneck, "forward")) == ["self.stride == 1 and self.in_channels == self.out"]
    # `if expanded != @in.c { ... }` and `if se { ... }`
    assert _guards(_method(bneck, "__init__")) == ["expanded != in_channels", "se"]
    conv = _class(ast.parse(source), "ConvNormAct")
    assert _guards(_method(conv, "forward")) == ["self.act == 'hardswish'", "self.act == 'relu'"]
    assert "bneck" not in generator.fitted and "conv_norm_act" not in generator.fitted, generator.fitted


def test_a_stride_2_bneck_keeping_its_width_has_no_residual_add(mobilenet_v3):
    """A configuration mobilenet_v3_large does not have: the network's stride-2 bnecks all change width."""
    _, _, module = mobilenet_v3
    torch.manual_seed(0)
    mine = module.Bneck(16, 3, 64, 16, False, "relu", 2)
    built = _one_block("mobilenet_v3.res", 'bneck(3x3, 64, 16, false, "relu", 2)', "16x8x8")
    out = _same_as_built(mine, built, torch.randn(2, 16, 8, 8))
    assert out.shape == (2, 16, 4, 4)
    # and at stride 1 the same widths do add the input (the add is there, and it matters)
    torch.manual_seed(0)
    mine = module.Bneck(16, 3, 64, 16, False, "relu", 1)
    built = _one_block("mobilenet_v3.res", 'bneck(3x3, 64, 16, false, "relu", 1)', "16x8x8")
    x = torch.randn(2, 16, 8, 8)
    out = _same_as_built(mine, built, x)
    with torch.no_grad():
        assert torch.allclose(out - x, mine.block(x), atol=1e-6)


def test_shufflenet_chooses_its_forward_by_the_stride_as_the_spec_does(shufflenet):
    generator, source, _ = shufflenet
    unit = _class(ast.parse(source), "ShuffleUnit")
    assert _guards(_method(unit, "forward")) == ["self.stride != 1"]
    assert "shuffle_unit" not in generator.fitted, generator.fitted


def test_a_shufflenet_unit_at_stride_2_keeping_its_width_is_the_two_branch_one(shufflenet):
    """The unit builds its branch1 where the spec has it (`else` of `if stride == 1`), and its branch2 reads the
    whole input or half of it as the stride says: `ShuffleUnit(in_channels, out, stride)`, as torchvision's."""
    _, source, module = shufflenet
    torch.manual_seed(0)
    mine = module.ShuffleUnit(116, 116, 2)
    built = _one_block("shufflenet_v2.res", "shuffle_unit(116, stride=2)", "116x8x8")
    assert _same_as_built(mine, built, torch.randn(2, 116, 8, 8)).shape == (2, 116, 4, 4)
    # stride 1: split, one branch
    mine = module.ShuffleUnit(116, 116, 1)
    assert mine.branch1 is None
    built = _one_block("shufflenet_v2.res", "shuffle_unit(116)", "116x8x8")
    assert _same_as_built(mine, built, torch.randn(2, 116, 8, 8)).shape == (2, 116, 8, 8)


def test_resnet50s_downsample_stays_torchvisions_member_test():
    _, source, _ = _generated(TV / "resnet50.res")
    bottleneck = _class(ast.parse(source), "Bottleneck")
    assert _guards(_method(bottleneck, "forward")) == ["self.downsample is not None"]


# ---- the translation itself ------------------------------------------------------------------------------


def _expr(text: str) -> spec_ast.Expr:
    from resdsl.syntax.parser import parse_expression

    return parse_expression(text, "<t>")


@pytest.mark.parametrize("text, python", [
    ("stride == 1 and @in.c == out", "stride == 1 and in_channels == out"),
    ("not (a or b) and c", "not (a or b) and c"),
    ("(a + b) * 2 // 3 - -a", "(a + b) * 2 // 3 - -a"),
    ("a - (b - 1)", "a - (b - 1)"),
    ("max(8, int(a + 4 / 2) // 8 * 8)", "max(8, int(a + 4 / 2) // 8 * 8)"),
    ('1 if act == "relu" else 2', '1 if act == "relu" else 2'),
])
def test_expressions_are_written_with_pythons_precedence(text, python):
    reader = guards.Reader(["a", "b", "c", "stride", "out", "act"], {}, (), {})
    assert guards.render(reader.read(_expr(text))) == python


def test_unwritable_parameters_fold_and_the_shortcut_choice_reads_as_its_condition():
    reader = guards.Reader(["stride", "shortcut"], {"shortcut": "B"}, (), {})
    kind = reader.read(_expr("shortcut if stride == 1 else none"))
    assert guards.render(guards.compare(kind, "!=", "none")) == "stride == 1"
    with pytest.raises(guards.Unreadable):
        guards.Reader(["x"], {}, (), {}).read(_expr("rows[0]"))


def test_resnet20s_option_a_pads_where_the_body_changes_the_shape():
    """Option A zero-pads where the residual's body changes the shape (its stride or its width): the residual's
    own rule, not `width != in_channels` alone, which every instance of ResNet-20 also satisfies."""
    generator, source, module = _generated(ROOT / "specs/cifar/resnet20.res")
    basic = _class(ast.parse(source), "Basic")
    assert _guards(_method(basic, "forward")) == ["self.stride != 1 or self.width != self.in_channels"]
    assert "basic" not in generator.fitted, generator.fitted
    torch.manual_seed(0)
    mine = module.Basic(16, 16, stride=2)  # a stride-2 block keeping its width: ResNet-20 has none
    text = ('network t {\n  input 16x8x8\n  basic(16, stride=2, shortcut=A)\n}\n')
    built = resdsl.build(text)
    assert _same_as_built(mine, built, torch.randn(2, 16, 8, 8)).shape == (2, 16, 4, 4)


# ---- widths the spec writes as expressions -------------------------------------------------------------


def test_a_width_the_spec_computes_is_its_expression_not_a_parameter(mobilenet_v3):
    """MobileNetV3's squeeze width is the spec's `make_divisible(expanded // 4)` (the helper written into the
    file), not a parameter `block_2_squeeze` the caller must know."""
    _, source, module = mobilenet_v3
    bneck = _class(ast.parse(source), "Bneck")
    assert [a.arg for a in _method(bneck, "__init__").args.args] == \
        ["self", "in_channels", "kernel", "expanded", "out", "se", "act", "stride", "eps", "momentum"]
    assert "layers.append(SqueezeExcite(expanded, make_divisible(expanded // 4)))" in ast.unparse(bneck)
    assert module.make_divisible(100 // 4) == 24 and module.make_divisible(240 // 4) == 64
    # an SE bneck of an expansion the network lacks: the squeeze rounds as the spec's make_divisible does
    torch.manual_seed(0)
    mine = module.Bneck(24, 5, 100, 24, True, "hardswish", 1)
    assert mine.block[2].fc1.out_channels == 24
    built = _one_block("mobilenet_v3.res", 'bneck(5x5, 100, 24, true, "hardswish", 1)', "24x8x8")
    _same_as_built(mine, built, torch.randn(2, 24, 8, 8))


def test_efficientnet_widths_are_the_specs_make_divisible():
    """`let expanded = make_divisible(@in.c * t)` and `squeeze_excite(max(1, @in.c // 4))`: an input width where
    the rounding matters (21 * 6 = 126 -> 128) builds what resdsl.build builds."""
    _, source, module = _generated(TV / "efficientnet_b0.res")
    mbconv = ast.unparse(_class(ast.parse(source), "Mbconv"))
    assert "ConvNormAct(in_channels, make_divisible(in_channels * t), 'silu')" in mbconv
    assert "SqueezeExcite(make_divisible(in_channels * t), max(1, in_channels // 4))" in mbconv
    torch.manual_seed(0)
    mine = module.Mbconv(21, 24, 3, stride=1, t=6)
    assert getattr(mine.block[0], "0").out_channels == 128
    built = _one_block("efficientnet.res", "mbconv(24, 1, 6, 3x3)", "21x8x8")
    _same_as_built(mine, built, torch.randn(2, 21, 8, 8))


# ---- blocks that used to keep one class per shape -----------------------------------------------------------


@pytest.mark.parametrize("spec, classes", [
    ("cifar/fractalnet20.res", ["Fconv", "Fractal2", "Fractal3"]),   # two equal convs: a repeat in some, not others
    ("paper/inception_resnet_v2.res", ["Block8"]),                      # `relu` parameter and `relu` member
])
def test_blocks_once_written_per_shape_are_one_class(spec, classes):
    generator, source, _ = _generated(ROOT / "specs" / spec)
    assert generator.fallback == [], generator.refused
    names = [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    for name in classes:
        assert name in names and f"{name}2" not in names


def test_a_keyword_parameter_is_renamed_and_block8_scales_as_the_spec_says():
    _, source, module = _generated(ROOT / "specs/paper/inception_resnet_v2.res")
    block8 = _class(ast.parse(source), "Block8")
    assert _guards(_method(block8, "forward")) == ["self.scale != 1", "self.relu is not None"]
    assert guards.python_name("global") == "global_" and guards.python_name("drop") == "drop"


def test_a_member_the_spec_makes_under_its_own_condition_is_built_by_the_class():
    """RegNet's `if stride != 1 or @in.c != out { proj: ... }`: the class builds `proj` itself (as torchvision's
    ResBottleneckBlock does), so a stride-2 block keeping its width (none in regnet_y_400mf) gets one.  A
    projection shortcut the shapes decide (ResNet's downsample) stays an argument."""
    _, source, module = _generated(TV / "regnet_y_400mf.res")
    block = _class(ast.parse(source), "RegnetBlock")
    assert "self.proj = ConvBnRelu(in_channels, out, stride=stride, relu=False) if stride != 1 or in_channels != out " \
           "else None" in ast.unparse(_method(block, "__init__"))
    torch.manual_seed(0)
    mine = module.RegnetBlock(48, 48, 2, 8, 0.25)
    assert mine.proj is not None and module.RegnetBlock(48, 48, 1, 8, 0.25).proj is None
    built = _one_block("regnet.res", "regnet_block(48, 2, 8, 0.25)", "48x8x8")
    _same_as_built(mine, built, torch.randn(2, 48, 8, 8))


def test_enets_index_passing_blocks_are_classes_taking_and_returning_the_indices():
    """ENet's down-sampling bottleneck returns its pool's indices beside its value, the up-sampling one takes
    them (`forward(x, indices)`), as PyTorch ENet implementations write them: classes, not containers."""
    _, source, module = _generated(ROOT / "specs/paper/enet.res")
    tree = ast.parse(source)
    down, up = _class(tree, "EnetDown"), _class(tree, "EnetUp")
    assert [a.arg for a in _method(down, "forward").args.args] == ["self", "x"]
    assert ast.unparse(_method(down, "forward").body[-1]) == "return (out, pool_indices)"
    assert [a.arg for a in _method(up, "forward").args.args] == ["self", "x", "indices"]
    net = ast.unparse(_method(_class(tree, "Enet"), "forward"))
    assert "out, bottleneck1_0_pool_indices = self.bottleneck1_0(out)" in net
    assert "self.bottleneck5_0(out, bottleneck1_0_pool_indices)" in net
    # a pair the network does not have (16 -> 32 -> 16 channels on a 16x16 map), against resdsl.build
    text = (f'import "{ROOT / "specs/paper/enet.res"}"\nnetwork t {{\n  input 16x16x16\n'
            "  down: enet_down(32, 0.1)\n  up: enet_up(16, @down.pool)\n}\n")
    built = _randomised(resdsl.build(text, network="t"))
    torch.manual_seed(0)
    mine = torch.nn.ModuleDict({"down": module.EnetDown(16, 32, 0.1), "up": module.EnetUp(32, 16, (16, 16))}).eval()
    assert list(mine.state_dict()) == list(built.state_dict())
    mine.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(2, 16, 16, 16)
    with torch.no_grad():
        y, indices = mine["down"](x)
        assert indices.shape == (2, 16, 8, 8)
        assert torch.equal(mine["up"](y, indices), built(x))


def test_an_argument_the_spec_writes_is_kept_where_every_instance_has_its_default():
    """EfficientNetV2's fused blocks without expansion all have stride 1 in the network, but the spec passes
    `stride` to their conv: the class writes `stride=stride`, so a stride-2 one is what resdsl.build makes."""
    _, source, module = _generated(TV / "efficientnet_v2_s.res")
    mbconv = ast.unparse(_class(ast.parse(source), "Mbconv"))
    assert "ConvNormAct(in_channels, out, 'silu', eps, kernel=kernel, stride=stride)" in mbconv
    torch.manual_seed(0)
    mine = module.Mbconv(24, 24, 1, 3, 0.001, stride=2, fused=True)
    built = _one_block("efficientnet.res", "mbconv(24, 2, 1, 3x3, true, 0.001)", "24x8x8")
    assert _same_as_built(mine, built, torch.randn(2, 24, 8, 8)).shape == (2, 24, 4, 4)
