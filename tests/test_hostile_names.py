"""Issue 12: hostile but legal names.  200 generated specs whose networks, blocks and labels are Python
keywords, builtins, torch.nn.Module attributes (`_buffers`, `training`, `forward`), words true/false/none,
non-identifier word characters (`conv²`), names Python folds under NFKC (`xﬁ` beside `xfi`, `aⅷ`, Kelvin
`K`) and long names.  Each is either refused by `check` with a located error at a line that uses one of
its names, or compiles to Python that imports and equals `resdsl.build`: the same state_dict keys in the
same order, build's weights loading strictly, and the same outputs."""
from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")

import resdsl  # noqa: E402
from resdsl.backends import pycode  # noqa: E402
from resdsl.diagnostics import ResdslError  # noqa: E402

pytestmark = pytest.mark.torch

HOSTILE = ["none", "true", "false", "None", "True", "False", "class", "def", "lambda", "forward", "eval",
           "training", "_modules", "_parameters", "_buffers", "self", "super", "torch", "nn", "F", "x", "out",
           "input", "type", "list", "print", "sum", "max", "__init__", "__class__", "_", "__", "conv²", "xﬁ",
           "xfi", "aⅷ", "K", "Kelvin", "µ", "μ", "ǅ", "Straße", "ﬀ", "ℌ", "データ", "слой", "λ", "λ2",
           "layer1", "layer1_", "l0", "o", "downsample", "add", "add_1", "relu", "fc", "bn", "conv", "block",
           "stage", "Sequential", "Module", "state_dict", "cuda", "to", "half", "apply", "children",
           "register_buffer", "named_modules", "zero_grad", "requires_grad", "T_destination", "dump_patches",
           "call_super_init", "a" * 200, "if", "import", "return", "yield", "await", "nonlocal", "global",
           "is", "with", "del", "pass", "raise", "try", "while", "from", "as", "assert", "break", "continue",
           "elif", "except", "finally", "async", "match", "case", "exec", "globals", "locals", "__name__",
           "__dict__", "__file__", "__builtins__", "math", "Tensor", "functional", "init", "_apply"]
SPECS = 200


def _spec(rng: random.Random) -> tuple[str, list[str]]:
    """Six names: each hostile with probability 0.3 (else a plain one), so both outcomes are common."""
    hostile = rng.sample(HOSTILE, 6)
    names = [h if rng.random() < 0.3 else f"plain{k}" for k, h in enumerate(hostile)]
    net, block, a, b, c, d = names
    text = (f"block {block}(width) {{\n"
            f"  residual shortcut=B {{\n    {a}: conv 3x3 width, {b}: bn, relu\n    {c}: conv 3x3 width, bn\n  }}\n"
            f"  relu\n}}\n"
            f"network {net} {{\n  input 3x8x8\n  {d}: conv 3x3 4, relu\n"
            f"  {a}: {block} 8\n  {b}: {block}(8)\n  head {c}: gap, fc 5\n}}\n")
    return text, names


def _randomised(module: torch.nn.Module, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    state = module.state_dict()
    for key, value in state.items():
        if value.is_floating_point():
            value.copy_(torch.rand(value.shape, generator=g) + 0.5 if key.endswith("running_var")
                        else torch.randn(value.shape, generator=g))
    return state


def _outcomes():
    rng = random.Random(12)
    for i in range(SPECS):
        text, names = _spec(rng)
        try:
            net = resdsl.loads(text)
        except ResdslError as err:
            yield i, text, names, err
            continue
        yield i, text, names, net


OUTCOMES = list(_outcomes())


def test_both_outcomes_are_exercised():
    refused = sum(isinstance(o[3], ResdslError) for o in OUTCOMES)
    assert len(OUTCOMES) == SPECS
    assert 40 <= refused <= SPECS - 40, refused    # many are refused, many compile
    used = {n for o in OUTCOMES for n in o[2]}
    assert len(used & set(HOSTILE)) >= 0.9 * len(HOSTILE)   # nearly every hostile name is tried


@pytest.mark.parametrize("i", [o[0] for o in OUTCOMES if isinstance(o[3], ResdslError)])
def test_a_refused_name_is_a_located_error_at_a_line_that_uses_it(i):
    _, text, names, err = OUTCOMES[i]
    assert err.span.file == "<string>" and err.span.line >= 1 and err.span.column >= 1
    line = text.splitlines()[err.span.line - 1]
    assert any(name in line for name in names if not name.startswith("plain")), (err.render(), line)
    assert err.hint, err.render()
    assert "internal error" not in err.render() and "Traceback" not in err.render()


@pytest.mark.parametrize("i", [o[0] for o in OUTCOMES if not isinstance(o[3], ResdslError)])
def test_an_accepted_name_compiles_to_python_that_equals_build(i):
    _, text, names, net = OUTCOMES[i]
    source = pycode.generate(net)
    generated = pycode.load_source(source)()
    built = resdsl.build(net)
    assert list(generated.state_dict()) == list(built.state_dict()), text
    generated.load_state_dict(_randomised(built, i), strict=True)
    built.eval(), generated.eval()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(i))
    with torch.no_grad():
        assert torch.allclose(generated(x), built(x), atol=1e-6), text


def test_the_compile_command_writes_importable_files_for_accepted_names(tmp_path):
    """Through the CLI as a user runs it, for the first ten accepted specs."""
    import contextlib
    import io

    from resdsl.cli import main

    accepted = [o for o in OUTCOMES if not isinstance(o[3], ResdslError)][:10]
    assert len(accepted) == 10
    for i, text, _, net in accepted:
        spec = tmp_path / f"hostile{i}.res"
        spec.write_text(text, encoding="utf-8")
        out = tmp_path / f"hostile{i}.py"
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            code = main(["compile", str(spec), "-o", str(out)])
        assert code == 0, err.getvalue()
        generated = pycode.load_source(out.read_text(encoding="utf-8"))()
        assert list(generated.state_dict()) == list(resdsl.build(net).state_dict())
