"""The spec library: the specs shipped inside the package, found by name.

The repository's `specs/` folder is the package folder `resdsl/library` (a symlink in a clone, real
files in a wheel), so `resdsl count resnet152` works anywhere.

Resolution rule (`resolve`), in order:
  1. text that looks like a spec (a newline or a `{`) is the spec itself;
  2. an existing path is used as it is: a local file always wins over a library name;
  3. otherwise the name is looked up in the library: `resnet50`, `resnet50.res`, `paper/resnet50`
     and `specs/paper/resnet50.res` all work.  A bare name is searched in the collections in
     `PRECEDENCE` order (torchvision first), so `resnet50` is torchvision's and `paper/resnet50` the
     paper's.  Family files (`*/families/*.res`) are only found by their full name.
  4. anything else is an error with a did-you-mean over the library.

A spec's header comment (the comment lines before its first definition) gives its title and source
paper for `resdsl list`; a `# paper: ...` line in it overrides the paper found in the text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from resdsl.diagnostics import SourceSpan, UsageError, did_you_mean

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
PRECEDENCE = ("torchvision", "paper", "cifar", "other", "examples", "tables")
SUFFIX = ".res"
_ARGV = SourceSpan("resdsl", 0, 0, 0, 0)


@dataclass(frozen=True)
class Entry:
    """One library spec: `collection/name.res`."""

    name: str            # resnet50
    collection: str      # torchvision
    path: Path

    @property
    def qualified(self) -> str:
        return f"{self.collection}/{self.name}"


@dataclass(frozen=True)
class Resolution:
    """What a name on the command line (or given to `resdsl.load`) stands for."""

    path: Path | None          # None: the argument is spec text
    entry: Entry | None        # the library spec used, if any
    note: str | None = None    # what a user should know: a shadowed or ambiguous name


def library_dir() -> Path:
    return LIBRARY_DIR


def collections(root: Path | None = None) -> list[str]:
    """The library's folders, in lookup order: `PRECEDENCE` first, then any others by name."""
    root = root or LIBRARY_DIR
    present = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    return [c for c in PRECEDENCE if c in present] + [c for c in present if c not in PRECEDENCE]


def entries(root: Path | None = None) -> list[Entry]:
    """Every top-level spec of every collection, in lookup order (collections), then by name."""
    root = root or LIBRARY_DIR
    if not root.is_dir():
        return []
    out = []
    for collection in collections(root):
        for path in sorted((root / collection).glob(f"*{SUFFIX}")):
            out.append(Entry(path.stem, collection, path))
    return out


def find(name: str, root: Path | None = None) -> list[Entry]:
    """The library specs a name stands for, best first (several only for a bare, ambiguous name)."""
    root = root or LIBRARY_DIR
    key = name.strip().replace("\\", "/")
    if key.startswith("specs/"):
        key = key[len("specs/"):]
    if key.endswith(SUFFIX):
        key = key[: -len(SUFFIX)]
    if not key or key.startswith("/") or ".." in key.split("/") or "\0" in key or len(key) > 255:
        return []
    if "/" in key:
        path = root / f"{key}{SUFFIX}"
        if not path.is_file():
            return []
        collection, _, stem = key.rpartition("/")
        return [Entry(stem, collection, path)]
    return [e for e in entries(root) if e.name == key]


def resolve(path_or_text: str | Path, root: Path | None = None) -> Resolution:
    """Apply the resolution rule above; raise a `UsageError` with a did-you-mean when nothing fits."""
    if not isinstance(path_or_text, Path) and ("\n" in path_or_text or "{" in path_or_text):
        return Resolution(None, None)
    text = str(path_or_text)
    path = Path(path_or_text)
    try:
        exists = path.exists()
    except (OSError, ValueError):  # a NUL byte, a name too long for the file system
        exists = False
    if exists:
        shadowed = find(text, root) if len(path.parts) == 1 else []
        note = None
        if shadowed:
            note = (f"note: using the local file {text}, not the library's {shadowed[0].qualified}{SUFFIX} "
                    f"(a path wins over a library name; name the library's as {shadowed[0].qualified})")
        return Resolution(path, None, note)
    found = find(text, root)
    if found:
        note = None
        if len(found) > 1:
            others = ", ".join(e.qualified for e in found[1:])
            note = (f"note: {text} is the library's {found[0].qualified}{SUFFIX} "
                    f"(also {others}; name one to choose it)")
        return Resolution(found[0].path, found[0], note)
    raise UsageError(f"no such file or library spec: {text}", _ARGV, _hint(text, root))


def _hint(text: str, root: Path | None) -> str:
    library = entries(root)
    stem = Path(text).name
    stem = stem[: -len(SUFFIX)] if stem.endswith(SUFFIX) else stem
    names = sorted({e.name for e in library} | {e.qualified for e in library})
    guess = did_you_mean(stem, names) or did_you_mean(text, names)
    if guess:
        return f"{guess} (`resdsl list` shows the library)"
    return "check the path; `resdsl list` shows the library's specs, which work by name anywhere"


# ---- metadata from the header comment -----------------------------------------------------------

_PAPER = re.compile(r"((?:[A-Z][\w\-]+)(?:(?:, | & | and )[A-Z][\w\-]+)*(?: et al\.)?,? (?:19|20)\d\d)")
_TAG = re.compile(r"^#\s*(paper|title|family)\s*:\s*(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Header:
    title: str
    paper: str
    tags: tuple[tuple[str, str], ...] = ()


def header(text: str) -> Header:
    """Title and source paper from a spec's leading comment block."""
    lines = []
    tags: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            if stripped:
                break
            if lines:
                break
            continue
        tag = _TAG.match(stripped)
        if tag:
            tags[tag.group(1).lower()] = tag.group(2).strip()
            continue
        lines.append(stripped.lstrip("#").strip())
    comment = " ".join(line for line in lines if line)
    first = re.split(r"(?<=[.:])\s|\s\(|:\s", comment, maxsplit=1)[0].strip().rstrip(".:")
    match = _PAPER.search(comment)
    paper = tags.get("paper") or (match.group(1) if match else "")
    return Header(tags.get("title") or first, paper, tuple(sorted(tags.items())))
