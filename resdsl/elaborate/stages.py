"""Stages: `stages block { row: width xN ... }` expanded block by block, and the stage each op reports in."""
from __future__ import annotations

from resdsl import limits
from resdsl.diagnostics import (ArgumentError, LimitError, NameResolutionError, SourceSpan, SpecSyntaxError,
                                StructureError, did_you_mean)
from resdsl.elaborate.core import ElaboratorCore
from resdsl.elaborate.state import Frame
from resdsl.elaborate.values import TensorRef, show
from resdsl.syntax import ast


class Stages(ElaboratorCore):
    def _stages(self, stmt: ast.Stages, frame: Frame, flow: TensorRef) -> TensorRef:
        block = self.program.blocks.get(stmt.call.name)
        if block is None:
            known = set(self.program.blocks)
            raise NameResolutionError(f"unknown block '{stmt.call.name}'", stmt.call.name_span,
                                      did_you_mean(stmt.call.name, known) or
                                      "stages repeat a block: `stages basic shortcut=B { ... }`")
        param_names = {p.name for p in block.params}
        if not stmt.rows:
            raise StructureError("these stages have no rows", stmt.span, "add rows like `layer1: 64 x3`")
        for row in stmt.rows:
            name = self._label(row.label, frame)
            repeats = 1 if row.repeats is None else self._eval(row.repeats, frame)
            if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
                raise ArgumentError(f"a stage repeats its block a whole number of times (1 or more), "
                                 f"got {show(repeats)}", (row.repeats or row).span)
            if repeats > limits.MAX_REPEATS:
                raise LimitError(f"stage {name} repeats its block {repeats:,} times; the limit is "
                                 f"{limits.MAX_REPEATS:,}", row.repeats.span, "is that a typo?")
            stage = name if frame.stage_level else frame.stage
            self._enter_stage(stage, flow)
            scope = self.state.builder.new_scope(frame.scope, name, "stage", block.name, stage, row.span)
            inner = Frame(scope, frame.env, frame.tensors, stage)
            row_args = tuple(row.args)
            has_stride = any(a.name == "stride" for a in row_args)
            site = row.args[0].span if row.args else row.label.span
            rest_args = tuple(a for a in row_args if a.name != "stride")
            if has_stride and "stride" in param_names:
                rest_args += (ast.Arg(site, "stride", ast.Number(site, 1, "1")),)
            header = tuple(stmt.call.args)
            # The first block of a row takes its arguments, the others the same ones without the stride.
            calls = [(merged, ast.Call(site, block.name, merged, stmt.call.name_span))
                     for merged in (_merge_args(row_args, header), _merge_args(rest_args, header))]
            # The repeats after the first bind the same arguments in the same scope: bound once, each
            # repeat charged the steps binding took (so the work budget counts as if bound each time).
            rest: tuple | None = None
            rest_steps = 0
            for i in range(repeats):
                merged, call = calls[0 if i == 0 else 1]
                binding = None
                if i > 0:
                    if rest is None:
                        steps = self.work.steps
                        rest = self._bind_block(block, call, merged, inner)
                        rest_steps = self.work.steps - steps
                    elif rest_steps:
                        self.work.step(call.span, rest_steps)
                    binding = rest
                before = len(self.state.builder.nodes)
                flow = self._stage_block(block, call, merged, inner, flow, stmt, binding)
                if i == 1:
                    self._refuse_if_too_large(len(self.state.builder.nodes) - before, repeats - 2, f"stage {name}",
                                              row.repeats.span if row.repeats else row.span)
            self.state.builder.close_scope(scope)
            frame.tensors[name] = flow
        return flow

    def _stage_block(self, block: ast.BlockDef, call: ast.Call, args: tuple[ast.Arg, ...], frame: Frame,
                     flow: TensorRef, stmt: ast.Stages, binding: tuple | None = None) -> TensorRef:
        """One block of a stage row; under stochastic depth it takes the next survival of the schedule."""
        if self.state.depth is None:
            return self._block(block, call, args, frame, flow, None, binding=binding)
        if self.state.block_index >= len(self.state.depth.survivals):
            raise SpecSyntaxError(f"stochastic_depth counted {len(self.state.depth.survivals)} stage blocks up front, "
                                  "but there are more (stages inside a block?)", stmt.span,
                                  "place `droppath` in the block instead", notes=[(self.state.depth.span, "stated here")])
        outer = self.state.block_survival
        self.state.block_survival = self.state.depth.survivals[self.state.block_index]
        self.state.block_index += 1
        try:
            return self._block(block, call, args, frame, flow, None, binding=binding)
        finally:
            self.state.block_survival = outer

    def _refuse_if_too_large(self, per_block: int, remaining: int, stage: str, span: SourceSpan) -> None:
        """Refuse a stage that would pass the op limit before building it, not after."""
        expected = len(self.state.builder.nodes) + per_block * remaining
        if expected > limits.MAX_NODES:
            raise LimitError(f"{stage} would grow the network to about {expected:,} ops; the limit is "
                             f"{limits.MAX_NODES:,}", span, "reduce the repeats")

    def _enter_stage(self, stage: str, flow: TensorRef) -> None:
        if stage not in self.state.stage_inputs:
            self.state.stage_inputs[stage] = (flow.type, self.state.last_stage)
            self.state.last_stage = stage

    def _unlabelled_stage(self, word: str) -> str:
        """Unlabelled top-level items report as `conv`, `conv_1`, ... in network order."""
        i = self.state.stage_counts.get(word, 0)  # where the last search for `word` ended: linear, not quadratic
        name = word if i == 0 else f"{word}_{i}"
        while name in self.state.stage_inputs:
            i += 1
            name = f"{word}_{i}"
        self.state.stage_counts[word] = i
        return name


def _merge_args(row: tuple[ast.Arg, ...], header: tuple[ast.Arg, ...]) -> tuple[ast.Arg, ...]:
    """A stage row's arguments come first; the header's keywords fill what the row leaves out."""
    given = {a.name for a in row if a.name is not None}
    return tuple(row) + tuple(a for a in header if a.name is None or a.name not in given)
