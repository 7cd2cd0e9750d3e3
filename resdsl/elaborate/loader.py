"""Reading spec files: the prelude, imports (relative to the importing file), cycles, duplicates.

The result is a `Program`: every block, network and table visible from the main file, and the text of
every file read (so diagnostics can quote them).
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from resdsl import limits
from resdsl.diagnostics import ErrorCollector, LimitError, NameResolutionError, ResdslError, SourceSpan
from resdsl.diagnostics import SpecSyntaxError
from resdsl.diagnostics import UsageError as _UsageError
from resdsl.elaborate.primitives import PRIMITIVES
from resdsl.elaborate.values import BUILTIN_FUNCTIONS
from resdsl.syntax import ast
from resdsl.syntax.cache import parse  # parsed once, then read back (no lark)

PRELUDE_DIR = Path(__file__).resolve().parent.parent / "prelude"


@dataclass
class Program:
    main_file: str
    blocks: dict[str, ast.BlockDef] = field(default_factory=dict)
    networks: dict[str, ast.NetworkDef | ast.NetworkAlias] = field(default_factory=dict)
    tables: dict[str, ast.TableDef] = field(default_factory=dict)
    functions: dict[str, ast.FuncDef] = field(default_factory=dict)
    main_networks: list[str] = field(default_factory=list)  # networks defined in the main file
    main_tables: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    prelude_files: set[str] = field(default_factory=set)
    files: list[str] = field(default_factory=list)  # every file read, resolved (outputs must not be one)


def looks_like_source(path_or_text: str) -> bool:
    """Whether a string handed to `load` is spec text rather than a path: text has a line break, or is one
    line that starts like a spec (`network ...`, `block ...`, `import ...`) and names no existing file.
    A path containing `{` is a path; the API's `text=` and `resdsl.loads` say it explicitly."""
    if "\n" in path_or_text or "\r" in path_or_text:
        return True
    if not _SPEC_START.match(path_or_text):
        return False
    try:
        return not os.path.lexists(path_or_text)
    except (OSError, ValueError):
        return True


_SPEC_START = re.compile(r"\s*(network|block|group|import|table)\s+\S")


def read_spec_file(path: Path, span: SourceSpan | None = None) -> str:
    """Read a spec file's text with the checks every entry point needs: a regular file (not a device,
    pipe or directory, which could block or never end), at most `limits.MAX_SOURCE_BYTES`, UTF-8."""
    shown = str(path) if len(str(path)) <= 200 else str(path)[:197] + "..."
    where = span or SourceSpan(shown, 0, 0, 0, 0)
    UsageError = _UsageError if span is None else NameResolutionError  # an import is a spec's problem  # noqa: N806
    try:
        info = path.stat()
    except (OSError, ValueError) as err:  # missing, a symlink loop, a name too long, a NUL byte
        reason = "no such file" if isinstance(err, FileNotFoundError) else "cannot read"
        detail = f" ({err.strerror})" if isinstance(err, OSError) and err.strerror and reason != "no such file" else ""
        raise UsageError(f"{reason}: {shown}{detail}", where,
                         "check the path; imports are relative to the importing file") from None
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"{shown} is a directory, not a spec file", where)
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{shown} is not a regular file", where, "pass a .res text file")
    try:
        with path.open("rb") as f:
            data = f.read(limits.MAX_SOURCE_BYTES + 1)
    except OSError as err:
        raise UsageError(f"cannot read {shown}: {err.strerror or err}", where) from None
    if len(data) > limits.MAX_SOURCE_BYTES:
        raise LimitError(f"the file is larger than {limits.MAX_SOURCE_BYTES:,} bytes, the limit for a spec",
                         span or SourceSpan(shown, 1, 1, 1, 1))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise SpecSyntaxError(f"this is not a UTF-8 text spec (undecodable byte at offset {err.start})",
                              SourceSpan(shown, line, column, line, column + 1),
                              "pass a .res text file; is this a checkpoint or an image?") from None


def is_spec_name(shown: str) -> bool:
    """Whether diagnostics may quote lines of this source: only .res specs and text given directly, so an
    error never echoes a line of some other file (`import "/etc/passwd"`, `resdsl check ~/.netrc`)."""
    return shown.endswith(".res") or shown.startswith("<")


