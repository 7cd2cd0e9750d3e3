"""What a name must be to become part of a built network: the one rule set for labels (module and
parameter names) and for the names that become Python classes.

`check` applies it (the elaborator as each label is made, then the verify pass over the graph), so a
spec that passes `check` never fails in `build` or `compile` on a name.  The back ends only turn a
legal name into their target (`self.conv1` or `getattr(self, "0")`); they keep no rules of their own.
Nothing here imports torch: the attributes of `torch.nn.Module` are listed (tests/test_names.py
compares the list with the installed torch).
"""
from __future__ import annotations

import keyword
import re
import unicodedata
from functools import lru_cache

# dir(torch.nn.Module) | vars(torch.nn.Module()) of torch 2.13.  A label equal to one would shadow it:
# `forward`, `training`, `state_dict`, `to`, ...
NN_MODULE_ATTRIBUTES = frozenset({
    "T_destination", "__annotations__", "__call__", "__class__", "__delattr__", "__dict__", "__dir__", "__doc__",
    "__eq__", "__format__", "__ge__", "__getattr__", "__getattribute__", "__getstate__", "__gt__", "__hash__",
    "__init__", "__init_subclass__", "__le__", "__lt__", "__module__", "__ne__", "__new__", "__reduce__",
    "__reduce_ex__", "__repr__", "__setattr__", "__setstate__", "__sizeof__", "__str__", "__subclasshook__",
    "__weakref__", "_apply", "_backward_hooks", "_backward_pre_hooks", "_buffers", "_call_impl",
    "_compiled_call_impl", "_forward_hooks", "_forward_hooks_always_called", "_forward_hooks_with_kwargs",
    "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_get_backward_hooks", "_get_backward_pre_hooks",
    "_get_name", "_is_full_backward_hook", "_load_from_state_dict", "_load_state_dict_post_hooks",
    "_load_state_dict_pre_hooks", "_maybe_warn_non_full_backward_hook", "_modules", "_named_members",
    "_non_persistent_buffers_set", "_parameters", "_register_load_state_dict_pre_hook",
    "_register_state_dict_hook", "_replicate_for_data_parallel", "_save_to_state_dict", "_slow_forward",
    "_state_dict_hooks", "_state_dict_pre_hooks", "_version", "_wrapped_call_impl", "add_module", "apply",
    "bfloat16", "buffers", "call_super_init", "children", "compile", "cpu", "cuda", "double", "dump_patches",
    "eval", "extra_repr", "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule",
    "half", "ipu", "load_state_dict", "modules", "mtia", "named_buffers", "named_children", "named_modules",
    "named_parameters", "parameters", "register_backward_hook", "register_buffer", "register_forward_hook",
    "register_forward_pre_hook", "register_full_backward_hook", "register_full_backward_pre_hook",
    "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook", "register_module",
    "register_parameter", "register_state_dict_post_hook", "register_state_dict_pre_hook", "requires_grad_",
    "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train", "training",
    "type", "xpu", "zero_grad",
})
# ... and the attributes resdsl's built modules set before their children (ResdslModule, its containers).
RESDSL_ATTRIBUTES = frozenset({"resdsl_network", "resdsl_block", "input_shape", "output_shape", "_steps", "_slots",
                               "_inputs", "_output", "_training_plan", "_eval_plan", "_outputs_type"})

# A label that is not a Python identifier may still name a module (torchvision's RegNet has `block1-0`):
# ASCII letters, digits, `_` and `-`.  Generated code reaches such a module with getattr.
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


@lru_cache(maxsize=8192)  # a pure function of the name; a network repeats few names (`conv1`, `0`, ...)
def label_problem(name: str) -> tuple[str, str] | None:
    """Why `name` cannot name a module or parameter of the built network, with a hint; None if it can."""
    if not name:
        return "an empty label", "give it a name"
    folded = unicodedata.normalize("NFKC", name)
    if folded != name:
        c = next((c for c in name if unicodedata.normalize("NFKC", c) != c), name[0])
        return (f"the label '{name}' changes under Unicode NFKC normalisation, as Python reads identifiers: "
                f"'{c}' (U+{ord(c):04X}) becomes '{unicodedata.normalize('NFKC', c)}', so '{name}' would be "
                f"'{folded}'", f"write '{folded}' (or plain ASCII)")
    if not (name.isidentifier() or _WORD.fullmatch(name)):
        bad = next((c for c in name if not (c.isascii() and (c.isalnum() or c in "_-"))), name[0])
        return (f"the label '{name}' cannot name a PyTorch module: '{bad}' (U+{ord(bad):04X}) is not allowed "
                "in it", "a label is a Python identifier, or ASCII letters, digits, _ and - (`block1-0`)")
    if name in NN_MODULE_ATTRIBUTES:
        return (f"the label '{name}' clashes with an attribute of torch.nn.Module",
                "rename it; PyTorch reserves names like forward, training, state_dict, to")
    if name in RESDSL_ATTRIBUTES:
        return (f"the label '{name}' clashes with an attribute of the module resdsl builds", "rename it")
    if name.startswith("__"):
        return (f"the label '{name}' starts with '__', which Python mangles inside a class",
                "rename it without the leading underscores")
    return None


def is_attribute(name: str) -> bool:
    """A legal label that generated code may write as `self.<name>`; other legal labels (`0`, `block1-0`,
    Python's keywords such as `import`) are registered with add_module and read with getattr."""
    return name.isidentifier() and not keyword.iskeyword(name)


def class_name(name: str) -> str:
    """`dense_layer` -> `DenseLayer`, `resnet50` -> `Resnet50`: the Python class of a block or network."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p]
    text = "".join(p[0].upper() + p[1:] for p in parts) or "Block"
    return text if text[0].isalpha() else "N" + text


def class_name_problem(name: str, what: str) -> tuple[str, str] | None:
    """Why the block or network `name` cannot become a Python class, with a hint; None if it can."""
    cls = class_name(name)
    if keyword.iskeyword(cls):
        return (f"the {what} '{name}' would be the Python class '{cls}', a keyword of Python",
                f"rename the {what} ('{name}_{what}', say)")
    return None


def field_name_problem(name: str, what: str) -> tuple[str, str] | None:
    """Why `name` cannot be a field (or, `what="type"`, the class name) of the named tuple a network
    returns in training, with a hint; None if it can (Python's `collections.namedtuple` rules)."""
    if not name.isidentifier() or keyword.iskeyword(name):
        return (f"the {what} '{name}' of the outputs is not a Python identifier",
                "name the outputs with an `outputs` statement: `outputs Outputs(logits=main, aux=aux1)`")
    if what != "type" and name.startswith("_"):
        return (f"the {what} '{name}' of the outputs starts with '_', which a named tuple refuses",
                "drop the leading underscore")
    return None
