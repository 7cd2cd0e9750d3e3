"""The checked-network cache (resdsl/netcache.py): a hit is the network a fresh load gives, any edited
input is a miss, errors are never kept, and an entry can build nothing but a checked network."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from resdsl import netcache
from resdsl.pipeline import load
from resdsl.syntax import cache

ROOT = Path(__file__).resolve().parent.parent


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.net"))


@pytest.mark.parametrize("spec, overrides", [
    ("specs/torchvision/resnet152.res", {}),          # a budget line
    ("specs/torchvision/densenet121.res", {}),
    ("tests/golden/ok/family_override.res", {"depth": 56}),
])
def test_a_hit_is_the_fresh_network(cache_at, spec, overrides):
    fresh = load(ROOT / spec, overrides=overrides)
    assert len(entries(cache_at)) == 1
    again = load(ROOT / spec, overrides=overrides)
    assert again == fresh and again is not fresh
    assert again.by_stage == fresh.by_stage and again.budgets == fresh.budgets


def test_each_input_is_in_the_key(cache_at):
    spec = ROOT / "tests/golden/ok/family_override.res"
    params = {load(spec).params, load(spec, overrides={"depth": 56}).params,
              load(spec, input_shape=(3, 64, 64)).params}
    assert len(params) == 2 and len(entries(cache_at)) == 3  # the input size changes MACs, not params


def test_an_edited_import_is_a_miss(cache_at, tmp_path):
    (tmp_path / "blocks.res").write_text("block mine(w) {\n  conv 3x3 w, bn, relu\n}\n")
    spec = tmp_path / "net.res"
    spec.write_text('import "blocks.res"\nnetwork n {\n  input 3x32x32\n  mine 16\n}\n')
    before = load(spec).params
    (tmp_path / "blocks.res").write_text("block mine(w) {\n  conv 3x3 w, bn, relu, conv 3x3 w\n}\n")
    after = load(spec).params
    assert after > before
    (tmp_path / "blocks.res").unlink()
    with pytest.raises(Exception, match="blocks.res"):
        load(spec)  # a vanished import is not served from the cache


def test_errors_are_not_kept(cache_at):
    bad = "network x {\n  input 3x32x32\n  conv 3x3\n}\n"
    for _ in range(2):
        with pytest.raises(Exception, match="<string>:3"):
            load(bad)
    assert entries(cache_at) == []


def test_large_networks_are_not_kept(cache_at, monkeypatch):
    monkeypatch.setattr(netcache, "MAX_NODES", 10)
    load(ROOT / "specs/cifar/resnet20.res")
    assert entries(cache_at) == []


def test_a_planted_entry_cannot_run_code(cache_at, tmp_path):
    spec = ROOT / "specs/cifar/resnet20.res"
    fresh = load(spec)
    [entry] = entries(cache_at)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    entry.write_bytes(netcache.FORMAT + pickle.dumps(((), Evil())))
    assert load(spec) == fresh
    assert not marker.exists()
    entry.write_bytes(netcache.FORMAT + b"garbage")
    assert load(spec) == fresh


def test_the_cache_can_be_turned_off(cache_at, monkeypatch):
    monkeypatch.setenv(cache.OFF_ENV, "1")
    load(ROOT / "specs/cifar/resnet20.res")
    assert not cache_at.exists()


def test_values_we_cannot_key_on_are_not_cached(cache_at):
    assert netcache.key(ROOT / "specs/cifar/resnet20.res", None, {"depth": [1, 2]}, None, True) is None
    assert netcache.key(ROOT / "no-such-file.res", None, None, None, True) is None
