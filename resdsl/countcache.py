"""Stored count reports: a warm `resdsl count` of an unchanged spec prints the report it made last time,
without reading the checked network back (so without importing the IR: most of a warm count's start-up).

What is stored is the report's data (the `--json` object, as JSON) and the budget errors the command
printed, never rendered text: the text is rendered from the data each time.  An entry is keyed by the
checked-network cache's key for the same load (resdsl/netcache.py: the main file's name and text, the
network, the `--set` overrides, the input shape, the working directory, a fingerprint of resdsl's code,
grammar and prelude, and resdsl's version) plus everything else the report depends on (`--by`,
`--batch`).  It records the other files the load read (prelude, imports) with a digest of each, and a
hit re-reads and re-hashes them: an edited or vanished import is a miss, never a stale answer.

It lives in the same directory as the other caches and follows their rules (resdsl/syntax/cache.py):
RESDSL_NO_CACHE=1 bypasses it, an unwritable or unsafe directory turns it off silently, entries are
written to a temporary file and renamed (concurrent runs see whole entries or none), and anything
unreadable (corrupt, foreign, another format) is a miss.  Entries are JSON, so reading one can build
nothing but plain values.
"""
from __future__ import annotations

import json
from typing import Any

from resdsl.syntax.cache import blake2b, cache_dir, read_entry, write_entry

FORMAT = b"resdsl-count-1\n"


def name(net_entry: str, by: str, batch: int) -> str:
    """The entry of the report `--by by --batch batch` of the load whose network entry is `net_entry`."""
    digest = blake2b(digest_size=20)
    digest.update(FORMAT)
    digest.update(f"{net_entry}\0{by}\0{batch}".encode())
    return digest.hexdigest() + ".count"


def lookup(net_entry: str, by: str, batch: int) -> tuple[dict[str, Any], list[str]] | None:
    """(report data, budget error lines) stored for this load, with every file it read unchanged."""
    directory = cache_dir()
    if directory is None:
        return None
    payload = read_entry(directory / name(net_entry, by, batch), FORMAT)
    if payload is None:
        return None
    from resdsl import netcache

    try:
        found = json.loads(payload)
        deps = tuple((file, bytes.fromhex(digest)) for file, digest in found["deps"])
        data, errors = found["report"], found["errors"]
    except (ValueError, TypeError, KeyError, AttributeError):  # corrupt or foreign: a miss
        return None
    if not (isinstance(data, dict) and isinstance(errors, list) and all(isinstance(e, str) for e in errors)):
        return None
    return (data, errors) if netcache.unchanged(deps) else None


def store(trace: tuple[str, tuple[tuple[str, bytes], ...]] | None, by: str, batch: int, data: dict[str, Any],
          errors: list[str]) -> None:
    """Keep a report made from the load `trace` describes (`resdsl.pipeline.load_traced`); None: a load
    that cannot be keyed, nothing kept."""
    if trace is None:
        return
    directory = cache_dir()
    if directory is None:
        return
    net_entry, deps = trace
    try:
        text = json.dumps({"deps": [[file, digest.hex()] for file, digest in deps], "report": data,
                           "errors": errors}, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON data (the report is, as `--json` prints it): keep nothing
        return
    write_entry(directory, name(net_entry, by, batch), FORMAT + text.encode("utf-8", "surrogatepass"))
