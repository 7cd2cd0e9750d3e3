"""`init { ... }` sections: their rules checked and evaluated, then resolved over the graph into the
`InitPlan` the back ends apply (resdsl/ir/init.py).

A network's sections are evaluated where the elaborator meets them (so `if zero_init_residual { init
{ residual_bn: zeros } }` works, and their arguments may use the network's parameters).  A block's
section applies to the layers of every instance of the block, nested blocks included unless they
state their own; it stands at the top level of the block's body and its arguments are constants (a
block's rules are data of its definition, the same for every call).  The innermost rule for a layer
wins; within one scope `residual_bn` wins over `bn`.

A quoted target names one layer by its module path (`"classifier.1": normal(std=0.01)`, the path of
its `state_dict` keys without `.weight`): in a network's section the full path, in a block's the path
inside each instance (`"fc"` is the block's own `fc`).  A path rule wins over every kind rule (the
innermost path rule over outer ones); one that names no layer is an error at the rule.
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
           "torch_default": "default", "keep": "default", "variancescaling": "variance_scaling"}
# Where a foreign name's namesake here draws differently: Keras truncates, TF bounds by the std.
FOREIGN_NOTES = {"he_normal": "Keras's he_normal is truncated: variance_scaling(scale=2)",
                 "glorot_normal": "Keras's glorot_normal is truncated: variance_scaling(scale=1, mode=fan_avg)",
                 "truncated_normal": "TF's truncated_normal_initializer(stddev=s) redraws beyond 2 stds: "
                                     "trunc_normal(std=s, a=-2 * s, b=2 * s); torch's bounds are absolute"}
# Words whose nearest neighbour would mislead: TF 1's VarianceScaling took "normal" for truncated_normal.
WORD_HINTS = {("distribution", "normal"): "TensorFlow's 'normal' was its truncated normal: write "
                                          "truncated_normal (or untruncated_normal for a plain normal)"}
# Foreign names whose nearest word would mislead: the rule that says the same thing.
FOREIGN_RULES = {"xavier": "Caffe's xavier filler, uniform(+-sqrt(3 / fan_in)), is "
                           "kaiming_uniform(nonlinearity=linear); torch's xavier_uniform averages fan-in and fan-out",
                 "variance_scaling_initializer": "tf.contrib.layers' (tf_slim's) variance_scaling_initializer("
                                                 "factor=F) is variance_scaling(scale=F, distribution="
                                                 "slim_truncated_normal); uniform=True is distribution=uniform",
                 "lecun_normal": "write variance_scaling(scale=1, mode=fan_in, distribution=truncated_normal)",
                 "he_truncated_normal": "write variance_scaling(scale=2, mode=fan_in, distribution=truncated_normal)"}
FOREIGN_TARGETS = {"batchnorm": "bn", "batchnorm2d": "bn", "conv2d": "conv", "dense": "fc", "linear": "fc",
                   "convtranspose2d": "upconv", "layernorm2d": "layernorm", "ln": "layernorm", "gn": "groupnorm",
                   "last_bn": RESIDUAL_BN, "zero_init_residual": RESIDUAL_BN}


@dataclass(frozen=True)
class Rule:
    target: str          # a TARGETS key or a STRUCTURAL one (aliases resolved); a module path if `path`
    init: LayerInit
    span: SourceSpan
    path: bool = False   # `"classifier.1": ...`: one layer, by its path (in a block: inside the instance)


Evaluate = Callable[[ast.Expr], Any]


def section_rules(section: ast.InitSection, evaluate: Evaluate, defined: Callable[[str], bool]) -> tuple[Rule, ...]:
    """The rules of one section, checked: known targets and initialisers, arguments bound and typed."""
    seen: dict[tuple[bool, str], SourceSpan] = {}
    rules = []
    for rule in section.rules:
        target = _path(rule) if rule.path else _target(rule)
        if (rule.path, target) in seen:
            raise NameResolutionError(f"init: '{rule.target}' is given twice in this section", rule.target_span,
                                      "give each target one rule", notes=[(seen[rule.path, target], "first given here")])
        seen[rule.path, target] = rule.target_span
        rules.append(Rule(target, _layer_init(rule.call, evaluate, defined), rule.span, rule.path))
    return tuple(rules)


def _path(rule: ast.InitRule) -> str:
    """A quoted target: a dotted module path, each part a non-empty name without spaces."""
    parts = rule.target.split(".")
    if any(not p or any(c.isspace() for c in p) for p in parts) or "{" in rule.target:
        raise SpecSyntaxError(f"init: \"{rule.target}\" is not a module path", rule.target_span,
                              'a quoted target is a layer\'s dotted path, as in its state_dict keys: '
                              '"classifier.1", "AuxLogits.fc"')
    return rule.target


def _target(rule: ast.InitRule) -> str:
    name = ALIASES.get(rule.target, rule.target)
    if name in TARGETS or name in STRUCTURAL:
        return name
    norm = rule.target.lower().replace("_", "")
    alias = next((v for k, v in FOREIGN_TARGETS.items() if k.replace("_", "") == norm), None)
    hint = (f"did you mean '{alias}'?" if alias else did_you_mean(rule.target, TARGET_NAMES)) or \
        "targets are " + ", ".join(TARGET_NAMES)
    raise NameResolutionError(f"init: unknown target '{rule.target}'", rule.target_span,
                              f"{hint} (an init rule names a kind of layer: {', '.join(TARGET_NAMES)}; "
                              f"or, quoted, one layer by its path: \"classifier.1\")")


def _layer_init(call: ast.Call, evaluate: Evaluate, defined: Callable[[str], bool]) -> LayerInit:
    fn = INITIALISERS.get(call.name)
    if fn is None:
        stripped = call.name.rstrip("_")
        alias = stripped if stripped in INITIALISERS else FOREIGN.get(call.name.lower())
        rule = FOREIGN_RULES.get(call.name.lower())
        hint = (f"did you mean '{alias}'?" if alias else rule or did_you_mean(call.name, INITIALISERS)) or None
        if alias and call.name.lower() in FOREIGN_NOTES:
            hint += f" ({FOREIGN_NOTES[call.name.lower()]})"
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
                hint = WORD_HINTS.get((name, str(word))) or did_you_mean(str(word), words[name])
                raise ArgumentError(f"{call.name}: {name} is one of {', '.join(words[name])}, got {show(v)}", span,
                                    hint or f"for example {name}={words[name][0]}")
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
    if "scale" in args and args["scale"] <= 0:
        raise ArgumentError(f"{call.name}: scale must be positive, got {args['scale']:g}",
                            spans.get("scale", call.span), "it multiplies the variance: scale=2 for ReLU nets")
    if "gain" in args and args["gain"] <= 0:
        raise ArgumentError(f"{call.name}: gain must be positive, got {args['gain']:g}", spans.get("gain", call.span))
    if call.name in ("uniform", "trunc_normal") and args["a"] >= args["b"]:
        raise ArgumentError(f"{call.name}: a must be below b, got a={args['a']:g}, b={args['b']:g}",
                         spans.get("a", spans.get("b", call.span)), "a and b bound the values: a < b")


def block_rules(block: ast.BlockDef, globals_env: Env) -> tuple[Rule, ...]:
    """The rules of a block's own init sections (top level of its body; constants only)."""
    from resdsl.elaborate.values import Evaluator

    rules: dict[tuple[bool, str], Rule] = {}
    for stmt in block.body.statements:
        if isinstance(stmt, ast.InitSection):
            for rule in section_rules(stmt, lambda e: Evaluator(globals_env, {}).eval(e),
                                      lambda name: globals_env.lookup(name)[0]):
                rules[rule.path, rule.target] = rule
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
    """Every layer's rule: a path rule naming it, else the innermost block stating one for its kind
    (or for `residual_bn`), else the network's.  Layers whose rule is their type's network-wide one
    are left to `by_type`."""
    network = tuple(network)
    net_rules = {r.target: r.init for r in network if not r.path}
    if not network and not any(blocks.values()):
        return InitPlan()
    pinned = _pinned(graph, {r.target: r for r in network if r.path},
                     {name: tuple(r for r in rs if r.path) for name, rs in blocks.items()})
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
            rs = tuple(r for r in blocks.get(block, ()) if not r.path) if block else ()
            scope_rules[scope_id] = {r.target: r.init for r in rs} if rs else None
        return scope_rules[scope_id]

    by_path: list[tuple[str, LayerInit]] = []
    for node in graph.nodes:
        if not _initialisable(node.op):
            continue
        kind = target_of(node.op)
        chosen: LayerInit | None = pinned.get(node.path)
        if chosen is None:
            keys = (RESIDUAL_BN, kind) if node.id in special else (kind,)
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
                    tuple((f'"{r.target}"' if r.path else r.target, r.init) for r in network))


