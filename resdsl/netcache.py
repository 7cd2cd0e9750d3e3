"""The checked-network cache: `resdsl check` / `count` / `draw` of an unchanged spec read the checked
network back instead of elaborating it again, and so start without importing the parser, the AST or
the elaborator (two thirds of a warm command's start-up).

An entry is keyed by everything a load depends on that is known before it runs: the main file's name
and text, the network, the overrides, the input shape, the budget mode, the working directory (shown
file names are relative to it) and a fingerprint of resdsl's own code and grammar.  It records the
other files the load read (prelude, imports) with a hash of each; a hit re-reads and re-hashes them, so
an edited import is a miss, never a stale answer.  Errors are never cached, nor networks of more than
MAX_NODES ops (reading those back would cost about as much as building them).

Entries live beside the parse cache (`resdsl.syntax.cache`: same directory, same RESDSL_NO_CACHE,
same silent fallback, same atomic writes), and are read with an unpickler that can build only the IR,
analysis and value classes a checked network is made of: a planted entry cannot run code.
"""
from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resdsl.syntax.cache import Unpickler, UnpicklingError, blake2b, cache_dir, read_entry, write_entry

if TYPE_CHECKING:
    from resdsl.network import Network

FORMAT = b"resdsl-network-2\n"  # 2: block calls keep their definitions
MAX_NODES = 20_000
_PACKAGE = Path(__file__).resolve().parent

# Modules whose dataclasses may appear in a checked network.  Each is imported only when an entry
# names one of its classes (elaborate.values only for networks with Dims or symbol parameters).
_MODULES = ("resdsl.network", "resdsl.ir.ops", "resdsl.ir.graph", "resdsl.ir.heads", "resdsl.ir.types",
            "resdsl.ir.cost", "resdsl.ir.activations", "resdsl.ir.init", "resdsl.analysis.cost",
            "resdsl.analysis.memory", "resdsl.analysis.budgets", "resdsl.diagnostics", "resdsl.elaborate.values",
            "resdsl.syntax.ast")  # (a block call keeps its definition: ir.graph.BlockCall)
_SIMPLE = (bool, int, float, str, type(None))
Deps = "tuple[tuple[str, bytes], ...]"  # (file name as the load read it, blake2b of its text)


def key(path_or_text: str | Path, network: str | None, overrides: dict[str, Any] | None,
        input_shape: tuple[int, int, int] | None, enforce_budgets: bool) -> tuple[str, str, bytes] | None:
    """(entry name, main file's display name, digest of the main file's text as keyed), or None when
    this load cannot be cached."""
    if overrides and not all(isinstance(v, _SIMPLE) for v in overrides.values()):
        return None  # values we cannot key on exactly (a Dims, a list): just load
    found = _main_source(path_or_text)
    if found is None:
        return None
    shown, text = found
    digest = blake2b(digest_size=20)
    digest.update(_fingerprint())
    parts = (os.getcwd(), shown, text, repr(network), repr(sorted((overrides or {}).items())),
             repr(input_shape), repr(enforce_budgets))
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest() + ".net", shown, text_digest(text)


def _main_source(path_or_text: str | Path) -> tuple[str, str] | None:
    """The main file's display name and text as the loader will see them, or None when the loader
    would refuse it (it then says why).  Mirrors `Loader.load` and `loader.looks_like_source`."""
    from resdsl import limits

    if isinstance(path_or_text, Path) or not ("\n" in path_or_text or "{" in path_or_text):
        path = Path(path_or_text)
        try:
            if not path.is_file() or path.stat().st_size > limits.MAX_SOURCE_BYTES:
                return None
            return str(path), path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return "<string>", str(path_or_text)


def lookup(entry: str) -> "Network | None":
    found = lookup_traced(entry)
    return None if found is None else found[0]


def lookup_traced(entry: str) -> "tuple[Network, Deps] | None":
    """The stored network and the other files it was read from, each still as it was; else None."""
    directory = cache_dir()
    if directory is None:
        return None
    payload = read_entry(directory / entry, FORMAT)
    if payload is None:
        return None
    try:
        deps, net = _NetworkUnpickler(io.BytesIO(payload)).load()
        ok = unchanged(deps)
    except Exception:  # corrupt, foreign or raced entries: all a miss
        return None
    from resdsl.network import Network

    return (net, deps) if ok and isinstance(net, Network) else None


def dependencies(main: str, sources: dict[str, str]) -> Deps:
    """(file, digest of its text) for every file a load read but the main one (which is in the key)."""
    return tuple((name, text_digest(text)) for name, text in sorted(sources.items()) if name != main)


def trace(entry: tuple[str, str, bytes], sources: dict[str, str]) -> "tuple[str, Deps] | None":
    """(entry name, the other files read with their digests) of a load that read `sources`; None when
    the main file it read is not the one keyed (it changed in between)."""
    name, main, main_digest = entry
    text = sources.get(main)
    if text is None or text_digest(text) != main_digest:
        return None
    return name, dependencies(main, sources)


def unchanged(deps: Deps) -> bool:
    """Every file still has the text it was read with (a vanished or unreadable one has not)."""
    try:
        return all(text_digest(Path(name).read_bytes().decode("utf-8")) == digest for name, digest in deps)
    except (OSError, UnicodeDecodeError, TypeError, ValueError):
        return False


def store(entry: tuple[str, str, bytes], sources: dict[str, str], net: "Network") -> Deps | None:
    """Keep `net`, with the hashes of the files it was read from; return those (None: the load is not
    one the key stands for, as when the main file changed between keying and reading it)."""
    traced = trace(entry, sources)
    if traced is None:
        return None
    name, deps = traced
    if len(net.graph.nodes) > MAX_NODES:
        return deps
    directory = cache_dir()
    if directory is None:
        return deps
    import pickle

    try:
        data = FORMAT + pickle.dumps((deps, net), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, RecursionError, TypeError, AttributeError):
        return deps
    write_entry(directory, name, data)
    return deps


def text_digest(text: str) -> bytes:
    return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()


@lru_cache(maxsize=1)
def _fingerprint() -> bytes:
    """resdsl's code, grammar and prelude (a prelude file added is a miss too).  The spec library is
    not part of it (a clone links it in, a wheel copies it): a library spec a load reads is keyed or
    hashed as any other file."""
    from resdsl import __version__

    digest = blake2b(digest_size=20)
    digest.update(FORMAT + __version__.encode())
    root = str(_PACKAGE)
    for folder, subfolders, files in os.walk(root):  # top-down, in the order set here
        subfolders[:] = sorted(d for d in subfolders if d not in ("library", "__pycache__"))
        for name in sorted(files):
            if name.endswith((".py", ".lark", ".res")):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as f:
                    digest.update(f.read())
    return digest.digest()


class _NetworkUnpickler(Unpickler):
    """Resolves only the dataclasses of the modules a checked network is made of."""

    def find_class(self, module: str, name: str) -> type:
        if module in _MODULES:
            import importlib
            from dataclasses import is_dataclass

            value = getattr(importlib.import_module(module), name, None)
            if isinstance(value, type) and value.__module__ == module and is_dataclass(value):
                return value
        raise UnpicklingError(f"{module}.{name} is not allowed in a network-cache entry")
