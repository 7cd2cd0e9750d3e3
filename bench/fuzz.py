"""The mutation battery: thousands of broken specs through the API and the CLI (run on demand).

    python bench/fuzz.py -n 10000 --jobs 2          # the full battery (prints figures, exit 1 on any failure)
    python bench/fuzz.py -n 200 --seed 7 --show 5   # a quick run, printing the first 5 failures in full

Each mutant is a shipped spec (every file under specs/, the prelude, the gallery and the golden ok
specs) with one to three grammar-aware mutations: token deletions, duplications and swaps, numbers made
huge, tiny, negative or non-finite, lines duplicated, dropped or swapped, deep nesting (braces, brackets,
unary minus, flat operator chains), long loops and doubling values, odd bytes and line separators (NUL,
VT, FF, FS/GS/RS, NEL, U+2028/U+2029, CR, BOM, ESC), and import tricks (`/`, `.`, long names, symlink
loops, FIFOs, non-.res files, itself).

A mutant passes when the API (`resdsl.load`, then `count --by op` and `draw` of what loads) raises nothing but
`ResdslError`, the CLI (`check`, `count`, `draw -o -` or `table`, chosen per mutant, in-process; every
`--subprocess-every`-th also as a real `python -m resdsl` process) exits 0, 1 or 2 without a traceback,
every error but a usage error names file:line:col, every quoted source line is the line the lexer
counted, the mutant takes under `--slow` seconds of CPU and the worker's peak memory stays under `--memory` MB.
Workers are subprocesses (at most `--jobs`); one that stops answering for `--hang` seconds is killed
and its mutant counted as a hang.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import resource
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIRS = ("specs", "resdsl/prelude", "docs/gallery/specs", "tests/golden/ok")

# ---- mutations ---------------------------------------------------------------------------------------

TOKEN = re.compile(r'"[^"\n]*"|#[^\n]*|\d+(?:[x×]\d+)+|[x×]\d+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[KMGT]?i?B?|'
                   r'@?[A-Za-z_]\w*|//|\.\.|<=|>=|==|!=|\n|[ \t]+|.', re.S)
NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[KMGT]?i?B?")
WORDS = ["conv", "bn", "relu", "fc", "gap", "maxpool", "avgpool", "identity", "residual", "add", "concat", "mul",
         "stages", "stem", "head", "input", "budget", "let", "for", "in", "if", "else", "require", "network",
         "block", "group", "import", "table", "none", "true", "false", "A", "B", "C", "gated", "@in", "@x",
         "training", "_modules", "forward", "lambda", "class", "None", "x3", "3x3", "x(", "/2", "..", "{", "}",
         "(", ")", "[", "]", ",", ":", ";", "=", "==", "+", "-", "*", "//", "%", "stochastic_depth", "dense_block",
         "basic", "bottleneck", "{i}", "l{i}", "len", "min", "max", "int", "floor", "size"]
NUMBERS = ["0", "1", "-1", "2", "3", "7", "64", "0.5", "1e-3", "100000", "1000000", "99999999", "1e308", "1e309",
           "1e-400", "1e9999999", "1e-9999999", "1MiB", "25M", "4G", "1T", "2147483648", "9" * 99, "9" * 101,
           "9" * 400, "9" * 5000, "1" + "0" * 4301, "0.0000001", "18446744073709551616"]
ODD = ["\x00", "\x01", "\x0b", "\x0c", "\x1b[31m", "\x1c", "\x1d", "\x1e", "\x7f", "\x85", "\u2028", "\u2029", "\r",
       "\r\n", "\ufeff", "\t", "é", "×", "😀", "\ufffd", "\u200b", "\\", "\\\n", '"', "'", "#"]
SEPARATORS = ["\x0c", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r", "\r\n"]
IMPORTS = ["/", ".", "..", "", "x" * 5000, "loop1", "loop1.res", "fifo.res", "/etc/ld.so.conf", "/etc/passwd",
           "/dev/null", "/dev/zero.res", "dir/", "nope", "__mutant__", "__mutant__.res", "a\x00b", "../" * 50 + "x",
           "families", "~/.bashrc", "notspec.txt", "plain.res"]


def _deep(rng: random.Random) -> str:
    n = rng.choice([50, 99, 101, 200, 500, 1000, 3000])
    kind = rng.randrange(5)
    if kind == 0:
        return "[" * n + "1" + "]" * n
    if kind == 1:
        return "-" * n + "1"
    if kind == 2:
        return " + ".join(["1"] * n)
    if kind == 3:
        return "(" * n + "1" + ")" * n
    return "not " * n + "true"


def _statements(rng: random.Random) -> str:
    kind = rng.randrange(7)
    n = rng.choice([10, 27, 35, 60])
    if kind == 0:
        return "\n".join(["let s0 = \"ab\""] + [f"let s{i + 1} = s{i} + s{i}" for i in range(n)])
    if kind == 1:
        return "\n".join(["let s0 = [1]"] + [f"let s{i + 1} = s{i} + s{i}" for i in range(n)])
    if kind == 2:
        return "\n".join(["let s0 = 3"] + [f"let s{i + 1} = s{i} * s{i}" for i in range(n)])
    if kind == 3:
        return "for i in 1..1000 { for j in 1..1000 { for k in 1..1000 { identity } } }"
    if kind == 4:
        return "for i in 1..100000 { for j in 1..100000 { let a = i * j } }"
    if kind == 5:
        d = rng.choice([20, 60, 200])
        return "{ " * d + "relu" + " }" * d
    return "\n".join(["let s0 = [1]"] + [f"let s{i + 1} = [s{i}, s{i}]" for i in range(n)])


def mutate(text: str, rng: random.Random) -> tuple[str, list[str]]:
    """One to three mutations of `text`; returns the mutant and the names of the mutations applied."""
    applied = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        tokens = TOKEN.findall(text) or [text]
        kind = rng.randrange(14)
        i = rng.randrange(len(tokens))
        if kind == 0:
            del tokens[i]
            applied.append("delete-token")
        elif kind == 1:
            tokens.insert(i, tokens[rng.randrange(len(tokens))])
            applied.append("duplicate-token")
        elif kind == 2:
            tokens[i] = rng.choice(WORDS)
            applied.append("replace-token")
        elif kind == 3:
            tokens.insert(i, " " + rng.choice(WORDS) + " ")
            applied.append("insert-word")
        elif kind == 4:
            numbers = [j for j, t in enumerate(tokens) if NUMBER.fullmatch(t)]
            j = rng.choice(numbers) if numbers else i
            tokens[j] = rng.choice(NUMBERS)
            applied.append("number")
        elif kind == 5:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
            applied.append("swap-tokens")
        elif kind == 6:
            tokens.insert(i, rng.choice(ODD))
            applied.append("odd-byte")
        elif kind == 7:
            newlines = [j for j, t in enumerate(tokens) if t == "\n"]
            for j in rng.sample(newlines, min(len(newlines), rng.choice([1, 2, 5]))):
                tokens[j] = rng.choice(SEPARATORS)
            applied.append("line-separator")
        elif kind in (8, 9):
            lines = text.split("\n")
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            if kind == 8:
                lines.insert(a, lines[b])
                applied.append("duplicate-line")
            else:
                lines[a], lines[b] = lines[b], lines[a]
                applied.append("swap-lines")
            tokens = ["\n".join(lines)]
        elif kind == 10:
            numbers = [j for j, t in enumerate(tokens) if NUMBER.fullmatch(t)]
            j = rng.choice(numbers) if numbers else i
            tokens[j] = "(" + _deep(rng) + ")"
            applied.append("deep-expression")
        elif kind == 11:
            opens = [j for j, t in enumerate(tokens) if t == "{"] or [i]
            tokens.insert(rng.choice(opens) + 1, "\n" + _statements(rng) + "\n")
            applied.append("heavy-statements")
        elif kind == 12:
            tokens.insert(0, f'import "{rng.choice(IMPORTS)}"\n')
            applied.append("import")
        else:
            repeats = [j for j, t in enumerate(tokens) if re.fullmatch(r"[x×]\d+", t)]
            j = rng.choice(repeats) if repeats else i
            tokens[j] = rng.choice(["x100000", "x99999", "x0", "x1000000000", "x(10**9)", "x(1e9)"])
            applied.append("repeats")
        text = "".join(tokens)
    return text, applied


def corpus() -> list[Path]:
    files = sorted(p for d in CORPUS_DIRS for p in (ROOT / d).rglob("*.res"))
    return [p for p in files if p.is_file()]


def make_mutant(seed: int, index: int, files: list[Path]) -> tuple[Path, str, list[str]]:
    rng = random.Random(seed * 1_000_003 + index)
    original = rng.choice(files)
    text, applied = mutate(original.read_text("utf-8"), rng)
    return original, text, applied


# ---- checking one mutant -------------------------------------------------------------------------------

LOCATED = re.compile(r"^\S.*?:\d+:\d+: error: ")


def lexer_lines(text: str) -> list[str]:
    """Lines as the lexer counts them, written out independently of resdsl.diagnostics."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return re.split(r"\r\n|\r|\n", text)


