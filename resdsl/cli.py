"""The command line: the one place that turns a `ResdslError` into a message and an exit code.

Exit codes: 0 success, 1 the spec is wrong, 2 the command line is wrong, 3 an internal error.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from resdsl.diagnostics import ResdslError, SourceSpan, UsageError

EXIT_OK, EXIT_SPEC, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

EPILOG = """\
examples:
  resdsl list                                   # the shipped specs; each works by name
  resdsl count resnet152                        # = specs/torchvision/resnet152.res
  resdsl check specs/torchvision/resnet152.res
  resdsl check specs/cifar/resnet20.res --set depth=56
  resdsl count specs/torchvision/resnet50.res --by stage
  resdsl draw specs/paper/resnet34_A.res -o resnet34.svg
  resdsl compile specs/torchvision/resnet50.res -o resnet50.py

The language is described in docs/language.md; counting conventions in docs/counting.md.
"""


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args, extras = parser.parse_known_args(argv)
    if extras:  # reported by the subcommand's own parser: its usage and its options to suggest from
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        subparsers.choices.get(getattr(args, "command", None), parser).error(
            f"unrecognized arguments: {' '.join(extras)}")
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except ResdslError as err:
        print(err.render(), file=sys.stderr)
        code = EXIT_USAGE if isinstance(err, UsageError) else EXIT_SPEC
        if getattr(args, "json", False):  # --json callers get the errors as data too (docs/json.md)
            import json

            from resdsl.records import error_record

            print(json.dumps(error_record(args.command, err, code), indent=2))
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except RecursionError:
        print(f"{getattr(args, 'file', 'resdsl')}: error: the spec nests too deeply to process (brackets or "
              "expressions nested hundreds deep)", file=sys.stderr)
        return EXIT_SPEC
    except Exception as err:  # a bug of ours: say so plainly, no traceback
        print(f"internal error: {type(err).__name__}: {err}\n"
              "this is a bug in resdsl; please report it with the spec that triggered it", file=sys.stderr)
        return EXIT_INTERNAL


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser.  Given the arguments, only the command they name is registered
    (start-up time: each command's options cost a little); `resdsl --help` and mistakes get all."""
    parser = Parser(
        prog="resdsl",
        description="Write down, check, count, draw and build convolutional networks from .res specs.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"resdsl {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    named = argv[0] if argv and argv[0] in COMMAND_MODULES else None
    for register in _command_registrars((named,) if named else COMMAND_MODULES):
        register(commands)
    return parser


class Parser(argparse.ArgumentParser):
    """argparse with a did-you-mean for a misspelt command, choice or option (exit 2, usage first)."""

    def error(self, message: str):
        import re

        from resdsl.diagnostics import did_you_mean

        hint = None
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            hint = did_you_mean(choice.group(1), re.findall(r"'([^']*)'", choice.group(2)))
        unknown = re.match(r"unrecognized arguments: (.*)", message)
        if unknown:
            options = [o for o in self._option_string_actions if o.startswith("--")]
            guesses = [did_you_mean(w.split("=")[0], options) for w in unknown.group(1).split() if w.startswith("-")]
            hint = "; ".join(g for g in guesses if g) or None
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n" + (f"  hint: {hint}\n" if hint else ""))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps one-paragraph descriptions to the terminal; keeps laid-out text (examples) as written."""

    def _fill_text(self, text, width, indent):
        if "\n" in text.strip():
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def say(*parts, **kwargs) -> None:
    """Command output: the CLI layer (resdsl/cli.py and resdsl/commands/) is the only place that prints."""
    print(*parts, **kwargs)


def add_spec_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments every command that reads a spec shares."""
    p.add_argument("file", metavar="FILE", help="a .res spec file, or a library name such as resnet50 or "
                                                "paper/resnet50 (see `resdsl list`)")
    p.add_argument("--set", dest="overrides", metavar="NAME=VALUE", action="append", default=[],
                   help="override a network parameter, e.g. --set depth=101 (repeatable)")
    p.add_argument("--network", metavar="NAME", help="the network to use where the file defines several")


def load_from_args(args: argparse.Namespace, input_shape: tuple[int, int, int] | None = None,
                   enforce_budgets: bool = True):
    """Load and check the spec the arguments name (no torch import)."""
    from resdsl.pipeline import load

    return load(resolve_file(args.file), args.network, parse_overrides(args.overrides), None, input_shape,
                enforce_budgets)


def resolve_file(name: str) -> Path:
    """The spec file a FILE argument names: a path, else a library spec (a note on stderr says which
    one was used where a local file shadows a library name or a bare name is in several collections)."""
    from resdsl.catalog import resolve

    resolution = resolve(Path(name))
    if resolution.note:
        say(resolution.note, file=sys.stderr)
    return resolution.path


def parse_shape(text: str, option: str = "--input") -> tuple[int, int, int]:
    """`3x224x224` -> (3, 224, 224), with a usage error that says what was expected."""
    from resdsl import limits

    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) <= 9 and int(p) > 0 for p in parts):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise UsageError(f"{option} takes a shape CxHxW like 3x224x224, got {shown!r}", _ARGV)
    c, h, w = (int(p) for p in parts)
    if c > limits.MAX_CHANNELS or max(h, w) > limits.MAX_SPATIAL:
        raise UsageError(f"{option} {text} is past the limits ({limits.MAX_CHANNELS:,} channels, "
                         f"{limits.MAX_SPATIAL:,} per side)", _ARGV)
    return (c, h, w)


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    if not items:
        return {}  # (and no evaluator to import)
    from resdsl.elaborate.values import Env, Evaluator
    from resdsl.syntax.cache import parse_expression

    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or not text.strip():
            raise UsageError(f"--set takes NAME=VALUE, got {item!r}", _ARGV,
                             "for example --set depth=101 or --set shortcut=A")
        if name in out:
            raise UsageError(f"--set {name} is given twice", _ARGV)
        try:
            out[name] = Evaluator(Env(), {}).eval(parse_expression(text.strip(), f"--set {name}"))
        except ResdslError as err:
            shown = text if len(text) <= 60 else text[:57] + "..."
            raise UsageError(f"cannot read the value of --set {name}={shown}: {err.message}", _ARGV,
                             'values are numbers (64, 0.5, 25M), sizes (3x3), true/false, the words '
                             'A/B/C/none/gated, or "strings"') from None
    return out


_ARGV = SourceSpan("resdsl", 0, 0, 0, 0)  # errors in the command line itself have no source line


def _version() -> str:
    from resdsl import __version__

    return __version__


# One module per command under resdsl/commands/, each with `register(subparsers)`; importing one must
# not import torch (the torch back end is imported inside the command's run function).
COMMAND_MODULES = ("check", "count", "table", "draw", "compile", "list", "diff", "fmt", "lsp", "plot")


def _command_registrars(names: Sequence[str] = COMMAND_MODULES) -> list[Callable]:
    import importlib

    registrars = []
    for name in names:
        try:
            module = importlib.import_module(f"resdsl.commands.{name}")
        except ModuleNotFoundError as err:
            if err.name == f"resdsl.commands.{name}":
                continue  # a command not written yet
            raise
        registrars.append(module.register)
    return registrars


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