def import_target(importer: Path, name: str, span: SourceSpan) -> Path:
    """The file an `import "name"` names, relative to the importing file: a `.res` file (the suffix may be
    left out).  Raises a located `NameResolutionError` for anything else."""
    if len(name) > limits.MAX_IMPORT_NAME:
        raise NameResolutionError(f"this import name has {len(name):,} characters; the limit is "
                                  f"{limits.MAX_IMPORT_NAME:,}", span)
    if "\x00" in name:
        raise NameResolutionError("an import name cannot contain a NUL character", span)
    target = importer.parent / name
    if name.endswith(("/", "\\")) or Path(name).name in ("", ".", "..") or target.name in ("", ".", ".."):
        raise NameResolutionError(f'cannot import "{name}": it names a directory, not a .res file', span,
                                  'write it like `import "blocks.res"`')
    if not target.suffix:
        target = target.with_name(target.name + ".res")
    if target.suffix != ".res":
        raise NameResolutionError(f'cannot import "{name}": only .res spec files can be imported', span,
                                  "rename the file to end in .res if it is a spec")
    return target


class Loader:
    def __init__(self):
        self.errors = ErrorCollector()
        self._origin: dict[str, SourceSpan] = {}

    def load(self, path_or_text: str | Path, *, with_prelude: bool = True, is_text: bool | None = None,
             text: str | None = None) -> Program:
        """Load a file (a `Path`, or a string that is not spec text) or spec text (`is_text=True`, or a
        string `looks_like_source` recognises).  `text`, where given, is the file's content as an
        editor holds it (unsaved): the spec is read from it, and its imports are resolved next to
        `path_or_text` as if it were saved there."""
        if text is not None:
            is_text = False
        if is_text is None:
            is_text = not isinstance(path_or_text, Path) and looks_like_source(path_or_text)
        if not is_text:
            path = Path(path_or_text)
            main = str(path)
            text = read_spec_file(path) if text is None else text
            main_path = path
        else:
            main, text, main_path = "<string>", str(path_or_text), Path.cwd() / "<string>"
            if len(text) > limits.MAX_SOURCE_BYTES:
                raise LimitError(f"the spec text is longer than {limits.MAX_SOURCE_BYTES:,} characters, the limit "
                                 "for a spec", SourceSpan(main, 1, 1, 1, 1))
        program = Program(main_file=main)
        try:
            if with_prelude:
                for prelude in sorted(PRELUDE_DIR.glob("*.res")):
                    self._load_file(program, prelude, str(prelude), prelude.read_text("utf-8"),
                                    stack=(), is_prelude=True)
            self._load_file(program, main_path, main, text, stack=(), is_main=True)
            self.errors.raise_if_any()
            for error in recursive_functions(program.functions):
                self.errors.add(error)
            self.errors.raise_if_any()
        except ResdslError as err:
            raise err.with_sources(program.sources) from None
        return program

    def _load_file(self, program: Program, path: Path, shown: str, text: str, stack: tuple[str, ...],
                   is_main: bool = False, is_prelude: bool = False) -> None:
        if is_spec_name(shown):
            program.sources[shown] = text
        if is_prelude:
            program.prelude_files.add(shown)
        module = parse(text, shown)
        key = str(path.resolve())
        if shown != "<string>":
            program.files.append(key)
        stack = stack + (key,)
        for definition in module.definitions:
            if isinstance(definition, ast.Import):
                self._import(program, path, definition, stack)
            else:
                self._define(program, definition, is_main, is_prelude)

    def _import(self, program: Program, importer: Path, imp: ast.Import, stack: tuple[str, ...]) -> None:
        if not imp.path.strip():
            self.errors.add(NameResolutionError("an import needs a file name", imp.span,
                                                'write it like `import "blocks.res"`'))
            return
        try:
            target = import_target(importer, imp.path, imp.span)
            key = str(target.resolve(strict=True))
        except ResdslError as err:
            self.errors.add(err)
            return
        except (OSError, RuntimeError) as err:  # missing, a symlink loop (RuntimeError before 3.13)
            missing = isinstance(err, FileNotFoundError)
            what = f"no such file {_display(target)}" if missing else f"cannot resolve it ({_reason(err)})"
            self.errors.add(NameResolutionError(f'cannot import "{_short(imp.path)}": {what}', imp.span,
                                                "import paths are relative to the importing file"))
            return
        if key in stack:
            cycle = " -> ".join(Path(s).name for s in stack[stack.index(key):]) + f" -> {target.name}"
            self.errors.add(NameResolutionError(f"import cycle: {cycle}", imp.span,
                                                "move the shared blocks into a file both can import"))
            return
        if key in self._origin:
            return  # already imported (diamond imports are fine)
        if len(stack) > limits.MAX_IMPORT_DEPTH:
            self.errors.add(LimitError(f"imports nest deeper than {limits.MAX_IMPORT_DEPTH} files", imp.span))
            return
        self._origin[key] = imp.span
        try:
            text = read_spec_file(Path(key), imp.span)
            self._load_file(program, target, _display(target), text, stack)
        except ResdslError as err:
            self.errors.add(err)

    def _define(self, program: Program, d, is_main: bool, is_prelude: bool) -> None:
        self._check_params(d)
        if isinstance(d, ast.BlockDef) and d.name in set(PRIMITIVES) | {"identity"}:
            self.errors.add(NameResolutionError(f"'{d.name}' is a built-in op; a block cannot take its name",
                                                d.span, f"call it something else, e.g. my_{d.name}"))
            return
        if isinstance(d, ast.FuncDef) and d.name in BUILTIN_FUNCTIONS:
            self.errors.add(NameResolutionError(f"'{d.name}' is a built-in function; a def cannot take its name",
                                                d.span, f"call it something else, e.g. my_{d.name}"))
            return
        if isinstance(d, ast.BlockDef):
            table, what = program.blocks, "block"
        elif isinstance(d, ast.FuncDef):
            table, what = program.functions, "function"
        elif isinstance(d, (ast.NetworkDef, ast.NetworkAlias)):
            table, what = program.networks, "network"
        else:
            table, what = program.tables, "table"
        previous = table.get(d.name)
        if previous is not None and not (is_main and previous.span.file in program.prelude_files):
            self.errors.add(NameResolutionError(
                f"duplicate {what} '{d.name}'", d.span, "rename one of them",
                notes=[(previous.span, f"'{d.name}' is first defined here")]))
            return
        table[d.name] = d
        if is_main and isinstance(d, (ast.NetworkDef, ast.NetworkAlias)):
            program.main_networks.append(d.name)
        if is_main and isinstance(d, ast.TableDef):
            program.main_tables.append(d.name)


    def _check_params(self, d) -> None:
        seen: dict[str, SourceSpan] = {}
        for p in getattr(d, "params", ()):
            if p.name in seen:
                self.errors.add(NameResolutionError(f"parameter '{p.name}' is declared twice", p.span,
                                                    "give each parameter its own name",
                                                    notes=[(seen[p.name], "first declared here")]))
            elif REPEAT_WORD.fullmatch(p.name):
                self.errors.add(NameResolutionError(
                    f"'{p.name}' cannot be a parameter name: x followed by digits is a repeat count", p.span,
                    "rename it, e.g. n" + p.name[1:]))
            seen.setdefault(p.name, p.span)