def quote_problems(err, rendered: str) -> list[str]:
    """Every diagnostic whose quoted line is not the lexer's line `span.line` of its file."""
    from resdsl.diagnostics import printable

    problems = []
    blocks = rendered.split("\n")
    for d in err.diagnostics:
        text = err.sources.get(d.span.file)
        if text is None or d.span.line <= 0:
            continue
        lines = lexer_lines(text)
        if lines and not lines[-1]:
            lines.pop()
        if d.span.line > len(lines):
            if lines or any(line.startswith("    ") for line in blocks):
                problems.append(f"{d.span}: line {d.span.line} is past the end ({len(lines)} lines)")
            continue
        want = printable(lines[d.span.line - 1].replace("\t", " "))
        header = f"{printable(str(d.span))}: error: "
        at = next((k for k, line in enumerate(blocks) if line.startswith(header)), None)
        if at is None or at + 1 >= len(blocks):
            problems.append(f"{d.span}: no quoted line")
            continue
        quoted = blocks[at + 1][4:]
        core = quoted.removeprefix("...").removesuffix("...") if len(want) > 100 else quoted
        if core not in want or (len(want) <= 100 and quoted != want):
            problems.append(f"{d.span}: quoted {quoted[:60]!r}, the lexer's line is {want[:60]!r}")
    return problems


