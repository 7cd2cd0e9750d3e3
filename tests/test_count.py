"""`resdsl count` and `resdsl table`: reports, conventions, memory and the paper tables."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import resdsl
from resdsl.backends.count import report
from resdsl.cli import main
from resdsl.tables import compare, evaluate_file

ROOT = Path(__file__).resolve().parent.parent
TABLES = sorted((ROOT / "specs/tables").glob("*.res"))


def test_json_report_is_consistent(capsys):
    assert main(["count", str(ROOT / "specs/torchvision/resnet50.res"), "--json", "--by", "block"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"] == 25_557_032 and data["macs"] == 4_089_184_256
    assert data["flops"] == 2 * data["macs"]
    assert sum(r["params"] for r in data["rows"]) == data["params"]
    assert sum(r["macs"] for r in data["rows"]) == data["macs"]
    blocks = [r for r in data["rows"] if r["kind"] == "bottleneck"]
    assert len(blocks) == 3 + 4 + 6 + 3
    assert blocks[0]["path"] == "layer1.0" and blocks[0]["output_shape"] == [256, 56, 56]
    assert set(data["by_kind"]) == {"bn", "relu", "add", "maxpool", "avgpool"}
    assert data["memory"]["peak_activation_bytes_fp16"] * 2 == data["memory"]["peak_activation_bytes_fp32"]


def test_stage_rows_and_shares(capsys):
    assert main(["count", str(ROOT / "specs/torchvision/resnet18.res")]) == 0
    out = capsys.readouterr().out
    assert "MACs" in out and "torchvision's \"GFLOPS\"" in out and "= 2 x MACs" in out
    for stage in ("stem", "layer1", "layer4", "head", "total"):
        assert f"\n{stage} " in out
    assert "11,689,512  100.0%" in out


def test_batch_and_input_scale_what_they_should():
    spec = ROOT / "specs/torchvision/resnet50.res"
    one = report(resdsl.load(spec), batch=1)
    eight = report(resdsl.load(spec), batch=8)
    assert eight["macs"] == 8 * one["macs"] and eight["params"] == one["params"]
    assert eight["memory"]["peak_activation_bytes_fp32"] == 8 * one["memory"]["peak_activation_bytes_fp32"]
    from resdsl.pipeline import load
    large = load(spec, input_shape=(3, 448, 448))
    assert large.params == one["params"]
    # Every map has four times the pixels: conv MACs x4, the fc's 2,048,000 stay.
    assert large.macs == (one["macs"] - 2_048_000) * 4 + 2_048_000


def test_peak_memory_of_a_chain_by_hand():
    net = resdsl.load("network chain {\n input 1x4x4\n conv 3x3 2\n relu\n}\n")
    # input (16) + conv out (32) are alive while the conv runs; then conv out (32) + relu out (32).
    assert net.memory.peak_elements == 64
    assert net.memory.total_elements == 16 + 32 + 32


def test_peak_memory_keeps_the_skip_alive():
    net = resdsl.load("network skip {\n input 1x4x4\n add {\n  identity\n  { conv 3x3 1, relu }\n }\n}\n")
    # while relu runs: input (kept for the add) + conv out + relu out.
    assert net.memory.peak_elements == 3 * 16


@pytest.mark.parametrize("ours, text, how", [
    (269_722, "0.27M", "rounds"), (1_727_962, "1.7M", "rounds"), (3_663_761_408, "3.6G", "truncates"),
    (11_282_415_616, "11.3G", "rounds"), (15_470_264_320, "15.3G", "differs"), (10_327_706, "10.2M", "differs"),
    (269_722, "269722", "exact"), (269_723, "269722", "differs"), (6_979_642, "7.0M", "rounds"),
])
def test_published_figures_compare_at_their_printed_precision(ours, text, how):
    assert compare(ours, text, exact=False) == how


@pytest.mark.parametrize("table", TABLES, ids=lambda p: p.stem)
def test_every_shipped_table_reproduces_its_claims(table, capsys):
    assert main(["table", str(table)]) == 0, capsys.readouterr().out
    results = evaluate_file(table)
    claimed = [f for r in results for row in r.rows if row.claims for f in row.figures]
    assert all(f.matches for f in claimed)
    # a table claims something, unless no row prints a count (canziani_comparison: plotted figures only)
    assert claimed or not any(row.figures for r in results for row in r.rows)


def test_a_table_that_claims_a_wrong_figure_fails(tmp_path, capsys):
    spec = tmp_path / "t.res"
    spec.write_text((ROOT / "tests/golden/ok/family_override.res").read_text() +
                    'table wrong "a doctored table" {\n'
                    '  r20 = resnet_cifar(depth=20) :: params=0.28M\n'
                    '  r56 = resnet_cifar(56) :: params=0.85M, params_exact=853018\n}\n')
    assert main(["table", str(spec)]) == 1
    out = capsys.readouterr().out
    assert "NO differs" in out and "1 of 2 claiming rows" in out


def test_pool_indices_an_unpool_reads_count_as_int64():
    # A 1x4x4 input, a 2x2/2 max pool whose indices the unpool reads (4 values + 4 int64 indices), a
    # conv to 1x2x2, the unpool back to 1x4x4.  Torch keeps the indices in int64 whatever the dtype.
    text = "network u {\n input 1x4x4\n p: maxpool 2x2/2\n conv 3x3 1\n maxunpool @p\n}\n"
    net = resdsl.load(text)
    memory = net.memory
    assert memory.index_elements == 4
    assert memory.total_elements == 16 + 4 + 4 + 16
    assert memory.total_bytes(1, 4) == 40 * 4 + 4 * 8 and memory.total_bytes(2, 2) == 2 * (40 * 2 + 4 * 8)
    # Peak: while the unpool runs, the pool's output and indices (kept for it), the conv's output, and
    # the unpool's output are alive; the input was freed after the pool.
    peak = memory.peak(4)
    assert (peak.values, peak.indices) == (4 + 4 + 16, 4)
    assert memory.peak_bytes(1, 4) == 24 * 4 + 4 * 8 and memory.peak_bytes(3, 2) == 3 * (24 * 2 + 4 * 8)
    assert report(net)["memory"]["peak_activation_bytes_fp32"] == 128
    with pytest.raises(ValueError, match="8-byte"):
        memory.peak(8)
