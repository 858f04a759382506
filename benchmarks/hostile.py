"""Hostile article shapes: render, index-document and snippet times at 50 KB, 200 KB and 500 KB.

Why: an author can write anything, and Python-Markdown, regular expressions and snippet selection
each have inputs on which their work grows with the square of the input or worse (nested brackets,
one 40,000-character word, 16k matches of one word, lists nested hundreds deep). The index writer
and the article page run that work, so one such article could hold up every search. kb must stay
well under a second per article of any shape up to the article size limit (500 KB).

One command, from the repository root (about 10 minutes for kb, 20 more for a reference whose
slow cases wait for their timeout):

    .venv/bin/python benchmarks/hostile.py --reference 645fb0b

Options: `--sizes 50,200,500` (KB), `--shapes NAME,...` (default: all; `--list` names them),
`--timeout S` (per case, default 10), `--memory-mb N` (address-space limit of each case,
default 2048), `--repeat N` (each step's best of N runs, default 3; a step over 2 s runs once),
`--reference REV` (the same cases against kb at git revision REV, side by side), `--compare
EARLIER.json` (an earlier run's reference columns beside, to skip running the reference again),
`--out PATH` (default `benchmarks/runs/hostile-<timestamp>.json`).

Each case (shape x size x code version) runs in a child process of its own, on a snapshot of kb's
code, with the timeout and memory limit, so a quadratic reference cannot hang the run: it shows as
`>10s` (or the error it raised). The columns: `render` is `kb.render.render_article`; `index` is
`document_for` (which renders again) plus every schema analyzer over the fields it fills, as the
index writer does; `snippet` is `best_snippet` over the article's sections for a word of the shape;
`MB` is the growth of the child's peak resident memory over the case; `refused` says whether
`render.shape_problem` refuses the body (such a body is still rendered, degraded, and measured).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import snapshot_kb  # noqa: E402
from latency import machine  # noqa: E402
from load import reference_code  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RUNS_DIR = REPO / "benchmarks" / "runs"
ARTICLES = REPO / "articles"
DEFAULT_SIZES_KB = (50, 200, 500)
STEPS = ("render", "index", "snippet")
REPEAT_UNDER_MS = 2000  # a step this slow is not run again: one run says enough


# --- the shapes ---------------------------------------------------------------------------------


def repeat(unit: str, size: int) -> str:
    """`unit` repeated up to `size` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def halves(opening: str, closing: str, size: int) -> str:
    """`opening` repeated over half of `size`, then `closing` over the other half."""
    count = size // (len(opening) + len(closing))
    return opening * count + closing * count


def staircase(line: Callable[[int], str], size: int) -> str:
    """Lines line(0), line(1), ... up to `size` characters: each nested one level deeper."""
    lines, total, depth = [], 0, 0
    while total < size:
        lines.append(line(depth))
        total += len(lines[-1]) + 1
        depth += 1
    return "\n".join(lines) + "\n"


def numbered(template: str, size: int) -> str:
    """`template` with {n} = 0, 1, 2, ... up to `size` characters."""
    parts, total, n = [], 0, 0
    while total < size:
        parts.append(template.format(n=n))
        total += len(parts[-1])
        n += 1
    return "".join(parts)


def starter_articles(size: int) -> str:
    """kb's starter articles, one after another (over again as needed): real text, for scale."""
    bodies = [path.read_text(encoding="utf-8").split("\n---\n", 1)[-1] for path in sorted(ARTICLES.glob("*.md"))]
    return repeat("\n\n".join(bodies) + "\n\n", size)


DENSE = (
    "## What the customer notices\n\nThe VPN client says *connection failed* after the 0x80070005 "
    "update, see [the portal](https://example.com/vpn) and `Get-VpnConnection`.\n\n"
    "- restart the client\n- sign in again\n  - with MFA\n\n> [!NOTE]\n> Back up first.\n\n"
    "| Step | When |\n|---|---|\n| Reset | Always |\n\n"
)


def at_limit(unit: str, count: int, size: int) -> str:
    """`count` units (just inside one of kb's shape limits), then plain words up to `size` characters."""
    body = unit * count + "\n\n"
    return body[:size] if len(body) >= size else body + repeat("text ", size - len(body))


