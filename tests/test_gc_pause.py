"""resdsl.perf.gc_paused: the collector is off while a network is built and back after, what was built
in the pause stays collectable, and a caller's own gc.freeze() is left alone."""
from __future__ import annotations

import gc
import weakref

from resdsl.perf import gc_paused


class _Node:
    pass


def test_collection_resumes_and_a_cycle_made_in_the_pause_is_still_reclaimed():
    was_enabled = gc.isenabled()
    gc.enable()
    try:
        with gc_paused():
            assert not gc.isenabled()
            node = _Node()
            node.self = node  # a reference cycle: only the collector can free it
            alive = weakref.ref(node)
        assert gc.isenabled()
        del node
        gc.collect()
        assert alive() is None
    finally:
        if not was_enabled:
            gc.disable()


def test_a_disabled_collector_stays_disabled():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        if was_enabled:
            gc.enable()


def test_a_callers_frozen_objects_stay_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with gc_paused():
            _Node()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
