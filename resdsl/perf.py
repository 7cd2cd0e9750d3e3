"""Process-level settings that make large networks cheaper to build and draw."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cycle collector off while a network is built (or drawn), back to how it was after.

    Elaboration allocates hundreds of thousands of small acyclic objects (AST values, IR nodes, types);
    each allocation burst triggers a collection that walks every live object, so a 100,000-block spec
    spent about half its time in the collector.  Nothing built here forms reference cycles that must be
    reclaimed before the load returns, and collection resumes (with everything still collectable)
    as soon as it does.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:  # (a caller's own gc.freeze() must stay frozen)
                # Everything allocated in the pause is still young: the first collections after it would
                # walk the whole network, and again as it ages (a third of the time of counting a
                # 100,000-block network).  freeze + unfreeze hands it to the oldest generation unwalked;
                # it stays collectable, at the next full collection.
                gc.freeze()
                gc.unfreeze()
            gc.enable()
