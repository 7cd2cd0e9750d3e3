"""Property tests: generated valid specs check and count as an independent formula says; mutated
specs either check or fail with our own located error, quickly."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import re

import resdsl
from resdsl.diagnostics import ResdslError, UsageError, printable

BLOCKS = ("basic", "plain", "bottleneck", "preact_basic", "wide_basic")


@st.composite
def networks(draw):
    """A random but valid ResNet-like spec, and the parameters it must count to."""
    channels = draw(st.integers(1, 4))
    size = draw(st.integers(8, 48))
    stem_width = draw(st.sampled_from([4, 8, 16, 32]))
    kernel = draw(st.sampled_from([1, 3, 5, 7]))
    block = draw(st.sampled_from(BLOCKS))
    shortcut = draw(st.sampled_from(["A", "B", "C", "none"]))
    rows = draw(st.lists(st.tuples(st.sampled_from([4, 8, 16, 32]), st.integers(1, 3), st.sampled_from([1, 2])),
                         min_size=1, max_size=4))
    rows.sort(key=lambda r: r[0])  # widths never shrink: option A can only pad channels
    stem_width = min(stem_width, rows[0][0])
    classes = draw(st.integers(2, 20))
    lines = [f"network gen {{", f"  input {channels}x{size}x{size}",
             f"  stem conv1: conv {kernel}x{kernel} {stem_width}, bn1: bn, relu"]
    header = block if block == "plain" else f"{block} shortcut={shortcut}"
    lines.append(f"  stages {header} {{")
    for i, (width, repeats, stride) in enumerate(rows):
        lines.append(f"    layer{i + 1}: {width} x{repeats}" + (f" /{stride}" if stride > 1 else ""))
    lines += ["  }", f"  head avgpool: gap, fc: fc {classes}", "}"]
    return "\n".join(lines) + "\n", (channels, stem_width, kernel, block, shortcut, rows, classes)


def expected_params(channels, stem_width, kernel, block, shortcut, rows, classes) -> int:
    """Parameters written out by hand from the papers' definitions, independent of the compiler."""
    def conv(cin, cout, k):
        return cin * cout * k * k

    total = conv(channels, stem_width, kernel) + 2 * stem_width
    c = stem_width
    for width, repeats, stride in rows:
        for i in range(repeats):
            s = stride if i == 0 else 1
            if block in ("basic", "plain"):
                out = width
                body = conv(c, width, 3) + 2 * width + conv(width, width, 3) + 2 * width
                proj_bn = True
            elif block == "bottleneck":
                out = 4 * width
                body = (conv(c, width, 1) + 2 * width + conv(width, width, 3) + 2 * width
                        + conv(width, out, 1) + 2 * out)
                proj_bn = True
            else:  # pre-activation: BN over the input first, projection without BN
                out = width
                body = 2 * c + conv(c, width, 3) + 2 * width + conv(width, width, 3)
                proj_bn = False
            changes = s != 1 or c != out
            if block != "plain" and (shortcut == "C" or (shortcut == "B" and changes)):
                body += conv(c, out, 1) + (2 * out if proj_bn else 0)
            total += body
            c = out
    return total + c * classes + classes


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_generated_specs_check_and_count(spec):
    text, shape = spec
    net = resdsl.load(text)
    assert net.output_type.shape == (shape[-1],)
    assert net.params == expected_params(*shape)
    assert net.flops == 2 * net.macs > 0


