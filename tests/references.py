"""The reference figures the tests compare with, kept in the repository (tests/reference/):

* torchvision/<model>.json — written by `python3 scripts/make_reference.py` from torchvision's own
  model code: how the model is built, its input size, params, buffers, MACs, output shape, state_dict
  keys and shapes, and the figures torchvision publishes with its weights.
* paper_tables.yaml — published figures from the seed lectures and the papers they quote (see its
  header for provenance).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

REFERENCE = Path(__file__).resolve().parent / "reference"
TORCHVISION = REFERENCE / "torchvision"
PAPER_TABLES = REFERENCE / "paper_tables.yaml"
TORCHVISION_MODELS = tuple(sorted(p.stem for p in TORCHVISION.glob("*.json")))


@lru_cache(maxsize=None)
def torchvision_reference(name: str) -> dict:
    return json.loads((TORCHVISION / f"{name}.json").read_text())


# The reference a spec of specs/torchvision/ equals with its default arguments, where the names differ:
# inception_v3 keeps torchvision's default AuxLogits head, so it is inception_v3(aux_logits=True).
SPEC_REFERENCES = {"inception_v3": "inception_v3_aux"}


def reference_of_spec(name: str) -> dict:
    """The torchvision reference of the spec `specs/torchvision/<name>.res` as it is by default."""
    return torchvision_reference(SPEC_REFERENCES.get(name, name))
