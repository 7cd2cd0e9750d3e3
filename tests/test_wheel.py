"""The library ships in the wheel: built with `pip wheel`, installed in a fresh venv, used by name from
a directory with no spec files.

One test, ~15 s: the wheel is built offline (`--no-build-isolation`, setuptools is already here) from a
copy of the tree, and the venv sees the system site-packages (torch, lark, graphviz) so nothing is
downloaded.  The test checks that the resdsl it runs is the installed one, not this checkout.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parent.parent
IGNORED = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
                                 ".hypothesis", ".benchmarks", "out", ".venv", "*.svg", "*.png")


def _run(cmd, cwd, env, timeout=300):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    src = base / "src"
    shutil.copytree(ROOT, src, symlinks=True, ignore=IGNORED)
    wheels = base / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(src),
          "-w", str(wheels)], base, env)
    (wheel,) = wheels.glob("resdsl-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], base, env)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
          str(wheel)], base, env)
    work = base / "empty"
    work.mkdir()
    return wheel, venv, work, env


def test_wheel_holds_every_shipped_spec(installed):
    wheel, *_ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"resdsl/library/{p.relative_to(ROOT / 'specs').as_posix()}" for p in (ROOT / "specs").rglob("*.res")}
    assert shipped and shipped <= names, sorted(shipped - names)[:5]
    assert "resdsl/syntax/resdsl.lark" in names
    assert "resdsl/library_index.json" in names  # the first `list` reads it instead of loading every spec


def test_library_by_name_from_the_installed_wheel(installed):
    wheel, venv, work, env = installed
    resdsl = str(venv / "bin" / "resdsl")
    python = str(venv / "bin" / "python")
    where = _run([python, "-c", "import resdsl; print(resdsl.__file__)"], work, env).stdout.strip()
    assert where.startswith(str(venv)), where          # the wheel's resdsl, not this checkout
    assert not list(work.iterdir())

    # The index's paths hold in the installed package (real files there, a link to specs/ in a clone).
    _run([python, "-c", "from resdsl import library_index as i; assert i.lookup('cifar/resnet20', None)['params']"],
         work, env)

    count = _run([resdsl, "count", "resnet152"], work, env).stdout
    assert "60,192,808" in count and "11.51G" in count.replace(" G", "G")

    _run([resdsl, "compile", "resnet152.res", "-o", "r.py"], work, env)
    code = (work / "r.py").read_text()
    assert "class " in code and "layer4" in code

    listing = _run([resdsl, "list"], work, env).stdout
    assert "densenet121" in listing and "paper/resnet50" in listing and "7.98M" in listing

    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    _run([resdsl, "draw", "densenet121", "-o", "d.svg"], work, env)
    assert (work / "d.svg").read_text().lstrip().startswith(("<?xml", "<svg"))

    api = _run([python, "-c", "import resdsl; n = resdsl.load('densenet121', classes=10); "
                              "print(n.params, n.output_type)"], work, env).stdout.split()
    assert api == ["6964106", "10"]
