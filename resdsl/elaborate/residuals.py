"""Residuals and the shortcut policy: A/B/C/none/gated shortcuts, projections by name and form."""
from __future__ import annotations

from typing import Any

from resdsl.diagnostics import (ArgumentError, NameResolutionError, ShapeError, SourceSpan, SpecSyntaxError,
                                did_you_mean)
from resdsl.elaborate.core import ElaboratorCore, arg_span
from resdsl.elaborate.state import Frame
from resdsl.elaborate.values import Dims, Evaluator, Symbol, TensorRef, show, type_name
from resdsl.ir import ops
from resdsl.ir.types import TensorType
from resdsl.syntax import ast

SHORTCUT_KINDS = ("A", "B", "C", "none", "gated")
# A residual's shortcut policy, as words its block may set, and their defaults (torchvision's names).
_POLICY_WORDS = {"proj_name": "downsample", "gate_name": "gate", "proj": "conv"}
_PROJECTION_FORMS = ("conv", "avgpool")
# What `residual` takes besides its policy words (made once: a span-less Param is never reported, as the
# binder points its errors at the residual or at the argument).
_RESIDUAL_PARAMS = tuple(ast.Param(SourceSpan("resdsl", 0, 0, 0, 0), n, None)
                         for n in ("shortcut", "proj_bn", "gate_kernel"))


