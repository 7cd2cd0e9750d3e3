"""`init { ... }` sections: their rules checked and evaluated, then resolved over the graph into the
`InitPlan` the back ends apply (resdsl/ir/init.py).

A network's sections are evaluated where the elaborator meets them (so `if zero_init_residual { init
{ residual_bn: zeros } }` works, and their arguments may use the network's parameters).  A block's
section applies to the layers of every instance of the block, nested blocks included unless they
state their own; it stands at the top level of the block's body and its arguments are constants (a
block's rules are data of its definition, the same for every call).  The innermost rule for a layer
wins; within one scope `residual_bn` wins over `bn`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from resdsl.diagnostics import ArgumentError, NameResolutionError, SourceSpan, SpecSyntaxError, did_you_mean
from resdsl.elaborate.binding import bind
from resdsl.elaborate.values import Env, Symbol, show, type_name
from resdsl.ir import ops
from resdsl.ir.graph import Graph
from resdsl.ir.init import (ALIASES, INITIALISERS, KEEP, REQUIRED, RESIDUAL_BN, STRUCTURAL, TARGET_NAMES, TARGETS,
                            Initialiser, InitPlan, LayerInit, has_bias, target_of)
from resdsl.syntax import ast

# What other libraries call an initialiser -> ours.
FOREIGN = {"he_normal": "kaiming_normal", "he_uniform": "kaiming_uniform", "msra": "kaiming_normal",
           "glorot_normal": "xavier_normal", "glorot_uniform": "xavier_uniform", "gaussian": "normal",
           "truncated_normal": "trunc_normal", "zero": "zeros", "one": "ones", "const": "constant",
           "torch_default": "default", "keep": "default"}
FOREIGN_TARGETS = {"batchnorm": "bn", "batchnorm2d": "bn", "conv2d": "conv", "dense": "fc", "linear": "fc",
                   "convtranspose2d": "upconv", "layernorm2d": "layernorm", "ln": "layernorm", "gn": "groupnorm",
                   "last_bn": RESIDUAL_BN, "zero_init_residual": RESIDUAL_BN}


@dataclass(frozen=True)
class Rule:
    target: str          # a TARGETS key or a STRUCTURAL one (aliases resolved)
    init: LayerInit
    span: SourceSpan


Evaluate = Callable[[ast.Expr], Any]


def section_rules(section: ast.InitSection, evaluate: Evaluate, defined: Callable[[str], bool]) -> tuple[Rule, ...]:
    """The rules of one section, checked: known targets and initialisers, arguments bound and typed."""
    seen: dict[str, SourceSpan] = {}
    rules = []
    for rule in section.rules:
        target = _target(rule)
        if target in seen:
            raise NameResolutionError(f"init: '{rule.target}' is given twice in this section", rule.target_span,
                                      "give each target one rule", notes=[(seen[target], "first given here")])
        seen[target] = rule.target_span
        rules.append(Rule(target, _layer_init(rule.call, evaluate, defined), rule.span))
    return tuple(rules)


def _target(rule: ast.InitRule) -> str:
    name = ALIASES.get(rule.target, rule.target)
    if name in TARGETS or name in STRUCTURAL:
        return name
    norm = rule.target.lower().replace("_", "")
    alias = next((v for k, v in FOREIGN_TARGETS.items() if k.replace("_", "") == norm), None)
    hint = (f"did you mean '{alias}'?" if alias else did_you_mean(rule.target, TARGET_NAMES)) or \
        "targets are " + ", ".join(TARGET_NAMES)
    raise NameResolutionError(f"init: unknown target '{rule.target}'", rule.target_span,
                              f"{hint} (an init rule names a kind of layer: {', '.join(TARGET_NAMES)})")


def _layer_init(call: ast.Call, evaluate: Evaluate, defined: Callable[[str], bool]) -> LayerInit:
    fn = INITIALISERS.get(call.name)
    if fn is None:
        stripped = call.name.rstrip("_")
        alias = stripped if stripped in INITIALISERS else FOREIGN.get(call.name.lower())
        hint = (f"did you mean '{alias}'?" if alias else did_you_mean(call.name, INITIALISERS)) or None
        raise NameResolutionError(f"init: unknown initialiser '{call.name}'", call.name_span,
                                  f"{hint + ' ' if hint else ''}(initialisers: {', '.join(INITIALISERS)})")
    params = tuple(ast.Param(call.span, name, None) for name, _ in fn.params) + (ast.Param(call.span, "bias", None),)
    defaults = {name: default for name, default in fn.params if default is not REQUIRED}
    defaults["bias"] = None

    def value(expr: ast.Expr) -> Any:
        if isinstance(expr, ast.Name) and not defined(expr.name):  # a bare word: fan_out, relu
            return Symbol(expr.name)
        return evaluate(expr)

    args = bind(params, call.args, value, call.name, call.span, scope=Env(),
                evaluate_in=lambda env, e: None, defaults=defaults)
    spans = {a.name: a.span for a in call.args if a.name is not None}
    for i, a in enumerate(a for a in call.args if a.name is None):
        spans.setdefault(params[i].name, a.span)
    words = dict(fn.words)
    checked: list[tuple[str, Any]] = []
    for name, _ in fn.params:
        v = args[name]
        span = spans.get(name, call.span)
        if name in words:
            word = v.name if isinstance(v, Symbol) else v
            if word not in words[name]:
                raise ArgumentError(f"{call.name}: {name} is one of {', '.join(words[name])}, got {show(v)}", span,
                                 did_you_mean(str(word), words[name]) or f"for example {name}={words[name][0]}")
            checked.append((name, word))
        else:
            checked.append((name, _number(v, f"{call.name}: {name}", span)))
    _check_values(call, dict(checked), spans)
    bias = args["bias"]
    if bias is not None:
        if isinstance(bias, Symbol) and bias.name == "default":
            bias = None
        else:
            bias = _number(bias, f"{call.name}: bias", spans.get("bias", call.span),
                           "bias takes a number (the constant it starts at) or default")
    weight = None if call.name == "default" else Initialiser(call.name, tuple(checked))
    return LayerInit(weight, bias)


def _number(v: Any, what: str, span: SourceSpan, hint: str | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ArgumentError(f"{what} takes a number, got {type_name(v)} ({show(v)})", span, hint)
    return float(v)


def _check_values(call: ast.Call, args: dict[str, Any], spans: dict[str, SourceSpan]) -> None:
    if "std" in args and args["std"] <= 0:
        raise ArgumentError(f"{call.name}: std must be positive, got {args['std']:g}", spans.get("std", call.span))
    if "gain" in args and args["gain"] <= 0:
        raise ArgumentError(f"{call.name}: gain must be positive, got {args['gain']:g}", spans.get("gain", call.span))
    if call.name in ("uniform", "trunc_normal") and args["a"] >= args["b"]:
        raise ArgumentError(f"{call.name}: a must be below b, got a={args['a']:g}, b={args['b']:g}",
                         spans.get("a", spans.get("b", call.span)), "a and b bound the values: a < b")


def block_rules(block: ast.BlockDef, globals_env: Env) -> tuple[Rule, ...]:
    """The rules of a block's own init sections (top level of its body; constants only)."""
    from resdsl.elaborate.values import Evaluator

    rules: dict[str, Rule] = {}
    for stmt in block.body.statements:
        if isinstance(stmt, ast.InitSection):
            for rule in section_rules(stmt, lambda e: Evaluator(globals_env, {}).eval(e),
                                      lambda name: globals_env.lookup(name)[0]):
                rules[rule.target] = rule
    return tuple(rules.values())


