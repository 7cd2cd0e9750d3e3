"""`resdsl list [PATTERN]`: the spec library shipped with resdsl, as a table (or JSON)."""
from __future__ import annotations

import argparse
import fnmatch
import json
import sys

from resdsl.cli import EXIT_OK, EXIT_SPEC, HelpFormatter, say
from resdsl.diagnostics import ResdslError
from resdsl.units import si

EPILOG = """\
examples:
  resdsl list                       # every spec in the library
  resdsl list densenet              # names, families, titles or papers containing "densenet"
  resdsl list 'resnet*' --collection cifar
  resdsl list --json                # one object per spec (see docs/json.md)

Any name listed works wherever a FILE is expected: `resdsl count resnet152`, `resdsl.load("wrn28_10")`.
A bare name is searched in the collections in the order printed (torchvision first); name the
collection to choose another (`paper/resnet50`).  A local file of the same name wins over the library.
"""

WIDTH = 100
FAMILY_WIDTH = 18


def register(commands) -> None:
    p = commands.add_parser(
        "list", help="list the spec library: name, family, params, MACs, input, source paper",
        description="List the specs shipped with resdsl (the repository's specs/ folder, installed as "
                    "package data), grouped by collection, with each network's family, parameters, MACs, "
                    "input shape and the paper it follows.",
        epilog=EPILOG, formatter_class=HelpFormatter)
    p.add_argument("patterns", nargs="*", metavar="PATTERN",
                   help="keep specs whose name, family, title or paper contains PATTERN (or matches it "
                        "as a glob such as 'resnet*'); several patterns: any of them")
    p.add_argument("--collection", metavar="NAME", action="append", default=[],
                   help="only this collection (torchvision, paper, cifar, ...); repeatable")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per spec")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from resdsl.catalog import collections, entries

    known = collections()
    for name in args.collection:
        if name not in known:
            from resdsl.diagnostics import UsageError, did_you_mean
            from resdsl.cli import _ARGV

            raise UsageError(f"no collection named {name!r} in the library", _ARGV,
                             did_you_mean(name, known) or "collections: " + ", ".join(known))
    chosen = [e for e in entries() if not args.collection or e.collection in args.collection]
    seen: set[str] = set()
    records = []
    for entry in chosen:
        record = describe(entry, entry.name not in seen)
        seen.add(entry.name)
        if _matches(record, args.patterns):
            records.append(record)
    failed = [r for r in records if r.get("error")]
    for r in failed:
        say(f"{r['qualified']}: {r['error']}", file=sys.stderr)
    if args.json:
        say(json.dumps({"command": "list", "ok": not failed, "specs": records}, indent=2))
    else:
        say(render(records), end="")
    return EXIT_SPEC if failed else EXIT_OK


def describe(entry, first: bool) -> dict:
    """One library spec as a JSON-ready record (documented in docs/json.md)."""
    from resdsl.catalog import header, library_dir

    meta = header(entry.path.read_text("utf-8"))
    record = {"name": entry.name if first else entry.qualified, "qualified": entry.qualified,
              "collection": entry.collection, "path": str(entry.path.relative_to(library_dir())),
              "kind": "network", "family": None, "title": meta.title, "paper": meta.paper or None,
              "params": None, "macs": None, "input_shape": None, "output_shape": None}
    try:
        record.update(figures(entry.path, dict(meta.tags).get("family"), entry.qualified))
    except ResdslError as err:
        record["error"] = err.message
    return record


def figures(path, family: str | None, qualified: str | None = None) -> dict:
    """What `list` shows of a spec that needs checking it: for a shipped spec, computed ahead
    (resdsl/library_index.py); else stored by an earlier `list` (resdsl/reportcache.py, a miss when the
    spec, an import, the prelude or resdsl changed); else loaded and checked."""
    from resdsl import library_index, netcache, reportcache

    if qualified is not None:
        found = library_index.lookup(qualified, family)
        if found is not None:
            return found
    keyed = netcache.key(path, None, None, None, True)
    what = ("list", family or "")
    stored = None if keyed is None else reportcache.lookup(keyed[0], what)
    if stored is not None:
        return stored[0]
    found, sources, trace = compute(path, family, keyed)
    reportcache.store(trace, what, found)
    return found