def check_api(path: Path) -> dict:
    import resdsl

    result: dict = {"api": "ok"}
    try:
        net = resdsl.load(path)
        resdsl.count(net, by="op")
        resdsl.draw(net)
    except resdsl.ResdslError as err:
        rendered = err.render()
        usage = isinstance(err, resdsl.UsageError)
        result["api"] = "usage" if usage else "error"
        if not usage and any(d.span.line <= 0 for d in err.diagnostics):
            result["unlocated"] = rendered.split("\n")[0][:300]
        bad = quote_problems(err, rendered)
        if bad:
            result["misquoted"] = bad[:3]
    except RecursionError as err:  # a bug: recorded like any other exception, with its last frame
        result["crash"] = _crash(err)
    except Exception as err:  # noqa: BLE001 - the point of the battery is to catch anything
        result["crash"] = _crash(err)
    return result


def _crash(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(err).__name__}: {str(err)[:200]} at {where}"


def cli_argv(path: Path, rng: random.Random) -> list[str]:
    command = rng.choice(["check", "check", "count", "count --json", "draw -o -", "table"])
    return [*command.split(), str(path)]


def check_cli(argv: list[str]) -> dict:
    from resdsl.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code if isinstance(exit_.code, int) else 2
    except Exception as exc:  # noqa: BLE001
        return {"cli": "crash", "cli_crash": _crash(exc)}
    return _cli_verdict(code, err.getvalue())


def _cli_verdict(code: int, stderr: str) -> dict:
    result: dict = {"cli": code}
    if code not in (0, 1, 2):
        result["bad_exit"] = f"exit {code}: {stderr.strip()[:300]}"
    if "Traceback" in stderr or "internal error" in stderr:
        result["bad_exit"] = f"exit {code}: {stderr.strip()[:300]}"
    first = stderr.split("\n", 1)[0]
    if code == 1 and stderr and not LOCATED.match(first) and not first.startswith(("resdsl: error", "-")):
        result["cli_unlocated"] = first[:300]
    return result


def check_subprocess(argv: list[str], timeout: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-m", "resdsl", *argv], capture_output=True, text=True,
                              timeout=timeout, env=env, errors="replace")
    except subprocess.TimeoutExpired:
        return {"sub": "hang", "bad_exit": f"subprocess did not finish in {timeout:g} s"}
    verdict = _cli_verdict(done.returncode, done.stderr)
    return {f"sub_{k}" if k == "cli" else k: v for k, v in verdict.items()}


# ---- workers -------------------------------------------------------------------------------------------


def prepare_workdir(root: Path) -> None:
    """A private copy of the corpus (mutants are written beside their original, so relative imports work)
    plus the files the import tricks name."""
    for d in CORPUS_DIRS:
        shutil.copytree(ROOT / d, root / d, dirs_exist_ok=True)
    for d in {root / d for d in CORPUS_DIRS} | {p.parent for d in CORPUS_DIRS for p in (root / d).rglob("*.res")}:
        with contextlib.suppress(OSError):
            (d / "loop1.res").symlink_to("loop2.res")
            (d / "loop2.res").symlink_to("loop1.res")
        with contextlib.suppress(OSError, AttributeError):
            os.mkfifo(d / "fifo.res")
        with contextlib.suppress(OSError):
            (d / "notspec.txt").write_text("secret line that must never be echoed\n")
        with contextlib.suppress(OSError):
            (d / "dir").mkdir()