class Residuals(ElaboratorCore):
    def _residual(self, res: ast.Residual, frame: Frame, flow: TensorRef, label: str | None) -> TensorRef:
        """body(x) merged with a shortcut of x: A zero-pads, B projects where the shape changes, C always
        projects, gated is a highway gate, none drops the merge (a plain block).

        The shortcut's policy is data of the block that writes the residual: `proj_name` names the
        projection (torchvision's `downsample`, RegNet's `proj`), `proj` chooses its form (`conv`: a 1x1
        conv then BN; `avgpool`: ResNet-D's 2x2 average pool, then the 1x1 conv and BN; or the name of a
        block of the spec called as `block(out, stride=s)`), `proj_from` the tensor it reads, and
        `gate_name` names a highway gate."""
        words = {a.name: a for a in res.args if a.name in _POLICY_WORDS}
        late = tuple(a for a in res.args if a.name == "proj_from")
        args = self._bind_args(_RESIDUAL_PARAMS, tuple(a for a in res.args if a.name != "proj_from" and a.name not in words),
                               Evaluator(frame.env, frame.tensors), res, "residual",
                               defaults={"shortcut": Symbol("B"), "proj_bn": True, "gate_kernel": 1})
        policy = {name: self._word(words[name], frame) if name in words else default
                  for name, default in _POLICY_WORDS.items()}
        kind = args["shortcut"]
        kind = kind.name if isinstance(kind, Symbol) else kind
        if kind not in SHORTCUT_KINDS:
            raise ArgumentError(f"unknown shortcut kind {show(kind)}", arg_span(res, "shortcut"),
                             "shortcut is one of A (zero-pad), B (projection where needed), "
                             "C (projection always), none, gated")
        form = policy["proj"]
        if form not in _PROJECTION_FORMS and form not in self.program.blocks:
            raise NameResolutionError(f"unknown projection form '{form}'", words["proj"].span,
                                      did_you_mean(form, set(_PROJECTION_FORMS) | set(self.program.blocks)) or
                                      "proj is conv (1x1 conv + BN), avgpool (ResNet-D: 2x2 avg pool, 1x1 conv, "
                                      "BN) or the name of a block taking (out, stride)")
        self.state.residuals_seen += 1
        first_body_node = len(self.state.builder.nodes)
        main = self._body(res.body, frame, flow)
        if kind == "none":
            return main
        if self.state.depth is not None:
            if self.state.block_survival is None:
                raise SpecSyntaxError("stochastic_depth drops the residuals of the blocks of `stages` rows; this "
                                      "residual is outside them", res.span,
                                      "put it in a stage, or place `droppath p` on its branch yourself",
                                      notes=[(self.state.depth.span, "stochastic_depth is stated here")])
            main = self._add(self._op(ops.DropPath, self.state.block_survival, self.state.depth.mode), [main], frame.scope,
                             self._free_label(frame, "drop_path"), frame.stage, res.span, frame)
        # The projection may tap a tensor of the body (pre-activation nets project the activated input).
        project_from = Evaluator(frame.env, frame.tensors).eval(late[0].value) if late else flow
        if not isinstance(project_from, TensorRef):
            raise ArgumentError(f"proj_from takes a tensor like @relu1, got {type_name(project_from)}", late[0].span)
        x, y = flow.type, main.type
        # torchvision's rule is `stride != 1 or inplanes != planes * expansion`: a strided body needs a
        # projection even where the map is already 1x1 and its shape does not change.
        body_stride = _path_stride(self.state.builder.nodes, first_body_node, main.node)
        same = x.shape == y.shape and body_stride == (1, 1)
        if kind == "gated":
            if not same:
                raise self._located(ShapeError, f"a gated (highway) shortcut needs the body to keep the "
                                    f"shape, but it maps {x} to {y}", res.span, "highway layers keep width "
                                    "and map size; put the change in a separate layer", frame, label)
            kernel = _as_pair(args["gate_kernel"], arg_span(res, "gate_kernel"))
            pad = ((kernel[0] - 1) // 2, (kernel[1] - 1) // 2)
            gate_name = policy["gate_name"]
            gate = self._add(self._op(ops.Conv, x.channels, x.channels, kernel, padding=pad, bias=True), [flow],
                             frame.scope, gate_name, frame.stage, res.span, frame)
            gate = self._add(self._op(ops.Activation, "sigmoid"), [gate], frame.scope, f"{gate_name}_act", frame.stage,
                             res.span, frame)
            return self._add(self._op(ops.GatedSum), [main, flow, gate], frame.scope, label, frame.stage, res.span,
                             frame)
        if kind == "A" and not same:
            shortcut = self._add(self._op(ops.ZeroPadShortcut, x.channels, y.channels, _stride_between(x, y, res.span)),
                                 [flow], frame.scope, None, frame.stage, res.span, frame)
        elif kind == "C" or (kind == "B" and not same):
            stride = body_stride if x.shape == y.shape else None
            shortcut = self._projection(project_from, y, args["proj_bn"], frame, res.span, policy, stride)
        else:
            shortcut = flow
        return self._add(self._op(ops.Add), [main, shortcut], frame.scope, label, frame.stage, res.span, frame)

    def _word(self, arg: ast.Arg, frame: Frame) -> str:
        """A policy word: `proj_name=proj` (a bare word not defined as a variable), or a string/variable."""
        if isinstance(arg.value, ast.Name) and not frame.env.lookup(arg.value.name)[0]:
            return arg.value.name
        value = Evaluator(frame.env, frame.tensors).eval(arg.value)
        if isinstance(value, Symbol):
            return value.name
        if not isinstance(value, str) or not value:
            raise ArgumentError(f"{arg.name} takes a name, got {type_name(value)}", arg.span)
        return value

    def _projection(self, x: TensorRef, target: TensorType, with_bn: bool, frame: Frame,
                    span: SourceSpan, policy: dict[str, str], stride: tuple[int, int] | None = None) -> TensorRef:
        """The projection shortcut, a scope named `proj_name` (torchvision's `downsample`): a 1x1 conv
        (child 0) and BN (child 1); with proj=avgpool (ResNet-D, timm's avg_down) first a 2x2 average
        pool where the stride is 2 (child 0, then the conv and BN); or a block of the spec.  The stride is
        the body's where it is known (a strided body on a 1x1 map), else the one that maps x to target."""
        if not target.is_image:
            raise ShapeError("a projection shortcut needs a feature map", span)
        if stride is None or x.type.shape != target.shape:
            stride = _stride_between(x.type, target, span)
        name = self._free_label(frame, policy["proj_name"])
        form = policy["proj"]
        if form not in _PROJECTION_FORMS:
            return self._projection_block(self.program.blocks[form], x, target, stride, name, frame, span)
        scope = self.state.builder.new_scope(frame.scope, name, "group", None, frame.stage, span)
        if form == "avgpool" and stride != (1, 1):
            x = self._add(self._op(ops.Pool, "avg", stride, stride, (0, 0), ceil_mode=True, count_include_pad=False), [x],
                          scope, None, frame.stage, span, frame)
            stride = (1, 1)
        out = self._add(self._op(ops.Conv, x.type.channels, target.channels, (1, 1), stride), [x], scope, None,
                        frame.stage, span, frame)
        if with_bn:
            out = self._add(self._op(ops.BatchNorm, target.channels), [out], scope, None, frame.stage, span, frame)
        self.state.builder.close_scope(scope)
        return out

    def _projection_block(self, block: ast.BlockDef, x: TensorRef, target: TensorType, stride: tuple[int, int],
                          name: str, frame: Frame, span: SourceSpan) -> TensorRef:
        """`proj=my_projection`: the spec's own block, called as `my_projection(out, stride=s)`."""
        s = stride[0] if stride[0] == stride[1] else None
        stride_expr = ast.Number(span, s, str(s)) if s is not None else ast.DimsLit(span, stride)
        args = (ast.Arg(span, None, ast.Number(span, target.channels, str(target.channels))),
                ast.Arg(span, "stride", stride_expr))
        call = ast.Call(span, block.name, args, span)
        out = self._block(block, call, args, frame, x, name)
        if out.type != target:
            raise self._located(ShapeError, f"the projection block {block.name} maps {x.type} to {out.type}, but "
                                f"the residual needs {target}", span, "it is called as "
                                f"{block.name}(out, stride=s) and must honour both", frame, name)
        return out

    def _free_label(self, frame: Frame, base: str) -> str:
        taken = self.state.builder.taken
        label, i = base, 1
        while taken(frame.scope, label):
            label, i = f"{base}_{i}", i + 1
        return label


def _path_stride(nodes: list, first: int, last: int) -> tuple[int, int]:
    """The largest product of conv/pool strides on a path of the body (nodes first..last) to `last`;
    an up-sampling op on the way makes the body's stride unknown, and the shapes decide."""
    memo: dict[int, tuple[int, int]] = {}
    unit = (1, 1)
    for node in nodes[first:last + 1]:
        op = node.op
        if isinstance(op, (ops.ConvTranspose, ops.MaxUnpool)):
            own = (0, 0)
        elif isinstance(op, (ops.Conv, ops.Pool)):
            own = op.stride
        else:
            own = unit
        inputs = node.inputs
        if len(inputs) == 1:  # most ops: no max over paths
            reached = memo.get(inputs[0], unit)
            memo[node.id] = reached if own is unit else (reached[0] * own[0], reached[1] * own[1])
            continue
        paths = [memo[i] for i in inputs if i in memo] or [unit]
        memo[node.id] = (max(r[0] for r in paths) * own[0], max(r[1] for r in paths) * own[1])
    stride = memo.get(last, unit)
    return unit if 0 in stride else stride


def _stride_between(x: TensorType, y: TensorType, span: SourceSpan) -> tuple[int, int]:
    def one(a: int, b: int) -> int:
        s = max(1, -(-a // b))
        if (a - 1) // s + 1 != b:
            raise ShapeError(f"no 1x1 shortcut with a whole stride maps a {x} tensor to {y}", span,
                             "the body must keep the map size or divide it by a whole stride")
        return s
    return (one(x.height, y.height), one(x.width, y.width))


def _as_pair(value: Any, span: SourceSpan) -> tuple[int, int]:
    if isinstance(value, Dims) and len(value.values) == 2:
        return value.values  # type: ignore[return-value]
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return (value, value)
    raise ArgumentError(f"expected a size like 3x3, got {show(value)}", span)
