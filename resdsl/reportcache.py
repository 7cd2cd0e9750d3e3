"""Stored reports: a warm `resdsl count` of an unchanged spec prints the report it made last time, and
`resdsl list` shows each library spec's figures, without reading the checked network back (so without
importing the IR: most of a warm count's start-up; all of a warm list's work).

What is stored is data (the count report's `--json` object, a list record, as JSON) and the budget
errors the command printed, never rendered text: the text is rendered from the data each time.  An
entry is keyed by the checked-network cache's key for the same load (resdsl/netcache.py: the main
file's name and text, the network, the `--set` overrides, the input shape, the working directory, a
fingerprint of resdsl's code, grammar and prelude, and resdsl's version) plus everything else the
data depends on (`what`: the command and its options, such as `--by` and `--batch`).  It records the
other files the load read (prelude, imports) with a digest of each, and a hit re-reads and re-hashes
them: an edited or vanished import is a miss, never a stale answer.

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

FORMAT = b"resdsl-report-1\n"
What = "tuple[str, ...]"  # the command first (the entry's suffix), then the options its data depends on


def name(net_entry: str, what: What) -> str:
    """The entry of the data `what` of the load whose checked-network entry is `net_entry`."""
    digest = blake2b(digest_size=20)
    digest.update(FORMAT)
    for part in (net_entry, *what):
        data = str(part).encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return f"{digest.hexdigest()}.{what[0]}"


def lookup(net_entry: str, what: What) -> tuple[dict[str, Any], list[str]] | None:
    """(data, error lines) stored for this load, with every file it read unchanged; else None."""
    directory = cache_dir()
    if directory is None:
        return None
    payload = read_entry(directory / name(net_entry, what), FORMAT)
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


def store(trace: tuple[str, tuple[tuple[str, bytes], ...]] | None, what: What, data: dict[str, Any],
          errors: list[str] = ()) -> None:
    """Keep data made from the load `trace` describes (`resdsl.pipeline.load_traced`); None: a load that
    cannot be keyed, nothing kept."""
    if trace is None:
        return
    directory = cache_dir()
    if directory is None:
        return
    net_entry, deps = trace
    try:
        text = json.dumps({"deps": [[file, digest.hex()] for file, digest in deps], "report": data,
                           "errors": list(errors)}, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON data (the report is, as `--json` prints it): keep nothing
        return
    write_entry(directory, name(net_entry, what), FORMAT + text.encode("utf-8", "surrogatepass"))
