"""A fixed-seed sample of the mutation battery (bench/fuzz.py): a couple of hundred broken specs through
the API and the CLI, in-process.  Any exception other than ResdslError, an exit code other than 0/1/2, an
unlocated error or a wrongly quoted line fails the test with the mutant that caused it."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _battery():
    spec = importlib.util.spec_from_file_location("resdsl_fuzz", ROOT / "bench" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_fixed_seed_sample_of_the_battery_finds_nothing(tmp_path):
    battery = _battery()
    results = battery.run_inline(seed=2026, n=160, workdir=tmp_path)
    assert len(results) == 160
    kinds = {r["api"] for r in results if "api" in r}
    assert {"ok", "error"} <= kinds  # the sample exercises both sides
    bad = battery.failures(results)
    assert not bad, "\n".join(json.dumps(r)[:600] for r in bad[:5])


def test_the_battery_detects_a_misquoted_line():
    """The oracle itself can fail: a rendering that quotes the wrong line is reported."""
    battery = _battery()
    import resdsl

    try:
        resdsl.load("network t { # x\u2028y\n  input 3x8x8\n  conv 3x3\n}\n")
    except resdsl.ResdslError as err:
        good = err.render()
        assert battery.quote_problems(err, good) == []
        wrong = good.replace("      conv 3x3", "      input 3x8x8", 1)
        assert battery.quote_problems(err, wrong)
