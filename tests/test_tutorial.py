"""docs/tutorial.md is true: its files are written, its commands run (their shown output lines must
appear), its Python blocks run, in order, in an empty directory."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```(\w+)(?: file=(\S+))?\n(.*?)^```$", re.S | re.M)


def blocks():
    return [(m.group(1), m.group(2), m.group(3)) for m in BLOCK.finditer(TUTORIAL.read_text("utf-8"))]


def _norm(text: str) -> str:
    return " ".join(text.split())


def test_the_tutorial_has_every_kind_of_block():
    kinds = [k for k, _, _ in blocks()]
    assert kinds.count("res") >= 2 and kinds.count("console") >= 4 and kinds.count("python") >= 2


def test_tutorial_runs(tmp_path):
    pytest.importorskip("torch", reason="the tutorial trains a model")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    python = []
    for kind, name, body in blocks():
        if kind == "res":
            (tmp_path / name).write_text(body, "utf-8")
        elif kind == "console":
            command, expected = None, []
            for line in body.splitlines() + ["$"]:
                if line.startswith("$"):
                    if command is not None:
                        _run(command, expected, tmp_path, env)
                    command, expected = line[1:].strip(), []
                elif line.strip():
                    expected.append(line)
        elif kind == "python":
            python.append(body)
    script = tmp_path / "tutorial.py"
    script.write_text("\n".join(python), "utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "fine-tuned head: (2, 5)" in done.stdout


def _run(command: str, expected: list[str], cwd: Path, env) -> None:
    if not command:
        return
    text, _, comment = command.partition("#")
    want = int(re.search(r"exit (\d+)", comment).group(1)) if "exit" in comment else 0
    argv = shlex.split(text)
    assert argv[0] == "resdsl", command
    done = subprocess.run([sys.executable, "-m", "resdsl", *argv[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == want, f"{command}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    out = _norm(done.stdout + "\n" + done.stderr)
    for line in expected:
        assert _norm(line) in out, f"{command}: {line!r} not in output:\n{done.stdout}\n{done.stderr}"
