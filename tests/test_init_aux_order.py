"""`aux NAME @x: ITEM`: a head that reads an earlier tensor of the main path but registers its modules
where the line stands -- how googlenet.res puts aux1/aux2 after inception5b, as torchvision does, so a
seeded build draws torchvision's tensors (tests/test_init_torchvision.py checks them bitwise)."""
from __future__ import annotations

import pytest

import resdsl
from resdsl.diagnostics import ResdslError
from resdsl.ir.init import target_of

TEXT = """
block side(classes) {{ gap, fc: fc classes }}
network n {{
  input 3x16x16
  a: conv 3x3 4
  b: conv 3x3 8
  c: conv 3x3 16
  aux h1 {source}: side(10)
  head gap, fc: fc 10
}}
"""


def test_a_head_reads_the_tensor_it_names_and_stands_where_it_is_written():
    net = resdsl.load(TEXT.format(source="@a"))
    (head,) = net.graph.heads
    assert net.graph.nodes[head.source].path == "a"
    paths = [n.path for n in net.graph.nodes if n.op.is_layer]
    assert paths.index("h1.fc") > paths.index("c")  # registered after c, not after a
    assert net.graph.nodes[head.first].type.channels == 4  # it pools a's 4 maps
    plain = resdsl.load(TEXT.format(source="")).graph  # without a source: the current value, c
    assert plain.nodes[plain.heads[0].source].path == "c"


def test_an_unknown_source_is_a_located_error():
    with pytest.raises(ResdslError) as err:
        resdsl.load(TEXT.format(source="@bb"))
    assert "no tensor named '@bb'" in err.value.message
    assert err.value.span.line == 8 and err.value.span.column == 10
    assert "'@b'" in (err.value.hint or "")


def test_googlenet_registers_its_heads_after_inception5b_as_torchvision():
    net = resdsl.load("specs/torchvision/googlenet.res", aux_logits=True)
    assert [(h.name, net.graph.nodes[h.source].path.split(".")[0]) for h in net.graph.heads] == [
        ("aux1", "inception4a"), ("aux2", "inception4d")]
    order = list(dict.fromkeys(n.path.split(".")[0] for n in net.graph.nodes if target_of(n.op)))
    assert order[-4:] == ["inception5b", "aux1", "aux2", "fc"]