def misplaced_sections(body: ast.Body, top: bool, where: str) -> Iterable[ast.InitSection]:
    """Init sections not at the top level of a block or network (inside a merge, group or residual;
    for a block also inside `if`/`for`, whose bodies it would have to evaluate per call)."""
    for stmt in body.statements:
        if isinstance(stmt, ast.InitSection):
            if not top:
                yield stmt
        elif isinstance(stmt, ast.If):
            nested_top = top and where == "network"
            yield from misplaced_sections(stmt.then, nested_top, where)
            other = stmt.otherwise
            while isinstance(other, ast.If):
                yield from misplaced_sections(other.then, nested_top, where)
                other = other.otherwise
            if other is not None:
                yield from misplaced_sections(other, nested_top, where)
        elif isinstance(stmt, ast.For):
            yield from misplaced_sections(stmt.body, False, where)
        elif isinstance(stmt, ast.Chain):
            for element in stmt.elements:
                item = element.item if isinstance(element, ast.Labelled) else element
                inner = getattr(item, "body", None)
                if isinstance(inner, ast.Body):
                    yield from misplaced_sections(inner, False, where)


def misplaced_error(section: ast.InitSection) -> SpecSyntaxError:
    return SpecSyntaxError("an init section stands at the top level of a network or block", section.span,
                           "move it out of the group, merge, residual or loop; a block's rules apply to "
                           "all its layers (use `if` only at a network's top level)")


