"""Auxiliary heads (`aux NAME: ITEM`) and the outputs statement, without torch: the IR they make,
counts per head and in total, check's line, the drawing, located errors, the checked-network cache."""
from __future__ import annotations

import json
import sys

import pytest

import resdsl
from resdsl.backends.count import render_text, report
from resdsl.backends.graphviz import DrawOptions, to_dot
from resdsl.cli import main
from resdsl.diagnostics import NameResolutionError, ResdslError, SpecSyntaxError, StructureError

# A small net with two heads declared in one order and returned in the other, as GoogLeNet does.
SPEC = """
block side(classes) {
  adaptive_avgpool 2x2
  conv: conv 1x1 4
  fc: fc classes
}
network tiny(aux=true) {
  input 3x16x16
  stem conv1: conv 3x3 8, relu
  layer1: conv 3x3/2 8
  if aux { aux aux1: side(5) }
  layer2: conv 3x3/2 16
  if aux { aux aux2: side(5) }
  head pool: gap, fc: fc 10
  if aux { outputs TinyOutputs(logits=main, aux_logits2=aux2, aux_logits1=aux1) }
}
"""

# side(5) on an 8-channel map: conv 8*4 = 32, fc 4*2*2*5 + 5 = 85; on 16 channels conv 64.
AUX1_PARAMS = 32 + 85
AUX2_PARAMS = 64 + 85


def load(text: str = SPEC, **overrides):
    return resdsl.load(text, **overrides)


def test_heads_are_side_branches_of_the_main_path():
    g = load().graph
    assert [h.name for h in g.heads] == ["aux1", "aux2"]
    aux1, aux2 = g.heads
    assert g.nodes[aux1.source].path == "layer1" and g.nodes[aux2.source].path == "layer2"
    assert g.nodes[aux1.output].path == "aux1.fc" and g.nodes[aux1.output].type.shape == (5,)
    # the main path goes on from the value the head read, and reads nothing of a head
    layer2 = next(n for n in g.nodes if n.path == "layer2")
    assert layer2.inputs == (aux1.source,)
    owner = g.head_of
    assert [g.nodes[i].path for i in range(len(g.nodes)) if owner[i] == 0] == ["aux1.0", "aux1.conv", "aux1.fc"]
    assert g.nodes[g.output].path == "fc" and owner[g.output] == -1
    assert [n.stage for n in g.nodes if owner[n.id] == 1] == ["aux2"] * 3


def test_outputs_statement_orders_the_training_outputs():
    order = load().graph.training_outputs
    assert order.type_name == "TinyOutputs"
    assert [(f.name, f.head) for f in order.fields] == [("logits", None), ("aux_logits2", "aux2"),
                                                        ("aux_logits1", "aux1")]


def test_without_outputs_statement_the_order_is_main_then_declaration_order():
    net = load(SPEC.replace("  if aux { outputs TinyOutputs(logits=main, aux_logits2=aux2, aux_logits1=aux1) }\n", ""))
    order = net.graph.training_outputs
    assert order.type_name == "Outputs" and order.names == ("main", "aux1", "aux2")


def test_switched_off_the_network_has_no_heads_and_the_main_path_is_unchanged():
    on, off = load(), load(aux=False)
    assert off.graph.heads == () and off.graph.training_outputs is None
    assert on.params == off.params + AUX1_PARAMS + AUX2_PARAMS
    assert on.macs == off.macs  # an inference pass runs the main path alone
    assert on.memory == off.memory
    assert on.totals.by_kind == off.totals.by_kind


def test_counts_per_head_and_total():
    net = load()
    heads = {h.name: h for h in net.totals.heads}
    assert heads["aux1"].params == AUX1_PARAMS and heads["aux2"].params == AUX2_PARAMS
    # aux1: conv on 2x2 (4 outputs per channel of 4) from 8 channels, fc 16 -> 5
    assert heads["aux1"].macs == 4 * 4 * 8 + 16 * 5
    assert heads["aux2"].macs == 4 * 4 * 16 + 16 * 5
    assert net.totals.training_macs == net.macs + heads["aux1"].macs + heads["aux2"].macs
    assert net.totals.main_params == load(aux=False).params


