"""The TextMate grammar and the VS Code extension folder are well-formed and know every primitive."""
from __future__ import annotations

import json
import re
from pathlib import Path

from resdsl.elaborate.primitives import PRIMITIVES

VSCODE = Path(__file__).resolve().parent.parent / "editors" / "vscode"


def _patterns(node):
    if isinstance(node, dict):
        for key in ("match", "begin", "end"):
            if key in node:
                yield node[key]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_grammar_is_valid_and_highlights_primitives():
    grammar = json.loads((VSCODE / "syntaxes" / "resdsl.tmLanguage.json").read_text())
    assert grammar["scopeName"] == "source.resdsl"
    for pattern in _patterns(grammar):
        re.compile(pattern)
    primitive = re.compile(grammar["repository"]["primitive"]["match"])
    missing = [name for name in PRIMITIVES if not primitive.fullmatch(name)]
    assert not missing, f"add {missing} to the primitive pattern of editors/vscode/syntaxes/resdsl.tmLanguage.json"
    dims = re.compile(grammar["repository"]["number"]["patterns"][0]["match"])
    assert dims.search("conv 7x7/2 64").group() == "7x7/2"


def test_extension_manifest_starts_the_language_server():
    manifest = json.loads((VSCODE / "package.json").read_text())
    assert manifest["contributes"]["languages"][0]["extensions"] == [".res"]
    assert manifest["contributes"]["configuration"]["properties"]["resdsl.server.command"]["default"] == \
        ["resdsl", "lsp"]
    assert "resdsl" in (VSCODE / "extension.js").read_text() and (VSCODE / manifest["main"]).is_file()