def _initialisable(op: ops.Op) -> bool:
    return op.is_layer and not op.is_parameter and target_of(op) is not None


def _pinned(graph: Graph, network: dict[str, Rule], blocks: dict[str, tuple[Rule, ...]]) -> dict[str, LayerInit]:
    """The layers path rules name (full path -> rule; the innermost scope's rule wins).  A network's
    rule must name a layer; a block's, a layer of at least one of its instances."""
    blocks = {name: rules for name, rules in blocks.items() if rules}
    if not network and not blocks:
        return {}
    layers = {node.path for node in graph.nodes if _initialisable(node.op)}
    pinned: dict[str, tuple[int, LayerInit]] = {}
    for path, rule in network.items():
        if path not in layers:
            raise _names_no_layer(rule, graph, layers, None)
        pinned[path] = (0, rule.init)
    first: dict[str, str] = {}       # block -> the path of its first instance
    matched: set[tuple[str, str]] = set()
    for scope in graph.scopes:
        rules = blocks.get(scope.block) if scope.block and scope.kind == "block" else None
        if not rules:
            continue
        first.setdefault(scope.block, scope.path)
        depth = len(graph.scope_chain(scope.id))
        for rule in rules:
            full = f"{scope.path}.{rule.target}" if scope.path else rule.target
            if full in layers:
                matched.add((scope.block, rule.target))
                if depth >= pinned.get(full, (-1, None))[0]:
                    pinned[full] = (depth, rule.init)
    for name, rules in blocks.items():
        for rule in rules:
            if name in first and (name, rule.target) not in matched:
                raise _names_no_layer(rule, graph, layers, (name, first[name]))
    return {path: rule for path, (_, rule) in pinned.items()}


