"""resdsl/editor.py, what the language server answers, without a server: diagnostics of unsaved text,
hover figures equal to the count's, definitions of blocks and imports."""
from __future__ import annotations

from pathlib import Path

import resdsl
from resdsl import editor

ROOT = Path(__file__).resolve().parent.parent
RESNET152 = ROOT / "specs" / "torchvision" / "resnet152.res"
RESNET50 = ROOT / "specs" / "torchvision" / "resnet50.res"


def test_hover_on_a_stage_row_is_the_stage_of_the_count():
    text = RESNET152.read_text()
    analysis = editor.analyse(text, RESNET152)
    assert analysis.problems == ()
    line = next(i for i, l in enumerate(text.splitlines()) if l.strip().startswith("layer3:"))
    shown = editor.hover(analysis, RESNET152, line, 6)
    stage = resdsl.load(str(RESNET152)).by_stage["layer3"]
    assert "1024x14x14" in shown and f"{stage.params:,}" in shown and f"{stage.macs:,}" in shown


def test_unsaved_text_is_analysed_with_imports_next_to_the_file():
    text = RESNET50.read_text().replace("depth=50", "depth=51")
    (problem,) = editor.analyse(text, RESNET50).problems
    assert problem.line == 4 and "51" in problem.message


def test_definition_of_an_import_and_of_a_family():
    text = RESNET50.read_text()
    analysis = editor.analyse(text, RESNET50)
    lines = text.splitlines()
    imp = next(i for i, l in enumerate(lines) if l.startswith("import"))
    span = editor.definition(analysis, text, RESNET50, imp, 10)
    assert Path(span.file).resolve() == (RESNET50.parent / "families" / "resnet.res").resolve()
    net = next(i for i, l in enumerate(lines) if l.startswith("network"))
    col = lines[net].index("torchvision_resnet") + 3
    span = editor.definition(analysis, text, RESNET50, net, col)
    assert Path(span.file).name == "resnet.res" and span.line > 1


def test_completions_offer_blocks_primitives_and_keywords():
    analysis = editor.analyse(RESNET50.read_text(), RESNET50)
    kinds = {label: kind for label, kind, _ in editor.completions(analysis)}
    assert kinds["bottleneck"] == "block" and kinds["conv"] == "primitive" and kinds["stages"] == "keyword"


def test_analysis_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys; from resdsl import editor; from pathlib import Path; "
            f"p = Path({str(RESNET152)!r}); a = editor.analyse(p.read_text(), p); editor.hover(a, p, 7, 5); "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(ROOT)})
