"""Every block instance in the IR keeps the call that made it: the block's name and its bound arguments,
as plain frozen data (issue 11 part 1), also when an identical call was replayed from a template and when
the network comes back from the checked-network cache."""
from __future__ import annotations

import pickle
from io import BytesIO
from pathlib import Path

import resdsl
from resdsl import netcache
from resdsl.ir.graph import BlockCall

ROOT = Path(__file__).resolve().parent.parent
TV = ROOT / "specs/torchvision"


def _scopes(net):
    return {s.path: s for s in net.graph.scopes}


def test_a_bottleneck_records_its_block_and_bound_arguments():
    scopes = _scopes(resdsl.load(TV / "resnet50.res"))
    first, second = scopes["layer2.0"].call, scopes["layer2.1"].call
    assert first == BlockCall("bottleneck", (("width", 128), ("stride", 2), ("expansion", 4), ("groups", 1),
                                             ("base_width", 64), ("stride_on", "3x3"), ("shortcut", "B")),
                              ("width", "stride", "groups", "base_width", "stride_on", "shortcut"))
    # the stage row's /2 goes to the first block only (the others are called with stride=1)
    assert second.value("stride") == 1 and second.value("width") == 128 and "expansion" not in second.given
    assert scopes["layer2"].call is None and scopes[""].call is None  # a stage and the network are no call


def test_replayed_and_nested_instances_keep_their_call():
    net = resdsl.load(TV / "densenet121.res")
    blocks = [s for s in net.graph.scopes if s.kind == "block"]
    assert len(blocks) == 4 + 58 + 3  # dense blocks, dense layers (most replayed from a template), transitions
    assert all(s.call is not None and s.call.block == s.block for s in blocks)
    scopes = _scopes(net)
    assert dict(scopes["features.denseblock3"].call.args) == {"layers": 24, "growth": 32, "bn_size": 4,
                                                               "bottleneck": True, "drop": 0}
    layer = scopes["features.denseblock3.denselayer24"].call
    assert layer.block == "dense_layer" and layer.value("growth") == 32


def test_a_call_survives_the_network_cache_unpickler():
    net = resdsl.load(TV / "googlenet.res")
    data = pickle.dumps(net, protocol=pickle.HIGHEST_PROTOCOL)
    again = netcache._NetworkUnpickler(BytesIO(data)).load()
    assert [s.call for s in again.graph.scopes] == [s.call for s in net.graph.scopes]
    conv1 = _scopes(again)["conv1"].call
    assert conv1.block == "conv_bn" and conv1.value("kernel") == "7x7"  # a size is kept as its text
    hash(conv1)  # frozen data
