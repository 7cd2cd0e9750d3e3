"""What `resdsl list` shows of each shipped spec, computed ahead of time, so the first `list` on a new
machine does not load all of them (about 3 s here; every later `list` reads its own cache anyway).

`library_index.json` beside this file is written by `scripts/build_library_index.py`.  An entry is used
only while the spec and every file its load read (the prelude, its imports) have exactly the text they
had when the entry was computed, checked by digest, so an edited spec or prelude is loaded as before.
That the stored figures are what a load of today's code gives is checked by tests/test_library_index.py.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from resdsl.netcache import text_digest

PACKAGE = Path(__file__).resolve().parent
INDEX = PACKAGE / "library_index.json"
FORMAT = "resdsl-library-index-1"


def digest(text: str) -> str:
    """A file's text as the index records it: the checked-network cache's digest, in hex."""
    return text_digest(text).hex()


@lru_cache(maxsize=None)
def _file_digest(relative: str) -> str:
    """Digest of a package file, read once per process: every spec's entry names the prelude files."""
    return digest((PACKAGE / relative).read_text("utf-8"))


def package_relative(name: str) -> str | None:
    """A file the load read, as a path inside the package (`library/cifar/resnet20.res`, `prelude/x.res`);
    None for a file outside it."""
    path = os.path.abspath(name)  # (imports are shown relative to the working directory)
    # The package as imported and resolved, and the library resolved (in a clone it links to specs/).
    roots = ((Path(__file__).parent, ""), (PACKAGE, ""), ((PACKAGE / "library").resolve(), "library/"))
    for root, prefix in roots:
        relative = os.path.relpath(path, root)
        if not relative.startswith(".."):
            return prefix + Path(relative).as_posix()
    return None


@lru_cache(maxsize=1)
def _entries() -> dict[str, Any]:
    try:
        data = json.loads(INDEX.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("specs"), dict):
        return {}
    return data["specs"]


def lookup(qualified: str, family: str | None) -> dict[str, Any] | None:
    """The stored figures of library spec `qualified` (`cifar/resnet20`), or None when there are none or a
    file they were computed from has changed."""
    entry = _entries().get(qualified)
    if not isinstance(entry, dict) or entry.get("family_tag") != (family or ""):
        return None
    files, figures = entry.get("files"), entry.get("figures")
    if not isinstance(files, dict) or not files or not isinstance(figures, dict):
        return None
    try:
        for relative, expected in files.items():
            if _file_digest(relative) != expected:
                return None
    except (OSError, UnicodeDecodeError, TypeError, ValueError):
        return None
    return figures


def entry(sources: dict[str, str], family: str | None, figures: dict[str, Any]) -> dict[str, Any] | None:
    """The index entry of a load that read `sources` and gave `figures`; None if it read a file outside
    the package."""
    files = {}
    for name, text in sources.items():
        relative = package_relative(name)
        if relative is None:
            return None
        files[relative] = digest(text)
    return {"family_tag": family or "", "files": dict(sorted(files.items())), "figures": figures}