REPEAT_WORD = re.compile(r"x\d+")


def recursive_functions(functions: dict[str, ast.FuncDef]) -> list[NameResolutionError]:
    """Functions that call themselves, directly or through others: refused, so evaluating a function
    always ends (its work is bounded by the comprehensions in it).  One error per cycle."""
    calls = {name: [c for c in _function_calls(d) if c.name in functions] for name, d in functions.items()}
    errors: list[NameResolutionError] = []
    done: set[str] = set()
    for root in functions:
        if root in done:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        on_path: list[str] = [root]
        while stack:
            name, i = stack.pop()
            if i < len(calls[name]):
                stack.append((name, i + 1))
                call = calls[name][i]
                if call.name in on_path:  # a call back into the path: a cycle
                    cycle = on_path[on_path.index(call.name):] + [call.name]
                    shown = f" ({' -> '.join(cycle)})" if len(cycle) > 2 else ""
                    errors.append(NameResolutionError(
                        f"function {call.name} calls itself{shown}", call.span,
                        "functions cannot be recursive; write the steps out, or use a list comprehension"))
                elif call.name not in done:
                    stack.append((call.name, 0))
                    on_path.append(call.name)
            else:
                done.add(name)
                on_path.pop()
    return errors


def _function_calls(node):
    """Every `f(...)` in a function's parameters' defaults, steps and result."""
    if isinstance(node, ast.FuncCall):
        yield node
    if isinstance(node, tuple):
        for item in node:
            yield from _function_calls(item)
    elif hasattr(node, "__dataclass_fields__") and not isinstance(node, SourceSpan):
        for name in node.__dataclass_fields__:
            yield from _function_calls(getattr(node, name))


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _reason(err: Exception) -> str:
    return (err.strerror if isinstance(err, OSError) and err.strerror else str(err)) or type(err).__name__


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