def test_json_report_has_each_head_and_the_totals(capsys, tmp_path):
    spec = tmp_path / "tiny.res"
    spec.write_text(SPEC)
    assert main(["count", str(spec), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"] == data["main_params"] + AUX1_PARAMS + AUX2_PARAMS
    assert sum(r["params"] for r in data["rows"]) == data["main_params"]
    assert sum(r["macs"] for r in data["rows"]) == data["macs"]
    assert [h["name"] for h in data["aux_heads"]] == ["aux1", "aux2"]
    aux1 = data["aux_heads"][0]
    assert aux1["after"] == "layer1" and aux1["output_shape"] == [5] and aux1["params"] == AUX1_PARAMS
    assert sum(r["params"] for r in aux1["rows"]) == AUX1_PARAMS
    assert data["training_macs"] == data["macs"] + sum(h["macs"] for h in data["aux_heads"])
    assert data["training_outputs"] == {"type": "TinyOutputs", "fields": [
        {"name": "logits", "output": "main"}, {"name": "aux_logits2", "output": "aux2"},
        {"name": "aux_logits1", "output": "aux1"}]}


def test_json_report_of_a_network_without_heads_is_unchanged():
    data = report(load(aux=False))
    assert not {"aux_heads", "main_params", "training_macs", "training_outputs"} & set(data)


def test_text_report_lists_the_heads_after_the_inference_total():
    text = render_text(report(load(), by="stage"))
    assert "aux heads  aux1 after layer1 -> 5:" in text
    assert "training returns TinyOutputs(logits, aux_logits2, aux_logits1)" in text
    lines = text.splitlines()
    inference = next(i for i, line in enumerate(lines) if line.startswith("total (inference)"))
    assert lines[inference + 1].startswith("aux1 ") and lines[inference + 2].startswith("aux2 ")
    assert lines[-1].startswith("total with aux heads (training)")
    assert f"{load().params:,}" in lines[-1]


def test_check_mentions_the_heads(capsys, tmp_path):
    spec = tmp_path / "tiny.res"
    spec.write_text(SPEC)
    assert main(["check", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "aux heads aux1 -> 5, aux2 -> 5 (training returns TinyOutputs(logits, aux_logits2, aux_logits1))" in out
    assert main(["check", str(spec), "--set", "aux=false"]) == 0
    assert "aux heads" not in capsys.readouterr().out


@pytest.mark.parametrize("level", ["stage", "block", "op"])
def test_drawing_hangs_the_heads_off_the_main_path(level):
    dot = to_dot([load()], DrawOptions(level=level))
    assert dot.count("aux output aux1 (training only)") == 1 and dot.count("aux output aux2 (training only)") == 1
    assert "auxiliary head (a training-time side output)" in dot  # the legend
    dashed = [line for line in dot.splitlines() if "->" in line and "dashed" in line]
    assert len(dashed) >= 2  # at least the edge into each head
    off = to_dot([load(aux=False)], DrawOptions(level=level))
    assert "aux" not in off


def test_head_labels_stay_inside_the_head():
    inside = net_with("  aux a: { x: conv 1x1 4, gap, fc 2 }\n  y: { @x, conv 1x1 4 }\n")
    err = error_of(inside)
    assert isinstance(err, NameResolutionError) and "'@x'" in err.message and err.span.line == 5
    assert load(inside.replace("@x", "@c1")).graph.heads[0].name == "a"


def test_a_head_may_read_earlier_tensors_of_the_main_path():
    net = load("""
network dsn {
  input 3x8x8
  c1: conv 3x3 4
  c2: conv 3x3 4
  aux side: { @c1, gap, fc 2 }
  head gap, fc 3
}
""")
    (head,) = net.graph.heads
    assert net.graph.nodes[net.graph.nodes[head.first].inputs[0]].path == "c1"


def test_the_cache_keeps_the_heads(tmp_path, monkeypatch):
    from resdsl.syntax import cache

    monkeypatch.setenv(cache.DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(cache.OFF_ENV, raising=False)
    cache.forget()
    spec = tmp_path / "tiny.res"
    spec.write_text(SPEC)
    fresh = resdsl.load(spec)
    assert list((tmp_path / "cache").glob("*.net"))
    again = resdsl.load(spec)
    assert again is not fresh and again.graph.heads == fresh.graph.heads
    assert again.graph.training_outputs == fresh.graph.training_outputs and again.totals == fresh.totals
    cache.forget()


def test_counting_and_drawing_heads_import_no_torch():
    import subprocess

    code = ("import sys, resdsl\nfrom resdsl.backends.count import report\n"
            "from resdsl.backends.graphviz import to_dot\n"
            f"net = resdsl.load({SPEC!r})\nreport(net); to_dot([net])\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- errors, located ------------------------------------------------------------------------------


def error_of(text: str) -> ResdslError:
    with pytest.raises(ResdslError) as info:
        load(text)
    return info.value


def net_with(lines: str) -> str:
    return "network n {\n  input 3x8x8\n  c1: conv 3x3 4\n" + lines + "  head gap, fc 3\n}\n"


def test_aux_inside_a_block_is_refused_at_its_line():
    err = error_of("block b() {\n  conv 1x1 4\n  aux a: { gap, fc 2 }\n}\nnetwork n {\n  input 3x8x8\n  b\n}\n")
    assert isinstance(err, SpecSyntaxError) and err.span.line == 3
    assert "top level of a network" in err.message and err.hint


def test_aux_inside_a_merge_is_refused():
    err = error_of(net_with("  add {\n    identity\n    aux a: { gap, fc 2 }\n  }\n"))
    assert isinstance(err, SpecSyntaxError) and "`aux` cannot be a branch" in err.message


def test_a_head_that_computes_nothing_is_refused():
    err = error_of(net_with("  aux a: @c1\n"))
    assert isinstance(err, StructureError) and "computes nothing" in err.message and err.span.line == 4


def test_main_cannot_name_a_head():
    err = error_of(net_with("  aux main: { gap, fc 2 }\n"))
    assert isinstance(err, NameResolutionError) and err.span.line == 4 and err.span.column == 7


def test_two_heads_of_one_name_are_refused():
    err = error_of(net_with("  aux a: { gap, fc 2 }\n  aux a: { gap, fc 2 }\n"))
    assert isinstance(err, NameResolutionError) and "duplicate name 'a'" in err.message and err.span.line == 5


@pytest.mark.parametrize("outputs, message", [
    ("outputs O(logits=main)", "the outputs leave out a"),
    ("outputs O(logits=main, x=a, y=a)", "'a' is returned twice"),
    ("outputs O(logits=main, logits=a)", "two fields named 'logits'"),
    ("outputs O(logits=main, x=b)", "'b' is not an output of this network"),
    ("outputs O(x=a)", "the outputs leave out main"),
])
def test_outputs_must_name_main_and_every_head_once(outputs, message):
    err = error_of(net_with(f"  aux a: {{ gap, fc 2 }}\n  {outputs}\n"))
    assert isinstance(err, NameResolutionError) and message in err.message and err.span.line == 5
    assert err.hint or err.diagnostics[0].notes


def test_outputs_given_twice_is_refused():
    err = error_of(net_with("  aux a: { gap, fc 2 }\n  outputs O(m=main, a=a)\n  outputs O(m=main, a=a)\n"))
    assert isinstance(err, SpecSyntaxError) and err.span.line == 6 and err.diagnostics[0].notes[0][0].line == 5


def test_output_names_must_be_named_tuple_fields():
    err = error_of(net_with('  aux "side-1": { gap, fc 2 }\n'))
    assert isinstance(err, NameResolutionError) and "'side-1'" in err.message and "outputs" in err.hint
    err = error_of(net_with("  aux a: { gap, fc 2 }\n  outputs O(_x=main, a=a)\n"))
    assert "starts with '_'" in err.message and err.span.line == 5
    err = error_of(net_with("  aux a: { gap, fc 2 }\n  outputs class(x=main, a=a)\n"))
    assert "type 'class'" in err.message


def test_aux_and_outputs_may_be_labels():
    net = load("network n {\n  input 3x8x8\n  aux: conv 3x3 4\n  outputs: conv 3x3 4\n  head gap, fc 3\n}\n")
    assert [n.path for n in net.graph.nodes if n.op.is_layer][:2] == ["aux", "outputs"]
    assert net.graph.heads == ()


def test_check_json_has_the_heads(capsys, tmp_path):
    spec = tmp_path / "tiny.res"
    spec.write_text(SPEC)
    assert main(["check", str(spec), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)["network"]
    assert [(h["name"], h["output_shape"], h["params"]) for h in record["aux_heads"]] == [
        ("aux1", [5], AUX1_PARAMS), ("aux2", [5], AUX2_PARAMS)]
    assert [f["name"] for f in record["training_outputs"]["fields"]] == ["logits", "aux_logits2", "aux_logits1"]
    assert main(["check", str(spec), "--json", "--set", "aux=false"]) == 0
    assert "aux_heads" not in json.loads(capsys.readouterr().out)["network"]
