"""Start-up: `import resdsl` and each command import only what they use (see bench/bench_all.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    script = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    return set(out.stdout.split())


def test_import_resdsl_imports_nothing_else():
    modules = imported_after("import resdsl")
    ours = {m for m in modules if m.startswith("resdsl.")}
    assert ours == set(), ours
    assert not {"lark", "torch", "graphviz"} & modules


def test_the_api_names_are_still_there():
    modules = imported_after("import resdsl\n"
                             "assert resdsl.ResdslError.__name__ == 'ResdslError'\n"
                             "assert resdsl.Network.__name__ == 'Network'\n"
                             "assert callable(resdsl.load) and callable(resdsl.draw)\n"
                             "assert 'Network' in dir(resdsl)\n"
                             "try:\n    resdsl.nope\nexcept AttributeError:\n    pass\n"
                             "else:\n    raise SystemExit('resdsl.nope did not raise')\n")
    assert "lark" not in modules and "torch" not in modules


def test_a_warm_count_does_not_import_lark_or_the_parser(tmp_path):
    env = {"RESDSL_CACHE_DIR": str(tmp_path / "cache")}
    run = ("from resdsl.cli import main\nimport contextlib, io\n"
           "with contextlib.redirect_stdout(io.StringIO()):\n"
           "    assert main(['count', 'tests/golden/ok/family_override.res', '--set', 'depth=56']) == 0\n")
    cold = imported_after(run, env)
    assert "lark" in cold  # the first run parses
    warm = imported_after(run, env)
    assert not {"lark", "resdsl.syntax.parser", "torch", "graphviz"} & warm
    # Served by the checked-network cache: no elaborator (the AST only to read the --set value).
    assert "resdsl.elaborate.elaborator" not in warm
    plain = run.replace(", '--set', 'depth=56'", "")
    imported_after(plain, env)
    warm = imported_after(plain, env)
    assert not {"resdsl.syntax.ast", "resdsl.elaborate.elaborator", "resdsl.elaborate.values", "lark"} & warm


def test_registering_the_commands_imports_no_back_end():
    modules = imported_after("from resdsl.cli import build_parser\nbuild_parser()\n")
    assert not {m for m in modules if m.startswith(("resdsl.backends", "resdsl.elaborate", "resdsl.syntax"))}
    assert not {"lark", "torch", "graphviz"} & modules


def test_the_count_command_offers_the_report_levels():
    from resdsl.backends.count import LEVELS
    from resdsl.commands import count

    assert count.LEVELS == LEVELS
