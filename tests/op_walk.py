"""The op set's completeness, as functions the tests call (and a half-registered op can fail).

`missing_entries()` lists every table that lacks an op of `resdsl.ir.ops.OPS` or an activation of
`resdsl.ir.activations.ACTIVATIONS`; `walk(line)` runs one use of an op through check, count, draw,
build and compile (generate, import the file, load build's state_dict, compare outputs) and fails
naming the line, the stage and what broke.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

import resdsl
from resdsl.backends import graphviz, graphviz_skips, lowering, pycode, pycode_ops
from resdsl.backends import torch as torch_backend
from resdsl.elaborate.primitives import PRIMITIVES
from resdsl.ir import activations, ops

# Uses of the ops no primitive makes (merges, shortcut kinds); every primitive brings its own example.
STRUCTURES = {
    "add": "add {\n    identity\n    { conv 3x3 8, bn }\n  }",
    "concat": "concat {\n    identity\n    conv 1x1 4\n  }",
    "mul": "mul {\n    identity\n    { gap, conv 1x1 8, sigmoid }\n  }",
    "mean": "mean drop=0.15 {\n    identity\n    { conv 3x3 8, bn }\n    conv 1x1 8\n  }",
    "mean_global": "mean drop=0.15 global=0.5 columns=[1, 2, 3] {\n    identity\n    { conv 3x3 8, bn }\n"
                   "    conv 1x1 8\n  }",
    "residual_gated": "residual shortcut=gated { conv 3x3 8 }",
    "residual_A": "residual shortcut=A { conv 3x3 16 /2 }",
    "residual_B": "residual { conv 3x3 16 /2, bn }",
}


def examples() -> dict[str, str]:
    """Every use the walk runs: each primitive's example, then the structures."""
    return {**{name: p.example for name, p in PRIMITIVES.items()}, **STRUCTURES}


def probe_source(line: str) -> str:
    """`line` after a conv (an overwritable producer, so in-place variants are exercised)."""
    return f"network probe {{\n  input 8x12x12\n  conv 3x3 8\n  {line}\n}}\n"


def missing_entries() -> list[str]:
    """What every op and activation needs and does not have, one line each."""
    out: list[str] = []
    for cls in ops.OPS:
        name = cls.__name__
        if cls.infer is ops.Op.infer:
            out.append(f"{name}: no shape rule (define {name}.infer in resdsl/ir/ops.py)")
        if cls.cost is ops.Op.cost:
            out.append(f"{name}: no cost formula (define {name}.cost in resdsl/ir/ops.py)")
        if cls.role == "input":
            continue
        if cls.is_parameter:
            if cls not in lowering.PARAMETERS:
                out.append(f"{name}: no parameter in backends/lowering.py PARAMETERS")
            if cls not in torch_backend.PARAMETER_FUNCTIONS:
                out.append(f"{name}: no torch function in backends/torch.py PARAMETER_FUNCTIONS")
            if cls not in pycode_ops.PARAMETER_CODE:
                out.append(f"{name}: no Python spelling in backends/pycode_ops.py PARAMETER_CODE")
        elif cls.is_layer:
            if cls not in lowering.LAYERS:
                out.append(f"{name}: no torch constructor in backends/lowering.py LAYERS")
        else:
            if cls not in torch_backend.FUNCTIONS:
                out.append(f"{name}: no torch function in backends/torch.py FUNCTIONS")
            if cls not in pycode_ops.FUNCTIONAL_CODE:
                out.append(f"{name}: no Python spelling in backends/pycode_ops.py FUNCTIONAL_CODE")
        if cls.role == "merge" and cls not in graphviz_skips.MERGE_OPS:
            out.append(f"{name}: a merge without a skip rule in backends/graphviz_skips.py _MERGE_RULES")
    for act in activations.ACTIVATIONS:
        if act not in lowering.ACTIVATIONS:
            out.append(f"activation {act}: no torch spelling in backends/lowering.py ACTIVATIONS")
        if act not in pycode_ops.ACTIVATION_CODE:
            out.append(f"activation {act}: no Python spelling in backends/pycode_ops.py ACTIVATION_CODE")
        if act not in PRIMITIVES:
            out.append(f"activation {act}: no primitive (elaborate/primitives.py builds them from the table)")
    for table, where in ((lowering.ACTIVATIONS, "backends/lowering.py"), (pycode_ops.ACTIVATION_CODE,
                                                                                 "backends/pycode_ops.py")):
        out.extend(f"activation {act}: spelt in {where} but not in resdsl/ir/activations.py"
                   for act in table if act not in activations.ACTIVATIONS)
    return out


def op_classes(line: str) -> set[type]:
    net = resdsl.load(probe_source(line))
    return {type(node.op) for node in net.graph.nodes}


def _stage(line: str, stage: str, fn):
    try:
        return fn()
    except Exception as err:  # the walk reports any failure, naming what was being done
        raise AssertionError(f"`{line}`: {stage} failed: {type(err).__name__}: {err}") from err


def _randomise(module: torch.nn.Module) -> None:
    """BN statistics and every parameter random, so activations leave [0, 6] and signs vary."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.1)
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g))


def _import_file(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def walk(line: str, tmp_path: Path, labelled: bool = False) -> None:
    """One use of an op through every command; `labelled` puts it under a label (a module attribute
    rather than a positional name)."""
    text = f"probe: {line}" if labelled and "\n" not in line else line
    net = _stage(text, "check", lambda: resdsl.load(probe_source(text)))
    report = _stage(text, "count", lambda: resdsl.count(net, by="op"))
    assert report["params"] == net.params
    for level in graphviz.LEVELS:
        _stage(text, f"draw --level {level}", lambda: graphviz.to_dot([net], graphviz.DrawOptions(level=level)))
    torch.manual_seed(0)
    built = _stage(text, "build", lambda: resdsl.build(net))
    _randomise(built)
    built.eval()
    x = torch.randn(2, *net.input_type.shape) * 4
    with torch.no_grad():
        y = _stage(text, "build forward", lambda: built(x))
    assert tuple(y.shape[1:]) == net.output_type.shape, f"`{text}`: built output {tuple(y.shape)} vs {net.output_type}"
    assert sum(p.numel() for p in built.parameters()) == net.params, f"`{text}`: params differ from count"
    assert sum(b.numel() for b in built.buffers()) == net.totals.buffers, f"`{text}`: buffers differ from count"
    assert _stage(text, "FLOPs", lambda: torch_backend.count_flops(built, x[:1])) == net.flops, \
        f"`{text}`: FlopCounterMode differs from 2 x MACs"
    source = _stage(text, "compile --format py", lambda: pycode.generate(net))
    path = tmp_path / "generated_probe.py"
    path.write_text(source)
    module = _stage(text, "import the generated file", lambda: _import_file(path))
    sys.modules.pop(path.stem, None)
    generated = _stage(text, "construct the generated class", lambda: getattr(module, module.__all__[0])())
    _stage(text, "strict load of build's state_dict", lambda: generated.load_state_dict(built.state_dict()))
    generated.eval()
    with torch.no_grad():
        z = _stage(text, "generated forward", lambda: generated(x))
    assert torch.equal(y, z), f"`{text}`: the generated file computes something else than build"