NESTED_20 = "".join("    " * depth + "- x\n" for depth in range(20)) + "\n"

# name -> (body of `size` characters, a word to snippet for)
SHAPES: dict[str, tuple[Callable[[int], str], str]] = {
    "starter articles": (starter_articles, "printer"),
    "dense markup": (lambda n: repeat(DENSE, n), "vpn"),
    "one long word": (lambda n: "a" * n, "aaaa"),
    "one long code": (lambda n: repeat("a1", n), "a1a1"),
    "long codes": (lambda n: repeat("a" * 99 + "_ ", n), "aaaa"),
    "nested brackets": (lambda n: halves("[", "]", n), "a"),
    "open brackets": (lambda n: "[" * n, "a"),
    "link openers": (lambda n: repeat("[a](", n), "a"),
    "image openers": (lambda n: repeat("![a](", n), "a"),
    "reference openers": (lambda n: repeat("[a][", n), "a"),
    "one word 100k times": (lambda n: repeat("vpn ", n), "vpn"),
    "two words alternating": (lambda n: repeat("vpn reset ", n), "vpn reset"),
    "list nested on one line": (lambda n: repeat("- ", n - 1) + "x", "x"),
    "list nested by indent": (lambda n: staircase(lambda d: "    " * d + "- x", n), "x"),
    "ordered list by indent": (lambda n: staircase(lambda d: "    " * d + "1. x", n), "x"),
    "quotes nested on one line": (lambda n: repeat("> ", n - 1) + "x", "x"),
    "quotes nested by lines": (lambda n: staircase(lambda d: ">" * (d + 1) + " x", n), "x"),
    "quote and list mixed": (lambda n: repeat("> - ", n - 1) + "x", "x"),
    "stars": (lambda n: "*" * n, "a"),
    "star words": (lambda n: repeat("*a ", n), "a"),
    "underscores": (lambda n: repeat("_a", n), "a"),
    "strong openers": (lambda n: repeat("**a ", n), "a"),
    "emphasis nested": (lambda n: halves("*_", "_*", n), "a"),
    "backticks": (lambda n: "`" * n, "a"),
    "backtick words": (lambda n: repeat("`a ", n), "a"),
    "backtick runs": (lambda n: numbered("{n}" + "`" * 3 + " ", n), "a"),
    "unclosed fences": (lambda n: repeat("```\nx\n", n), "x"),
    "long table": (lambda n: "| a | b |\n|---|---|\n" + repeat("| x | y |\n", n), "x"),
    "wide table": (lambda n: repeat("| x ", n // 2) + "|\n" + repeat("|---", n // 2) + "|\n", "x"),
    "angle brackets": (lambda n: "<" * n, "a"),
    "tag openers": (lambda n: repeat("<a ", n), "a"),
    "nested html": (lambda n: halves("<div>", "</div>", n), "a"),
    "nested markdown html": (lambda n: halves('<div markdown="1">\n', "</div>\n", n), "a"),
    "comment openers": (lambda n: repeat("<!--", n), "a"),
    "autolink openers": (lambda n: repeat("<http://a ", n), "a"),
    "footnotes": (lambda n: numbered("x[^{n}]\n\n[^{n}]: note {n}\n\n", n), "note"),
    "same headings": (lambda n: repeat("# Same\n\n", n), "same"),
    "distinct headings": (lambda n: numbered("## Heading {n}\n\ntext\n\n", n), "text"),
    "abbreviations": (lambda n: numbered("*[A{n}]: x\nA{n}\n", n), "x"),
    "reference links": (lambda n: numbered("[r{n}]: https://e.com/{n}\n[x][r{n}]\n", n), "x"),
    "attribute lists": (lambda n: repeat("x {: #a .b }\n", n), "x"),
    "backslashes": (lambda n: "\\" * n, "a"),
    "ampersands": (lambda n: repeat("&#", n), "a"),
    "definition lists": (lambda n: repeat("x\n: y\n", n), "x"),
    "one char a line": (lambda n: repeat("x\n", n), "x"),
    "tabs": (lambda n: "\t" * (n - 1) + "x", "x"),
    # The costliest bodies kb still renders as Markdown: counts just inside the limits of kb.shapes
    # (the `refused` column shows when they no longer are).
    "paragraphs at the limit": (lambda n: at_limit("word word\n\n", 13_900, n), "word"),
    "headings at the limit": (lambda n: at_limit("## word\n\nword\n\n", 4_600, n), "word"),
    "nested lists at the limit": (lambda n: at_limit(NESTED_20, 64, n), "x"),
    "emphasis at the limit": (lambda n: at_limit("*a* *b* *c*\n\n", 5_300, n), "text"),
    "open brackets at the limit": (lambda n: at_limit("[" + "x" * 998 + "\n\n", 496, n), "text"),
}


# --- one case, in a child process ---------------------------------------------------------------


def measure_case(shape: str, size: int, repeats: int, spare_seconds: float) -> None:
    """Print one JSON line per step (time or error) for `shape` at `size` characters.

    A step runs again (up to `repeats` times in all, the fastest run counting) while it is quick
    and the case has used less than `spare_seconds`, so repeats never make a case time out.
    """
    case_started = time.perf_counter()
    import dataclasses
    import resource

    from whoosh.analysis import Analyzer

    from kb import render
    from kb.search import indexer, schema, snippets

    make, word = SHAPES[shape]
    body = make(size)
    fields = {f.name for f in dataclasses.fields(indexer.Source)}  # older kbs have fewer
    values = dict(id=1, slug="s", title="Hostile", summary="", body=body, tags=(), product="", audience="internal")
    values.update(status="published", updated_at=datetime.now(timezone.utc), verified_at=None, helpful=0.5, version=1)
    source = indexer.Source(**{k: v for k, v in values.items() if k in fields})
    refused = getattr(render, "shape_problem", lambda _: None)(body)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {"step": "start", "refused": refused}
    print(json.dumps(report), flush=True)

    # kb keeps its last few renders; every run here must render, as for a body seen the first time.
    forget_renders = getattr(getattr(render, "_rendered", None), "cache_clear", lambda: None)

    def step(name: str, work: Callable[[], Any]) -> Any:
        ms = float("inf")
        for _ in range(repeats):
            forget_renders()
            started = time.perf_counter()
            try:
                result = work()
            except BaseException as exc:  # noqa: BLE001  RecursionError and MemoryError are findings
                print(json.dumps({"step": name, "error": type(exc).__name__}), flush=True)
                return None
            ms = min(ms, (time.perf_counter() - started) * 1000)
            if ms > REPEAT_UNDER_MS or time.perf_counter() - case_started > spare_seconds:
                break
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
        print(json.dumps({"step": name, "ms": ms, "mb": peak}), flush=True)
        return result

    step("render", lambda: render.render_article(body))
    the_schema = schema.build_schema()

    def index() -> dict[str, Any]:
        document = indexer.document_for(source)
        for name, value in document.items():
            analyzer = getattr(the_schema[name], "analyzer", None)
            if isinstance(value, str) and isinstance(analyzer, Analyzer):
                list(the_schema[name].index(value))
        return document

    document = step("index", index)
    if document is not None:
        sections = json.loads(document["sections"])
        highlighter = snippets.Highlighter(set(word.split()))
        step("snippet", lambda: snippets.best_snippet(sections, highlighter, ""))


# --- the parent: every case, each version, side by side -----------------------------------------


def run_case(code: Path, shape: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    """Run one case in a child on `code`; return its steps' times or errors, `timeout` if it hung."""
    timeout = args.timeout
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env["PYTHONPATH"] = f"{code}{os.pathsep}{Path(__file__).resolve().parent}"
    command = [sys.executable, __file__, "--case", shape, str(size), "--memory-mb", str(args.memory_mb)]
    command += ["--repeat", str(args.repeat), "--timeout", str(args.timeout)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=code)
        output, crashed = done.stdout, done.returncode != 0
    except subprocess.TimeoutExpired as exc:
        output, crashed = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or "", True
    result: dict[str, Any] = {}
    for line in output.splitlines():
        record = json.loads(line)
        result[record.pop("step")] = record
    for name in STEPS:
        if name not in result and crashed:
            result[name] = {"error": f">{timeout:.0f}s"}
            break  # a later step never started
    return result


def cell(result: dict[str, Any], step: str) -> str:
    record = result.get(step)
    if record is None:
        return "-"
    if "error" in record:
        return record["error"]
    return f"{record['ms']:.0f}" if record["ms"] >= 10 else f"{record['ms']:.1f}"


def peak(result: dict[str, Any]) -> str:
    peaks = [r["mb"] for r in result.values() if isinstance(r, dict) and "mb" in r]
    return f"{max(peaks):.0f}" if peaks else "-"


def print_table(runs: dict[str, dict[str, dict[str, Any]]], sizes: Sequence[int]) -> None:
    names = list(runs)
    header = ["shape", "KB", "refused"] + [f"{n} {c}" for n in names for c in (*STEPS, "MB")]
    rows = [header]
    for shape in next(iter(runs.values())):
        for size in sizes:
            now = runs[names[0]][shape][str(size)]
            refused = "yes" if now.get("start", {}).get("refused") else ""
            row = [shape, str(size // 1000), refused]
            for name in names:
                result = runs[name].get(shape, {}).get(str(size), {})
                row += [*(cell(result, s) for s in STEPS), peak(result)]
            rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    print("\nTimes in ms; MB is peak resident memory growth over the case; '-' when an earlier step failed.")


def measure(name: str, code: Path, shapes: Sequence[str], sizes: Sequence[int], args: argparse.Namespace):
    runs: dict[str, dict[str, Any]] = {}
    for shape in shapes:
        runs[shape] = {}
        for size in sizes:
            print(f"{time.strftime('%H:%M:%S')} {name}: {shape} at {size // 1000} KB", file=sys.stderr, flush=True)
            runs[shape][str(size)] = run_case(code, shape, size, args)
    return runs


def earlier_runs(path: Path) -> dict[str, dict[str, Any]]:
    """The runs of an earlier report to show beside this one: its references, or else its kb run."""
    runs = json.loads(path.read_text(encoding="utf-8"))["runs"]
    return {name: run for name, run in runs.items() if name != "kb"} or {"earlier kb": runs["kb"]}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES_KB)), help="article sizes in KB")
    parser.add_argument("--shapes", help="comma-separated shape names (default: all)")
    parser.add_argument("--list", action="store_true", help="print the shape names and exit")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per case before it counts as hung")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit of each case")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per step (steps under 2 s)")
    parser.add_argument("--reference", help="git revision to run the same cases against, side by side")
    parser.add_argument("--compare", type=Path, help="an earlier run's JSON: its reference (or kb) columns beside")
    parser.add_argument("--out", type=Path, help="raw figures (default: benchmarks/runs/hostile-<timestamp>.json)")
    parser.add_argument("--case", nargs=2, metavar=("SHAPE", "CHARS"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.case:
        import resource

        limit = args.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        measure_case(args.case[0], int(args.case[1]), max(1, args.repeat), args.timeout / 2)
        return 0
    if args.list:
        print("\n".join(SHAPES))
        return 0
    shapes = args.shapes.split(",") if args.shapes else list(SHAPES)
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        sys.exit(f"unknown shapes: {', '.join(unknown)} (see --list)")
    sizes = [int(s) * 1000 for s in args.sizes.split(",")]
    started = datetime.now(timezone.utc)
    out = args.out or RUNS_DIR / f"hostile-{started:%Y%m%d-%H%M%S}.json"
    with tempfile.TemporaryDirectory(prefix="kb-hostile-code-") as tmp:
        code = snapshot_kb(REPO, Path(tmp) / "now")
        report: dict[str, Any] = {"benchmark": "hostile", "started": started.isoformat(), "machine": machine(code)}
        runs = {"kb": measure("kb", code, shapes, sizes, args)}
        if args.reference:
            old = reference_code(args.reference, Path(tmp) / "reference")
            runs[args.reference[:10]] = measure(args.reference[:10], old, shapes, sizes, args)
    report["runs"] = runs
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print_table({**runs, **(earlier_runs(args.compare) if args.compare else {})}, sizes)
    print(f"raw figures in {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
