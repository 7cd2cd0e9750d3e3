"""`resdsl diff`, `count --by layer`, display names of unlabelled ops, and the notebook representations."""
from __future__ import annotations

import json
import shutil

import pytest

import resdsl
from resdsl.backends.count import display_names
from resdsl.cli import main


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_diff_plain34_resnet34_shows_the_shortcuts(capsys):
    code, out, _ = cli(capsys, "diff", "paper/plain34", "paper/resnet34", "--json")
    data = json.loads(out)
    assert code == 0 and data["command"] == "diff"
    assert data["delta"]["params"] == 21_797_672 - 21_623_848
    by_stage = {r["stage"]: r for r in data["stages"]}
    assert by_stage["stem"]["delta"] == {"params": 0, "macs": 0, "activation_bytes": 0}
    # a 1x1/2 projection and its BN per downsampling stage: 128*64 + 2*128 params in conv3_x
    assert by_stage["conv3_x"]["delta"]["params"] == 64 * 128 + 2 * 128
    ops = {(o["stage"], o["op"]): (o["a"], o["b"]) for o in data["ops"]}
    assert ops[("conv3_x", "1x1 conv, 128, /2")] == (0, 1)
    assert ops[("conv2_x", "add (+)")] == (0, 3)
    assert sum(d["delta"]["params"] for d in data["stages"]) == data["delta"]["params"]


def test_diff_resnet50_v1_vs_v15_moves_the_stride(capsys):
    code, out, _ = cli(capsys, "diff", "paper/resnet50", "torchvision/resnet50")
    assert code == 0
    assert "conv3_x / layer2" in out
    assert "- conv3_x / layer2: 1x1 conv, 128, /2  1 -> 0" in out
    assert "+ conv3_x / layer2: 3x3 conv, 128, /2  0 -> 1" in out
    assert "+231.21M" in out          # 4.09G - 3.86G MACs, same params


def test_diff_same_network_has_no_differences(capsys):
    code, out, _ = cli(capsys, "diff", "resnet20", "cifar/resnet20")
    assert code == 0 and "ops: the same in every stage" in out


def test_display_names_say_what_an_unlabelled_op_is():
    net = resdsl.load("resnet20")
    names = display_names(net.graph)
    by_path = {n.path: names[n.id] for n in net.graph.nodes[1:]}
    assert by_path["layer1.0.2"] == "layer1.0.relu" and by_path["layer1.0.5"] == "layer1.0.relu_2"
    assert by_path["layer1.0.conv1"] == "layer1.0.conv1"
    assert len(set(names.values())) == len(names)


def test_count_by_layer(capsys):
    code, out, _ = cli(capsys, "count", "resnet20", "--by", "layer", "--json")
    rows = json.loads(out)["rows"]
    first = rows[0]
    assert (first["path"], first["name"], first["op"], first["output_shape"], first["params"]) == \
        ("conv1", "conv1", "3x3 conv, 16", [16, 32, 32], 432)
    assert sum(r["params"] for r in rows) == 269_722
    code, out, _ = cli(capsys, "count", "resnet20", "--by", "layer")
    assert "layer1.0.relu_2" in out and "3x3 conv, 16" in out and "total" in out


def test_summary_and_reprs():
    net = resdsl.load("resnet20")
    assert repr(net) == "<Network resnet20: 3x32x32 -> 10, 269,722 params, 40.55M MACs>"
    text = str(net.summary())
    assert "layer3.2.conv2" in text and "269,722" in text and "2 x MACs" in text
    assert [r["path"] for r in net.summary(by="stage").rows] == ["stem", "layer1", "layer2", "layer3", "head"]
    md = net._repr_markdown_()
    assert "| layer2 | basic | 32x16x16 | 51,072 |" in md
    svg = net._repr_svg_()
    if shutil.which("dot"):
        assert svg.lstrip().startswith(("<?xml", "<svg")) and "×3" in svg
    else:
        assert svg is None
