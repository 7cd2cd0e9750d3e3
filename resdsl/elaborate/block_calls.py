"""What a block instance records of its call (`resdsl.ir.graph.BlockCall`): the block's name and its bound
arguments as plain data, so the code generator can write one class per block definition with the spec's
parameter names."""
from __future__ import annotations

from typing import Any

from resdsl.elaborate.values import Dims, Function, Symbol, TensorRef
from resdsl.ir.graph import BlockCall
from resdsl.syntax import ast


def block_call(block: ast.BlockDef, bound: dict[str, Any], args: tuple[ast.Arg, ...],
               functions: tuple[ast.FuncDef, ...] = ()) -> BlockCall:
    positional = sum(1 for a in args if a.name is None)
    given = {p.name for p in block.params[:positional]} | {a.name for a in args if a.name is not None}
    order = [p.name for p in block.params]
    return BlockCall(block.name, tuple((name, plain(bound[name])) for name in order if name in bound),
                     tuple(name for name in order if name in given), block, functions)


def plain(value: Any) -> Any:
    """A value of the language as IR data: numbers, bools and strings stay, a size `3x3` and a word `B`
    become their text, lists tuples, a tensor None."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (Symbol, Dims)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return tuple(plain(v) for v in value)
    if isinstance(value, dict):
        return tuple((plain(k), plain(v)) for k, v in value.items())
    if isinstance(value, TensorRef):
        return None
    if isinstance(value, Function):
        return value.name
    return str(value)
