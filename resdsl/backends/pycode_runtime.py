"""The runtime pieces a generated file carries (`DropPath`, `zero_pad_shortcut`, ..., `Group`): the torch back
end's own definitions, copied from the text of `resdsl/backends/runtime.py` so both compute the same thing.
Nothing here imports torch (the file is read, not imported).
"""
from __future__ import annotations

import ast


GROUP_SOURCE = '''class Group(nn.Module):
    """Named layers that the enclosing module's forward calls one by one."""

    def __init__(self, *layers: tuple[str, nn.Module | nn.Parameter]):
        super().__init__()
        for name, layer in layers:
            if isinstance(layer, nn.Parameter):
                self.register_parameter(name, layer)
            else:
                self.add_module(name, layer)'''


# The runtime pieces a generated file may define, in the order it defines them.
RUNTIME_PIECES = ("DropPath", "zero_pad_shortcut", "center_crop", "gated_sum", "LayerNorm2d", "ChannelLinear",
                  "channel_shuffle", "Scale", "MeanJoin", "channel_affine",
                  "ColumnDropPath", "global_drop_path", "MaxUnpool", "variance_scaling_", "init_weights")


def runtime_helpers() -> list[tuple[str, str]]:
    """The runtime pieces of the torch back end, copied verbatim so both compute the same thing; read
    from the text of `resdsl/backends/runtime.py` (not imported: generating code needs no torch)."""
    from importlib.resources import files

    text = files("resdsl.backends").joinpath("runtime.py").read_text(encoding="utf-8")
    sources = {node.name: ast.get_source_segment(text, node) for node in ast.parse(text).body
               if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    return [(name, sources[name]) for name in RUNTIME_PIECES] + [("Group", GROUP_SOURCE)]
