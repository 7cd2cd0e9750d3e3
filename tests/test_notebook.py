"""docs/notebook.ipynb runs top to bottom in a Jupyter kernel, and shows what it promises: the drawing
as SVG, the summaries, and a built module."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import resdsl

nbformat = pytest.importorskip("nbformat", reason="nbformat is in the dev extra")
nbclient = pytest.importorskip("nbclient", reason="nbclient is in the dev extra")
pytest.importorskip("ipykernel", reason="ipykernel is in the dev extra")
pytest.importorskip("torch", reason="the notebook builds a module")

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "notebook.ipynb"


def _text(output) -> str:
    if output.get("output_type") == "stream":
        return output["text"]
    return "".join(output.get("data", {}).get("text/plain", ""))


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}})
    client.execute()
    return [c for c in nb.cells if c.cell_type == "code"]


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_every_cell_runs(executed):
    errors = [o for c in executed for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, errors


def test_network_displays_as_svg_or_stage_table(executed):
    data = executed[0].outputs[0]["data"]
    assert "resnet20" in data["text/plain"] and "269,722 params" in data["text/plain"]
    assert "| layer1 | basic | 16x32x32 | 14,016 |" in data["text/markdown"]
    if shutil.which("dot"):
        svg = data["image/svg+xml"]
        assert "<svg" in svg and "×3" in svg     # layer1's three basic blocks collapsed


def test_summaries(executed):
    stage = "".join(_text(o) for o in executed[2].outputs)
    assert "layer3" in stage and "269,722" in stage and "2 x MACs" in stage
    layers = "".join(_text(o) for o in executed[3].outputs)
    assert "layer1.0.conv1" in layers and "3x3 conv, 16" in layers and "layer1.0.relu_2" in layers
    assert "'path': 'conv1'" in layers


def test_own_network_and_build(executed):
    assert "tiny: 3x32x32 -> 10" in _text(executed[4].outputs[0])
    tiny = resdsl.load("".join(executed[4].source).split('"""')[1])
    assert _text(executed[5].outputs[0]) == f"({tiny.params}, 6964106)"
    assert _text(executed[6].outputs[0]) == "(torch.Size([2, 10]), True)"
