"""Issue 12 reproducers, part 2: line separators, imports, outputs, `dot` time-outs and the Python API.
Each case states its expected exit code (CLI) or exception (API) and the message it must carry."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

import resdsl
from resdsl.diagnostics import LimitError, NameResolutionError, ResdslError, SpecSyntaxError, UsageError

from golden_util import run_cli

ROOT = Path(__file__).resolve().parent.parent
ONE_LINE = "network t { input 3x8x8; relu }"
SPEC = "network t {\n  input 3x8x8\n  conv1: conv 3x3 8\n  relu\n}\n"


# ---- line separators: the quoted line is the one the lexer counted -----------------------------------

@pytest.mark.parametrize("sep", ["\f", "\x85", "\u2028", "\u2029"], ids=["FF", "NEL", "LS", "PS"])
def test_a_separator_inside_a_comment_does_not_shift_the_quoted_line(sep):
    text = f"network t {{  # a comment{sep}that goes on\n  input 3x8x8\n  conv 3x3\n}}\n"
    with pytest.raises(ResdslError) as info:
        resdsl.load(text)
    err = info.value
    assert (err.span.line, err.span.column) == (3, 3)
    assert err.render().split("\n")[1] == "      conv 3x3"


@pytest.mark.parametrize("sep", ["\x0b", "\x1c", "\x1d", "\x1e"], ids=["VT", "FS", "GS", "RS"])
def test_a_control_separator_is_refused_where_it_is(sep):
    text = "network t {\n  input 3x8x8\n" + "  # " + "x" * 5000 + "\n  relu" + sep + "\n}\n"
    with pytest.raises(SpecSyntaxError) as info:
        resdsl.load(text)
    err = info.value
    assert f"control character U+{ord(sep):04X}" in err.message
    assert (err.span.line, err.span.column) == (4, 7)
    lines = err.render().split("\n")
    assert lines[1] == "      relu\ufffd" and lines[2] == "          ^"


def test_cr_only_line_ends_are_lines():
    text = "network t {\r  input 3x8x8\r  conv 3x3\r}\r"
    with pytest.raises(ResdslError) as info:
        resdsl.load(text)
    assert info.value.span.line == 3 and info.value.render().split("\n")[1] == "      conv 3x3"


def test_terminal_escapes_in_a_spec_are_not_printed():
    with pytest.raises(ResdslError) as info:
        resdsl.load('network t {\n  input 3x8x8 "\x1b]0;owned\x07"\n}\n')
    assert "\x1b" not in info.value.render() and "\x07" not in info.value.render()


# ---- imports -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, fragment", [
    ("/", "it names a directory, not a .res file"),
    (".", "it names a directory, not a .res file"),
    ("..", "it names a directory, not a .res file"),
    ("x" * 5000, "this import name has 5,000 characters; the limit is 1,024"),
    ("/etc/ld.so.conf", "only .res spec files can be imported"),
    ("nope", "no such file"),
    ("loop1", "cannot resolve it"),
    ("fifo.res", "is not a regular file"),
], ids=["root", "dot", "dotdot", "long", "not-res", "missing", "symlink-loop", "fifo"])
def test_hostile_imports_are_located_errors(tmp_path, name, fragment):
    (tmp_path / "loop1.res").symlink_to("loop2.res")
    (tmp_path / "loop2.res").symlink_to("loop1.res")
    os.mkfifo(tmp_path / "fifo.res")
    spec = tmp_path / "main.res"
    spec.write_text(f'import "{name}"\n{SPEC}')
    with pytest.raises(NameResolutionError) as info:
        resdsl.load(spec)
    assert fragment in info.value.message
    assert (info.value.span.line, info.value.span.column) == (1, 1)
    code, _, err = run_cli(tmp_path, ["check", "main.res"])
    assert code == 1 and err.startswith("main.res:1:1: error: ")


def test_an_error_never_echoes_a_line_of_a_file_that_is_not_a_spec(tmp_path):
    secret = tmp_path / "secret.conf"
    secret.write_text("include /etc/ld.so.conf.d/*.conf\n")
    spec = tmp_path / "main.res"
    spec.write_text(f'import "{secret}"\n{SPEC}')
    code, out, err = run_cli(tmp_path, ["check", "main.res"])
    assert code == 1 and "ld.so.conf.d" not in out + err
    code, out, err = run_cli(tmp_path, ["check", str(secret)])  # named directly: checked, never quoted
    assert code == 1 and "ld.so.conf.d/*.conf" not in out + err.split("\n", 1)[1:][0] if "\n" in err else True
    assert "    include" not in err


# ---- outputs -------------------------------------------------------------------------------------------

def _family(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "specs/cifar", tmp_path / "cifar")
    return tmp_path / "cifar"


@pytest.mark.parametrize("command", [["compile", "resnet20.res", "-o", "resnet20.res"],
                                     ["compile", "resnet20.res", "-o", "families/resnet_cifar.res"],
                                     ["draw", "resnet20.res", "-o", "families/../families/resnet_cifar.res"],
                                     ["draw", "resnet20.res", "-o", "link.dot"]])
def test_an_output_that_is_an_input_is_refused_and_the_input_untouched(tmp_path, command):
    folder = _family(tmp_path)
    (folder / "link.dot").symlink_to("resnet20.res")
    before = {p: p.read_bytes() for p in folder.rglob("*.res")}
    code, _, err = run_cli(folder, command)
    assert code == 2, err
    assert "is an input of this run" in err or "cannot tell the output format" in err
    assert {p: p.read_bytes() for p in folder.rglob("*.res")} == before


def test_draw_dot_over_its_own_input_is_refused(tmp_path):
    folder = _family(tmp_path)
    (folder / "x.dot").write_bytes((folder / "resnet20.res").read_bytes())
    before = (folder / "x.dot").read_bytes()
    code, _, err = run_cli(folder, ["draw", "x.dot", "-o", "x.dot"])
    assert code == 2 and "is an input of this run" in err
    assert (folder / "x.dot").read_bytes() == before


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_an_output_that_is_not_a_regular_file_is_refused(tmp_path, kind):
    folder = _family(tmp_path)
    target = {"fifo": folder / "out.dot", "device": Path("/dev/null"), "directory": folder / "out.dot"}[kind]
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    code, _, err = run_cli(folder, ["draw", "resnet20.res", "-o", str(target)])
    assert code == 2 and "resdsl writes regular files only" in err
    mode = os.stat(target).st_mode
    assert {"fifo": stat.S_ISFIFO, "device": stat.S_ISCHR, "directory": stat.S_ISDIR}[kind](mode)


def test_a_dot_time_out_is_a_usage_error_sized_to_the_graph(monkeypatch):
    import subprocess

    from resdsl.backends import graphviz_render

    def too_slow(*args, **kwargs):
        raise subprocess.TimeoutExpired("dot", kwargs.get("timeout", 0))

    monkeypatch.setattr(graphviz_render.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(graphviz_render.subprocess, "run", too_slow)
    source = resdsl.draw(ROOT / "specs/cifar/resnet20.res", level="op")
    with pytest.raises(UsageError) as info:
        graphviz_render.render(source, "svg")
    nodes = info.value.message.split("a graph of ")[1].split(" nodes")[0]
    assert "did not finish within 300 s" in info.value.message and int(nodes.replace(",", "")) > 20
    assert "--level block" in info.value.hint and ".dot" in info.value.hint


# ---- the Python API ------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, fragment", [
    (lambda: resdsl.load(b"network t { input 3x8x8; relu }"), TypeError, "got bytes"),
    (lambda: resdsl.load(None), TypeError, "got NoneType"),
    (lambda: resdsl.load(123), TypeError, "got int"),
    (lambda: resdsl.load(ONE_LINE, network=123), TypeError, "network name (str)"),
    (lambda: resdsl.count(ONE_LINE, batch="2"), TypeError, "whole number (int)"),
    (lambda: resdsl.count(ONE_LINE, batch=-3), UsageError, "batch must be between 1"),
    (lambda: resdsl.count(resdsl.load(ONE_LINE), depth=5), UsageError, "given a checked network and depth"),
    (lambda: resdsl.draw(ONE_LINE, level="bogus"), UsageError, "unknown level 'bogus'"),
    (lambda: resdsl.draw(ONE_LINE, output="/nonexistent-dir/x.dot"), UsageError, "does not exist"),
    (lambda: resdsl.draw(ONE_LINE, output=123), TypeError, "output=..."),
    (lambda: resdsl.load("specs/{x}.res"), UsageError, "no such file: specs/{x}.res"),
    (lambda: resdsl.loads("specs/cifar/resnet20.res"), SpecSyntaxError, "unexpected 'specs'"),
    (lambda: resdsl.load(ROOT / "specs/cifar/resnet20.res", depth=10 ** 200), UsageError, "more than 100 digits"),
    (lambda: resdsl.load(ROOT / "specs/cifar/resnet20.res", depth=float("inf")), UsageError, "not a finite"),
    (lambda: resdsl.load(ROOT / "specs/cifar/resnet20.res", depth=object()), TypeError, "the override depth"),
    (lambda: resdsl.load(text=b"x"), TypeError, "text=..."),
])
def test_api_arguments_are_checked(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)
    if issubclass(error, ResdslError):
        assert isinstance(info.value, ResdslError)


def test_text_and_paths_are_told_apart(tmp_path, monkeypatch):
    assert resdsl.load(ONE_LINE).name == "t"                      # one line that starts like a spec
    assert resdsl.loads(ONE_LINE).name == "t"
    assert resdsl.load(text=SPEC).name == "t"
    odd = tmp_path / "network {odd} name.res"                     # a path with a brace is a path
    odd.write_text(SPEC)
    monkeypatch.chdir(tmp_path)
    assert resdsl.load(odd.name).name == "t"
    assert resdsl.load(os.fspath(odd)).name == "t"


def test_count_draw_build_accept_the_same_sources():
    net = resdsl.load(ONE_LINE)
    assert resdsl.count(net) == resdsl.count(ONE_LINE)
    assert resdsl.draw(net) == resdsl.draw(ONE_LINE)


def test_draw_refuses_to_overwrite_its_spec(tmp_path):
    spec = tmp_path / "t.res"
    spec.write_text(SPEC)
    with pytest.raises(UsageError):
        resdsl.draw(spec, output=tmp_path / "t.res")
    assert spec.read_text() == SPEC
    resdsl.draw(spec, output=tmp_path / "t.dot")
    assert (tmp_path / "t.dot").read_text().startswith("digraph")


def test_limit_error_is_exported():
    assert issubclass(resdsl.LimitError, ResdslError) and resdsl.LimitError is LimitError


@pytest.mark.parametrize("cell, fragment", [
    ("params=1MiB", "params must be a number as the table prints it"),
    ("params=2KB", "params must be a number as the table prints it"),
    ("params=1e9999999", "this number is too large (it overflows)"),
    ("params=1e-9999999", "this number is too small (it underflows to 0)"),
    ("macs=" + "9" * 5000, "written with more than 100 digits"),
])
def test_absurd_table_cells_are_located_errors(tmp_path, cell, fragment):
    family = ROOT / "specs/cifar/families/resnet_cifar.res"
    (tmp_path / "t.res").write_text(f'import "{family}"\ntable t {{\n  r = resnet_cifar(20) :: {cell}\n}}\n')
    code, _, err = run_cli(tmp_path, ["table", "t.res"])
    assert code == 1 and err.startswith("t.res:3:") and fragment in err, err
