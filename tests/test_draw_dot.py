"""`resdsl draw`: the structure of the DOT it produces, parsed back — node and edge counts per level,
every skip present and styled, ×N collapse — for the shipped specs and a few written here."""
from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import resdsl
from resdsl.backends.graphviz import DrawOptions, to_dot
from resdsl.backends.graphviz_style import EDGE_STYLES
from resdsl.ir import ops

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


# ---- a small parser for the DOT we write ------------------------------------------------------

_TOKEN = re.compile(r'''\s*(?:
    (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<html><)
  | (?P<arrow>->)
  | (?P<punct>[\[\]{}=;,])
  | (?P<id>[^\s\[\]{}=;,"<>]+)
)''', re.X | re.S)


def _tokens(text: str):
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if not m or m.end() == i:
            if text[i:].strip() == "":
                return
            raise ValueError(f"cannot tokenise DOT at {text[i:i + 40]!r}")
        if m.group("html"):
            start = m.start("html")
            depth, j = 0, start
            while True:  # an HTML-like value: balanced < ... >
                depth += {"<": 1, ">": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
            yield "value", text[start:j]
            i = j
            continue
        i = m.end()
        for kind in ("string", "arrow", "punct", "id"):
            if m.group(kind) is not None:
                value = m.group(kind)
                if kind == "string":
                    yield "value", value[1:-1].replace('\\"', '"')
                elif kind == "id":
                    yield "value", value
                else:
                    yield value, value
                break


@dataclass
class Dot:
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: dict[str, list[str]] = field(default_factory=dict)   # cluster -> nodes declared in it
    parents: dict[str, str | None] = field(default_factory=dict)   # cluster -> enclosing cluster

    def drawn(self, prefix: str = "") -> dict[str, dict[str, str]]:
        """The network's nodes (not the legend)."""
        return {k: v for k, v in self.nodes.items() if k != "legend" and k.startswith(prefix)}

    def skip_edges(self, kind: str) -> list[tuple[str, str, dict[str, str]]]:
        color = EDGE_STYLES[kind]["color"]
        return [e for e in self.edges if e[2].get("color") == color]

    def flow_edges(self) -> list[tuple[str, str, dict[str, str]]]:
        return [e for e in self.edges if "color" not in e[2]]


def parse_dot(text: str) -> Dot:
    """Nodes, edges and clusters of a DOT graph in the layout the graphviz package writes."""
    dot = Dot()
    toks = list(_tokens(text))
    stack: list[str | None] = [None]
    i = 0

    def attrs(j: int) -> tuple[dict[str, str], int]:
        out: dict[str, str] = {}
        if j < len(toks) and toks[j][0] == "[":
            j += 1
            while toks[j][0] != "]":
                key = toks[j][1]
                assert toks[j + 1][0] == "=", toks[j:j + 3]
                out[key] = toks[j + 2][1]
                j += 3
                if toks[j][0] in (",", ";"):
                    j += 1
            j += 1
        return out, j

    while i < len(toks):
        kind, value = toks[i]
        if kind == "value" and value in ("digraph", "strict") or (value == "graph" and not stack[1:] and i == 0):
            i += 1
            if toks[i][0] == "value" and toks[i][1] not in ("digraph", "graph"):
                i += 1  # the graph's name
            continue
        if kind == "value" and value == "subgraph":
            name = toks[i + 1][1]
            dot.clusters.setdefault(name, [])
            dot.parents.setdefault(name, stack[-1])
            stack.append(name)
            i += 3  # subgraph NAME {
            continue
        if kind == "{":  # an anonymous subgraph (rank=same): its nodes stay where they were declared
            stack.append(stack[-1])
            i += 1
            continue
        if kind == "}":
            stack.pop()
            i += 1
            continue
        if kind == "value" and value in ("node", "edge") and i + 1 < len(toks) and toks[i + 1][0] == "[":
            _, i = attrs(i + 1)
            continue
        if kind == "value" and i + 1 < len(toks) and toks[i + 1][0] == "=":
            i += 3  # a graph attribute: key=value
            continue
        if kind == "value" and i + 1 < len(toks) and toks[i + 1][0] == "->":
            tail, head = value, toks[i + 2][1]
            found, i = attrs(i + 3)
            dot.edges.append((tail, head, found))
            continue
        if kind == "value":
            found, i = attrs(i + 1)
            if value == "graph":
                continue
            if value not in dot.nodes and stack[-1] is not None:
                dot.clusters[stack[-1]].append(value)
            dot.nodes.setdefault(value, {}).update(found)
            continue
        i += 1
    return dot


def test_parser_reads_nodes_edges_clusters_and_html_labels():
    text = ('digraph g {\n\tgraph [rankdir=TB]\n\tsubgraph cluster_a {\n\t\tlabel="a"\n'
            '\t\tn1 [label=<<b>x &amp; y</b><br/>z> shape=box]\n\t}\n\tn2 [label="p\\"q"]\n'
            '\tn1 -> n2 [label="3x3" color="#fff"]\n}\n')
    dot = parse_dot(text)
    assert dot.nodes["n1"]["label"] == "<<b>x &amp; y</b><br/>z>"
    assert dot.nodes["n2"]["label"] == 'p"q'
    assert dot.edges == [("n1", "n2", {"label": "3x3", "color": "#fff"})]
    assert dot.clusters == {"cluster_a": ["n1"]}


# ---- helpers ----------------------------------------------------------------------------------

_CACHE: dict[tuple, resdsl.Network] = {}


def net(spec: str, **overrides) -> resdsl.Network:
    key = (spec, tuple(sorted(overrides.items())))
    if key not in _CACHE:
        path = SPECS / spec if (SPECS / spec).exists() else spec
        _CACHE[key] = resdsl.load(path, **overrides)
    return _CACHE[key]


def dot_of(*nets: resdsl.Network, level: str = "block", expand: bool = False) -> Dot:
    return parse_dot(to_dot(list(nets), DrawOptions(level=level, expand=expand)))


def ir_shortcuts(network: resdsl.Network) -> Counter:
    """An independent count of residual shortcuts, straight from the IR: for each Add, what its
    second input is."""
    g = network.graph
    counts: Counter = Counter()
    for node in g.nodes:
        if isinstance(node.op, ops.Add):
            source = g.nodes[node.inputs[1]]
            if isinstance(source.op, ops.ZeroPadShortcut):
                counts["zeropad"] += 1
            elif ".downsample" in source.path:
                counts["projection"] += 1
            else:
                counts["identity"] += 1
    return counts


def labels(edges) -> list[str]:
    return [e[2].get("label", "") for e in edges]


# ---- ResNet-18 --------------------------------------------------------------------------------

def test_resnet18_block_level_collapses_identical_blocks_and_keeps_three_projections():
    dot = dot_of(net("torchvision/resnet18.res"))
    nodes = dot.drawn()
    bodies = {k: v for k, v in nodes.items() if "basic" in v["label"]}
    # 8 basic blocks: layer1's two are identical (×2); each later stage starts with a projection block.
    assert len(bodies) == 7
    assert sum(v.get("peripheries") == "2" for v in bodies.values()) == 1
    assert any("basic ×2" in v["label"] for v in bodies.values())
    assert len(dot.skip_edges("projection")) == 3
    assert all("1x1 conv" in lab and "projection" in lab for lab in labels(dot.skip_edges("projection")))
    assert len(dot.skip_edges("identity")) == 4
    assert any("identity ×2" in lab for lab in labels(dot.skip_edges("identity")))
    # input, conv, pool, 7 bodies + 7 merges, pool, fc
    assert len(nodes) == 1 + 2 + 14 + 2


def test_resnet18_expand_draws_all_eight_blocks():
    dot = dot_of(net("torchvision/resnet18.res"), expand=True)
    bodies = [v for v in dot.drawn().values() if "basic" in v["label"]]
    assert len(bodies) == 8
    assert not any(v.get("peripheries") for v in bodies)
    assert len(dot.skip_edges("identity")) == 5
    assert len(dot.skip_edges("projection")) == 3


def test_resnet18_op_level_has_every_op_and_every_shortcut():
    network = net("torchvision/resnet18.res")
    dot = dot_of(network, level="op")
    # BN and ReLU fold into their conv (or the add): stem conv, pool, 8 x (conv, conv, add),
    # 3 projection convs on their shortcut, pool, fc, and the input.
    assert len(dot.drawn()) == 1 + 2 + 8 * 3 + 3 + 2
    assert ir_shortcuts(network) == Counter(identity=5, projection=3)
    assert len(dot.skip_edges("identity")) == 5
    # A projection drawn as a node on its shortcut: one edge in, one edge out.
    assert len(dot.skip_edges("projection")) == 6
    shortcut_nodes = [k for k, v in dot.drawn().items() if "projection: 1x1 conv" in v["label"]]
    assert len(shortcut_nodes) == 3
    assert all(dot.nodes[k]["color"] == EDGE_STYLES["projection"]["color"] for k in shortcut_nodes)
    legend = dot.nodes["legend"]["label"]
    assert "identity shortcut" in legend and "projection shortcut" in legend and "folded" in legend


def test_resnet18_stage_level_is_one_node_per_stage():
    network = net("torchvision/resnet18.res")
    dot = dot_of(network, level="stage")
    assert len(dot.drawn()) == len(network.graph.stages) + 1  # and the input
    assert len(dot.edges) == len(network.graph.stages)
    assert not dot.clusters
    layer2 = next(v["label"] for v in dot.drawn().values() if "<b>layer2</b>" in v["label"])
    assert "basic ×2" in layer2 and "1 projection" in layer2 and "1 identity" in layer2


# ---- ResNet-50 / 152 --------------------------------------------------------------------------

def test_resnet50_block_level():
    network = net("torchvision/resnet50.res")
    dot = dot_of(network)
    bodies = [v for v in dot.drawn().values() if "bottleneck" in v["label"]]
    # 3 + 4 + 6 + 3 blocks: each stage's first block projects, the rest collapse to one ×N node.
    assert len(bodies) == 8
    repeats = sorted(int(m) for v in bodies for m in re.findall(r"bottleneck ×(\d+)", v["label"]))
    assert repeats == [2, 2, 3, 5]
    assert sum(v.get("peripheries") == "2" for v in bodies) == 4
    assert ir_shortcuts(network) == Counter(identity=12, projection=4)
    assert len(dot.skip_edges("projection")) == 4
    assert len(dot.skip_edges("identity")) == 4
    assert len(dot_of(network, expand=True).skip_edges("identity")) == 12
    # stages as clusters, each labelled with its counts
    stage_clusters = [c for c in dot.clusters if "stage_layer" in c]
    assert len(stage_clusters) == 4


def test_resnet50_op_level():
    network = net("torchvision/resnet50.res")
    dot = dot_of(network, level="op")
    assert len(dot.skip_edges("identity")) == 12
    assert len(dot.skip_edges("projection")) == 8
    convs = [v for v in dot.drawn().values() if " conv, " in v["label"]]
    conv_ops = [n for n in network.graph.nodes if isinstance(n.op, ops.Conv)]
    assert len(convs) == len(conv_ops) == 53
    # every block in its own box
    assert sum(1 for c in dot.clusters if re.search(r"cluster_g\d+$", c)) == 16


def test_resnet152_block_level_collapses_layer3_to_x35():
    dot = dot_of(net("torchvision/resnet152.res"))
    labels_ = " ".join(v["label"] for v in dot.drawn().values())
    assert "bottleneck ×35" in labels_ and "bottleneck ×7" in labels_
    assert len(dot.drawn()) < 30


# ---- ResNet-20, shortcut option A -------------------------------------------------------------

@pytest.mark.parametrize("level", ["block", "op"])
def test_resnet20_option_a_has_two_zero_pad_skips(level):
    network = net("cifar/resnet20.res")
    assert ir_shortcuts(network)["zeropad"] == 2
    dot = dot_of(network, level=level)
    zero = dot.skip_edges("zeropad")
    assert len(zero) == 2
    assert [re.search(r"zero-pad \d+→\d+, /2", lab) is not None for lab in labels(zero)] == [True, True]
    assert not dot.skip_edges("projection")
    # zero-padding has no parameters: it is written on its edge, never a node
    assert not any("zero-pad" in v["label"] for v in dot.drawn().values())
    assert "zero-pad shortcut" in dot.nodes["legend"]["label"]


def test_resnet20_stage_level_counts_skips_in_the_stage_labels():
    dot = dot_of(net("cifar/resnet20.res"), level="stage")
    text = " ".join(v["label"] for v in dot.drawn().values())
    assert text.count("1 zero-pad") == 2
    assert not dot.skip_edges("zeropad")  # inside a stage node, not edges between stages


# ---- DenseNet-121 -----------------------------------------------------------------------------

def test_densenet121_block_level_has_one_dense_edge_per_layer():
    network = net("torchvision/densenet121.res")
    concats = [n for n in network.graph.nodes if isinstance(n.op, ops.Concat)]
    assert len(concats) == 6 + 12 + 24 + 16
    dot = dot_of(network)
    dense = dot.skip_edges("dense")
    assert len(dense) == 58
    layers = [v for v in dot.drawn().values() if "dense_layer" in v["label"]]
    assert len(layers) == 58  # every layer sees more channels: nothing to collapse
    transitions = [v for v in dot.drawn().values() if "<b>transition</b>" in v["label"]]
    assert len(transitions) == 3
    merges = [v for v in dot.drawn().values() if v["label"].startswith("<<b>concat</b>")]
    assert len(merges) == 58
    assert "dense connection" in dot.nodes["legend"]["label"]


def test_densenet121_op_and_stage_levels():
    network = net("torchvision/densenet121.res")
    assert len(dot_of(network, level="op").skip_edges("dense")) == 58
    stage = dot_of(network, level="stage")
    assert len(stage.drawn()) == len(network.graph.stages) + 1
    assert "dense_layer ×24" in " ".join(v["label"] for v in stage.drawn().values())


# ---- U-Net ------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", ["stage", "block", "op"])
def test_unet_has_four_crop_and_concat_bridges(level):
    network = net("other/unet.res")
    crops = [n for n in network.graph.nodes if isinstance(n.op, ops.Crop)]
    assert len(crops) == 4
    dot = dot_of(network, level=level)
    bridges = dot.skip_edges("bridge")
    assert len(bridges) == 4
    assert all(e[2]["constraint"] == "false" for e in bridges)  # long edges must not bend the layout
    assert sorted(re.search(r"crop (\d+)x", lab).group(1) for lab in labels(bridges)) == \
        sorted(str(n.op.size[0]) for n in crops)
    assert not any(v["label"].startswith("<<b>crop") for v in dot.drawn().values())


def test_unet_bridges_start_at_the_encoder_and_end_at_the_concat():
    source = to_dot([net("other/unet.res")], DrawOptions(level="stage"))
    # each encoder level drawn level with the decoder it feeds: the U of the paper
    assert len(re.findall(r"\{\s*rank=same\s+s\d+\s+s\d+\s*\}", source)) == 4
    dot = parse_dot(source)
    nodes = dot.drawn()
    title = {k: re.match(r"<<b>([^<]*)</b>", v["label"]).group(1) for k, v in nodes.items()}
    pairs = sorted((title[t], title[h]) for t, h, _ in dot.skip_edges("bridge"))
    assert pairs == [("enc1", "dec1"), ("enc2", "dec2"), ("enc3", "dec3"), ("enc4", "dec4")]


# ---- GoogLeNet, highway, SE: specs written here --------------------------------------------------

def test_googlenet_inception_branches_are_not_skips():
    network = net("torchvision/googlenet.res")
    for level in ("block", "op"):
        dot = dot_of(network, level=level)
        assert all("color" not in e[2] for e in dot.edges), level
    block = dot_of(network)
    inceptions = [v for v in block.drawn().values() if "<b>inception</b>" in v["label"]]
    assert len(inceptions) == 9
    assert all("concat of 4" in v["label"] for v in inceptions)
    op = dot_of(network, level="op")
    concat = [k for k, v in op.drawn().items() if v["label"].startswith("<<b>concat")]
    assert len(concat) == 9
    assert all(sum(1 for e in op.edges if e[1] == k) == 4 for k in concat)


HIGHWAY = """
network hw(n=3) {
  input 3x32x32
  stem conv: conv 3x3 16, relu
  stages highway { stage1: 16 x(n) }
  head gap, fc 10
}
"""


def test_highway_gates_are_dashed_and_labelled():
    network = resdsl.load(HIGHWAY)
    op = dot_of(network, level="op")
    gated = op.skip_edges("gated")
    # per layer: x -> gate conv, gate -> merge, x -> merge (carry)
    assert len(gated) == 3 * 3
    assert all(e[2]["style"] == "dashed" for e in gated)
    assert sum("gate" in lab for lab in labels(gated)) == 3
    assert sum("carry" in lab for lab in labels(gated)) == 3
    block = dot_of(network, level="block")
    gated = block.skip_edges("gated")
    assert len(gated) == 1  # the three layers are identical: one ×3 node, its gate and carry on one edge
    assert "gate" in gated[0][2]["label"] and "sigmoid" in gated[0][2]["label"]
    assert "highway ×3" in " ".join(v["label"] for v in block.drawn().values())


SE = """
block se(reduction=4) {
  let squeezed = max(1, @in.c // reduction)
  mul {
    identity
    { gap, conv(1x1, squeezed, bias=true), relu, conv(1x1, @in.c, bias=true), sigmoid }
  }
}
block se_basic(width, stride=1) {
  residual shortcut=A {
    conv1: conv 3x3 width /stride
    bn1: bn
    relu
    conv2: conv 3x3 width
    bn2: bn
    se: se
  }
  relu
}
network se_net {
  input 3x32x32
  stem conv1: conv 3x3 16, bn1: bn, relu
  stages se_basic { layer1: 16 x2
                    layer2: 32 x2 /2 }
  head gap, fc 10
}
"""


def test_user_block_with_squeeze_and_excitation():
    network = resdsl.load(SE)
    op = dot_of(network, level="op")
    assert len(op.skip_edges("scale")) == 4
    assert len(op.skip_edges("identity")) == 3
    assert len(op.skip_edges("zeropad")) == 1
    # the SE block nested in its residual block: a box inside a box
    se_boxes = [c for c in op.clusters if c.startswith("cluster_g")
                and op.parents[c] is not None and op.parents[c].startswith("cluster_g")]
    assert len(se_boxes) == 4
    block = dot_of(network)
    assert len(block.skip_edges("scale")) == 0  # inside the block node
    assert "inner skip: scale" in " ".join(v["label"] for v in block.drawn().values())


# ---- side by side, determinism, validity ----------------------------------------------------------

def test_two_networks_side_by_side_in_their_own_clusters():
    a, b = net("torchvision/resnet18.res"), net("cifar/resnet20.res")
    dot = dot_of(a, b)
    assert dot.parents["cluster_net0"] is None and dot.parents["cluster_net1"] is None
    alone_a, alone_b = dot_of(a), dot_of(b)
    assert len(dot.drawn("a_")) == len(alone_a.drawn())
    assert len(dot.drawn("b_")) == len(alone_b.drawn())
    assert len(dot.edges) == len(alone_a.edges) + len(alone_b.edges)
    assert not any(t[:2] != h[:2] for t, h, _ in dot.edges)  # no edge between the two networks
    # the stages both have start level with each other
    source = to_dot([a, b], DrawOptions(level="block"))
    shared = set(a.graph.stages) & set(b.graph.stages)
    assert len(re.findall(r"\{\s*rank=same\s+a_\w+\s+b_\w+\s*\}", source)) == len(shared) == 5


def test_plain_beside_residual():
    text = """
    network plain8 { input 3x32x32
      stem conv 3x3 16, bn, relu
      stages plain { layer1: 16 x3 }
      head gap, fc 10 }
    network res8 { input 3x32x32
      stem conv 3x3 16, bn, relu
      stages basic shortcut=A { layer1: 16 x3 }
      head gap, fc 10 }
    """
    dot = dot_of(resdsl.load(text, network="plain8"), resdsl.load(text, network="res8"))
    assert {e[0][:2] for e in dot.skip_edges("identity")} == {"b_"}
    assert not [e for e in dot.edges if e[0].startswith("a_") and "color" in e[2]]


@pytest.mark.parametrize("level", ["stage", "block", "op"])
def test_dot_is_byte_identical_across_runs(level):
    first = to_dot([resdsl.load(SPECS / "torchvision/resnet50.res")], DrawOptions(level=level))
    second = to_dot([resdsl.load(SPECS / "torchvision/resnet50.res")], DrawOptions(level=level))
    assert first == second


def test_every_edge_carries_a_shape_and_every_node_its_counts():
    dot = dot_of(net("torchvision/resnet18.res"), level="op")
    for _, _, attrs in dot.edges:
        assert re.search(r"\d+(x\d+x\d+)?", attrs["label"])
    conv = next(v["label"] for v in dot.drawn().values() if "3x3 conv, 64<" in v["label"])
    # the folded BN's 128 parameters count with the conv's 36,864
    assert "64x56x56" in conv and "37.0K params" in conv and "115.6M MACs" in conv


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")
@pytest.mark.parametrize("spec", ["torchvision/resnet50.res", "other/unet.res", "cifar/resnet20.res"])
def test_dot_accepts_what_we_write(spec):
    for level in ("stage", "block", "op"):
        source = to_dot([net(spec)], DrawOptions(level=level))
        done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert b"<svg" in done.stdout
        assert b"Warning" not in done.stderr, done.stderr
