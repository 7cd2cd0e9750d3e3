"""The spec library by name (resdsl/catalog.py), `resdsl list`, and `resdsl check` on every kind of file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import resdsl
from resdsl import catalog
from resdsl.cli import main
from resdsl.diagnostics import UsageError

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_library_is_the_repository_specs_folder():
    assert catalog.library_dir().resolve() == SPECS.resolve()
    names = {e.qualified for e in catalog.entries()}
    assert {"torchvision/resnet152", "paper/resnet50", "cifar/resnet20", "tables/resnet_cifar_table6"} <= names
    assert not any("families" in n for n in names)


@pytest.mark.parametrize("name, expected", [
    ("resnet50", "torchvision/resnet50.res"),          # torchvision first
    ("resnet50.res", "torchvision/resnet50.res"),
    ("paper/resnet50", "paper/resnet50.res"),
    ("specs/paper/resnet50.res", "paper/resnet50.res"),  # README paths work anywhere
    ("resnet20", "cifar/resnet20.res"),
    ("torchvision/families/resnet", "torchvision/families/resnet.res"),
])
def test_names_resolve_in_precedence_order(name, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    resolution = catalog.resolve(name)
    assert resolution.path == SPECS.resolve() / expected or resolution.path.resolve() == (SPECS / expected).resolve()


def test_ambiguous_name_says_which_collection_was_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    note = catalog.resolve("resnet50").note
    assert "torchvision/resnet50.res" in note and "paper/resnet50" in note
    assert catalog.resolve("resnet20").note is None


def test_a_local_file_wins_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "resnet152.res").write_text("network resnet152 {\n  input 3x8x8\n  conv 3x3 4\n}\n")
    code, out, err = cli(capsys, "check", "resnet152.res")
    assert code == 0 and "3x8x8" in out
    assert "local file resnet152.res" in err and "torchvision/resnet152" in err
    assert resdsl.load("resnet152.res").params == 3 * 9 * 4   # the local file, not the library's


def test_unknown_name_gets_did_you_mean(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "count", "resnet125")
    assert code == 2
    assert "no such file or library spec: resnet125" in err and "'resnet152'" in err
    with pytest.raises(UsageError, match="densnet121"):
        resdsl.load("densnet121")


def test_api_by_name_with_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resdsl.load("resnet152").params == 60_192_808
    assert resdsl.load("paper/resnet50").macs < resdsl.load("resnet50").macs   # v1 strides the 1x1
    net = resdsl.load("densenet121", classes=10)
    assert net.output_type.shape == (10,) and net.params == 6_964_106


def test_count_and_table_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli(capsys, "count", "resnet152", "--json")
    assert code == 0 and json.loads(out)["params"] == 60_192_808
    code, out, _ = cli(capsys, "table", "resnet_cifar_table6")
    assert code == 0 and "resnet110" in out


def test_header_metadata():
    h = catalog.header("# DenseNet-121 (Huang et al. 2017, Table 1), blocks (6, 12, 24, 16)\nimport \"x\"\n")
    assert (h.title, h.paper) == ("DenseNet-121", "Huang et al. 2017")
    h = catalog.header("# Network in Network for CIFAR-10 (Lin, Chen & Yan 2014), as in Caffe.\n")
    assert h.paper == "Lin, Chen & Yan 2014"
    h = catalog.header("# A thing.\n# paper: Someone 1999\nnetwork x { input 1x1x1 }\n")
    assert h.paper == "Someone 1999"


def test_list_table_and_json(capsys):
    code, out, _ = cli(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    row = next(line for line in lines if line.startswith("resnet152 "))
    assert "60.19M" in row and "11.51G" in row and "3x224x224" in row and "He et al. 2016" in row
    assert any(line.startswith("paper/resnet50 ") for line in lines)   # shadowed: listed by full name
    code, out, _ = cli(capsys, "list", "--json", "densenet121")
    data = json.loads(out)
    assert data["command"] == "list" and data["ok"]
    (spec,) = [s for s in data["specs"] if s["name"] == "densenet121"]
    assert spec["params"] == 7_978_856 and spec["family"] == "torchvision_densenet"
    assert spec["input_shape"] == [3, 224, 224] and spec["paper"] == "Huang et al. 2017"


def test_list_filters(capsys):
    code, out, _ = cli(capsys, "list", "wrn*", "--collection", "cifar", "--json")
    names = [s["name"] for s in json.loads(out)["specs"]]
    assert names == ["wrn16_4", "wrn16_4_dropout", "wrn16_8", "wrn28_10"]
    code, out, err = cli(capsys, "list", "--collection", "cifa")
    assert code == 2 and "'cifar'" in err


@pytest.mark.parametrize("table", sorted(p.stem for p in (SPECS / "tables").glob("*.res")))
def test_check_a_table_file_checks_every_row(table, capsys):
    code, out, _ = cli(capsys, "check", f"tables/{table}", "--json")
    data = json.loads(out)
    assert code == 0 and data["kind"] == "tables" and data["ok"]
    rows = sum(len(t["rows"]) for t in data["tables"])
    assert rows >= 1 and all(r["params"] > 0 for t in data["tables"] for r in t["rows"])


def test_check_a_table_with_a_wrong_claim_fails(tmp_path, capsys):
    spec = tmp_path / "t.res"
    spec.write_text('network n { input 3x8x8\n  conv 3x3 4\n}\ntable t "x" {\n  a = n :: params=999\n}\n'
                    'network m { input 3x8x8\n conv 1x1 2\n}\n')
    (tmp_path / "only.res").write_text('import "t.res"\ntable t2 "y" {\n  a = n :: params_exact=108\n'
                                        '  b = m :: params_exact=1\n}\n')
    code, out, _ = cli(capsys, "check", str(tmp_path / "only.res"))
    assert code == 1 and "rows not reproduced: b" in out and "1 of 2 claiming rows" in out


def test_check_a_block_file(tmp_path, capsys):
    good = tmp_path / "blocks.res"
    good.write_text("block twice(c) {\n  conv 3x3 c, bn, relu\n  conv 3x3 c, bn\n}\n")
    code, out, _ = cli(capsys, "check", str(good))
    assert code == 0 and "1 block parse and resolve: twice" in out
    bad = tmp_path / "bad.res"
    bad.write_text("block twice(c) {\n  conv 3x3 c, bnn\n}\n")
    code, out, err = cli(capsys, "check", str(bad), "--json")
    assert code == 1
    (d,) = json.loads(out)["errors"]
    assert (d["line"], d["column"], d["message"]) == (2, 15, "unknown block or op 'bnn'")
    assert "bad.res:2:15: error" in err


def test_check_prelude_files_resolve(capsys):
    for path in sorted((ROOT / "resdsl" / "prelude").glob("*.res")):
        code, out, _ = cli(capsys, "check", str(path))
        assert code == 0 and "parse and resolve" in out, path


def test_table_markdown_and_latex(capsys):
    code, out, _ = cli(capsys, "table", "resnet_shortcut_options", "--markdown")
    assert code == 0
    assert "| resnet34_B | resnet_paper | 21,797,672 | 3.66G | params 21797672 | 21,797,672 | 0 | ok exact |" in out
    assert "|---|---|---:|---:|" in out
    code, out, _ = cli(capsys, "table", "resnet_shortcut_options", "--latex")
    assert code == 0
    assert "\\begin{tabular}{llrrlrrll}" in out and "\\end{tabular}" in out
    assert "resnet34\\_B & resnet\\_paper & 21,797,672 & 3.66G" in out
    assert all(line.endswith("\\\\") for line in out.splitlines() if " & " in line)


@pytest.mark.parametrize("bad", ["a\0b", "x" * 5000, "tables/../../etc/passwd"])
def test_odd_names_are_usage_errors(bad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no such file or library spec"):
        resdsl.load(bad)
