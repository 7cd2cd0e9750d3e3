"""The figures `resdsl list` shows of shipped specs are computed ahead (resdsl/library_index.json): they
must be what a load of today's code gives, and an entry whose files changed must not be used."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from resdsl import library_index
from resdsl.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("build_library_index", ROOT / "scripts/build_library_index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fresh_index():
    read = library_index._entries  # (tests replace it)
    read.cache_clear()
    yield
    read.cache_clear()


def test_the_shipped_index_is_what_loading_every_spec_gives_today(monkeypatch):
    monkeypatch.setenv("RESDSL_NO_CACHE", "1")
    built = _script().build()
    shipped = json.loads(library_index.INDEX.read_text("utf-8"))
    stale = sorted(k for k in built["specs"].keys() | shipped["specs"].keys()
                   if built["specs"].get(k) != shipped["specs"].get(k))
    assert not stale, (f"resdsl/library_index.json is stale for {stale[:5]} (of {len(stale)}): "
                       "run python scripts/build_library_index.py")
    assert len(built["specs"]) >= 120  # every shipped spec that loads


def test_an_entry_is_used_only_while_its_files_are_unchanged(monkeypatch, fresh_index):
    entry = json.loads(library_index.INDEX.read_text("utf-8"))["specs"]["cifar/resnet20"]
    assert "library/cifar/resnet20.res" in entry["files"] and "prelude/resnet.res" in entry["files"]
    assert library_index.lookup("cifar/resnet20", None) == entry["figures"]
    assert library_index.lookup("cifar/resnet20", "another_family") is None  # the header's family tag is keyed
    edited = {**entry, "files": {**entry["files"], "prelude/resnet.res": "0" * 32}}
    monkeypatch.setattr(library_index, "_entries", lambda: {"cifar/resnet20": edited})
    assert library_index.lookup("cifar/resnet20", None) is None
    gone = {**entry, "files": {**entry["files"], "library/cifar/no_such.res": "0" * 32}}
    monkeypatch.setattr(library_index, "_entries", lambda: {"cifar/resnet20": gone})
    assert library_index.lookup("cifar/resnet20", None) is None


@pytest.mark.parametrize("content", ["{not json", '{"format": "resdsl-library-index-0", "specs": {}}', "[]"])
def test_a_corrupt_or_foreign_index_is_no_index(content, tmp_path, monkeypatch, fresh_index):
    bad = tmp_path / "library_index.json"
    bad.write_text(content)
    monkeypatch.setattr(library_index, "INDEX", bad)
    assert library_index.lookup("cifar/resnet20", None) is None


def _params(name: str) -> int:
    import resdsl

    return resdsl.load(name).params


def test_list_shows_indexed_specs_without_loading_them(monkeypatch, capsys, fresh_index):
    import resdsl.commands.list as listing

    def refuse(*args, **kwargs):
        raise AssertionError("a spec was loaded")

    monkeypatch.setenv("RESDSL_NO_CACHE", "1")
    monkeypatch.setattr(listing, "compute", refuse)
    assert main(["list", "resnet20", "--collection", "cifar", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)["specs"]
    assert {r["name"]: r["params"] for r in records}["resnet20"] == _params("cifar/resnet20")


def test_a_spec_whose_file_changed_is_loaded_again(monkeypatch, capsys, fresh_index):
    """An index entry whose digest does not match is a miss: `list` loads the spec as before."""
    import resdsl.commands.list as listing

    monkeypatch.setenv("RESDSL_NO_CACHE", "1")
    monkeypatch.setattr(library_index, "_entries", lambda: {})
    loaded = []
    compute = listing.compute
    monkeypatch.setattr(listing, "compute", lambda *a, **k: loaded.append(a[0]) or compute(*a, **k))
    assert main(["list", "resnet20", "--collection", "cifar", "--json"]) == 0
    assert "resnet20.res" in [Path(p).name for p in loaded]
    records = json.loads(capsys.readouterr().out)["specs"]
    assert {r["name"]: r["params"] for r in records}["resnet20"] == _params("cifar/resnet20")


def test_a_first_list_imports_neither_the_parser_nor_the_ir():
    """What makes the first `list` fast: the indexed specs are not parsed, elaborated or counted."""
    import os
    import subprocess
    import sys

    script = ("import contextlib, io, sys\nfrom resdsl.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n    assert main(['list']) == 0\n"
              "print(sorted(m for m in sys.modules if m.startswith(('resdsl.ir', 'resdsl.elaborate', 'lark'))))\n")
    env = {**os.environ, "RESDSL_NO_CACHE": "1", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