def _names_no_layer(rule: Rule, graph: Graph, layers: set[str], block: tuple[str, str] | None) -> NameResolutionError:
    """A path rule that names nothing initialisable: a located error, with the layers it might mean."""
    prefix = f"{block[1]}." if block and block[1] else ""
    candidates = sorted(p[len(prefix):] for p in layers if p.startswith(prefix))
    where = f"an instance of block {block[0]}" if block else "this network"
    target = rule.target
    inside = [c for c in candidates if c.startswith(target + ".")]
    if any(s.path == prefix + target for s in graph.scopes) or inside:
        shown = ", ".join(f'"{c}"' for c in inside[:4]) + (", ..." if len(inside) > 4 else "")
        return NameResolutionError(f'init: "{target}" names a scope of {where}, not a layer', rule.span,
                                   f"a quoted target is one layer: name one of its layers ({shown})" if inside
                                   else "a quoted target is one layer, and this scope holds none a rule can set")
    stem, _, tail = target.rpartition(".")
    if tail in ("weight", "bias") and stem in candidates:
        hint = f'did you mean "{stem}"? (a rule names the layer; bias= sets its bias)'
    else:
        close = did_you_mean(target, candidates)
        example = ", ".join(f'"{c}"' for c in candidates[:3])
        hint = close or (f"layers are named by their module paths, as in the state_dict keys: {example}"
                         if candidates else "it has no layer a rule can set")
    return NameResolutionError(f'init: "{target}" names no layer of {where}', rule.span, hint)


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
