"""The one path from spec text to checked network: load -> elaborate -> count -> check budgets."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from resdsl import netcache
from resdsl.analysis.budgets import check_budgets
from resdsl.analysis.cost import costs_of, totals
from resdsl.analysis.memory import activation_memory
from resdsl.diagnostics import LimitError, MultipleErrors, ResdslError, SourceSpan, UsageError, did_you_mean
from resdsl.analysis.verify import verify
from resdsl.network import Network
from resdsl.perf import gc_paused

if TYPE_CHECKING:
    from resdsl.elaborate.loader import Program

Trace = "tuple[str, netcache.Deps]"  # (checked-network cache entry, the other files read and their digests)

# The parser, the AST and the elaborator are imported where they are used: a load served by the
# checked-network cache (resdsl/netcache.py) needs none of them.


def load_program(path_or_text: str | Path, is_text: bool | None = None) -> Program:
    """Read a spec given as a path, a library name (`resnet50`, see resdsl/catalog.py) or its text."""
    from resdsl.catalog import resolve
    from resdsl.elaborate.loader import Loader

    if is_text:
        return Loader().load(path_or_text, is_text=True)
    resolution = resolve(path_or_text)
    if resolution.path is None:
        return Loader().load(path_or_text, is_text=is_text)
    return Loader().load(resolution.path, is_text=False)


def choose_network(program: Program, name: str | None) -> str:
    """The network to elaborate: the named one, else the only one defined in the main file."""
    span = SourceSpan("resdsl", 0, 0, 0, 0)  # a command-line problem, not a line of the spec
    if name is not None:
        if name not in program.networks:
            raise UsageError(f"no network named '{name}' in {program.main_file}", span,
                             did_you_mean(name, program.networks) or
                             "networks here: " + (", ".join(program.main_networks) or "none"))
        return name
    if len(program.main_networks) == 1:
        return program.main_networks[0]
    if not program.main_networks:
        if program.main_tables:  # a paper table's file: its rows name the networks
            tables = ", ".join(program.main_tables)
            raise UsageError(f"{program.main_file} defines no network, only the table{'s' * (len(program.main_tables) > 1)} "
                             f"{tables}", span,
                             "`resdsl table FILE` shows a table beside our counts, `resdsl plot --table FILE` "
                             "charts it; this command needs a file with a network")
        raise UsageError(f"{program.main_file} defines no network", span,
                         "add `network NAME { input ... }`, or pass a file that has one")
    # Guessing among several would silently check the wrong network.
    raise UsageError(f"{program.main_file} defines {len(program.main_networks)} networks: "
                     f"{', '.join(program.main_networks)}", span,
                     "pick one with --network NAME (or network=... in the API)")


def check_program(program: Program, network: str | None = None, overrides: dict[str, Any] | None = None,
                  override_span: SourceSpan | None = None,
                  input_shape: tuple[int, int, int] | None = None, enforce_budgets: bool = True,
                  work: "WorkBudget | None" = None) -> Network:
    """Elaborate and analyse one network.  With `enforce_budgets=False` an exceeded budget is reported
    in `Network.budgets` (ok=False) instead of raised, so `count` can still show the figures.  `work` is
    an evaluation budget shared with other networks (a table's rows); by default the network has its own."""
    from resdsl.elaborate.elaborator import Elaborator
    from resdsl.elaborate.init_rules import plan_for
    from resdsl.elaborate.resolve import check_definition_names, check_names

    try:
        unknown = check_names(program) + check_definition_names(program)
        if unknown:
            raise MultipleErrors.combine(unknown)
        name = choose_network(program, network)
        elaborator = Elaborator(program)
        elaborated = elaborator.network(name, overrides, override_span, input_shape, budget=work)
        graph = elaborated.graph
        illegal = verify(graph)
        if illegal:
            raise MultipleErrors.combine(illegal)
        costs = costs_of(graph)
        total = totals(graph, costs)
        memory = activation_memory(graph)
        actual = {"params": total.params, "macs": total.macs, "flops": total.flops,
                  "activations": memory.peak_bytes()}
        shares = _stage_shares(graph, costs)
        results, errors = check_budgets(elaborated.budgets, actual, shares)
        if errors and enforce_budgets:
            raise MultipleErrors.combine(errors)
        init = plan_for(program, graph, elaborated.init_rules, elaborator.globals)
        return Network(graph, costs, total, memory, results, elaborated.parameters, program.main_file,
                       tuple(program.files), init, tuple(overrides or {}))
    except ResdslError as err:
        raise err.with_sources(program.sources) from None
    except RecursionError:  # the elaborator refuses at the block call that overflows; this is the backstop
        definition = program.networks.get(network or "") or next(iter(program.networks.values()), None)
        span = definition.span if definition is not None else SourceSpan(program.main_file, 1, 1, 1, 2)
        raise LimitError("this network nests too deeply to process", span,
                         "nest fewer blocks, braces and expressions inside each other").with_sources(
                             program.sources) from None


def load(path_or_text: str | Path, network: str | None = None, overrides: dict[str, Any] | None = None,
         override_span: SourceSpan | None = None, input_shape: tuple[int, int, int] | None = None,
         enforce_budgets: bool = True, is_text: bool | None = None) -> Network:
    return load_traced(path_or_text, network, overrides, override_span, input_shape, enforce_budgets, is_text)[0]


def load_traced(path_or_text: str | Path, network: str | None = None, overrides: dict[str, Any] | None = None,
                override_span: SourceSpan | None = None, input_shape: tuple[int, int, int] | None = None,
                enforce_budgets: bool = True, is_text: bool | None = None) -> tuple[Network, Trace | None]:
    """`load`, and for a load the checked-network cache can key: its entry name and the other files
    read with their digests (what a result derived from the network must be stored with,
    resdsl/reportcache.py).  None for a load that cannot be keyed."""
    # Spec text named as such is not cached (the cache tells text from a path by itself).
    cached = None if is_text else netcache.key(path_or_text, network, overrides, input_shape, enforce_budgets)
    if cached is not None:
        found = netcache.lookup_traced(cached[0])
        if found is not None:
            return found[0], (cached[0], found[1])
    with gc_paused():
        program = load_program(path_or_text, is_text)
        net = check_program(program, network, overrides, override_span, input_shape, enforce_budgets)
    if cached is None:
        return net, None
    deps = netcache.store(cached, program.sources, net)
    return net, None if deps is None else (cached[0], deps)


def _stage_shares(graph, costs) -> dict[str, dict[str, int]]:
    params: dict[str, int] = {}
    macs: dict[str, int] = {}
    for node, cost in zip(graph.nodes[1:], costs[1:]):
        params[node.stage] = params.get(node.stage, 0) + cost.params
        macs[node.stage] = macs.get(node.stage, 0) + cost.macs
    return {"params": params, "macs": macs, "flops": {k: 2 * v for k, v in macs.items()}}
