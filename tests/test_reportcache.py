"""Stored count reports (resdsl/reportcache.py): a warm `resdsl count` prints exactly what a fresh one
does, any edited input or other option is a miss, and the cache's failures fall back to counting."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from resdsl import reportcache
from resdsl.cli import main
from resdsl.syntax import cache

ROOT = Path(__file__).resolve().parent.parent


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.count")) if directory.is_dir() else []


def count(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["count", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args", [
    ("specs/torchvision/resnet152.res",),                         # a budget line in the header
    ("specs/torchvision/googlenet.res", "--by", "block"),         # aux heads
    ("specs/torchvision/densenet121.res", "--by", "layer", "--json"),
    ("tests/golden/ok/family_override.res", "--set", "depth=56", "--batch", "8", "--input", "3x64x64"),
])
def test_a_stored_report_prints_what_counting_prints(cache_at, capsys, monkeypatch, args):
    args = (str(ROOT / args[0]), *args[1:])
    fresh = count(capsys, *args)
    assert len(entries(cache_at)) == 1
    with monkeypatch.context() as patch:
        patch.setattr("resdsl.pipeline.load_traced", None)  # a hit must not load the spec at all
        assert count(capsys, *args) == fresh
    monkeypatch.setenv(cache.OFF_ENV, "1")  # and what was stored is what counting gives
    assert count(capsys, *args) == fresh


def test_every_option_that_changes_the_report_is_in_the_key(cache_at, capsys):
    spec = str(ROOT / "tests/golden/ok/family_override.res")
    outputs = [count(capsys, spec, *extra)[1] for extra in
               [(), ("--by", "block"), ("--by", "op"), ("--batch", "2"), ("--input", "3x64x64"),
                ("--set", "depth=56"), ("--json",)]]
    # --json prints the same report as JSON: one entry serves both.
    assert len(set(outputs)) == len(outputs) and len(entries(cache_at)) == len(outputs) - 1
    again = [count(capsys, spec, *extra)[1] for extra in [(), ("--batch", "2"), ("--set", "depth=56")]]
    assert again == [outputs[0], outputs[3], outputs[5]]


def test_an_edited_import_is_a_miss(cache_at, capsys, tmp_path):
    (tmp_path / "blocks.res").write_text("block mine(w) {\n  conv 3x3 w, bn, relu\n}\n")
    spec = tmp_path / "net.res"
    spec.write_text('import "blocks.res"\nnetwork n {\n  input 3x32x32\n  mine 16\n}\n')
    before = json.loads(count(capsys, spec, "--json")[1])["params"]
    assert json.loads(count(capsys, spec, "--json")[1])["params"] == before  # (a hit)
    (tmp_path / "blocks.res").write_text("block mine(w) {\n  conv 3x3 w, bn, relu, conv 3x3 w\n}\n")
    after = json.loads(count(capsys, spec, "--json")[1])["params"]
    assert after == before + 16 * 16 * 9
    spec.write_text(spec.read_text().replace("mine 16", "mine 8"))
    assert json.loads(count(capsys, spec, "--json")[1])["params"] < after
    (tmp_path / "blocks.res").unlink()
    code, _, err = count(capsys, spec)
    assert code == 1 and "blocks.res" in err  # a vanished import is not served from a stored report


def test_an_exceeded_budget_fails_the_command_from_a_stored_report_too(cache_at, capsys, tmp_path):
    spec = tmp_path / "tight.res"
    spec.write_text("network n {\n  input 3x32x32\n  budget params <= 100\n  conv 3x3 16\n}\n")
    first = count(capsys, spec)
    assert first[0] == 1 and "params budget <= 100 exceeded" in first[2] and "params" in first[1]
    assert count(capsys, spec) == first and len(entries(cache_at)) == 1


def test_errors_are_not_kept(cache_at, capsys, tmp_path):
    spec = tmp_path / "bad.res"
    spec.write_text("network x {\n  input 3x32x32\n  conv 3x3\n}\n")
    for _ in range(2):
        assert count(capsys, spec)[0] == 1
    assert entries(cache_at) == []


def test_a_corrupt_or_foreign_entry_is_a_miss(cache_at, capsys):
    spec = ROOT / "specs/cifar/resnet20.res"
    fresh = count(capsys, spec)
    [entry] = entries(cache_at)
    stored = json.loads(entry.read_bytes()[len(reportcache.FORMAT):])
    for planted in [b"garbage", reportcache.FORMAT + b"{\"deps\": 3}", reportcache.FORMAT + b"[1, 2]",
                    reportcache.FORMAT + json.dumps({**stored, "errors": [1]}).encode(),
                    b"resdsl-count-0\n" + json.dumps(stored).encode()]:
        entry.write_bytes(planted)
        assert count(capsys, spec) == fresh
    # A dependency's digest that no longer matches (an edited prelude file, say): counted again.
    stored["report"]["params"] = 1
    stored["deps"][0][1] = "00" * 20
    entry.write_bytes(reportcache.FORMAT + json.dumps(stored).encode())
    assert count(capsys, spec) == fresh


def test_an_unwritable_cache_falls_back_silently(cache_at, capsys, monkeypatch):
    spec = ROOT / "specs/cifar/resnet20.res"
    fresh = count(capsys, spec)
    [entry] = entries(cache_at)
    entry.unlink()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Read-only file system")

    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "mkstemp", refuse)  # as on a read-only mount (root ignores chmod)
        assert count(capsys, spec) == fresh and entries(cache_at) == []
    assert count(capsys, spec) == fresh and len(entries(cache_at)) == 1
    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "mkstemp", refuse)
        assert count(capsys, spec) == fresh  # a read-only cache still serves what it holds
    blocker = cache_at / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(cache.DIR_ENV, str(blocker / "cache"))  # no cache directory at all
    assert count(capsys, spec) == fresh


def test_the_switch_bypasses_it(cache_at, capsys, monkeypatch):
    spec = ROOT / "specs/cifar/resnet20.res"
    fresh = count(capsys, spec, "--json")
    [entry] = entries(cache_at)
    stored = json.loads(entry.read_bytes()[len(reportcache.FORMAT):])
    stored["report"]["params"] = 1  # a wrong but well-formed entry: only a bypass can tell
    entry.write_bytes(reportcache.FORMAT + json.dumps(stored).encode())
    monkeypatch.setenv(cache.OFF_ENV, "1")
    assert count(capsys, spec, "--json") == fresh


def test_a_warm_count_imports_no_ir(tmp_path):
    env = {**os.environ, cache.DIR_ENV: str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    script = ("import contextlib, io, sys\nfrom resdsl.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              "    assert main(['count', 'specs/torchvision/resnet152.res']) == 0\n"
              "print(sorted(m for m in sys.modules if m.startswith('resdsl.')))\n")
    runs = [subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert "resdsl.ir.ops" in runs[0]
    assert "resdsl.ir" not in runs[1] and "resdsl.network" not in runs[1], runs[1]


def test_concurrent_cold_runs_leave_whole_entries(tmp_path):
    """Several processes storing the same reports at once: the same output, only whole entries."""
    shared = tmp_path / "shared-cache"
    env = {**os.environ, cache.DIR_ENV: str(shared), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "resdsl", "count", str(ROOT / "specs/cifar/resnet20.res"), "--by", "op"]
    runs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0] * 4, [err for _, err in outputs]
    assert len({out for out, _ in outputs}) == 1
    assert not list(shared.glob(".tmp-*"))
    [entry] = entries(shared)
    stored = json.loads(entry.read_bytes()[len(reportcache.FORMAT):])  # whole JSON, not a torn write
    assert stored["report"]["by"] == "op" and stored["errors"] == []
    again = subprocess.run(cmd, env=env, capture_output=True, check=True).stdout
    assert again == outputs[0][0]


def test_another_resdsl_version_is_a_miss(cache_at, capsys, monkeypatch):
    import resdsl
    from resdsl import netcache

    spec = ROOT / "specs/cifar/resnet20.res"
    fresh = count(capsys, spec, "--json")
    [entry] = entries(cache_at)
    stored = json.loads(entry.read_bytes()[len(reportcache.FORMAT):])
    stored["report"]["params"] = 1
    entry.write_bytes(reportcache.FORMAT + json.dumps(stored).encode())
    monkeypatch.setattr(resdsl, "__version__", resdsl.__version__ + ".post1")
    netcache._fingerprint.cache_clear()
    try:
        assert count(capsys, spec, "--json") == fresh and len(entries(cache_at)) == 2
    finally:
        netcache._fingerprint.cache_clear()


def test_a_warm_list_shows_what_a_fresh_one_does(tmp_path):
    """`resdsl list` keeps each spec's figures (tables' row counts too): the second run checks nothing.
    (Without the shipped index, resdsl/library_index.py, which serves unchanged shipped specs before this.)"""
    env = {**os.environ, cache.DIR_ENV: str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    script = ("import contextlib, io, sys\nfrom resdsl.cli import main\nout = io.StringIO()\n"
              "import resdsl.library_index\nresdsl.library_index._entries = lambda: {}\n"
              "with contextlib.redirect_stdout(out):\n"
              "    assert main(['list', '--collection', 'cifar', '--collection', 'tables', '--json']) == 0\n"
              "print(out.getvalue())\nprint(sorted(m for m in sys.modules if m.startswith('resdsl.ir')))\n")

    def run(**extra: str) -> tuple[str, str]:
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, **extra}, capture_output=True,
                             text=True, check=True).stdout
        listing, _, modules = out.rstrip().rpartition("\n")
        return listing, modules

    fresh, _ = run(**{cache.OFF_ENV: "1"})
    first, _ = run()
    warm, modules = run()
    assert fresh == first == warm
    assert {"table", "network"} <= {r["kind"] for r in json.loads(fresh)["specs"]}
    assert len(list((tmp_path / "cache").glob("*.list"))) == len(json.loads(fresh)["specs"])
    assert modules == "[]", modules
