"""`resdsl compile FILE`: write the network as a standalone .py file, a torch.export archive (.pt2) or
an ONNX model; `--check` builds it and compares it with the checked network first.

Importing this module must not import torch (every command registers at start-up); `run` does.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from resdsl.cli import (say, EXIT_OK, EXIT_SPEC, HelpFormatter, add_spec_arguments, load_from_args, parse_overrides,
                        parse_shape, resolve_file)
from resdsl.commands.progress import progress
from resdsl.diagnostics import SourceSpan, UsageError
from resdsl.outputs import check_output, write_atomic

FORMATS = ("py", "pt2", "onnx")

EPILOG = """\
formats:
  py    one readable Python file that needs only torch: block classes, named layers, a forward
        written out op by op.  Same state_dict and outputs as resdsl.build.
  pt2   a torch.export ExportedProgram (eval mode, any batch size); load it with
        torch.export.load(path).module().
  onnx  an ONNX model via torch.onnx.export (needs `pip install onnx onnxscript`).

examples:
  resdsl compile specs/torchvision/resnet50.res                 # writes ./resnet50.py
  resdsl compile specs/torchvision/resnet50.res -o - | less     # the code on stdout
  resdsl compile specs/cifar/resnet20.res --set depth=56 -o resnet56.py --check
  resdsl compile specs/cifar/resnet20.res --family depth     # class Resnet20(depth=20, num_classes=10)
  resdsl compile specs/torchvision/resnet18.res --format pt2 -o resnet18.pt2
  resdsl compile specs/torchvision/resnet50.res --check --device cuda
  resdsl compile specs/torchvision/regnet_y_128gf.res --check --input 3x64x64 -o /tmp/r.py
  resdsl compile specs/torchvision/resnet50.res --inference --format onnx   # BNs folded into the convs

