"""`resdsl fmt`: canonical, idempotent, comment-preserving, and provably layout-only on every shipped spec."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import resdsl
from resdsl.cli import main
from resdsl.syntax.fmt import format_source, same_syntax, strip_spans
from resdsl.syntax.parser import parse

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "specs").rglob("*.res")) + sorted((ROOT / "resdsl" / "prelude").glob("*.res"))


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def test_fmt_check_passes_on_every_shipped_spec(capsys):
    assert main(["fmt", "--check", *map(str, SHIPPED)]) == 0
    assert f"0 of {len(SHIPPED)} files would be reformatted" in capsys.readouterr().err


@pytest.mark.parametrize("path", SHIPPED, ids=rel)
def test_fmt_is_idempotent_and_keeps_the_syntax_tree(path):
    text = path.read_text("utf-8")
    # The shipped specs are already canonical: un-format them first so the test exercises the rewrite.
    messy = "\n\n" + "\n".join("\t" + line.strip() + "   " if line.strip() else "\n" for line in text.splitlines())
    once = format_source(messy)
    assert format_source(once) == once
    assert strip_spans(parse(messy, "x")) == strip_spans(parse(text, "x")) == strip_spans(parse(once, "x"))
    assert once.count("#") == text.count("#")          # every comment survives


def test_counts_unchanged_after_formatting_every_spec(tmp_path):
    copy = tmp_path / "specs"
    shutil.copytree(ROOT / "specs", copy)
    for path in sorted(copy.rglob("*.res")):
        text = path.read_text("utf-8")
        path.write_text(format_source("\n".join("   " + line for line in text.splitlines())), "utf-8")
    for path in sorted((ROOT / "specs").rglob("*.res")):
        if "tables" in path.parts:
            continue
        a, b = resdsl.load(str(path)), resdsl.load(str(copy / path.relative_to(ROOT / "specs")))
        assert (a.params, a.macs, a.totals.buffers, a.output_type) == (b.params, b.macs, b.totals.buffers,
                                                                      b.output_type), path


def test_canonical_layout():
    messy = ('\n\n# head comment\nnetwork  n {\n\n input 3x8x8\n\n\n    conv 3x3 4,bn ,relu   # keep me\n'
             '\tstages basic shortcut=A {\n layer1: 16  x3\n  }\n\n}\n\n\n')
    assert format_source(messy) == ('# head comment\nnetwork  n {\n  input 3x8x8\n\n  conv 3x3 4, bn, relu   # keep me\n'
                                    '  stages basic shortcut=A {\n    layer1: 16  x3\n  }\n}\n')
    assert same_syntax(messy, format_source(messy))


def test_strings_and_continuations_are_left_alone():
    text = ('table t "a,b # not a comment" {\n  r = n() :: params=1M, \\\n      notes=2\n}\n'
            'network n(a=1,\n          b=2) {\n  input 3x8x8\n}\n')
    assert format_source(text) == text


def test_fmt_rewrites_in_place_and_refuses_a_broken_file(tmp_path, capsys):
    spec = tmp_path / "n.res"
    spec.write_text("network n {\ninput 3x8x8\n   conv 3x3 4\n}")
    assert main(["fmt", "--check", str(spec)]) == 1
    assert main(["fmt", str(spec)]) == 0
    assert spec.read_text() == "network n {\n  input 3x8x8\n  conv 3x3 4\n}\n"
    assert main(["fmt", "--check", str(spec)]) == 0
    broken = tmp_path / "b.res"
    broken.write_text("network n {\n  input 3x8x8\n  conv 3x3 4,\n")
    before = broken.read_text()
    assert main(["fmt", str(broken)]) == 1
    assert broken.read_text() == before
    assert "b.res:" in capsys.readouterr().err