def worker(seed: int, start: int, stop: int, memory_mb: float, subprocess_every: int, hang: float) -> None:
    """Run mutants start..stop-1, one JSON line each on stdout; exit after one that passed the memory cap
    (peak RSS only grows, so the next mutants are measured in a fresh worker)."""
    files = corpus()
    with tempfile.TemporaryDirectory(prefix="resdsl-fuzz-") as tmp:
        work = Path(tmp)
        os.environ["RESDSL_CACHE_DIR"] = str(work / ".cache")  # mutants must not fill the user's cache
        prepare_workdir(work)
        os.chdir(work)
        check_api(ROOT / "specs/cifar/resnet20.res")  # warm up (imports, grammar) outside the timings
        for index in range(start, stop):
            original, text, applied = make_mutant(seed, index, files)
            target = work / original.relative_to(ROOT).parent / "__mutant__.res"
            target.write_text(text, "utf-8", errors="surrogatepass")
            rng = random.Random(index)
            argv = cli_argv(target.relative_to(work), rng)
            result = {"index": index, "spec": str(original.relative_to(ROOT)), "mutations": applied}
            begin, begin_wall = time.process_time(), time.perf_counter()
            result.update(check_api(target.relative_to(work)))
            middle, middle_wall = time.process_time(), time.perf_counter()
            result.update(check_cli(argv))
            end, end_wall = time.process_time(), time.perf_counter()
            # One run is one API load (with count and draw) or one CLI command; the slower one counts.  CPU
            # time, so a loaded machine does not make mutants "slow" (a hang is caught by wall time).
            result["seconds"] = round(max(middle - begin, end - middle), 3)
            result["wall"] = round(max(middle_wall - begin_wall, end_wall - middle_wall), 3)
            if subprocess_every and index % subprocess_every == 0:
                result.update(check_subprocess(argv, hang))
            result["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
            print(json.dumps(result), flush=True)
            if result["peak_mb"] > memory_mb:
                return


def run_pool(seed: int, n: int, jobs: int, memory_mb: float, hang: float, subprocess_every: int,
             progress: bool) -> list[dict]:
    """Mutants 0..n-1 over at most `jobs` worker processes; a worker that is silent for `hang` seconds
    is killed and the mutant it was on recorded as a hang."""
    results: list[dict] = []
    lock = threading.Lock()
    chunks = [(i, min(n, i + 200)) for i in range(0, n, 200)]

    def drive() -> None:
        while True:
            with lock:
                if not chunks:
                    return
                start, stop = chunks.pop(0)
            while start < stop:
                proc = subprocess.Popen([sys.executable, __file__, "--worker", str(seed), str(start), str(stop),
                                         str(memory_mb), str(subprocess_every), str(hang)],
                                        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
                selector = selectors.DefaultSelector()
                selector.register(proc.stdout, selectors.EVENT_READ)
                first = True
                while start < stop:
                    if not selector.select(timeout=hang + 60 if first else hang):  # + start-up and corpus copy
                        proc.kill()
                        with lock:
                            results.append({"index": start, "hang": f"no answer in {hang:g} s"})
                        start += 1
                        break
                    line = proc.stdout.readline()
                    if not line:  # the worker exited (memory cap, or it died)
                        if proc.wait() != 0:
                            with lock:
                                results.append({"index": start, "crash": f"worker died (exit {proc.returncode})"})
                            start += 1
                        break
                    first = False
                    record = json.loads(line)
                    with lock:
                        results.append(record)
                        if progress and len(results) % 500 == 0:
                            print(f"  {len(results):,} / {n:,} mutants", file=sys.stderr, flush=True)
                    start = record["index"] + 1
                proc.stdout.close()
                with contextlib.suppress(Exception):
                    proc.kill()
                proc.wait()

    threads = [threading.Thread(target=drive) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results, key=lambda r: r["index"])


def run_inline(seed: int, n: int, workdir: Path) -> list[dict]:
    """The battery in this process (the test suite's fixed-seed sample): no hang or memory figures."""
    files = corpus()
    prepare_workdir(workdir)
    previous = os.getcwd()
    os.chdir(workdir)
    results = []
    try:
        for index in range(n):
            original, text, applied = make_mutant(seed, index, files)
            target = original.relative_to(ROOT).parent / "__mutant__.res"
            target.write_text(text, "utf-8", errors="surrogatepass")
            result = {"index": index, "spec": str(original.relative_to(ROOT)), "mutations": applied}
            result.update(check_api(target))
            result.update(check_cli(cli_argv(target, random.Random(index))))
            results.append(result)
    finally:
        os.chdir(previous)
    return results


FAILURES = ("crash", "hang", "bad_exit", "unlocated", "cli_unlocated", "misquoted", "cli_crash")


def failures(results: list[dict], slow: float = float("inf"), memory_mb: float = float("inf")) -> list[dict]:
    return [r for r in results if any(k in r for k in FAILURES) or r.get("seconds", 0) > slow
            or r.get("peak_mb", 0) > memory_mb]


def summary(results: list[dict], slow: float, memory_mb: float, seconds: float) -> str:
    def count(pred) -> int:
        return sum(1 for r in results if pred(r))

    api = {k: count(lambda r, k=k: r.get("api") == k) for k in ("ok", "error", "usage")}
    cli = {k: count(lambda r, k=k: r.get("cli") == k) for k in (0, 1, 2)}
    subs = count(lambda r: "sub_cli" in r)
    times = sorted(r.get("seconds", 0) for r in results)
    peaks = [r.get("peak_mb", 0) for r in results]
    lines = [
        f"mutants: {len(results):,} in {seconds:,.0f} s",
        f"API: ok {api['ok']:,}, ResdslError {api['error']:,}, UsageError {api['usage']:,}; "
        f"other exceptions: {count(lambda r: 'crash' in r)}",
        f"CLI (in-process): exit 0 {cli[0]:,}, exit 1 {cli[1]:,}, exit 2 {cli[2]:,}; other exits or tracebacks: "
        f"{count(lambda r: 'bad_exit' in r or 'cli_crash' in r)} (of which {subs:,} also as subprocesses)",
        f"hangs (no answer): {count(lambda r: 'hang' in r)}",
        f"runs over {slow:g} s CPU: {count(lambda r: r.get('seconds', 0) > slow)}"
        + (f"  (median {times[len(times) // 2]:.3f} s, max {times[-1]:.2f} s; wall max "
           f"{max(r.get('wall', 0) for r in results):.2f} s)" if times else ""),
        f"over {memory_mb:g} MB peak: {count(lambda r: r.get('peak_mb', 0) > memory_mb)}"
        + (f"  (max worker peak {max(peaks):.0f} MB)" if peaks else ""),
        f"unlocated errors (not usage errors): {count(lambda r: 'unlocated' in r or 'cli_unlocated' in r)}",
        f"wrongly quoted source lines: {count(lambda r: 'misquoted' in r)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        seed, start, stop, memory_mb, every, hang = argv[1:7]
        worker(int(seed), int(start), int(stop), float(memory_mb), int(every), float(hang))
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("-n", type=int, default=1000, help="number of mutants (default 1000)")
    p.add_argument("--seed", type=int, default=12, help="random seed (default 12)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--slow", type=float, default=2.0, help="seconds per mutant counted as too slow (default 2)")
    p.add_argument("--memory", type=float, default=200.0, help="peak MB counted as too much (default 200)")
    p.add_argument("--hang", type=float, default=30.0, help="seconds of silence that count as a hang (default 30)")
    p.add_argument("--subprocess-every", type=int, default=50,
                   help="also run every N-th mutant's CLI as a real process (default 50; 0: never)")
    p.add_argument("--show", type=int, default=10, help="failures to print in full (default 10)")
    p.add_argument("--json", metavar="FILE", help="write every result to FILE (one JSON object per line)")
    args = p.parse_args(argv)
    begin = time.perf_counter()
    results = run_pool(args.seed, args.n, args.jobs, args.memory, args.hang, args.subprocess_every, True)
    elapsed = time.perf_counter() - begin
    print(f"resdsl fuzz battery: seed {args.seed}, {args.jobs} worker process(es), corpus {len(corpus())} specs")
    print(summary(results, args.slow, args.memory, elapsed))
    bad = failures(results, args.slow, args.memory)
    for r in bad[:args.show]:
        print("FAIL", json.dumps(r, ensure_ascii=True)[:1500])
    if args.json:
        Path(args.json).write_text("".join(json.dumps(r) + "\n" for r in results))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
