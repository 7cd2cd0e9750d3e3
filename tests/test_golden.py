"""Golden tests: every spec under tests/golden/{ok,errors} against the exact text `resdsl check` prints.

An error's expected file records the class of each error (`class: ShapeError`), so a message cannot
change its meaning unnoticed.  Regenerate after an intended change with `RESDSL_UPDATE_GOLDEN=1 pytest tests/test_golden.py` and
review the diff: the expected files are the contract for our messages.
"""
from __future__ import annotations

import os

import pytest

from golden_util import GOLDEN, golden_argv, render, run_cli

UPDATE = os.environ.get("RESDSL_UPDATE_GOLDEN") == "1"
ERRORS = sorted(p for p in (GOLDEN / "errors").glob("*.res") if not p.name.startswith("import_cycle_a"))
OKS = sorted((GOLDEN / "ok").glob("*.res"))


def _check(spec, stream_index: int) -> None:
    classes: list[str] = []
    code, out, err = run_cli(spec.parent, golden_argv(spec), classes)
    actual = render(code, (out, err)[stream_index], classes)
    expected_file = spec.with_suffix(".expected")
    if UPDATE:
        expected_file.write_text(actual)
    elif not expected_file.exists():
        pytest.fail(f"{spec.name} has no {expected_file.name}: write it with RESDSL_UPDATE_GOLDEN=1 and review it")
    assert actual == expected_file.read_text()


@pytest.mark.parametrize("spec", ERRORS, ids=lambda p: p.stem)
def test_error_golden(spec):
    _check(spec, 1)
    code, _, err = run_cli(spec.parent, golden_argv(spec))
    assert code in (1, 2)
    assert "Traceback" not in err
    assert err.startswith(spec.name + ":") or err.startswith("resdsl: error") or err.startswith("import_cycle")


@pytest.mark.parametrize("spec", OKS, ids=lambda p: p.stem)
def test_ok_golden(spec):
    _check(spec, 0)


@pytest.mark.skipif(UPDATE, reason="RESDSL_UPDATE_GOLDEN=1 writes expected files on purpose")
def test_a_golden_spec_without_its_expected_file_fails_and_writes_nothing(tmp_path):
    spec = tmp_path / "new_error.res"
    spec.write_text("network n {\n  conv 3x3 8\n}\n")
    with pytest.raises(pytest.fail.Exception, match="has no new_error.expected"):
        _check(spec, 1)
    assert not spec.with_suffix(".expected").exists()


def test_an_expected_file_records_the_class_of_each_error():
    expected = (GOLDEN / "errors" / "no_input.expected").read_text()
    assert expected.splitlines()[1] == "class: StructureError"
    several = (GOLDEN / "errors" / "several_unknown.expected").read_text()
    assert several.splitlines()[1] == "class: NameResolutionError, NameResolutionError"
