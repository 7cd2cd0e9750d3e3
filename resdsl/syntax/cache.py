"""The parse cache: each spec file (the prelude included) is parsed once, then read back from disk.

Parsing with lark is most of a load (and importing lark most of a command's start-up), while the AST
of a file depends only on its text and on this code.  So the AST is stored on disk under a key that
hashes the file's name and text with a fingerprint of everything that shapes an AST (the grammar, the
parser, the AST classes, resdsl's version, Python's): an edited spec or an upgraded resdsl is a miss,
never a stale hit.  Within one process the last files read are also kept in memory.

Where the cache lives: $RESDSL_CACHE_DIR, else $XDG_CACHE_HOME/resdsl, else ~/.cache/resdsl, else (a
read-only home) a private directory in the temp dir.  RESDSL_NO_CACHE=1 turns it off.  Every failure
(unwritable, full, corrupt, raced) falls back silently to parsing: the cache changes speed, never an
answer.  Entries are written to a temporary file and renamed, so concurrent runs see whole entries.

Specs are data, and so are cache entries: they are read with an unpickler that can build only the AST
dataclasses and source spans (plus pickle's own str/int/float/tuple/None), so a planted entry cannot run
code; and a directory that another user can write to (or that is not ours) is not used at all.
"""
from __future__ import annotations

import io
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:  # the C modules directly: `hashlib` loads OpenSSL and `pickle` is a large module (start-up time)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - another Python implementation
    from hashlib import blake2b
try:
    from _pickle import Unpickler, UnpicklingError
except ImportError:  # pragma: no cover
    from pickle import Unpickler, UnpicklingError

if TYPE_CHECKING:
    from resdsl.syntax import ast

DIR_ENV = "RESDSL_CACHE_DIR"
OFF_ENV = "RESDSL_NO_CACHE"
FORMAT = b"resdsl-ast-1\n"  # first bytes of every entry
MEMO_SIZE = 256             # parsed files kept in memory per process

_SYNTAX = Path(__file__).resolve().parent
_FINGERPRINTED = (_SYNTAX / "resdsl.lark", _SYNTAX / "parser.py", _SYNTAX / "ast.py",
                  _SYNTAX.parent / "diagnostics.py", _SYNTAX.parent / "limits.py")  # limits: nesting, digits


def parse(text: str, file: str = "<string>") -> "ast.Module":
    """`resdsl.syntax.parser.parse`, through the cache."""
    return _memo("start", file, text)


def parse_expression(text: str, file: str = "<--set>") -> "ast.Expr":
    """`resdsl.syntax.parser.parse_expression`, through the cache."""
    return _memo("expr", file, text)


def grammar_cache_file() -> str | None:
    """Where lark keeps its compiled grammar (it pickles it: so in our private directory, not /tmp)."""
    directory = cache_dir()
    if directory is None:
        return None
    import lark

    return str(directory / f"lark-{lark.__version__}.grammar")


def forget() -> None:
    """Drop the in-memory copies (tests use it to exercise the disk cache)."""
    _memo.cache_clear()


def cache_dir() -> Path | None:
    """The directory in use, created if need be, or None when the cache is off or nowhere is safe."""
    if os.environ.get(OFF_ENV, "").strip() not in ("", "0"):
        return None
    explicit = os.environ.get(DIR_ENV)
    if explicit:
        return _safe_dir(Path(explicit))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    found = _safe_dir(Path(base) / "resdsl")
    if found is None:  # a read-only or shared home: a directory of our own in the temp dir
        import tempfile

        found = _safe_dir(Path(tempfile.gettempdir()) / f"resdsl-cache-{_uid()}")
    return found


# ---- internals ----------------------------------------------------------------------------------


@lru_cache(maxsize=MEMO_SIZE)
def _memo(start: str, file: str, text: str) -> Any:
    directory = cache_dir()
    key = _key(start, file, text)
    if directory is not None:
        found = _read(directory / key, start, file)
        if found is not None:
            return found
    from resdsl.syntax import parser  # lark is imported only when something must really be parsed

    result = parser.parse(text, file) if start == "start" else parser.parse_expression(text, file)
    if directory is not None:
        _write(directory, key, result)
    return result


def _key(start: str, file: str, text: str) -> str:
    digest = blake2b(digest_size=20)
    digest.update(_fingerprint())
    for part in (start, file, text):
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest() + ".ast"


@lru_cache(maxsize=1)
def _fingerprint() -> bytes:
    from resdsl import __version__

    digest = blake2b(digest_size=20)
    digest.update(f"{FORMAT!r} {__version__} {sys.version_info[:2]}".encode())
    for path in _FINGERPRINTED:
        digest.update(path.read_bytes())
    return digest.digest()


def _uid() -> int | str:
    return os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")


def _safe_dir(path: Path) -> Path | None:
    """`path`, created private (0700) if missing, when only we can write to it; else None."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError:
        return None
    if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o022):
        return None  # someone else could plant entries (or swap the lark grammar cache) here
    return path


def read_entry(entry: Path, header: bytes) -> bytes | None:
    """An entry's payload after its format header, or None (missing, unreadable, another format)."""
    try:
        with entry.open("rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[len(header):] if data.startswith(header) else None


def _read(entry: Path, start: str, file: str) -> Any:
    payload = read_entry(entry, FORMAT)
    if payload is None:
        return None
    try:
        result = _AstUnpickler(io.BytesIO(payload)).load()
    except Exception:  # corrupt bytes raise anything from ValueError to OverflowError: every one is a miss
        return None      # (and the parse that follows rewrites the entry)
    from resdsl.syntax import ast

    if start == "start":
        ok = isinstance(result, ast.Module) and result.file == file
    else:
        ok = type(result) in _allowed().values() and type(result) is not ast.Module
    return result if ok else None


def _write(directory: Path, key: str, result: Any) -> None:
    import pickle

    try:
        data = FORMAT + pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, RecursionError, TypeError):
        return  # a pathologically deep tree: not worth caching
    write_entry(directory, key, data)


def write_entry(directory: Path, name: str, data: bytes) -> None:
    """Write an entry through a temporary file and a rename; give up silently on any OS error."""
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    except OSError:
        return  # read-only or full: parse again next time
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, directory / name)  # atomic: readers see the old entry or the whole new one
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


@lru_cache(maxsize=1)
def _allowed() -> dict[tuple[str, str], type]:
    """The classes a cache entry may build: the AST dataclasses and `SourceSpan`, nothing else."""
    from dataclasses import is_dataclass

    from resdsl import diagnostics
    from resdsl.syntax import ast

    allowed = {(ast.__name__, name): value for name, value in vars(ast).items()
               if isinstance(value, type) and is_dataclass(value) and value.__module__ == ast.__name__}
    allowed[diagnostics.__name__, "SourceSpan"] = diagnostics.SourceSpan
    return allowed


class _AstUnpickler(Unpickler):
    """An unpickler that resolves only the AST's own classes: no function, no other class can be named,
    so nothing but AST nodes (and pickle's built-in values) can come out of an entry."""

    def find_class(self, module: str, name: str) -> type:
        found = _allowed().get((module, name))
        if found is None:
            raise UnpicklingError(f"{module}.{name} is not allowed in a parse-cache entry")
        return found