def test_a_strided_block_on_a_1x1_map_is_projected_like_torchvisions():
    """Hypothesis found it: /2 on a 1x1 map keeps the shape, yet torchvision's rule (`stride != 1 or
    inplanes != planes * expansion`) adds a downsample, and so must shortcut=B, with the body's stride."""
    rows = [(4, 1, 2)] * 4
    text = "\n".join(["network gen {", "  input 1x8x8", "  stem conv1: conv 1x1 4, bn1: bn, relu",
                      "  stages basic shortcut=B {", *(f"    layer{i}: 4 x1 /2" for i in range(1, 5)), "  }",
                      "  head avgpool: gap, fc: fc 2", "}"]) + "\n"
    net = resdsl.load(text)
    assert net.params == expected_params(1, 4, 1, "basic", "B", rows, 2) == 1334
    projections = [n for n in net.graph.nodes if n.path.startswith("layer4.0.downsample") and n.op.kind == "conv"]
    assert [n.op.stride for n in projections] == [(2, 2)]


SEED = """\
block unit(width, stride=1) {
  residual shortcut=B {
    conv1: conv 3x3 width /stride, bn1: bn, relu
    conv2: conv 3x3 width, bn2: bn
  }
  relu
}
network seed(depth=8) {
  input 3x32x32
  stem conv1: conv 3x3 16, bn1: bn, relu
  stages unit {
    layer1: 16 x2
    layer2: 32 x(depth // 4) /2
  }
  head avgpool: gap, fc: fc 10
  budget params <= 10M
}
"""

ALPHABET = list("{}()[]:,;/@=<>+-*.x\"'#\n \t0123456789abcAB") + [
    "conv", "bn", "relu", "residual", "stages", "network", "block", "x3", "3x3", "/2", "@in", "\x00", "\ufeff",
    "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\r", "\r\n", "9" * 120, "1e999", "-" * 150]


@settings(max_examples=300, deadline=1000)
@given(st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 3), st.sampled_from(ALPHABET)),
                min_size=1, max_size=4))
def test_mutated_specs_fail_only_with_located_errors(edits):
    text = SEED
    for pos, action, token in edits:
        pos = min(pos, len(text))
        if action == 0:
            text = text[:pos] + text[pos + 1:]          # delete a character
        elif action == 1:
            text = text[:pos] + token + text[pos:]      # insert a token
        elif action == 2:
            text = text[:pos] + token + text[pos + len(token):]  # overwrite
        else:
            line_start = text.rfind("\n", 0, pos) + 1   # duplicate a line
            line_end = text.find("\n", pos)
            line_end = len(text) if line_end < 0 else line_end
            text = text[:line_end] + "\n" + text[line_start:line_end] + text[line_end:]
    try:
        resdsl.load(text)
    except ResdslError as err:
        assert_well_located(err)


@settings(max_examples=200, deadline=1000)
@given(st.lists(st.sampled_from(ALPHABET), max_size=40).map(" ".join))
def test_random_token_soup_never_escapes(text):
    try:
        resdsl.load("network n {\n" + text + "\n}\n")
    except ResdslError as err:
        assert_well_located(err)


def assert_well_located(err: ResdslError) -> None:
    """Every diagnostic of a spec error names file:line:col inside the text, the rendering starts with
    exactly that, and the quoted line is the line the lexer counted (LF, CRLF and CR only)."""
    assert err.diagnostics
    rendered = err.render().split("\n")
    usage = isinstance(err, UsageError)
    for d in err.diagnostics:
        if usage and d.span.line == 0:
            continue
        assert d.span.file == "<string>" or d.span.file.endswith(".res"), d
        lines = re.split(r"\r\n|\r|\n", err.sources[d.span.file].removeprefix("\ufeff"))
        assert 1 <= d.span.line <= len(lines), d
        assert 1 <= d.span.column <= len(lines[d.span.line - 1]) + 1, d
        header = f"{d.span.file}:{d.span.line}:{d.span.column}: error: "
        at = next(i for i, line in enumerate(rendered) if line.startswith(printable(header)))
        want = printable(lines[d.span.line - 1].replace("\t", " "))
        quoted = rendered[at + 1][4:]
        assert quoted == want or (len(want) > 100 and quoted.strip(".") in want), (quoted, want)
    assert re.match(r"^\S.*:\d+:\d+: error: ", rendered[0]) or usage, rendered[0]