# ---- resolution over the graph ----------------------------------------------------------------


def residual_bns(graph: Graph) -> frozenset[int]:
    """The last BN of each residual branch: the BN whose output, directly or through drop-path or a
    constant scale, is the first operand (the body) of a two-input add.  (A hand-written `add { }`
    whose first branch ends in a BN counts too; its shortcut is its second branch.)"""
    found = set()
    for node in graph.nodes:
        if isinstance(node.op, ops.Add) and len(node.inputs) == 2:
            producer = graph.nodes[node.inputs[0]]
            while _passes_through(producer.op) and len(producer.inputs) == 1:
                producer = graph.nodes[producer.inputs[0]]
            if isinstance(producer.op, ops.BatchNorm):
                found.add(producer.id)
    return frozenset(found)


def _passes_through(op: ops.Op) -> bool:
    return isinstance(op, ops.DropPath) or (isinstance(op, ops.Activation) and op.function == "scale")


def resolve(graph: Graph, network: Iterable[Rule], blocks: dict[str, tuple[Rule, ...]]) -> InitPlan:
    """Every layer's rule: the innermost block stating one for its kind (or for `residual_bn`), else
    the network's.  Layers whose rule is their type's network-wide one are left to `by_type`."""
    network = tuple(network)
    net_rules = {r.target: r.init for r in network}
    if not net_rules and not any(blocks.values()):
        return InitPlan()
    special = residual_bns(graph) if (RESIDUAL_BN in net_rules or
                                      any(r.target == RESIDUAL_BN for rs in blocks.values() for r in rs)) else frozenset()
    by_type: dict[str, LayerInit] = {}
    for target, rule in net_rules.items():
        if target in TARGETS:
            for name in TARGETS[target].modules:
                by_type[name] = rule
    scope_rules: dict[int, dict[str, LayerInit] | None] = {}

    def rules_of_scope(scope_id: int) -> dict[str, LayerInit] | None:
        if scope_id not in scope_rules:
            block = graph.scopes[scope_id].block
            rs = blocks.get(block) if block else None
            scope_rules[scope_id] = {r.target: r.init for r in rs} if rs else None
        return scope_rules[scope_id]

    by_path: list[tuple[str, LayerInit]] = []
    for node in graph.nodes:
        if not node.op.is_layer or node.op.is_parameter:
            continue
        kind = target_of(node.op)
        if kind is None:
            continue
        keys = (RESIDUAL_BN, kind) if node.id in special else (kind,)
        chosen: LayerInit | None = None
        for scope in reversed(graph.scope_chain(node.scope)):
            table = rules_of_scope(scope.id) if scope.id != 0 else None
            if table:
                chosen = next((table[k] for k in keys if k in table), None)
                if chosen is not None:
                    break
        if chosen is None and node.id in special:
            chosen = net_rules.get(RESIDUAL_BN)
        if chosen is None:
            continue  # the network's rule for its type, applied by class
        if chosen != by_type.get(TARGETS[kind].modules[0], KEEP):
            by_path.append((node.path, chosen if has_bias(node.op) else LayerInit(chosen.weight, None)))
    return InitPlan(tuple(by_type.items()), tuple(by_path),
                    tuple((r.target, r.init) for r in network))


def plan_for(program, graph: Graph, network_rules: Iterable[Rule], globals_env: Env) -> InitPlan:
    """The plan of one elaborated network: its own rules and those of the blocks it instantiates.
    Misplaced sections anywhere in the program's definitions are refused first."""
    for definition in (*program.blocks.values(), *program.networks.values()):
        body = getattr(definition, "body", None)
        if body is None:
            continue
        where = "block" if isinstance(definition, ast.BlockDef) else "network"
        for section in misplaced_sections(body, True, where):
            raise misplaced_error(section)
    used = {scope.block for scope in graph.scopes if scope.block}
    blocks: dict[str, tuple[Rule, ...]] = {}
    for name, block in program.blocks.items():
        if not any(isinstance(s, ast.InitSection) for s in block.body.statements):
            continue
        if block.inline:
            section = next(s for s in block.body.statements if isinstance(s, ast.InitSection))
            raise SpecSyntaxError(f"group {name} has no scope of its own, so it cannot state init rules",
                                  section.span, "state them in the block or network that calls it, or make "
                                  f"it a `block`")
        if name in used:
            blocks[name] = block_rules(block, globals_env)
    return resolve(graph, network_rules, blocks)