def compute(path, family: str | None, keyed=None) -> tuple[dict, dict[str, str], object]:
    """Load and check a spec for `list`: (its figures, the files the load read, the cache trace)."""
    from resdsl import netcache
    from resdsl.pipeline import load_program, load_traced

    program = load_program(path)
    if program.main_tables and not program.main_networks:
        found = {"kind": "table", "family": None,
                 "rows": sum(len(program.tables[t].rows) for t in program.main_tables)}
        trace = None if keyed is None else netcache.trace(keyed, program.sources)
    else:
        net, trace = load_traced(path)  # through the checked-network cache too
        target = getattr(program.networks[net.name], "target", None)
        found = {"family": family or (target.name if target is not None else None), "params": net.params,
                 "macs": net.macs, "input_shape": list(net.input_type.shape),
                 "output_shape": list(net.output_type.shape)}
    return found, program.sources, trace


def _matches(record: dict, patterns: list[str]) -> bool:
    if not patterns:
        return True
    fields = [str(record.get(k) or "").lower() for k in ("name", "qualified", "family", "title", "paper")]
    for pattern in patterns:
        p = pattern.lower()
        if any(c in p for c in "*?["):
            if any(fnmatch.fnmatchcase(f, p) for f in fields[:3]):
                return True
        elif any(p in f for f in fields):
            return True
    return False


def render(records: list[dict], width: int = WIDTH) -> str:
    """Grouped by collection; the paper column is cut to keep lines within `width`."""
    if not records:
        return "no library spec matches\n"
    header = ["name", "family", "params", "MACs", "input", "paper"]
    rows = []
    for r in records:
        if r["kind"] == "table":
            cells = [r["name"], f"table, {r['rows']} rows", "", "", "", r["paper"] or ""]
        elif r.get("error"):
            cells = [r["name"], "ERROR", "", "", "", r["error"]]
        else:
            family = r["family"] or "-"
            if len(family) > FAMILY_WIDTH:  # the whole name is in --json
                family = family[: FAMILY_WIDTH - 1] + "…"
            cells = [r["name"], family, si(r["params"]), si(r["macs"]),
                     "x".join(map(str, r["input_shape"])), r["paper"] or ""]
        rows.append((r["collection"], cells))
    widths = [max(len(c[i]) for c in [header, *(cells for _, cells in rows)]) for i in range(5)]
    room = max(12, width - sum(widths) - 2 * 5)
    right = {2, 3}

    def fmt(cells):
        out = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells[:5], widths))]
        last = _fit_paper(cells[5], room)
        return "  ".join([*out, last]).rstrip()

    lines = [fmt(header)]
    current = None
    for collection, cells in rows:
        if collection != current:
            lines += ["", f"{collection}/"]
            current = collection
        lines.append(fmt(cells))
    networks = sum(r["kind"] == "network" for r in records)
    lines += ["", f"{networks} networks, {len(records) - networks} table files.  MACs: conv + fc "
                  "multiply-accumulates at the input shown.",
              "Any name works as FILE (resdsl count NAME); a bare name is the first collection's."]
    return "\n".join(lines) + "\n"


def _fit_paper(text: str, room: int) -> str:
    """`Lin, Chen & Yan 2014` -> `Lin et al. 2014` where the column is too narrow (three or more
    authors); otherwise cut with an ellipsis (`resdsl list --json` has the whole text)."""
    if len(text) <= room:
        return text
    first, year = text.split(" ", 1)[0], text.rsplit(" ", 1)[-1]
    short = f"{first.rstrip(',')} et al. {year}"
    if first.endswith(",") and len(short) <= room:
        return short
    return text[: room - 1] + "…"
