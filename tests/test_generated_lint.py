"""The generated files are code a PyTorch engineer would commit: pyflakes finds nothing in any of them
(no undefined name, no unused import or variable, no redefinition).  The runtime pieces copied into every
file are linted through them, so an annotation naming something the file does not import fails here."""
from __future__ import annotations

from pathlib import Path

import pytest

pyflakes_api = pytest.importorskip("pyflakes.api", reason="pyflakes is in the dev extra: pip install -e '.[dev]'")
from pyflakes.reporter import Reporter  # noqa: E402

import resdsl  # noqa: E402
from resdsl.backends.pycode import generate  # noqa: E402

SPECS = Path(__file__).resolve().parent.parent / "specs"
ALL_SPECS = sorted(p for p in SPECS.rglob("*.res") if "tables" not in p.relative_to(SPECS).parts)


class _Collect:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.append(text)

    def flush(self) -> None:
        pass


def _problems(source: str, name: str) -> str:
    out, err = _Collect(), _Collect()
    pyflakes_api.check(source, name, Reporter(out, err))
    return "".join(out.lines + err.lines)


def test_the_linter_catches_what_this_test_is_for():
    assert "undefined name 'Any'" in _problems("def f(x: Any) -> None:\n    pass\n", "probe.py")


@pytest.mark.parametrize("path", ALL_SPECS, ids=lambda p: str(p.relative_to(SPECS)))
def test_generated_code_is_pyflakes_clean(path: Path):
    net = resdsl.load(path)
    assert _problems(generate(net), f"{net.member_name}.py") == ""


@pytest.mark.parametrize("spec, family", [("specs/cifar/resnet20.res", "depth")])
def test_a_family_class_is_pyflakes_clean(spec: str, family: str):
    from resdsl.backends.pycode import family_members
    from resdsl.pipeline import load

    path = SPECS.parent / spec
    net = load(path)
    members = family_members(net, family, lambda v: load(path, None, {family: v}, None, None))
    assert members, "the family test needs other members to fit against"
    assert _problems(generate(net, family, members), "family.py") == ""


@pytest.mark.parametrize("spec", ["specs/torchvision/resnet50.res", "specs/torchvision/mobilenet_v3_large.res"])
def test_inference_code_is_pyflakes_clean(spec: str):
    from resdsl.backends.inference_network import inference_network

    net = inference_network(resdsl.load(SPECS.parent / spec)).network
    assert _problems(generate(net), "folded.py") == ""