--check builds the module on the device, runs a random batch of 2 and compares the output shape, the
parameter count and the FLOPs counted by torch.utils.flop_counter with the checked network's figures;
it exits 1 on any difference and then writes nothing.  For py the module checked is the generated code.
"""


def register(commands) -> None:
    p = commands.add_parser(
        "compile", help="write the network as PyTorch code (.py), a torch.export archive or ONNX",
        description="Compile a spec to a standalone PyTorch model: Python source (default), a "
                    "torch.export archive (.pt2) or ONNX.  The output is written atomically: a failed "
                    "run leaves no partial file.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    add_spec_arguments(p)
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output file (default: NETWORK.py / .pt2 / .onnx in the current directory; "
                        "'-' prints the Python code to stdout)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="what to write (default: from the OUT suffix, else py)")
    p.add_argument("--input", metavar="CxHxW",
                   help="build for another input size, e.g. 3x64x64 (a quick --check of a large network)")
    p.add_argument("--check", action="store_true",
                   help="build the module and verify output shape, parameters and FLOPs before writing")
    p.add_argument("--inference", action="store_true",
                   help="compile the inference network: every BN after a conv (or fc) folded into it, no "
                        "dropout or drop-path (load weights folded by resdsl.fold)")
    p.add_argument("--family", metavar="NAME",
                   help="the network class takes the network's parameter NAME (e.g. depth) with its value as "
                        "the default: two more members are compiled and the numbers that differ written as "
                        "expressions of NAME (py only; without that, the class is built for the one value)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where --check and the pt2/onnx export run (default: cpu)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    fmt = _format(args)
    if args.output == "-" and fmt != "py":
        raise UsageError(f"--format {fmt} is binary; it cannot go to stdout", _span("-o"),
                         f"give a file name, e.g. -o model.{fmt}")
    net = load_from_args(args, input_shape=parse_shape(args.input) if args.input else None)
    if args.inference:
        from resdsl.backends.inference_network import inference_network

        net = inference_network(net).network
    target = None if args.output == "-" else Path(args.output or f"{net.member_name}.{fmt}")
    if target is not None:
        check_output(target, net.inputs, _span("-o"))
    if fmt == "onnx":
        _require_onnx()
    device = None
    if args.check or fmt != "py" or args.device != "cpu":  # writing code is text: it needs no torch
        with progress("loading torch"):
            import torch  # only now: every other command starts without it

        device = _device(torch, args.device)
    source = None
    if fmt == "py":
        from resdsl.backends.pycode import generate

        with progress(f"generating Python for {net.title}"):
            source = generate(net) if not args.family else _family_source(args, net)
    # With the code going to stdout, the check report goes to stderr.
    report = sys.stderr if target is None else sys.stdout
    if args.check:
        with progress(f"checking {net.title}: building it and running a batch of 2"):
            ok = _check(net, device, source, report)
        if not ok:
            return EXIT_SPEC
    if target is None:
        sys.stdout.write(source)
        return EXIT_OK
    try:
        with progress(f"writing {net.title} as {fmt}" + (" (torch.export)" if fmt != "py" else "")):
            write_atomic(target, WRITERS[fmt](net, device, source))
    except OSError as err:  # a full disk or a read-only directory is not a bug of ours
        raise UsageError(f"cannot write {target}: {err.strerror or err}", _span("-o"),
                         "check the path, its permissions and the free space") from None
    say(f"wrote {target} ({net.title}: {net.input_type} -> {net.output_type}, {net.params:,} parameters)")
    return EXIT_OK


def _family_source(args: argparse.Namespace, net) -> str:
    """The code with the network class taking `--family NAME` (a note on stderr where it cannot)."""
    from resdsl.backends.pycode import Generator, family_members
    from resdsl.pipeline import load

    name = args.family
    if name not in dict(net.parameters):
        raise UsageError(f"--family {name}: {net.name} has no parameter {name!r}", _span("--family"),
                         f"its parameters: {', '.join(n for n, _ in net.parameters)}")
    overrides = parse_overrides(args.overrides)
    path = resolve_file(args.file)
    shape = parse_shape(args.input) if args.input else None
    members = family_members(net, name, lambda v: load(path, args.network, {**overrides, name: v}, None, shape))
    generator = Generator(net, name, members)
    source = generator.run()
    if generator.family_refused or not members:
        say(f"compile: --family {name}: the class is built for {name}={dict(net.parameters)[name]} only: "
            f"{generator.family_refused or 'no other member of the spec found'}", file=sys.stderr)
    return source


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    suffix = Path(args.output).suffix.lstrip(".") if args.output and args.output != "-" else ""
    return suffix if suffix in FORMATS else "py"


def _span(option: str) -> SourceSpan:
    return SourceSpan(option, 1, 1, 1, 1)


def _device(torch, name: str):
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available (torch.cuda.is_available() is False)",
                         _span("--device"), "use --device cpu, or install a CUDA build of torch on a GPU "
                                            "machine")
    return torch.device(name)


def _require_onnx() -> None:
    import importlib.util

    missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"--format onnx needs the {' and '.join(missing)} package"
                         f"{'s' if len(missing) > 1 else ''}, which {'are' if len(missing) > 1 else 'is'} "
                         "not installed", _span("--format"),
                         f"pip install {' '.join(missing)}   (or use --format pt2 / py)")


# ---- --check ---------------------------------------------------------------------------------------


def _check(net, device, source: str | None, report) -> bool:
    """Build (the generated code when there is some), run a batch of 2, compare with the IR; print the
    three comparisons.  False on any difference."""
    import torch

    from resdsl.backends.torch import build_module, count_flops

    batch = 2
    torch.manual_seed(0)
    module = _load_generated(source)() if source is not None else build_module(net)
    module = module.to(device).eval()
    x = torch.randn(batch, *net.input_type.shape, device=device)
    flops = count_flops(module, x)
    with torch.no_grad():
        shape = tuple(module(x).shape)
    rows = [("output shape", "x".join(map(str, shape)), "x".join(map(str, (batch, *net.output_type.shape)))),
            ("parameters", f"{sum(p.numel() for p in module.parameters()):,}", f"{net.params:,}"),
            ("FLOPs/image", f"{flops // batch:,}", f"{net.flops:,}")]
    what = "generated code" if source is not None else "built module"
    say(f"check {net.title} ({what}) on {device}, random batch of {batch}:", file=report)
    ok = True
    for name, got, want in rows:
        good = got == want
        ok &= good
        say(f"  {name:13s} {got:>20s}   expected {want:>20s}   {'ok' if good else 'MISMATCH'}", file=report)
    if not ok:
        say(f"error: the {what} does not match the checked network; this is a bug in resdsl's "
              "PyTorch back end, please report it with the spec", file=sys.stderr)
    return ok


def _load_generated(source: str) -> Callable[[], Any]:
    from resdsl.backends.pycode import load_source

    return load_source(source)


# ---- writers: each returns a function that writes the artifact to a path ------------------------------


def _write_py(net, device, source: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(source, encoding="utf-8")


def _exportable(net, device):
    """The module in eval mode, an example batch and a dynamic batch dimension (an example of 2, since
    torch.export specialises a size of 1)."""
    import torch

    from resdsl.backends.torch import build_module

    module = build_module(net).to(device).eval()
    example = (torch.randn(2, *net.input_type.shape, device=device),)
    return module, example, ({0: torch.export.Dim("batch", min=1, max=65536)},)


def _write_pt2(net, device, source) -> Callable[[Path], None]:
    import torch

    module, example, dynamic = _exportable(net, device)
    program = torch.export.export(module, example, dynamic_shapes=dynamic)
    return lambda path: torch.export.save(program, str(path))


def _write_onnx(net, device, source) -> Callable[[Path], None]:
    import torch

    module, example, dynamic = _exportable(net, device)
    return lambda path: torch.onnx.export(module, example, str(path), input_names=["input"],
                                          output_names=["output"], dynamic_shapes=dynamic)


WRITERS: dict[str, Callable[[Any, Any, str | None], Callable[[Path], None]]] = {
    "py": _write_py, "pt2": _write_pt2, "onnx": _write_onnx}
