"""Auxiliary outputs: training-time heads that branch off a network's main path.

GoogLeNet's `aux1`/`aux2`, Inception-v3's `AuxLogits` and deeply-supervised nets' companion outputs
are side branches: each reads one value of the main path and ends in an output of its own that only
training uses.  In the graph a head is a contiguous run of nodes (`first` .. `last`) that no node
outside it reads; evaluation computes the main path alone.

`OutputOrder` says what training returns: a named tuple (torchvision's `GoogLeNetOutputs(logits,
aux_logits2, aux_logits1)`), each field either the main output (`head is None`) or one head.
"""
from __future__ import annotations

from dataclasses import dataclass

from resdsl.diagnostics import SourceSpan

MAIN = "main"  # the word an `outputs` statement uses for the main output


@dataclass(frozen=True, slots=True)
class AuxHead:
    name: str          # its label: the module name of its scope (or layer) and its output's name
    source: int        # the node of the main path it reads
    first: int         # its nodes are first .. last, in topological order
    last: int
    output: int        # the node whose value it returns (usually `last`)
    span: SourceSpan

    def __contains__(self, node_id: int) -> bool:
        return self.first <= node_id <= self.last


@dataclass(frozen=True, slots=True)
class OutputField:
    name: str          # the tuple's field (`aux_logits2`)
    head: str | None   # the head returned there; None for the main output


@dataclass(frozen=True, slots=True)
class OutputOrder:
    type_name: str                   # the named tuple's class name (`GoogLeNetOutputs`)
    fields: tuple[OutputField, ...]  # in order; exactly one is the main output
    span: SourceSpan | None          # the `outputs` statement, None when implied

    @staticmethod
    def implied(heads: tuple[AuxHead, ...]) -> "OutputOrder":
        """Without an `outputs` statement: `Outputs(main, <heads in the order they are declared>)`."""
        return OutputOrder("Outputs", (OutputField(MAIN, None), *(OutputField(h.name, h.name) for h in heads)),
                           None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)
