"""The parse cache (resdsl/syntax/cache.py): same ASTs as parsing, safe entries, silent fallbacks."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from resdsl.syntax import cache, parser

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs/torchvision/resnet152.res"


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.ast")) if directory.is_dir() else []


def test_a_cached_parse_is_the_parse(cache_at):
    files = sorted((ROOT / "resdsl/prelude").glob("*.res")) + [SPEC]
    for path in files:
        text = path.read_text()
        assert cache.parse(text, str(path)) == parser.parse(text, str(path))
    assert len(entries(cache_at)) == len(files)
    cache.forget()  # from disk now, not memory
    for path in files:
        text = path.read_text()
        assert cache.parse(text, str(path)) == parser.parse(text, str(path))
    assert not list(cache_at.glob(".tmp-*")), "a temporary file was left behind"


def test_the_key_covers_the_name_and_the_text(cache_at):
    text = "network a {\n  input 3x32x32\n  conv 3x3 16\n}\n"
    first = cache.parse(text, "a.res")
    renamed = cache.parse(text, "b.res")
    assert renamed.span.file == "b.res" and first.span.file == "a.res"
    edited = cache.parse(text.replace("16", "32"), "a.res")
    assert edited != first
    assert len(entries(cache_at)) == 3


def test_expressions_are_cached_too(cache_at):
    assert cache.parse_expression("2 * 32") == parser.parse_expression("2 * 32")
    cache.forget()
    assert cache.parse_expression("2 * 32") == parser.parse_expression("2 * 32")
    assert len(entries(cache_at)) == 1


def test_a_planted_entry_cannot_run_code(cache_at, tmp_path):
    """An entry is read with an unpickler that builds AST classes only: `os.mkdir` cannot be named."""
    text = "network a {\n  input 3x32x32\n  conv 3x3 16\n}\n"
    cache.parse(text, "a.res")
    [entry] = entries(cache_at)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    entry.write_bytes(cache.FORMAT + pickle.dumps(Evil()))
    cache.forget()
    assert cache.parse(text, "a.res") == parser.parse(text, "a.res")
    assert not marker.exists()
    cache.forget()
    assert cache.parse(text, "a.res") == parser.parse(text, "a.res")  # the entry was rewritten


def test_a_corrupt_entry_is_a_miss(cache_at):
    text = "network a {\n  input 3x32x32\n  conv 3x3 16\n}\n"
    cache.parse(text, "a.res")
    [entry] = entries(cache_at)
    for junk in (b"", cache.FORMAT, cache.FORMAT + b"\x80\x05garbage", b"not a cache entry"):
        entry.write_bytes(junk)
        cache.forget()
        assert cache.parse(text, "a.res") == parser.parse(text, "a.res")


def test_an_entry_of_the_wrong_kind_is_a_miss(cache_at):
    text = "network a {\n  input 3x32x32\n  conv 3x3 16\n}\n"
    cache.parse(text, "a.res")
    [entry] = entries(cache_at)
    other = parser.parse("network b {\n  input 3x32x32\n}\n", "a.res")
    entry.write_bytes(cache.FORMAT + pickle.dumps(other.definitions[0]))  # a NetworkDef, not a Module
    cache.forget()
    assert cache.parse(text, "a.res") == parser.parse(text, "a.res")


def test_a_directory_others_can_write_is_not_used(cache_at):
    cache_at.mkdir(mode=0o700)
    cache_at.chmod(0o777)
    assert cache.cache_dir() is None
    cache.parse("network a {\n  input 3x32x32\n}\n", "a.res")
    assert entries(cache_at) == []


def test_an_unusable_directory_falls_back_silently(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(cache.DIR_ENV, str(blocker / "cache"))
    cache.forget()
    try:
        assert cache.cache_dir() is None
        text = "network a {\n  input 3x32x32\n}\n"
        assert cache.parse(text, "a.res") == parser.parse(text, "a.res")
    finally:
        cache.forget()


def test_the_cache_can_be_turned_off(cache_at, monkeypatch):
    monkeypatch.setenv(cache.OFF_ENV, "1")
    cache.parse("network a {\n  input 3x32x32\n}\n", "a.res")
    assert not cache_at.exists()


def test_lark_keeps_its_grammar_in_our_directory(cache_at):
    assert cache.grammar_cache_file() == str(cache_at / f"lark-{__import__('lark').__version__}.grammar")


def test_concurrent_cold_runs_agree(tmp_path):
    """Several processes filling one empty cache at once: each sees whole entries and the same counts."""
    env = {**os.environ, cache.DIR_ENV: str(tmp_path / "shared-cache"), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "resdsl", "count", str(SPEC), "--json"]
    runs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert not list((tmp_path / "shared-cache").glob(".tmp-*"))
